"""Errors the user sees as one line.

Everything the core raises for bad input or a refused operation derives from
``DanetError``; the CLI and the GUI print ``str(error)`` and nothing else, so
each message must name the file and the problem on its own.
"""

from __future__ import annotations

from pathlib import Path


class DanetError(Exception):
    """A failure the user can act on, reported as one line."""


class RecordError(DanetError):
    """An ECG file that cannot be read: names the file and the problem."""

    def __init__(self, path: str | Path, problem: str) -> None:
        self.path = Path(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class StoreError(DanetError):
    """An annotation store that cannot be opened or written."""

    def __init__(self, path: str | Path, problem: str) -> None:
        self.path = Path(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class StoreLockedError(StoreError):
    """Another process holds the store open for writing."""
