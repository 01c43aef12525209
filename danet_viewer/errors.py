"""Errors the user sees as one line.

Everything the core raises for bad input or a refused operation derives from
``DanetError``; the CLI and the GUI print ``str(error)`` and nothing else, so
each message must name the file and the problem on its own.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
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
    """Another process holds the store open for writing; ``holder`` says which, as far as is known."""

    def __init__(self, path: str | Path, holder: str) -> None:
        self.holder = holder
        super().__init__(path, f"already open for writing by another process ({holder}); open it read-only")


class StoreWriteError(StoreError):
    """The disk refused a write (full, read-only, gone): nothing changed, and the same write may be retried."""


def describe_failure(error: BaseException, output: Path | None = None) -> str:
    """The one line a user is shown for ``error``, wherever work failed (a worker thread, the command line).

    A ``DanetError`` already names the file and the problem. With ``output`` (the file the work was writing),
    an ``OSError`` is that file and the system's reason. Anything else is a bug: its type says where to look.
    """
    if isinstance(error, DanetError):
        return str(error)
    if output is not None and isinstance(error, OSError):
        return f"{output}: {error.strerror or error}"
    return f"internal error: {type(error).__name__}: {error}"


def run_reporting_errors(prog: str, command: Callable[[], int], *, debug: bool = False) -> int:
    """Run a command-line handler; report a failure as one line on stderr with a non-zero exit code.

    1: a ``DanetError`` (bad input, refused operation); 130: interrupted; 3: an
    unexpected exception, whose traceback only ``debug`` shows.
    """
    try:
        return command()
    except DanetError as error:
        print(f"{prog}: error: {describe_failure(error)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except Exception as error:  # noqa: BLE001 - the last line of defence must not print a traceback
        if debug:
            raise
        print(f"{prog}: {describe_failure(error)} (rerun with --debug for details)", file=sys.stderr)
        return 3
