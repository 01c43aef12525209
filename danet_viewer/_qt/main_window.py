"""The main window: open a recording and see its analysis lead with the detected beats."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QMainWindow, QMessageBox

from danet_viewer.core.beats import detect_beats
from danet_viewer.core.readers import open_recording
from danet_viewer.errors import DanetError

RECORD_FILTER = "ECG recordings (*.hea *.edf *.csv);;All files (*)"
INITIAL_SPAN_S = 10.0


class MainWindow(QMainWindow):
    def __init__(self) -> None:
        super().__init__()
        self.setWindowTitle("DANet Review")
        self.resize(1200, 500)
        self.plot = pg.PlotWidget(background="w")
        self.plot.setLabel("bottom", "time", units="s")
        self.plot.showGrid(x=True, y=True, alpha=0.3)
        self.trace = self.plot.plot(pen=pg.mkPen("k", width=1))
        # Drawing only what is visible, reduced to min/max per pixel, keeps 24 h records fluid.
        self.trace.setClipToView(True)
        self.trace.setDownsampling(auto=True, method="peak")
        self.beat_markers = pg.ScatterPlotItem(size=7, brush=pg.mkBrush(200, 30, 30), pen=None)
        self.plot.addItem(self.beat_markers)
        self.setCentralWidget(self.plot)
        self.recording = None

        file_menu = self.menuBar().addMenu("&File")
        open_action = QAction("&Open…", self, shortcut=QKeySequence.StandardKey.Open)
        open_action.triggered.connect(self._choose_record)
        file_menu.addAction(open_action)
        quit_action = QAction("&Quit", self, shortcut=QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        file_menu.addAction(quit_action)
        self.statusBar().showMessage("Open a recording (File ▸ Open)")

    def _choose_record(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open ECG recording", "", RECORD_FILTER)
        if path:
            self.open_record(path)

    def open_record(self, path: str) -> bool:
        try:
            recording = open_recording(path)
            lead = recording.preferred_lead()
            signal = recording.read(lead)
            beats = detect_beats(signal, recording.fs)
        except DanetError as error:
            QMessageBox.warning(self, "Cannot open recording", str(error))
            return False
        self.recording = recording
        time = np.arange(len(signal), dtype=np.float64) / recording.fs
        self.trace.setData(time, signal)
        self.beat_markers.setData(beats / recording.fs, signal[beats])
        self.plot.setLabel("left", recording.lead_names[lead], units=recording.units[lead])
        self.plot.setXRange(0, min(INITIAL_SPAN_S, recording.duration_s), padding=0)
        self.statusBar().showMessage(
            f"{recording.name} — {recording.duration_s / 60:.1f} min, {recording.fs:g} Hz, "
            f"lead {recording.lead_names[lead]}, {len(beats)} beats"
        )
        return True
