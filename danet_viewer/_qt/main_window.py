"""The review workstation window: open a record, let DANet analyse it off the GUI thread, review its beats.

Every decision goes to the record's annotation store the moment it is made
(there is no Save); undo writes the previous label back the same way.

When the store cannot be written, a notice bar above the trace says why and
offers a retry: a store another window writes to opens read-only; labels a
full or read-only disk refused are kept in order in memory, drawn as labelled,
and written on the retry (or the next label) once the disk takes them.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
from PySide6.QtCore import QSettings, QStandardPaths, Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QDockWidget,
    QFileDialog,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from danet_viewer._qt.analysis_worker import AnalysisOutcome, AnalysisWorker
from danet_viewer._qt.beat_docks import SuperimposeDock, TachogramDock
from danet_viewer._qt.ecg_paper import GAINS_MM_MV, SPEEDS_MM_S, STANDARD_GAIN_MM_MV, STANDARD_SPEED_MM_S
from danet_viewer._qt.export_dialog import ExportDialog
from danet_viewer._qt.model_manager import ModelManagerDialog
from danet_viewer._qt.overview import OverviewStrip
from danet_viewer._qt.retrain_dialog import RetrainDialog
from danet_viewer._qt.review_list import ReviewListDock, format_time
from danet_viewer._qt.review_session import ReviewSession, beat_states
from danet_viewer._qt.review_view import MAX_ENHANCED_SPAN_S, ReviewView
from danet_viewer._qt.shortcuts import SHORTCUTS, ShortcutHelp
from danet_viewer._qt.trace_envelope import MinMaxPyramid
from danet_viewer._qt.trace_loader import LeadReader, TraceLoader
from danet_viewer.core.readers import open_recording
from danet_viewer.core.recording import Recording
from danet_viewer.core.store import NOT_A_BEAT, AnnotationStore, Review
from danet_viewer.errors import DanetError, StoreError, StoreLockedError, StoreWriteError
from danet_viewer.model.inference import BeatModel
from danet_viewer.model.registry import ModelRegistry

RECORD_FILTER = "ECG recordings (*.hea *.edf *.csv *.mat);;All files (*)"
SPANS_S = (5.0, 10.0, 30.0, 60.0, 180.0)
MIN_SPAN_S = 0.5  # the deepest keyboard zoom: one QRS complex across the screen
MAX_RECENT = 10
# An added beat sits on the largest deflection this close to the mouse (either polarity: leads can be inverted).
SNAP_S = 0.08
STAGE_NAMES = {"loading model": "Loading model", "reading": "Reading", "beats": "Detecting beats",
               "model": "DANet scoring"}  # fmt: skip


def default_store_path(record: Path) -> Path:
    """``<record folder>/<record name>.danet.h5``: the reviews travel with the record."""
    return record.parent / f"{record.stem}.danet.h5"


def fallback_store_path(record: Path) -> Path:
    """A per-user store for records in read-only folders (a CD, a shared archive)."""
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppLocalDataLocation)
    return Path(base) / "stores" / f"{record.stem}.danet.h5"


class MainWindow(QMainWindow):
    def __init__(self, settings: QSettings | None = None, model_folder: str | None = None) -> None:
        super().__init__()
        self.settings = settings or QSettings()
        self.model_folder = model_folder
        self.model: BeatModel | None = None
        self.recording: Recording | None = None
        self.store: AnnotationStore | None = None
        self.session: ReviewSession | None = None
        self.worker: AnalysisWorker | None = None
        self.trace_loader: TraceLoader | None = None
        self.lead_reader: LeadReader | None = None
        self.lead = 0  # the analysis lead: the model's, whatever lead is on screen
        self.analysis_raw = np.empty(0, np.float32)
        self.selected: int | None = None  # beat-table row
        self.store_note = ""
        # Label edits (sample, symbol) the store refused (a full or read-only disk), oldest first.
        self.unsaved: list[tuple[int, str]] = []
        self._retry_action: Callable[[], None] | None = None

        self.setWindowTitle("DANet Review")
        self.resize(1400, 820)
        self.setAcceptDrops(True)
        self.view = ReviewView()
        self.view.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.view.beatClicked.connect(self._select_near)
        self.view.rangeShown.connect(self._request_trace)
        self.overview = OverviewStrip()
        self.overview.jumpRequested.connect(self.centre_on)
        self.view.rangeShown.connect(self.overview.show_view)
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self._build_notice_bar())
        layout.addWidget(self.view)
        layout.addWidget(self.overview)
        self.setCentralWidget(central)

        self.review_list = ReviewListDock(self)
        self.review_list.jumpRequested.connect(self.select_sample)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.review_list)
        self.details = QLabel("No beat selected")
        self.details.setTextFormat(Qt.TextFormat.RichText)
        self.details.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.details.setMargin(6)
        details_dock = QDockWidget("Selected beat", self)
        details_dock.setObjectName("beat_details")
        details_dock.setWidget(self.details)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, details_dock)
        self.tachogram = TachogramDock(self)
        self.tachogram.beatClicked.connect(self.select_sample)
        self.superimposition = SuperimposeDock(self)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.tachogram)
        self.splitDockWidget(self.tachogram, self.superimposition, Qt.Orientation.Horizontal)
        self.resizeDocks([self.tachogram], [200], Qt.Orientation.Vertical)

        self.progress = QProgressBar()
        self.progress.setMaximumWidth(260)
        self.progress.setRange(0, 1000)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel_analysis)
        self.statusBar().addPermanentWidget(self.progress)
        self.statusBar().addPermanentWidget(self.cancel_button)
        self._show_progress(False)

        self._build_menus()
        self._build_display_toolbar()
        self._update_status("Open a recording (File ▸ Open, or drop it here)")

    def _build_notice_bar(self) -> QWidget:
        """A bar that stays until the problem is gone: a read-only store, unsaved labels, a failed analysis."""
        self.notice_bar = QWidget()
        self.notice_bar.setObjectName("notice")
        self.notice_bar.setStyleSheet("#notice { background: #fff3cd; border-bottom: 1px solid #e0c060; }")
        self.notice = QLabel()
        self.notice.setWordWrap(True)
        self.retry_button = QPushButton("Retry")
        self.retry_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the review keys stay with the window
        self.retry_button.clicked.connect(self.retry)
        row = QHBoxLayout(self.notice_bar)
        row.setContentsMargins(8, 4, 8, 4)
        row.addWidget(self.notice, 1)
        row.addWidget(self.retry_button)
        self.notice_bar.hide()
        return self.notice_bar

    def _show_notice(self, text: str, retry: Callable[[], None] | None = None) -> None:
        self.notice.setText(text)
        self._retry_action = retry
        self.retry_button.setVisible(retry is not None)
        self.notice_bar.show()

    def _hide_notice(self) -> None:
        self._retry_action = None
        self.notice_bar.hide()

    def retry(self) -> None:
        """The notice bar's Retry: what it offers depends on what went wrong."""
        if self._retry_action is not None:
            self._retry_action()

    # --- menus and the key table ---------------------------------------------------------------

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        open_action = QAction("&Open…", self, shortcut=QKeySequence.StandardKey.Open)
        open_action.triggered.connect(self._choose_record)
        file_menu.addAction(open_action)
        self.recent_menu = file_menu.addMenu("Open &Recent")
        self._rebuild_recent_menu()
        reviewer_action = QAction("Change &reviewer…", self)
        reviewer_action.triggered.connect(lambda: self.reviewer(ask=True))
        file_menu.addAction(reviewer_action)
        export_action = QAction("&Export…", self)
        export_action.triggered.connect(self.show_export)
        file_menu.addAction(export_action)
        file_menu.addSeparator()
        quit_action = QAction("&Quit", self, shortcut=QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        file_menu.addAction(quit_action)

        view_menu = self.menuBar().addMenu("&View")
        spans = QActionGroup(self)
        for span in SPANS_S:
            action = QAction(f"{span:g} s span" if span < 60 else f"{span / 60:g} min span", self, checkable=True)
            action.triggered.connect(lambda _=False, s=span: self.set_span(s))
            spans.addAction(action)
            view_menu.addAction(action)
        view_menu.addSeparator()
        for dock in (self.review_list, self.tachogram, self.superimposition):
            view_menu.addAction(dock.toggleViewAction())
        view_menu.addSeparator()
        review_menu = self.menuBar().addMenu("&Review")
        model_menu = self.menuBar().addMenu("&Model")
        retrain_action = QAction("&Retrain on reviewed labels…", self)
        retrain_action.triggered.connect(self.show_retrain)
        model_menu.addAction(retrain_action)
        manage_action = QAction("&Manage models…", self)
        manage_action.triggered.connect(self.show_model_manager)
        model_menu.addAction(manage_action)
        help_menu = self.menuBar().addMenu("&Help")
        # One QAction per row of SHORTCUTS: the table is the only place a key is bound.
        self.shortcut_actions: dict[str, QAction] = {}
        toggles = {"toggle_side_by_side": False, "toggle_attention": True, "toggle_regions": True,
                   "toggle_grid": True, "toggle_calipers": False, "toggle_heart_rate_overview": False}  # fmt: skip
        for shortcut in SHORTCUTS:
            action = QAction(shortcut.action, self)
            action.setShortcuts([QKeySequence(key) for key in shortcut.keys])
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            action.setToolTip(shortcut.description)
            handler = getattr(self, shortcut.handler)
            if shortcut.handler in toggles:
                action.setCheckable(True)
                action.setChecked(toggles[shortcut.handler])
                action.toggled.connect(handler)
                view_menu.addAction(action)
            else:
                action.triggered.connect(
                    (lambda _=False, h=handler, a=shortcut.argument: h(a)) if shortcut.argument else handler
                )
                (help_menu if shortcut.handler == "show_help" else review_menu).addAction(action)
            self.addAction(action)
            self.shortcut_actions[shortcut.action] = action

    def _build_display_toolbar(self) -> None:
        """Lead, paper speed and gain, and the grid and caliper toggles (the same actions as the View menu's)."""
        toolbar = QToolBar("Display", self)
        toolbar.setObjectName("display")
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, toolbar)
        self.lead_box = QComboBox()
        self.lead_box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.lead_box.setToolTip("the lead drawn as the raw trace (the model keeps its analysis lead)")
        self.lead_box.activated.connect(self.show_lead)
        self.speed_box = QComboBox()
        for speed in SPEEDS_MM_S:
            self.speed_box.addItem(f"{speed:g} mm/s", speed)
        self.speed_box.setCurrentIndex(SPEEDS_MM_S.index(STANDARD_SPEED_MM_S))
        self.speed_box.activated.connect(lambda index: self.view.set_speed(self.speed_box.itemData(index)))
        self.gain_box = QComboBox()
        self.gain_box.addItem("auto mm/mV", None)
        for gain in GAINS_MM_MV:
            self.gain_box.addItem(f"{gain:g} mm/mV", gain)
        self.gain_box.activated.connect(lambda index: self.view.set_gain(self.gain_box.itemData(index)))
        for label, box in (("Lead ", self.lead_box), ("  Speed ", self.speed_box), ("  Gain ", self.gain_box)):
            box.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the review keys stay with the window
            toolbar.addWidget(QLabel(label))
            toolbar.addWidget(box)
        toolbar.addSeparator()
        for name in ("ECG grid", "Calipers"):
            toolbar.addAction(self.shortcut_actions[name])

    def _rebuild_recent_menu(self) -> None:
        self.recent_menu.clear()
        for path in self.recent_files():
            action = self.recent_menu.addAction(path)
            action.triggered.connect(lambda _=False, p=path: self.open_record(p))
        self.recent_menu.setEnabled(bool(self.recent_files()))

    def recent_files(self) -> list[str]:
        value = self.settings.value("recent_files", [])
        return [value] if isinstance(value, str) else list(value or [])

    def _remember(self, path: str) -> None:
        recent = [path] + [p for p in self.recent_files() if p != path]
        self.settings.setValue("recent_files", recent[:MAX_RECENT])
        self._rebuild_recent_menu()

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
            if self.session is not None:
                self.session.reviewer = name
            self._update_status()
        return name

    # --- opening -------------------------------------------------------------------------------

    def _choose_record(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open ECG recording", "", RECORD_FILTER)
        if path:
            self.open_record(path)

    def dragEnterEvent(self, event) -> None:  # noqa: N802 - Qt's name
        if any(url.isLocalFile() for url in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802 - Qt's name
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
            self.store, self.store_note = self._open_store(recording.path)
        except DanetError as error:
            QMessageBox.warning(self, "Cannot open the annotation store", str(error))
            return False
        if not self.store.writable:
            self._show_notice(f"<b>Read-only:</b> {self.store_note}. Labels cannot be saved in this window; "
                              "Retry opens the record for writing again.", retry=lambda: self.open_record(path))
        self.recording = recording
        self._remember(str(Path(path).resolve()))
        self.setWindowTitle(f"DANet Review — {recording.name}")
        self.view.set_signal(np.empty(0, np.float32), recording.fs, "", "")
        self.worker = AnalysisWorker(recording, self.store, self.reviewer() or "unknown", self.model,
                                     self.model_folder)  # fmt: skip
        self.worker.progressed.connect(self._analysis_progressed)
        self.worker.succeeded.connect(self._analysis_succeeded)
        self.worker.failed.connect(self._analysis_failed)
        self._show_progress(True)
        self._update_status(f"Analysing {recording.name}…")
        self.worker.start()
        return True

    def _open_store(self, record: Path) -> tuple[AnnotationStore, str]:
        """The record's store for writing, else read-only with a note saying why (another writer, the disk)."""
        path = default_store_path(record)
        note = ""
        if not os.access(record.parent, os.W_OK):
            path = fallback_store_path(record)
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise StoreError(path.parent, f"cannot create the folder for reviews: {error.strerror}") from None
            note = f"record folder is read-only: reviews go to {path}"
        try:
            return AnnotationStore.open(path, "a"), note
        except StoreLockedError as error:
            return AnnotationStore.open(path, "r"), f"another window or process is writing to it ({error.holder})"
        except StoreError as error:
            if not path.exists():
                raise
            return AnnotationStore.open(path, "r"), f"it cannot be written ({error.problem})"

    def _close_record(self) -> None:
        self._stop_worker()
        self._hide_notice()
        self.unsaved.clear()
        if self.store is not None:
            try:
                self.store.close()
            except DanetError as error:  # the journal keeps every saved edit; the next open folds it in
                QMessageBox.warning(self, "Annotation store", f"{error}. Saved labels are kept in its journal.")
        self.store = self.session = self.recording = None
        self.selected = None
        self.review_list.update_from(None, 1.0)
        self.overview.update_from(None, 1.0, 0.0)
        self.tachogram.set_beats(np.empty(0, np.int64), 1.0)
        self.superimposition.show_class_of(None, None, self.view.raw, 1.0, "")
        self.lead_box.clear()
        self._drop_trace_loader()
        if self.lead_reader is not None:
            self.lead_reader.close()
            self.lead_reader.deleteLater()
            self.lead_reader = None
        self.view.set_traces([])

    def cancel_analysis(self) -> None:
        """The Cancel button: the worker stops at its next progress report and says "cancelled"."""
        if self.worker is not None:
            self.worker.cancel()

    def _stop_worker(self) -> None:
        """Stop and forget a running analysis; its late signals must not reach the next record."""
        if self.worker is None:
            return
        worker, self.worker = self.worker, None
        for signal in (worker.progressed, worker.succeeded, worker.failed):
            signal.disconnect()
        worker.cancel()
        worker.wait()
        worker.deleteLater()
        self._show_progress(False)

    # --- analysis results ----------------------------------------------------------------------

    def _show_progress(self, on: bool) -> None:
        self.progress.setVisible(on)
        self.cancel_button.setVisible(on)

    def _analysis_progressed(self, stage: str, fraction: float) -> None:
        self.progress.setFormat(f"{STAGE_NAMES.get(stage, stage)} %p%")
        self.progress.setValue(round(1000 * fraction))

    def _analysis_succeeded(self, outcome: AnalysisOutcome) -> None:
        self._finish_worker()
        try:
            self._show_analysis(outcome)
        except Exception as error:  # noqa: BLE001 - one record's bad result must not leave the window half-built
            name = self.recording.name
            self._close_record()
            QMessageBox.warning(self, "Analysis failed", f"{name}: cannot show the analysis: "
                                f"{type(error).__name__}: {error}")  # fmt: skip
            self._update_status("Analysis failed")

    def _show_analysis(self, outcome: AnalysisOutcome) -> None:
        recording = self.recording
        self.model = outcome.model
        self.session = ReviewSession(self.store, recording.name, self.reviewer() or "")
        lead = recording.lead_names[outcome.lead]
        self.lead, self.analysis_raw = outcome.lead, outcome.raw
        self.lead_reader = LeadReader(recording)
        self.lead_reader.leadRead.connect(self._lead_read)
        self.lead_box.clear()
        for index, name in enumerate(recording.lead_names):
            self.lead_box.addItem(f"{name} (analysis)" if index == outcome.lead else name, index)
        self.lead_box.setCurrentIndex(outcome.lead)
        self.view.set_signal(outcome.raw, recording.fs, lead, recording.units[outcome.lead])
        self.lead_reader.request(outcome.lead, outcome.raw)  # the pyramid for zooming out, after the first paint
        # Paper scale from the start where the trace is in mV; other units follow the trace.
        gain = STANDARD_GAIN_MM_MV if recording.units[outcome.lead] == "mV" else None
        self.gain_box.setCurrentIndex(self.gain_box.findData(gain))
        self._beats_changed()
        self.view.set_speed(self.speed_box.currentData(), start_s=0.0)
        self.view.set_gain(gain)
        table = self.session.table
        verb = "loaded from the store" if outcome.reused else "analysed"
        self._update_status(f"{recording.name} {verb}: {len(table)} beats, "
                            f"{int((table.model_apc == 1).sum())} model APCs, lead {lead}")  # fmt: skip

    def _analysis_failed(self, message: str) -> None:
        self._finish_worker()
        if message != "cancelled":
            QMessageBox.warning(self, "Analysis failed", message)
            path = str(self.recording.path)
            self._show_notice(f"<b>Analysis failed:</b> {message}", retry=lambda: self.open_record(path))
        self._update_status(f"Analysis {message}" if message == "cancelled" else "Analysis failed")

    def _finish_worker(self) -> None:
        self._show_progress(False)
        if self.worker is not None:
            self.worker.wait()  # run() has returned once it signalled; this only joins the thread
            self.worker.deleteLater()
            self.worker = None

    @property
    def analysing(self) -> bool:
        return self.worker is not None

    # --- the enhanced trace ----------------------------------------------------------------------

    def _request_trace(self, start_s: float, stop_s: float) -> None:
        if self.trace_loader is not None and stop_s - start_s <= MAX_ENHANCED_SPAN_S:
            span = stop_s - start_s
            self.trace_loader.request(start_s - span, stop_s + span)

    def _trace_block_ready(self) -> None:
        self.view.set_traces(self.trace_loader.pieces(), attention_module=self.model.network.wem is not None)

    def _drop_trace_loader(self) -> None:
        if self.trace_loader is not None:
            self.trace_loader.close()
            self.trace_loader.deleteLater()
            self.trace_loader = None

    def _update_trace_beats(self) -> None:
        """A new trace loader when the beats the model sees change (an added or deleted beat, or none yet)."""
        table = self.session.table
        beats = table.sample[~table.deleted]
        if self.trace_loader is not None and np.array_equal(self.trace_loader.beats, beats):
            return
        self._drop_trace_loader()
        self.trace_loader = TraceLoader(self.recording, self.lead, beats, self.model)
        self.trace_loader.blockReady.connect(self._trace_block_ready)
        self.view.set_traces([], attention_module=self.model.network.wem is not None)

    @property
    def trace_ready(self) -> bool:
        """True once the enhanced trace of the visible range is computed."""
        return self.trace_loader is not None and not self.trace_loader.busy and bool(self.trace_loader.blocks)

    # --- drawing the session -------------------------------------------------------------------

    def _beats_changed(self) -> None:
        table = self.session.table
        self._update_trace_beats()
        self.view.set_beats(table.sample, beat_states(table), table.p_apc, table.review_symbol)
        self.review_list.update_from(self.session, self.recording.fs)
        self.overview.update_from(self.session, self.recording.fs, self.recording.duration_s)
        self.tachogram.set_beats(table.sample[~table.deleted], self.recording.fs)
        self.shortcut_actions["Undo"].setEnabled(self.session.can_undo)
        self.shortcut_actions["Redo"].setEnabled(self.session.can_redo)
        self._show_selection()

    def _show_selection(self) -> None:
        if self.session is None or self.selected is None:
            self.view.select(None)
            self.tachogram.highlight(None)
            self.superimposition.show_class_of(None, None, self.view.raw, 1.0, "")
            self.details.setText("No beat selected")
            return
        table, row, fs = self.session.table, self.selected, self.recording.fs
        sample = int(table.sample[row])
        self.view.select(sample)
        self.tachogram.highlight(sample)
        self.superimposition.show_class_of(self.session, row, self.view.raw, fs, self._shown_units())
        self.view.ensure_visible(sample / fs)
        before = (sample - table.sample[row - 1]) / fs if row > 0 else float("nan")
        after = (table.sample[row + 1] - sample) / fs if row + 1 < len(table) else float("nan")
        p = float(table.p_apc[row])
        model = {1: "APC", 0: "not APC"}.get(int(table.model_apc[row]), "not scored")
        review = table.review_symbol[row] or "unreviewed"
        rows = [("time", format_time(sample / fs)), ("sample", str(sample)),
                ("RR before", "—" if np.isnan(before) else f"{before * 1000:.0f} ms"),
                ("RR after", "—" if np.isnan(after) else f"{after * 1000:.0f} ms"),
                ("p(APC)", "—" if np.isnan(p) else f"{p:.3f} (threshold {self.session.threshold:.2f})"),
                ("model", model), ("review", review), ("reviewer", table.reviewer[row] or "—"),
                ("reviewed at", table.reviewed_at[row] or "—"),
                ("origin", "added by a reviewer" if table.added[row] else "detected")]  # fmt: skip
        self.details.setText("<table>" + "".join(f"<tr><td><b>{k}</b>&nbsp;</td><td>{v}</td></tr>" for k, v in rows)
                             + "</table>")  # fmt: skip

    def _update_status(self, message: str = "") -> None:
        parts = [message] if message else []
        if self.recording is not None:
            parts.append(f"record {self.recording.name}")
        parts.append(f"reviewer {self.settings.value('reviewer', '') or '—'}")
        if self.store is not None:
            parts.append(f"store {self.store.path}" + (f" ({self.store_note})" if self.store_note else ""))
        if self.model is not None:
            parts.append(f"model {self.model.model_id}")
        self.statusBar().showMessage("   |   ".join(parts))

    # --- selection and navigation (handlers named in SHORTCUTS) --------------------------------

    def select_row(self, row: int | None) -> None:
        if row is None:
            self.statusBar().showMessage("No further beat in that direction", 2000)
            return
        self.selected = row
        self._show_selection()

    def select_sample(self, sample: int) -> None:
        if self.session is not None:
            self.select_row(self.session.row_of(sample))

    def _select_near(self, time_s: float) -> None:
        if self.session is not None:
            self.select_row(self.session.nearest_row(time_s * self.recording.fs))

    def _shown_units(self) -> str:
        return self.recording.units[self.lead_box.currentData()] if self.lead_box.count() else ""

    def show_lead(self, box_index: int) -> None:
        """Draw another lead of the record as the raw trace, once it is read off the GUI thread."""
        if self.lead_reader is not None:
            self.lead_reader.request(self.lead_box.itemData(box_index))

    def _lead_read(self, lead: int, samples: np.ndarray, pyramid: MinMaxPyramid) -> None:
        if self.session is None:
            return
        if samples is self.view.raw:  # the lead on screen: only its pyramid was wanted
            self.view.set_pyramid(pyramid)
            return
        recording = self.recording
        x_range = self.view.raw_plot.viewRange()[0]
        self.view.set_signal(samples, recording.fs, recording.lead_names[lead], recording.units[lead], pyramid)
        self.view.show_span(x_range[0], x_range[1] - x_range[0])
        self.view.set_gain(self.view.gain_mm_mv)  # re-centred on the new lead's baseline
        self._beats_changed()  # the marks sit on the trace drawn

    def centre_on(self, time_s: float) -> None:
        """Keep the span, put ``time_s`` in the middle (the overview strip's click)."""
        x0, x1 = self.view.raw_plot.viewRange()[0]
        self._show_clamped(time_s - (x1 - x0) / 2, x1 - x0)

    def _show_clamped(self, start_s: float, span_s: float) -> None:
        if self.recording is None:
            return
        duration = self.recording.duration_s
        span_s = float(np.clip(span_s, MIN_SPAN_S, duration))
        self.view.show_span(float(np.clip(start_s, 0.0, duration - span_s)), span_s)

    def page_forward(self) -> None:
        x0, x1 = self.view.raw_plot.viewRange()[0]
        self._show_clamped(x1, x1 - x0)

    def page_back(self) -> None:
        x0, x1 = self.view.raw_plot.viewRange()[0]
        self._show_clamped(2 * x0 - x1, x1 - x0)

    def zoom_in(self) -> None:
        x0, x1 = self.view.raw_plot.viewRange()[0]
        self._show_clamped((3 * x0 + x1) / 4, (x1 - x0) / 2)

    def zoom_out(self) -> None:
        x0, x1 = self.view.raw_plot.viewRange()[0]
        self._show_clamped((3 * x0 - x1) / 2, 2 * (x1 - x0))

    def go_to_start(self) -> None:
        x0, x1 = self.view.raw_plot.viewRange()[0]
        self._show_clamped(0.0, x1 - x0)

    def go_to_end(self) -> None:
        if self.recording is not None:
            x0, x1 = self.view.raw_plot.viewRange()[0]
            self._show_clamped(self.recording.duration_s, x1 - x0)

    def set_span(self, span_s: float) -> None:
        x0, x1 = self.view.raw_plot.viewRange()[0]
        centre = (x0 + x1) / 2
        if self.selected is not None:
            centre = self.session.table.sample[self.selected] / self.recording.fs
        self.view.show_span(max(0.0, centre - span_s / 2), span_s)

    def _step(self, rows: np.ndarray, forward: bool) -> None:
        if self.session is not None:
            self.select_row(self.session.step(rows, self.selected, forward))

    def next_unreviewed(self) -> None:
        if self.session is not None:
            self._step(self.session.unreviewed_candidates(), True)

    def previous_unreviewed(self) -> None:
        if self.session is not None:
            self._step(self.session.unreviewed_candidates(), False)

    def next_apc(self) -> None:
        if self.session is not None:
            self._step(self.session.candidates, True)

    def previous_apc(self) -> None:
        if self.session is not None:
            self._step(self.session.candidates, False)

    def next_beat(self) -> None:
        if self.session is not None:
            self._step(np.arange(len(self.session.table)), True)

    def previous_beat(self) -> None:
        if self.session is not None:
            self._step(np.arange(len(self.session.table)), False)

    # --- labelling (handlers named in SHORTCUTS) -----------------------------------------------

    def _editable(self) -> bool:
        if self.session is None:
            return False
        if not self.store.writable:
            self.statusBar().showMessage(f"Store is read-only ({self.store_note}); labels cannot be saved", 5000)
            return False
        name = self.reviewer()
        if not name:
            self.statusBar().showMessage("A label needs a reviewer name (File ▸ Change reviewer)", 5000)
            return False
        self.session.reviewer = name
        return True

    def _label_selected(self, symbol: str) -> None:
        if self.selected is None or not self._editable():
            return
        self._save_label(int(self.session.table.sample[self.selected]), symbol)

    def _save_label(self, sample: int, symbol: str) -> None:
        """Label a beat through the store; if the disk refuses it, keep the label in memory, after any kept before."""
        if self.unsaved:
            self.unsaved.append((sample, symbol))
            self._write_unsaved()
        else:
            try:
                self.session.label(sample, symbol)
            except StoreWriteError as error:
                self.unsaved.append((sample, symbol))
                self._show_unsaved(error)
            except DanetError as error:
                QMessageBox.warning(self, "Label not saved", str(error))
                return
        self.selected = self.session.nearest_row(sample)
        self._beats_changed()

    def _write_unsaved(self) -> None:
        """Write the kept labels, oldest first, until the disk refuses one again."""
        # From the stored truth: the table on screen shows the kept labels as if saved.
        self.session.table = self.store.beat_table(self.session.record)
        while self.unsaved:
            sample, symbol = self.unsaved[0]
            try:
                self.session.label(sample, symbol)
            except StoreWriteError as error:
                self._show_unsaved(error)
                return
            except DanetError as error:  # not the disk: this label can never be saved
                QMessageBox.warning(self, "Label not saved", str(error))
            self.unsaved.pop(0)
        self._hide_notice()

    def _show_unsaved(self, error: StoreWriteError) -> None:
        # Drawn as labelled (reviewed at "not saved"), so the reviewer's work stays in sight.
        record = self.store.record(self.session.record)
        kept = {sample: Review(symbol, self.session.reviewer, "not saved") for sample, symbol in self.unsaved}
        self.session.table = replace(record, reviews={**record.reviews, **kept}).beat_table()
        self._show_notice(f"<b>{len(self.unsaved)} label(s) not saved:</b> {error}. They are kept here and "
                          "written on Retry or with your next label.", retry=self._retry_unsaved)  # fmt: skip

    def _retry_unsaved(self) -> None:
        count = len(self.unsaved)
        self._write_unsaved()
        self._beats_changed()
        if not self.unsaved:
            self.statusBar().showMessage(f"{count} kept label(s) saved", 5000)

    def _settle_unsaved(self) -> bool:
        """Before the record goes: try the kept labels once more; True if none are left or the user drops them."""
        if not self.unsaved:
            return True
        self._write_unsaved()
        if not self.unsaved:
            return True
        answer = QMessageBox.question(
            self, "Labels not saved",
            f"{len(self.unsaved)} label(s) could not be saved ({self.store.path}). Discard them?",
            QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Cancel,
        )  # fmt: skip
        return answer == QMessageBox.StandardButton.Discard

    def _apply(self, edit, sample: int | None = None) -> None:
        """Run a store edit (which returns the beat it touched, or None); warn on refusal; redraw, select it."""
        try:
            touched = edit()
        except DanetError as error:
            QMessageBox.warning(self, "Label not saved", str(error))
            return
        target = sample if sample is not None else touched
        if target is not None:
            # nearest, not exact: undoing an added beat removes it, and its neighbour is then selected.
            self.selected = self.session.nearest_row(target)
        self._beats_changed()

    def confirm_model(self) -> None:
        if self.selected is not None and self.session is not None:
            self._label_selected(self.session.model_symbol(self.selected))

    def set_symbol(self, symbol: str) -> None:
        self._label_selected(symbol)

    def mark_not_a_beat(self) -> None:
        self._label_selected(NOT_A_BEAT)

    def add_beat_at_cursor(self) -> None:
        if not self._editable():
            return
        x0, x1 = self.view.raw_plot.viewRange()[0]
        cursor = self.view.cursor_s if self.view.cursor_s is not None else (x0 + x1) / 2
        sample = self._snap_to_peak(cursor)
        if self.session.row_of(sample) is not None:
            self.statusBar().showMessage("A beat is already there", 3000)
            self.select_sample(sample)
            return
        self._save_label(sample, "N")

    def _snap_to_peak(self, time_s: float) -> int:
        raw, fs = self.analysis_raw, self.recording.fs  # beats live on the analysis lead, whatever is on screen
        centre = int(round(time_s * fs))
        lo, hi = max(0, centre - int(SNAP_S * fs)), min(len(raw), centre + int(SNAP_S * fs) + 1)
        if hi <= lo:
            return int(np.clip(centre, 0, len(raw) - 1))
        window = raw[lo:hi]
        return lo + int(np.argmax(np.abs(window - np.median(window))))

    def undo(self) -> None:
        if self._editable() and self._nothing_unsaved():
            self._apply(self.session.undo)

    def redo(self) -> None:
        if self._editable() and self._nothing_unsaved():
            self._apply(self.session.redo)

    def _nothing_unsaved(self) -> bool:
        """Undo and redo walk the saved history: labels still kept in memory must be saved first."""
        if self.unsaved:
            self.statusBar().showMessage(f"{len(self.unsaved)} label(s) are not saved yet: Retry first", 5000)
        return not self.unsaved

    # --- view toggles and help (handlers named in SHORTCUTS) -----------------------------------

    def toggle_side_by_side(self, on: bool) -> None:
        self.view.set_side_by_side(on)

    def toggle_attention(self, on: bool) -> None:
        self.view.set_attention_visible(on)

    def toggle_regions(self, on: bool) -> None:
        self.view.set_regions_visible(on)

    def toggle_grid(self, on: bool) -> None:
        self.view.set_grid_visible(on)

    def toggle_calipers(self, on: bool) -> None:
        self.view.set_calipers_visible(on)

    def toggle_heart_rate_overview(self, on: bool) -> None:
        self.overview.show_heart_rate(on)

    def show_help(self) -> QWidget:
        dialog = ShortcutHelp(SHORTCUTS, self)
        dialog.show()
        return dialog

    # --- export and the model loop ------------------------------------------------------------

    def show_export(self) -> QWidget | None:
        if self.store is None:
            QMessageBox.information(self, "Export", "Open a recording first: the export reads its store.")
            return None
        dialog = ExportDialog(self.store.path, self.recording.name if self.session else None, self)
        dialog.show()
        return dialog

    def show_retrain(self) -> QWidget:
        dialog = RetrainDialog(ModelRegistry(), [self.store.path] if self.store is not None else [], self)
        dialog.modelActivated.connect(self.use_active_model)
        dialog.show()
        return dialog

    def show_model_manager(self) -> QWidget:
        dialog = ModelManagerDialog(ModelRegistry(), self)
        dialog.activeModelChanged.connect(self.use_active_model)
        dialog.show()
        return dialog

    def use_active_model(self, model_id: str) -> None:
        """Score with the registry's active model from now on, and re-analyse the record on screen with it.

        Re-analysis replaces only the model's outputs in the store; reviewers' labels stay as they are.
        """
        self.model, self.model_folder = None, None  # the worker loads the active model
        if self.recording is not None:
            self.open_record(str(self.recording.path))
        else:
            self._update_status(f"Model {model_id} is active")

    # --- closing -------------------------------------------------------------------------------

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        if not self._settle_unsaved():
            event.ignore()
            return
        self._close_record()
        super().closeEvent(event)
