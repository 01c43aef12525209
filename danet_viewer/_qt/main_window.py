"""The review workstation window: a view over a ``ReviewModel``, wiring its widgets to the model's events.

The model (``danet_viewer.components.review_model``) holds the record, its store, the review session, the
selection and the viewport, and writes every decision to the store at once; the window draws after each of its
events, and owns what needs Qt: the analysis and trace workers, dialogs and the notice bar that says when the store
cannot be written and offers a retry. The Templates view (``templates_view``) is a dock of its own over the model.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import (
    QFileDialog,
    QInputDialog,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from danet_viewer._qt.analysis_worker import AnalysisOutcome, AnalysisWorker
from danet_viewer._qt.beat_docks import DetailsDock, SuperimposeDock, TachogramDock
from danet_viewer._qt.ecg_paper import STANDARD_GAIN_MM_MV
from danet_viewer._qt.events_dock import attach_events_dock
from danet_viewer._qt.export_dialog import ExportDialog
from danet_viewer._qt.menus import build_display_toolbar, build_menus
from danet_viewer._qt.model_actions import model_manager, retrain_dialog
from danet_viewer._qt.notice_bar import NoticeBar
from danet_viewer._qt.overview import OverviewStrip
from danet_viewer._qt.review_list import ReviewListDock
from danet_viewer._qt.review_view import ReviewView
from danet_viewer._qt.shortcuts import SHORTCUTS, ShortcutHelp
from danet_viewer._qt.status_context import StatusContext
from danet_viewer._qt.templates_view import TemplatesDock
from danet_viewer._qt.trace_loader import LeadReader, TraceFeed
from danet_viewer.components.beat_details import NO_BEAT, apc_score, beat_details_html, counted
from danet_viewer.components.model_library import ModelLibrary
from danet_viewer.components.review_model import ReviewModel
from danet_viewer.components.review_session import beat_states
from danet_viewer.components.trace_envelope import MinMaxPyramid
from danet_viewer.core.readers import RECORDING_SUFFIXES, open_recording
from danet_viewer.core.store_location import settings_path
from danet_viewer.errors import DanetError
from danet_viewer.model.inference import BeatModel

RECORD_FILTER = f"ECG recordings ({' '.join('*' + suffix for suffix in RECORDING_SUFFIXES)});;All files (*)"
STAGE_NAMES = {"loading model": "Loading model", "reading": "Reading", "beats": "Detecting beats",
               "model": "DANet scoring", "classes": "Grouping beats into classes"}


class MainWindow(QMainWindow):
    def __init__(self, settings: QSettings | None = None, model_folder: str | None = None) -> None:
        super().__init__()
        self.settings = settings or QSettings(str(settings_path()), QSettings.Format.IniFormat)
        self.model_folder = model_folder
        self.model: BeatModel | None = None  # the scoring model; the worker loads the active one when None
        self.review = ReviewModel()
        self.models = ModelLibrary()
        self.worker: AnalysisWorker | None = None
        self.lead_reader: LeadReader | None = None

        self.setWindowTitle("DANet Review")
        self.resize(1400, 820)
        self.setAcceptDrops(True)
        self.view = ReviewView()
        self.view.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.trace = TraceFeed(self.view)
        self.overview = OverviewStrip()
        self.notice_bar = NoticeBar()
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        for widget in (self.notice_bar, self.view, self.overview):
            layout.addWidget(widget)
        self.setCentralWidget(central)

        self.review_list = ReviewListDock(self)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.review_list)
        details_dock = DetailsDock(self)
        self.details = details_dock.label
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, details_dock)
        self.tachogram = TachogramDock(self)
        self.superimposition = SuperimposeDock(self)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.tachogram)
        self.splitDockWidget(self.tachogram, self.superimposition, Qt.Orientation.Horizontal)
        self.resizeDocks([self.tachogram], [200], Qt.Orientation.Vertical)
        self.templates = TemplatesDock(self)  # View ▸ Templates (Ctrl+T): the record's classes, one key a class

        self.progress = QProgressBar()
        self.progress.setMaximumWidth(260)
        self.progress.setRange(0, 1000)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel_analysis)
        # Record, reviewer, store and model stay in view: a menu's status tips clear the bar's message, not this.
        self.context = StatusContext(self.statusBar())
        self.statusBar().addPermanentWidget(self.context)
        self.statusBar().addPermanentWidget(self.progress)
        self.statusBar().addPermanentWidget(self.cancel_button)
        self._show_progress(False)

        attach_events_dock(self)  # sets self.events_dock; the clock axes follow the record from there
        self.shortcut_actions = build_menus(self)
        self.lead_box, self.speed_box, self.gain_box = build_display_toolbar(self, self.shortcut_actions)
        self._connect()
        self.restoreGeometry(self.settings.value("window/geometry", b""))
        self.restoreState(self.settings.value("window/state", b""))
        self._update_status("Open a recording (File ▸ Open, or drop it here)")

    def _connect(self) -> None:
        """The widgets ask the review model; the model's events redraw the widgets."""
        review = self.review
        self.view.beatClicked.connect(review.select_near)
        self.view.rangeShown.connect(review.viewport.shown)
        self.view.rangeShown.connect(self.trace.request)
        self.view.rangeShown.connect(self.overview.show_view)
        self.overview.jumpRequested.connect(review.centre_on)
        self.review_list.jumpRequested.connect(review.select_sample)
        self.tachogram.beatClicked.connect(review.select_sample)
        review.events.beats.connect(self._draw_beats)
        review.events.selection.connect(self._show_selection)
        review.events.viewport.connect(self.view.show_span)
        review.events.unsaved.connect(self._show_unsaved)
        review.events.refused.connect(lambda message: QMessageBox.warning(self, "Label not saved", message))
        review.events.status.connect(lambda message, timeout_ms: self.statusBar().showMessage(message, timeout_ms))
        self.models.events.active_changed.connect(self.use_active_model)

    # --- reviewer ------------------------------------------------------------------------------

    def reviewer(self, ask: bool = False) -> str | None:
        """The reviewer's name, asked once and remembered in the settings."""
        name = str(self.settings.value("reviewer", "") or "")
        if ask or not name:
            name, ok = QInputDialog.getText(self, "Reviewer", "Your name (recorded with every label):", text=name)
            name = name.strip()
            if not ok or not name:
                return str(self.settings.value("reviewer", "") or "") or None
            self.settings.setValue("reviewer", name)
            self.review.set_reviewer(name)
            self._update_status()
        return name

    # --- opening and closing a record ---------------------------------------------------------

    def choose_record(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open ECG recording", "", RECORD_FILTER)
        if path:
            self.open_record(path)

    def dragEnterEvent(self, event) -> None:
        if any(url.isLocalFile() for url in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        files = [url.toLocalFile() for url in event.mimeData().urls() if url.isLocalFile()]
        if files:
            event.acceptProposedAction()
            self.open_record(files[0])

    def open_record(self, path: str) -> bool:
        """Open ``path`` and start its analysis on a worker thread; False (with a message) if it cannot."""
        try:
            recording = open_recording(path)
        except DanetError as error:
            QMessageBox.warning(self, "Cannot open recording", str(error))
            return False
        if not self._settle_unsaved():
            return False
        self._close_record()
        try:
            self.review.open(recording)
        except DanetError as error:
            QMessageBox.warning(self, "Cannot open the annotation store", str(error))
            return False
        store = self.review.store
        if not store.writable:
            note = f"<b>Read-only:</b> {self.review.store_note}. Labels cannot be saved in this window; "
            self.notice_bar.show_notice(note + "Retry opens the record for writing again.",
                                        retry=lambda: self.open_record(path))
        self.recent.remember(str(Path(path).resolve()))
        self.setWindowTitle(f"DANet Review — {recording.name}")
        self.view.set_signal(np.empty(0, np.float32), recording.fs, "", "", analysis_lead="")
        self.worker = AnalysisWorker(recording, store, self.reviewer() or "unknown", self.model, self.model_folder)
        self.worker.progressed.connect(self._analysis_progressed)
        self.worker.succeeded.connect(self._analysis_succeeded)
        self.worker.failed.connect(self._analysis_failed)
        self._show_progress(True)
        self._update_status(f"Analysing {recording.name}…")
        self.worker.start()
        return True

    def _settle_unsaved(self) -> bool:
        """Before the record goes: try the kept labels once more; True if none are left or the user drops them."""
        if self.review.write_unsaved():
            return True
        answer = QMessageBox.question(
            self, "Labels not saved",
            f"{len(self.review.unsaved)} label(s) could not be saved ({self.review.store.path}). Discard them?",
            QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Cancel,
        )
        return answer == QMessageBox.StandardButton.Discard

    def _close_record(self) -> None:
        self._drop_worker(stop=True)
        self.notice_bar.clear()
        try:
            self.review.close()
        except DanetError as error:  # the journal keeps every saved edit; the next open folds it in
            QMessageBox.warning(self, "Annotation store", f"{error}. Saved labels are kept in its journal.")
        self.lead_box.clear()
        self.trace.drop()
        if self.lead_reader is not None:
            self.lead_reader.close()
            self.lead_reader.deleteLater()
            self.lead_reader = None
        self.view.set_traces([])

    def closeEvent(self, event) -> None:
        if not self._settle_unsaved():
            event.ignore()
            return
        self._close_record()
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState())
        super().closeEvent(event)

    # --- the analysis on its worker thread -----------------------------------------------------

    def cancel_analysis(self) -> None:
        """The Cancel button: the worker stops at its next progress report and says "cancelled"."""
        if self.worker is not None:
            self.worker.cancel()

    def _drop_worker(self, stop: bool) -> None:
        """Forget the analysis worker: stopped, its late signals kept from the next record; else done, joined."""
        worker, self.worker = self.worker, None
        self._show_progress(False)
        if worker is None:
            return
        if stop:
            for signal in (worker.progressed, worker.succeeded, worker.failed):
                signal.disconnect()
            worker.cancel()
        worker.wait()  # once it has signalled, run() has returned: this only joins the thread
        worker.deleteLater()

    @property
    def analysing(self) -> bool:
        return self.worker is not None

    def _show_progress(self, on: bool) -> None:
        self.progress.setVisible(on)
        self.cancel_button.setVisible(on)

    def _analysis_progressed(self, stage: str, fraction: float) -> None:
        self.progress.setFormat(f"{STAGE_NAMES.get(stage, stage)} %p%")
        self.progress.setValue(round(1000 * fraction))

    def _analysis_succeeded(self, outcome: AnalysisOutcome) -> None:
        self._drop_worker(stop=False)
        try:
            self._show_analysis(outcome)
        except Exception as error:  # noqa: BLE001 - one record's bad result must not leave the window half-built
            name = self.review.recording.name
            self._close_record()
            QMessageBox.warning(self, "Analysis failed", f"{name}: cannot show the analysis: "
                                f"{type(error).__name__}: {error}")
            self._update_status("Analysis failed")

    def _show_analysis(self, outcome: AnalysisOutcome) -> None:
        recording = self.review.recording
        self.model = outcome.model
        lead = recording.lead_names[outcome.lead]
        self.lead_reader = LeadReader(recording)
        self.lead_reader.leadRead.connect(self._lead_read)
        self.lead_box.clear()
        for index, name in enumerate(recording.lead_names):
            self.lead_box.addItem(f"{name} (analysis)" if index == outcome.lead else name, index)
        self.lead_box.setCurrentIndex(outcome.lead)
        self.view.set_signal(outcome.raw, recording.fs, lead, recording.units[outcome.lead], analysis_lead=lead)
        self.lead_reader.request(outcome.lead, outcome.raw)  # the pyramid for zooming out, after the first paint
        # Paper scale from the start where the trace is in mV; other units follow the trace.
        gain = STANDARD_GAIN_MM_MV if recording.units[outcome.lead] == "mV" else None
        self.gain_box.setCurrentIndex(self.gain_box.findData(gain))
        self.review.start_session(outcome.lead, outcome.raw, self.reviewer() or "")
        self.view.set_speed(self.view.speed_mm_s, start_s=0.0)  # the paper speed last chosen, not a zoom
        self.view.set_gain(gain)
        table = self.review.session.table
        verb = "loaded from the store" if outcome.reused else "analysed"
        self._update_status(f"{recording.name} {verb}: {len(table)} beats, "
                            f"{counted(int((table.model_apc == 1).sum()), 'model APC')}, lead {lead}")

    def _analysis_failed(self, message: str) -> None:
        self._drop_worker(stop=False)
        if message != "cancelled":
            QMessageBox.warning(self, "Analysis failed", message)
            path = str(self.review.recording.path)
            self.notice_bar.show_notice(f"<b>Analysis failed:</b> {message}", retry=lambda: self.open_record(path))
        self._update_status(f"Analysis {message}" if message == "cancelled" else "Analysis failed")

    def show_lead(self, box_index: int) -> None:
        """Draw another lead of the record as the raw trace, once it is read off the GUI thread."""
        if self.lead_reader is not None:
            self.lead_reader.request(self.lead_box.itemData(box_index))

    def _lead_read(self, lead: int, samples: np.ndarray, pyramid: MinMaxPyramid) -> None:
        if self.review.session is None:
            return
        if samples is self.view.raw:  # the lead on screen: only its pyramid was wanted
            self.view.set_pyramid(pyramid)
            return
        recording = self.review.recording
        x_range = self.view.raw_plot.viewRange()[0]
        self.view.set_signal(samples, recording.fs, recording.lead_names[lead], recording.units[lead], pyramid)
        self.view.show_span(x_range[0], x_range[1] - x_range[0])
        self.view.set_gain(self.view.gain_mm_mv)  # re-centred on the new lead's baseline
        self._draw_beats()  # the marks sit on the trace drawn

    def _shown_units(self) -> str:
        return self.review.recording.units[self.lead_box.currentData()] if self.lead_box.count() else ""

    # --- drawing the review model (its observers) ------------------------------------------------

    def _draw_beats(self) -> None:
        """The one redraw after the beats change: marks, lists, overview, tachogram, undo state, selection."""
        session, recording = self.review.session, self.review.recording
        if session is None:  # no record, or the next one still loading: nothing of the last one stays drawn
            self.view.set_beats(np.empty(0, np.int64), np.empty(0, np.int8), np.empty(0), np.empty(0, object))
            self.review_list.update_from(None, 1.0)
            self.overview.update_from(None, 1.0, 0.0)
            self.tachogram.set_beats(np.empty(0, np.int64), 1.0)
        else:
            table = session.table
            self.trace.follow(recording, self.review.lead, table.sample[~table.deleted], self.model)
            self.view.set_beats(table.sample, beat_states(table), apc_score(table.p_apc, session.threshold),
                               table.review_symbol)
            self.review_list.update_from(session, recording.fs, self.review.clock)
            self.overview.update_from(session, recording.fs, recording.duration_s)
            self.tachogram.set_beats(table.sample[~table.deleted], recording.fs)
            self.shortcut_actions["Undo"].setEnabled(session.can_undo)
            self.shortcut_actions["Redo"].setEnabled(session.can_redo)
        self.view.set_unanalysable(self.review.unanalysable())
        self._show_selection()

    def _show_selection(self) -> None:
        session, row = self.review.session, self.review.selected
        if session is None or row is None:
            self.view.select(None)
            self.tachogram.highlight(None)
            self.superimposition.show_class_of(None, None, self.view.raw, 1.0, "")
            self.details.setText(NO_BEAT)
            return
        fs, sample = self.review.recording.fs, int(session.table.sample[row])
        self.view.select(sample)
        self.tachogram.highlight(sample)
        self.superimposition.show_class_of(session, row, self.view.raw, fs, self._shown_units())
        self.view.ensure_visible(sample / fs)
        self.details.setText(beat_details_html(session.table, row, fs, session.threshold, self.review.clock))

    def _show_unsaved(self, count: int, problem: str) -> None:
        if not count:
            self.notice_bar.clear()
            return
        self.notice_bar.show_notice(f"<b>{count} label(s) not saved:</b> {problem}. They are kept here and "
                                    "written on Retry or with your next label.", retry=self.review.retry_unsaved)

    def _update_status(self, message: str = "") -> None:
        """``message`` on the status bar, and the review's context (record, reviewer, store, model) beside it."""
        reviewer = self.settings.value("reviewer", "") or "—"
        self.context.setText(self.review.context(reviewer, self.model.model_id if self.model else ""))
        self.statusBar().showMessage(message)

    # --- labelling (handlers named in SHORTCUTS; navigation ones are the review model's) ----------

    def _editable(self) -> bool:
        """The store takes labels and there is a reviewer to record with them (asked for if need be)."""
        if not self.review.can_edit():
            return False
        name = self.reviewer()
        if not name:
            self.statusBar().showMessage("A label needs a reviewer name (File ▸ Change reviewer)", 5000)
            return False
        self.review.set_reviewer(name)
        return True

    def confirm_model(self) -> None:
        if self.review.selected is not None and self._editable():
            self.review.confirm_model()

    def set_symbol(self, symbol: str) -> None:
        if self.review.selected is not None and self._editable():
            self.review.label_selected(symbol)

    def mark_not_a_beat(self) -> None:
        if self.review.selected is not None and self._editable():
            self.review.mark_not_a_beat()

    def add_beat_at_cursor(self) -> None:
        if self._editable():
            self.review.add_beat(self.view.cursor_s)

    def undo(self) -> None:
        if self._editable():
            self.review.undo()

    def redo(self) -> None:
        if self._editable():
            self.review.redo()

    def show_help(self) -> QWidget:
        dialog = ShortcutHelp(SHORTCUTS, self)
        dialog.show()
        return dialog

    # --- export and the model loop ------------------------------------------------------------

    def show_export(self) -> QWidget | None:
        if self.review.store is None:
            QMessageBox.information(self, "Export", "Open a recording first: the export reads its store.")
            return None
        record = self.review.recording.name if self.review.session else None
        dialog = ExportDialog(self.review.store.path, record, self)
        dialog.show()
        return dialog

    def show_retrain(self) -> QWidget:
        dialog = retrain_dialog(self.models, [self.review.store.path] if self.review.store is not None else [], self)
        dialog.show()
        return dialog

    def show_model_manager(self) -> QWidget:
        dialog = model_manager(self.models, self)
        dialog.show()
        return dialog

    def use_active_model(self, model_id: str) -> None:
        """Score with the registry's active model from now on, and re-analyse the record on screen with it.

        Re-analysis replaces only the model's outputs in the store; reviewers' labels stay as they are.
        """
        self.model, self.model_folder = None, None  # the worker loads the active model
        if self.review.recording is not None:
            self.open_record(str(self.review.recording.path))
        else:
            self._update_status(f"Model {model_id} is active")
