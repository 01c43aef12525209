"""Draw the review view of a stretch of a record to a PNG, offscreen (``danet-viewer render``)."""

from __future__ import annotations

import os
from pathlib import Path

from danet_viewer.errors import DanetError

RENDER_SIZE = (1600, 900)
# The enhanced trace is computed a little beyond the drawn span so its edges have their beats' context.
RENDER_MARGIN_S = 3.0


def render_review(record: str, start_s: float, span_s: float, out: Path, store_path: Path | None = None,
                  model_folder: str | None = None, *, fs: float | None = None) -> Path:
    """Render ``span_s`` seconds of ``record`` from ``start_s`` as the review window shows them.

    The store (default: the one the window uses, ``<name>.danet.h5`` beside the record) supplies beats,
    scores and reviews; a record it does not hold yet is analysed into it first. ``fs`` is the rate of a CSV
    file that states none.
    """
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from danet_viewer._qt.axes import show_clock
    from danet_viewer._qt.review_view import ReviewView
    from danet_viewer.components.beat_details import apc_score
    from danet_viewer.components.review_session import beat_states
    from danet_viewer.core.analysis import analyse_recording
    from danet_viewer.core.clock import RecordClock
    from danet_viewer.core.readers import open_recording
    from danet_viewer.core.store import AnnotationStore
    from danet_viewer.core.store_location import has_results, review_store_path, stored_analysis_lead
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
    store_path = Path(store_path) if store_path else review_store_path(recording.path)[0]
    with AnnotationStore.open(store_path, "r" if store_path.exists() else "a") as store:
        if not has_results(recording, store, model):
            store.close()
            with AnnotationStore.open(store_path, "a") as writer:
                analyse_recording(recording, writer, who="danet-viewer render", model=model)
            store = AnnotationStore.open(store_path, "r")
        lead = stored_analysis_lead(recording, store)
        table = store.beat_table(recording.name)
        unanalysable = store.record(recording.name).unanalysable
        stored_model = store.record(recording.name).model
        threshold = stored_model.threshold if stored_model else model.threshold
        store.close()
    trace = enhanced_trace(recording, lead, table.sample[~table.deleted], model.network,
                           start_s=max(0.0, start_s - RENDER_MARGIN_S), stop_s=start_s + span_s + RENDER_MARGIN_S,
                           device=model.device)
    view = ReviewView()
    view.resize(*RENDER_SIZE)
    view.show()  # offscreen: the layout settles now, not inside grab()
    view.set_signal(recording.read(lead), recording.fs, recording.lead_names[lead], recording.units[lead],
                    analysis_lead=recording.lead_names[lead])
    view.set_traces([trace], attention_module=model.network.wem is not None)
    view.set_beats(table.sample, beat_states(table), apc_score(table.p_apc, threshold), table.review_symbol)
    view.set_unanalysable(unanalysable)
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
    return out
