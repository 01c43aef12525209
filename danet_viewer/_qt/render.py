"""Draw the review view of a stretch of a record to a PNG, offscreen (``danet-viewer render``)."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from danet_viewer.errors import DanetError

if TYPE_CHECKING:
    from danet_viewer.core.recording import Recording
    from danet_viewer.core.store import StoredRecord
    from danet_viewer.model.inference import BeatModel

RENDER_SIZE = (1600, 900)
# The enhanced trace is computed a little beyond the drawn span so its edges have their beats' context.
RENDER_MARGIN_S = 3.0
# The enhanced trace's beats are scored with this much of the record around the drawn stretch, which holds the
# CONTEXT_BEATS (model.trace) of rhythm context its edge beats need at any heart rate above 40 bpm.
TRACE_CONTEXT_S = 60.0


@dataclass(frozen=True)
class Rendered:
    """What ``render_review`` wrote, and which beats its scores were taken against."""

    path: Path
    note: str  # "scores from the store ..." or the reference a stretch analysed on its own was scored against

    def __str__(self) -> str:
        return f"{self.path}\n  {self.note}"


def render_review(record: str, start_s: float, span_s: float, out: Path, store_path: Path | None = None,
                  model_folder: str | None = None, *, fs: float | None = None) -> Rendered:
    """Render ``span_s`` seconds of ``record`` from ``start_s`` as the review window shows them.

    The store (default: the one the window uses, ``<name>.danet.h5`` beside it) supplies beats, scores and
    reviews where it holds this model's analysis of the record. Otherwise only the stretch and
    ``STRETCH_CONTEXT_S`` either side are analysed, in memory (a store's beats and reviews kept where it has
    them); the store is never written. ``fs`` is the rate of a CSV file that states none.
    """
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from danet_viewer._qt.axes import show_clock
    from danet_viewer._qt.review_view import ReviewView
    from danet_viewer.components.beat_details import apc_score
    from danet_viewer.components.review_session import beat_states
    from danet_viewer.core.clock import RecordClock
    from danet_viewer.core.readers import open_recording
    from danet_viewer.core.recording import RecordingStretch
    from danet_viewer.core.store_location import store_path_for
    from danet_viewer.model.inference import BeatModel
    from danet_viewer.model.registry import ModelRegistry
    from danet_viewer.model.trace import enhanced_trace

    if span_s <= 0:
        raise DanetError(f"--span must be positive, not {span_s:g}")
    recording = open_recording(record, fs=fs)
    if not 0 <= start_s < recording.duration_s:
        raise DanetError(f"{recording.path}: --start {start_s:g} s is outside the recording "
                         f"(0 to {recording.duration_s:g} s)")
    app = QApplication.instance() or QApplication([])
    model = BeatModel(model_folder or ModelRegistry().active_folder())
    store_path = Path(store_path) if store_path else store_path_for(recording.path)[0]
    record, lead, note = _beats_and_scores(recording, start_s, start_s + span_s, model, store_path)
    table = record.beat_table()
    threshold = record.model.threshold if record.model else model.threshold
    # Drawn and enhanced from around the stretch only: reading a whole 24 h lead costs seconds.
    fs = recording.fs
    drawn = (max(0, int((start_s - RENDER_MARGIN_S) * fs)), int(np.ceil((start_s + span_s + RENDER_MARGIN_S) * fs)))
    around = RecordingStretch(recording, drawn[0] - round(TRACE_CONTEXT_S * fs), drawn[1] + round(TRACE_CONTEXT_S * fs))
    beats = table.sample[~table.deleted]
    beats = beats[(beats >= around.first) & (beats < around.first + around.n_samples)] - around.first
    trace = enhanced_trace(around, lead, beats, model.network, start_s=(drawn[0] - around.first) / fs,
                           stop_s=(drawn[1] - around.first) / fs, device=model.device)
    offset_s = around.first / fs
    trace = replace(trace, start_s=trace.start_s + offset_s, beat_sample=trace.beat_sample + around.first,
                    regions_s=trace.regions_s + offset_s)
    raw = np.zeros(min(drawn[1], recording.n_samples), np.float32)  # the view's trace starts at sample 0
    raw[drawn[0] :] = recording.read(lead, drawn[0], drawn[1])
    view = ReviewView()
    view.resize(*RENDER_SIZE)
    view.show()  # offscreen: the layout settles now, not inside grab()
    name = recording.lead_names[lead]
    view.set_signal(raw, fs, name, recording.units[lead], analysis_lead=name)
    view.set_traces([trace], attention_module=model.network.wem is not None)
    view.set_beats(table.sample, beat_states(table), apc_score(table.p_apc, threshold), table.review_symbol)
    view.set_unanalysable(record.unanalysable)
    show_clock(view, RecordClock(recording.start))
    # Lay the view out first: a resize keeps seconds per pixel, which would stretch the span.
    app.processEvents()
    view.show_span(start_s, span_s)
    app.processEvents()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if not view.grab().save(str(out), "PNG"):
        raise DanetError(f"{out}: cannot write the PNG")
    view.close()
    view.deleteLater()
    app.processEvents()
    return Rendered(out, note)


def _beats_and_scores(recording: Recording, start_s: float, stop_s: float, model: BeatModel,
                      store_path: Path) -> tuple[StoredRecord, int, str]:
    """The record's beats, scores and reviews, its analysis lead, and where the scores come from: the store where
    it holds this model's analysis of this recording, else ``start_s ... stop_s`` analysed on its own (with the
    store's beats and reviews where it has them)."""
    from danet_viewer.core.analysis import analyse_stretch
    from danet_viewer.core.store import AnnotationStore
    from danet_viewer.core.store_location import has_results, stored_analysis_lead

    lead, stored = recording.preferred_lead(), None
    if store_path.exists():
        with AnnotationStore.open(store_path, "r") as store:
            lead = stored_analysis_lead(recording, store)
            if has_results(recording, store, model):
                return store.record(recording.name), lead, f"scores from the store {store_path} (the whole record)"
            if recording.name in store and store.record(recording.name).content_hash == recording.content_hash():
                stored = store.record(recording.name)
    analysis = analyse_stretch(recording, start_s, stop_s, model=model, stored=stored, lead=lead)
    return analysis.record, lead, analysis.note
