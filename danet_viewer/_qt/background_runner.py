"""Long review work off the GUI thread (``components.background``): the Templates view's splits and merges
(``ClassReview.runner``) and the beat gallery's order (``BeatGallery.runner``).

On a 24 h Holter (110 000 beats) a split or merge takes about half a second to two seconds (the beats' intervals,
the grouping, the changed classes' templates read from the signal; ``benchmarks/bench_class_edits.py``), the
gallery's order a third of a second: on the GUI thread that froze the window. The work reads a snapshot of the
record (``class_edits.ClassSource``, ``beat_gallery.RecordSnapshot``) and the recording's signal, never the store,
which stays the GUI thread's: the outcome is stored there, as one undoable step, when the worker reports back. As
the analysis worker does, the worker checks Cancel at every progress report.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, QThread, Signal

from danet_viewer.components.background import Outcome, Work
from danet_viewer.errors import DanetError, describe_failure


class WorkCancelled(Exception):  # noqa: N818 - a cancellation the user asked for, not an error
    """Raised from a progress report once the reviewer pressed Cancel."""


class BackgroundWorker(QThread):
    progressed = Signal(float)  # fraction done
    done = Signal(object)  # Outcome: the result, the refusal, or None once cancelled

    def __init__(self, work: Work) -> None:
        super().__init__()
        self.work = work
        self._cancelled = False

    def cancel(self) -> None:
        self._cancelled = True

    def _report(self, fraction: float) -> None:
        if self._cancelled:
            raise WorkCancelled
        self.progressed.emit(float(fraction))

    def run(self) -> None:
        outcome: Outcome
        try:
            outcome = self.work(self._report)
        except WorkCancelled:
            outcome = None
        except DanetError as error:
            outcome = error
        except Exception as error:  # noqa: BLE001 - a worker must report, never die silently
            outcome = DanetError(describe_failure(error))
        self.done.emit(outcome)


class BackgroundRunner(QObject):
    """Runs one piece of work at a time on a ``BackgroundWorker``; its outcome reaches ``finish`` on the GUI
    thread."""

    progressed = Signal(float)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.worker: BackgroundWorker | None = None
        self._finish: Callable[[Outcome], None] | None = None

    def run(self, work: Work, finish: Callable[[Outcome], None]) -> None:
        worker = BackgroundWorker(work)
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

    def _done(self, outcome: Outcome) -> None:
        if self.sender() is not self.worker:  # a stopped worker's last report, queued before it was stopped
            return
        worker, finish = self.worker, self._finish
        self.worker = self._finish = None
        worker.wait()  # it has reported: run() has returned, this only joins the thread
        worker.deleteLater()
        finish(outcome)
