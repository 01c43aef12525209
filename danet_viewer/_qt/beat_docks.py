"""Docks about beats rather than time: the RR tachogram, the superimposed beats of the selected beat's class,
and the selected beat's details.

Both draw a whole population with one item: the tachogram is one scatter of
every beat's RR interval, the superimposition one line item whose beats are
separated by NaN (``connect="finite"``).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QDockWidget, QGraphicsView, QLabel, QWidget

from danet_viewer._qt.axes import ClockAxis, label_axis
from danet_viewer.components.beat_details import NO_BEAT
from danet_viewer.components.review_session import ReviewSession
from danet_viewer.core.store import BeatTable

# Screen distance (pixels) within which a tachogram click picks a beat.
PICK_RADIUS_PX = 8.0
# About one bin per pixel column of a wide dock.
MAX_TACHOGRAM_BINS = 1500
# The superimposed stretch around R, and how many beats of the class are drawn (those nearest in time).
SUPERIMPOSE_BEFORE_S = 0.25
SUPERIMPOSE_AFTER_S = 0.45
MAX_SUPERIMPOSED = 200
HIGHLIGHT = (255, 140, 0)


def _plot_widget(**axes: pg.AxisItem) -> pg.PlotWidget:
    widget = pg.PlotWidget(background="w", axisItems=axes)
    widget.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the review keys stay with the window
    widget.getPlotItem().setMenuEnabled(False)
    widget.getPlotItem().showGrid(x=True, y=True, alpha=0.2)
    # A dock's plot is small: repaint it whole, or a real window keeps an axis label's old pixels after a re-layout.
    widget.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.FullViewportUpdate)
    return widget


class TachogramDock(QDockWidget):
    """RR interval (to the previous beat) of every beat against time; a click selects the beat nearest it."""

    beatClicked = Signal(int)  # beat sample

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("RR tachogram", parent)
        self.setObjectName("tachogram")
        self.plot_widget = _plot_widget(bottom=ClockAxis())
        plot = self.plot_widget.getPlotItem()
        label_axis(plot.getAxis("left"), "RR", "s")
        self.points = pg.ScatterPlotItem(size=3, pen=None, brush=pg.mkBrush(40, 40, 40, 150))
        self.current = pg.ScatterPlotItem(size=11, pen=pg.mkPen("k", width=1.5), brush=pg.mkBrush(*HIGHLIGHT))
        plot.addItem(self.points)
        plot.addItem(self.current)
        self.setWidget(self.plot_widget)
        self.samples = np.empty(0, np.int64)  # beats with an RR interval (all but the first), record rate
        self.times_s = np.empty(0)
        self.rr_s = np.empty(0)
        self.plot_widget.scene().sigMouseClicked.connect(self._clicked)
        plot.vb.sigXRangeChanged.connect(self._draw_visible)

    def set_beats(self, samples: np.ndarray, fs: float) -> None:
        """All beats (not-a-beat detections left out by the caller); redrawn only when they change."""
        if np.array_equal(samples[1:], self.samples):
            return
        self.samples = samples[1:]
        self.times_s = self.samples / fs
        self.rr_s = np.diff(samples) / fs
        plot = self.plot_widget.getPlotItem()
        if len(self.samples):
            plot.setXRange(self.times_s[0], self.times_s[-1])
            plot.setYRange(*np.percentile(self.rr_s, [0.1, 99.9]))
        self._draw_visible()

    def _draw_visible(self) -> None:
        """Scatter the intervals in view; with more than MAX_TACHOGRAM_BINS of them, each bin's shortest and
        longest (the beats a tachogram is read for: premature beats and pauses)."""
        (x0, x1) = self.plot_widget.getPlotItem().viewRange()[0]
        lo, hi = np.searchsorted(self.times_s, [x0, x1])
        times, rr = self.times_s[lo:hi], self.rr_s[lo:hi]
        if len(times) > 2 * MAX_TACHOGRAM_BINS:
            starts = np.linspace(0, len(times), MAX_TACHOGRAM_BINS, endpoint=False).astype(np.int64)
            times = np.repeat(times[starts], 2)
            rr = np.column_stack([np.minimum.reduceat(rr, starts), np.maximum.reduceat(rr, starts)]).ravel()
        self.points.setData(x=times, y=rr)

    def highlight(self, sample: int | None) -> None:
        at = int(np.searchsorted(self.samples, sample)) if sample is not None else -1
        if sample is None or at >= len(self.samples) or self.samples[at] != sample:
            self.current.setData([], [])
        else:
            self.current.setData([self.times_s[at]], [self.rr_s[at]])

    def _clicked(self, event) -> None:
        vb = self.plot_widget.getPlotItem().vb
        if event.button() != Qt.MouseButton.LeftButton or not len(self.samples):
            return
        if not vb.sceneBoundingRect().contains(event.scenePos()):
            return
        where = vb.mapSceneToView(event.scenePos())
        pixel_s, pixel_rr = vb.viewPixelSize()
        lo, hi = np.searchsorted(self.times_s, [where.x() - PICK_RADIUS_PX * pixel_s,
                                                where.x() + PICK_RADIUS_PX * pixel_s])
        if hi <= lo:
            return
        distance = np.hypot((self.times_s[lo:hi] - where.x()) / pixel_s, (self.rr_s[lo:hi] - where.y()) / pixel_rr)
        nearest = int(np.argmin(distance))
        if distance[nearest] <= PICK_RADIUS_PX:
            self.beatClicked.emit(int(self.samples[lo + nearest]))


def standing_labels(table: BeatTable) -> np.ndarray:
    """The label each beat stands under: the reviewer's symbol, else the model's verdict (A or N); "" if deleted."""
    verdict = np.where(table.model_apc == 1, "A", "N")
    classes = np.where(table.reviewed, table.review_symbol.astype(str), verdict)
    classes[table.deleted] = ""
    return classes


class SuperimposeDock(QDockWidget):
    """The selected beat's class overlaid, aligned at R: up to MAX_SUPERIMPOSED beats, their mean, the beat itself.

    A beat's class is the label it stands under, or, while ``template_classes`` gives them (the Templates view
    with a class current), its beat class: that function names each row's class ("" for none), or returns None.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Superimposed beats", parent)
        self.setObjectName("superimposition")
        self.plot_widget = _plot_widget()
        plot = self.plot_widget.getPlotItem()
        label_axis(plot.getAxis("bottom"), "time from R", "s")
        self.overlay = plot.plot(pen=pg.mkPen(90, 110, 160, 45), connect="finite")
        self.mean = plot.plot(pen=pg.mkPen("k", width=2.5))
        self.selected = plot.plot(pen=pg.mkPen(HIGHLIGHT, width=2))
        self.setWidget(self.plot_widget)
        self.shown_class = ""
        self.shown_count = 0
        self.shown_units: str | None = None
        self._classes: tuple[BeatTable | None, np.ndarray] = (None, np.empty(0, str))
        self.template_classes: Callable[[BeatTable], np.ndarray | None] | None = None

    def show_class_of(self, session: ReviewSession | None, row: int | None, raw: np.ndarray, fs: float,
                      units: str) -> None:
        """Overlay the beats of ``row``'s class nearest to it in time, from ``raw`` (the lead on screen)."""
        if session is None or row is None or not len(raw):
            self._clear("no beat selected")
            return
        table = session.table
        noun, classes = "template class", self.template_classes(table) if self.template_classes else None
        if classes is None:
            if self._classes[0] is not table:  # the table is replaced on every edit, so this is a cache per edit
                self._classes = (table, standing_labels(table))
            noun, classes = "class", self._classes[1]
        label = classes[row]
        if not label:
            self._clear(f"this beat has no {noun}")
            return
        before, after = int(SUPERIMPOSE_BEFORE_S * fs), int(SUPERIMPOSE_AFTER_S * fs)
        members = np.flatnonzero(classes == label)
        members = members[(table.sample[members] >= before) & (table.sample[members] + after < len(raw))]
        if len(members) > MAX_SUPERIMPOSED:
            gap = np.abs(table.sample[members] - table.sample[row])
            members = np.sort(members[np.argpartition(gap, MAX_SUPERIMPOSED)[:MAX_SUPERIMPOSED]])
        offsets = np.arange(-before, after + 1)
        beats = raw[table.sample[members][:, None] + offsets[None, :]]
        beats = beats - np.median(beats, axis=1, keepdims=True)  # baseline wander apart, beats overlay
        times = offsets / fs
        separated = np.hstack([beats, np.full((len(beats), 1), np.nan, np.float32)])
        self.overlay.setData(np.tile(np.append(times, times[-1]), len(beats)), separated.ravel(), connect="finite")
        self.mean.setData(times, beats.mean(axis=0) if len(beats) else [])
        position = np.flatnonzero(members == row)
        if len(position):
            self.selected.setData(times, beats[position[0]])
        else:
            self.selected.setData([], [])
        self.shown_class, self.shown_count = str(label), len(beats)
        total = int((classes == label).sum())
        if units != self.shown_units:
            # Only when the units change: labelling the axis again re-lays it out, on every selected beat.
            label_axis(self.plot_widget.getPlotItem().getAxis("left"), "amplitude", units)
            self.shown_units = units
        self.plot_widget.getPlotItem().setTitle(
            f"{noun} {label}: {len(beats)} of {total} beats (nearest in time), "
            f"<b>mean</b>, <span style='color:#ff8c00'>selected</span>", size="8pt")

    def _clear(self, why: str) -> None:
        for curve in (self.overlay, self.mean, self.selected):
            curve.setData([], [])
        self.shown_class, self.shown_count = "", 0
        self.plot_widget.getPlotItem().setTitle(why, size="8pt")


class DetailsDock(QDockWidget):
    """The selected beat's timing, scores and review (``components.beat_details`` writes the text)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Selected beat", parent)
        self.setObjectName("beat_details")
        self.label = QLabel(NO_BEAT)
        self.label.setTextFormat(Qt.TextFormat.RichText)
        self.label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.label.setMargin(6)
        self.setWidget(self.label)
