"""The analysis of a record (beats and DANet scores into the store) on a worker thread.

The GUI thread hands the open store to the worker and does not touch it until
the worker reports back: the store is not thread-safe, and this hand-over is
the whole of the sharing. Cancel is checked at every progress report.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QThread, Signal

from danet_viewer.core.analysis import analyse_recording
from danet_viewer.core.beat_classes import update_beat_classes
from danet_viewer.core.recording import Recording
from danet_viewer.core.store import AnnotationStore
from danet_viewer.core.store_location import has_results, stored_analysis_lead
from danet_viewer.errors import DanetError, describe_failure
from danet_viewer.model.inference import BeatModel
from danet_viewer.model.registry import ModelRegistry


class AnalysisCancelled(Exception):  # noqa: N818 - a cancellation the user asked for, not an error
    """Raised from a progress report once the user pressed Cancel."""


@dataclass(frozen=True)
class AnalysisOutcome:
    raw: np.ndarray  # the analysis lead, float32 at the record's rate
    lead: int
    model: BeatModel
    reused: bool  # the store already held this model's results for this record


class AnalysisWorker(QThread):
    progressed = Signal(str, float)  # stage, fraction
    succeeded = Signal(object)  # AnalysisOutcome
    failed = Signal(str)  # one line for the user; "cancelled" after Cancel

    def __init__(self, recording: Recording, store: AnnotationStore, who: str, model: BeatModel | None,
                 model_folder: str | None = None) -> None:
        super().__init__()
        self.recording, self.store, self.who = recording, store, who
        self.model, self.model_folder = model, model_folder
        self._cancelled = False

    def cancel(self) -> None:
        self._cancelled = True

    def _report(self, stage: str, fraction: float) -> None:
        if self._cancelled:
            raise AnalysisCancelled
        self.progressed.emit(stage, float(fraction))

    def run(self) -> None:
        try:
            self.succeeded.emit(self._analyse())
        except AnalysisCancelled:
            self.failed.emit("cancelled")
        except Exception as error:  # noqa: BLE001 - a worker must report, never die silently
            self.failed.emit(describe_failure(error))

    def _analyse(self) -> AnalysisOutcome:
        recording, store = self.recording, self.store
        self._report("loading model", 0.0)
        model = self.model or BeatModel(self.model_folder or ModelRegistry().active_folder())
        lead = stored_analysis_lead(recording, store)
        self._report("reading", 0.0)
        raw = recording.read(lead)
        reused = has_results(recording, store, model)
        if not reused:
            if not store.writable:
                raise DanetError(f"{store.path}: opened read-only and holds no analysis of {recording.name}")
            analyse_recording(recording, store, lead=recording.lead_names[lead], who=self.who, model=model,
                              progress=self._report)
        elif store.writable and store.record(recording.name).classes is None:  # analysed before there were classes
            update_beat_classes(store, recording, who=self.who, progress=lambda f: self._report("classes", f))
        return AnalysisOutcome(raw, lead, model, reused)
