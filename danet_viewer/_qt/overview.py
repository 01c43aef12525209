"""The overview strip: the whole recording at a glance, under the traces, with the current view as a region.

It shows either APC density (the model's APCs per minute, and the reviewed
APCs per minute in another colour) or the heart rate, both binned so each is
one line item however long the recording; a click anywhere jumps there.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QGraphicsItem

from danet_viewer._qt.axes import ClockAxis
from danet_viewer._qt.review_view import STATE_STYLE, BeatState
from danet_viewer.components.review_session import ReviewSession

# Bin widths a reader can name; the finest that leaves at most MAX_BINS bins over the recording is used.
BIN_CHOICES_S = (10.0, 30.0, 60.0, 120.0, 300.0, 600.0)
MAX_BINS = 1500
OVERVIEW_HEIGHT_PX = 140


def bin_width_s(duration_s: float) -> float:
    return next((width for width in BIN_CHOICES_S if duration_s / width <= MAX_BINS), BIN_CHOICES_S[-1])


def per_minute(times_s: np.ndarray, edges_s: np.ndarray) -> np.ndarray:
    """Events per minute in each bin between consecutive ``edges_s``."""
    counts = np.histogram(times_s, bins=edges_s)[0]
    return counts * 60.0 / np.diff(edges_s)


class OverviewStrip(pg.PlotWidget):
    """APC density or heart rate over the whole recording; ``jumpRequested`` carries the clicked time."""

    jumpRequested = Signal(float)

    def __init__(self, parent=None) -> None:
        super().__init__(parent, background="w", axisItems={"bottom": ClockAxis()})
        self.setFixedHeight(OVERVIEW_HEIGHT_PX)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the review keys stay with the window
        plot = self.getPlotItem()
        plot.setMenuEnabled(False)
        plot.hideButtons()
        plot.setMouseEnabled(x=False, y=False)
        plot.showGrid(y=True, alpha=0.2)
        self.model_curve = plot.plot(stepMode="center", pen=pg.mkPen(STATE_STYLE[BeatState.MODEL_APC][0], width=1.5))
        self.reviewed_curve = plot.plot(stepMode="center",
                                        pen=pg.mkPen(STATE_STYLE[BeatState.CONFIRMED_APC][0], width=1.5))
        # Moving the view region repaints across the strip at every pan step; cached, the axes and curves
        # (unchanged until a rebin) are copied rather than drawn again.
        for item in (plot.getAxis("left"), plot.getAxis("bottom"), self.model_curve.curve, self.reviewed_curve.curve):
            item.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.view_region = pg.LinearRegionItem(movable=False, brush=pg.mkBrush(40, 110, 220, 60),
                                               pen=pg.mkPen(40, 110, 220, 200))
        plot.addItem(self.view_region, ignoreBounds=True)
        self.heart_rate = False
        self.duration_s = 0.0
        self.session: ReviewSession | None = None
        self.fs = 1.0
        self.scene().sigMouseClicked.connect(self._clicked)

    def show_heart_rate(self, on: bool) -> None:
        self.heart_rate = on
        self.update_from(self.session, self.fs, self.duration_s)

    def update_from(self, session: ReviewSession | None, fs: float, duration_s: float) -> None:
        """Rebin from the session's beat table (after opening a record or a label edit)."""
        self.session, self.fs, self.duration_s = session, fs, duration_s
        plot = self.getPlotItem()
        if session is None or duration_s <= 0:
            self.model_curve.setData([], [])
            self.reviewed_curve.setData([], [])
            return
        table = session.table
        edges = np.append(np.arange(0.0, duration_s, bin_width_s(duration_s)), duration_s)
        beats_s = table.sample[~table.deleted] / fs
        if self.heart_rate:
            self.model_curve.setData(edges, per_minute(beats_s, edges), pen=pg.mkPen((30, 30, 30), width=1.5))
            self.reviewed_curve.setData([], [])
            plot.setLabel("left", "bpm")
            plot.setTitle("heart rate (beats per minute)", size="8pt")
        else:
            model_apc = (table.model_apc == 1) & ~table.deleted
            self.model_curve.setData(edges, per_minute(table.sample[model_apc] / fs, edges),
                                     pen=pg.mkPen(STATE_STYLE[BeatState.MODEL_APC][0], width=1.5))
            self.reviewed_curve.setData(edges, per_minute(table.sample[session.reviewed_apc] / fs, edges))
            plot.setLabel("left", "APC/min")
            plot.setTitle("APCs per minute: <span style='color:#d72626'>model</span>, "
                          "<span style='color:#8028aa'>reviewed</span>", size="8pt")
        plot.setXRange(0, duration_s, padding=0.01)
        plot.enableAutoRange(y=True)

    def show_view(self, start_s: float, stop_s: float) -> None:
        self.view_region.setRegion((start_s, stop_s))

    def _clicked(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self.duration_s > 0:
            time_s = self.getPlotItem().vb.mapSceneToView(event.scenePos()).x()
            self.jumpRequested.emit(float(np.clip(time_s, 0.0, self.duration_s)))
