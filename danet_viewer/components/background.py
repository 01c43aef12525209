"""Long work a review component hands to a runner, so the window never freezes: a class split or merge
(``ClassReview``), the beat gallery's order (``BeatGallery``).

The component gives ``run`` the work (a function of a progress callback, which returns its result) and what to do
with its outcome; the runner hands ``finish`` the result, the ``DanetError`` that refused it, or None where the
reviewer cancelled it, on the thread that called ``run``. Here the work runs at once (``RunAtOnce``: tests and
scripts); the window runs it on a worker thread with progress and Cancel (``_qt.background_runner``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from danet_viewer.errors import DanetError

# A fraction done, 0 to 1; the worker thread's runner raises from it once the reviewer cancelled.
Progress = Callable[[float], None]
# Work reporting its progress and returning its result.
Work = Callable[[Progress], object]
# What the work came to: its result, the one-line refusal, or None where it was cancelled.
Outcome = object


class Running(Protocol):
    """Works ``work`` out and hands its outcome to ``finish``, on the thread that called ``run``."""

    def run(self, work: Work, finish: Callable[[Outcome], None]) -> None: ...

    def stop(self) -> None:
        """Drop the work in flight (the record goes): ``finish`` is not called."""


class RunAtOnce:
    """Works the work out before ``run`` returns."""

    def run(self, work: Work, finish: Callable[[Outcome], None]) -> None:
        try:
            outcome = work(lambda _done: None)
        except DanetError as error:
            outcome = error
        finish(outcome)

    def stop(self) -> None:
        return None
