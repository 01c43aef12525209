"""Splits and merges of beat classes worked out off the GUI thread: the Templates view's ``ClassReview.runner``.

On a 24 h Holter (110 000 beats) a split or merge takes about half a second to two seconds (the beats' intervals,
the grouping, the changed classes' templates read from the signal; ``benchmarks/bench_class_edits.py``): on the
GUI thread that froze the window. The work reads a snapshot of the record's classes and model scores
(``class_edits.ClassSource``) and the recording's signal, never the store, which stays the GUI thread's: the
outcome is stored there, as one undoable step, when the worker reports back. As the analysis worker does, the
worker checks Cancel at every progress report.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, QThread, Signal

from danet_viewer.components.class_review import ClassOutcome, ClassWork
from danet_viewer.errors import DanetError, describe_failure


class ClassEditCancelled(Exception):  # noqa: N818 - a cancellation the user asked for, not an error
    """Raised from a progress report once the reviewer pressed Cancel."""


class ClassEditWorker(QThread):
    progressed = Signal(float)  # fraction done
    done = Signal(object)  # ClassOutcome: the edit, the refusal, or None once cancelled

    def __init__(self, work: ClassWork) -> None:
        super().__init__()
        self.work = work
        self._cancelled = False

    def cancel(self) -> None:
        self._cancelled = True

    def _report(self, fraction: float) -> None:
        if self._cancelled:
            raise ClassEditCancelled
        self.progressed.emit(float(fraction))

    def run(self) -> None:
        outcome: ClassOutcome
        try:
            outcome = self.work(self._report)
        except ClassEditCancelled:
            outcome = None
        except DanetError as error:
            outcome = error
        except Exception as error:  # noqa: BLE001 - a worker must report, never die silently
            outcome = DanetError(describe_failure(error))
        self.done.emit(outcome)


class ClassEditRunner(QObject):
    """Runs one class edit at a time on a ``ClassEditWorker``; its outcome reaches ``finish`` on the GUI thread."""

    progressed = Signal(float)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.worker: ClassEditWorker | None = None
        self._finish: Callable[[ClassOutcome], None] | None = None

    def run(self, work: ClassWork, finish: Callable[[ClassOutcome], None]) -> None:
        worker = ClassEditWorker(work)
        # Bound to this object's methods, so the worker thread's signals are queued to the GUI thread.
        worker.progressed.connect(self._progressed)
        worker.done.connect(self._done)
        self.worker, self._finish = worker, finish
        worker.start()

    def cancel(self) -> None:
        """The Cancel button: the worker stops at its next progress report, and ``finish`` gets None."""
        if self.worker is not None:
            self.worker.cancel()

    def stop(self) -> None:
        """The record goes: stop the worker and wait for it (a fraction of a second); ``finish`` is not called."""
        worker, self.worker, self._finish = self.worker, None, None
        if worker is not None:
            worker.cancel()
            worker.wait()
            worker.deleteLater()

    def _progressed(self, fraction: float) -> None:
        if self.sender() is self.worker:
            self.progressed.emit(fraction)

    def _done(self, outcome: ClassOutcome) -> None:
        if self.sender() is not self.worker:  # a stopped worker's last report, queued before it was stopped
            return
        worker, finish = self.worker, self._finish
        self.worker = self._finish = None
        worker.wait()  # it has reported: run() has returned, this only joins the thread
        worker.deleteLater()
        finish(outcome)
