"""The review view: raw and DANet-enhanced traces, x-linked, with attention, wave regions and beat marks.

Only what is near the screen is handed to Qt: the traces, beat marks, wave
regions and attention band are cut to the visible span plus one span each
side, and cut again only when the view leaves that stretch or the span
changes (a zoom) or what is shown changes, so most pan steps hand Qt nothing
new and just move the view. The traces are reduced to min/max pairs per pixel
by pyqtgraph's "peak" downsampling; the attention band is max-pooled to a
fixed number of columns per span; wave regions are shaded only with few beats
on screen; the beats are one ScatterPlotItem and their p(APC) labels one item
that draws the few on screen. Zoomed out beyond a few samples per pixel, the
raw trace is drawn from a min/max pyramid built once per lead off the GUI
thread, the beat marks are capped (normal beats give way first), and the
enhanced trace is left out. So drawing a 24 h record costs what a 10 s one
does (its raw lead is still held in memory, as float32). With all leads shown
(``set_stack``), the other leads are cut and drawn the same way around the
raw trace (``lead_stack.StackedTraces``).

A range change refreshes at once, before anything paints: each pan or zoom
is then one paint, of up-to-date content.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QPainter, QStaticText, QTransform
from PySide6.QtWidgets import QGraphicsItem

from danet_viewer._qt.axes import ClockAxis, label_axis
from danet_viewer._qt.calipers import Calipers
from danet_viewer._qt.ecg_paper import (
    STANDARD_GAIN_MM_MV,
    STANDARD_SPEED_MM_S,
    EcgGrid,
    ViewFillingItem,
    pixels_per_mm,
    screen_dpi,
)
from danet_viewer._qt.lead_stack import StackedTraces
from danet_viewer.components.beat_details import APC_SCORE_NEAR
from danet_viewer.components.lead_stack import LeadStack
from danet_viewer.components.review_session import BeatState
from danet_viewer.components.trace_envelope import MAX_TRACE_POINTS, MinMaxPyramid
from danet_viewer.model.trace import SHOWN_REGIONS, EnhancedTrace

# Beat colours (on white) and what the legend calls them.
STATE_STYLE = {
    BeatState.MODEL_APC: ((215, 38, 38), "model APC, unreviewed"),
    BeatState.CONFIRMED_APC: ((128, 40, 170), "confirmed APC"),
    BeatState.CORRECTED: ((245, 140, 0), "corrected"),
    BeatState.NORMAL: ((60, 140, 70), "normal"),
    BeatState.ADDED: ((30, 100, 220), "added"),
    BeatState.DELETED: ((150, 150, 150), "not a beat"),
}
# The wave-region strip's height, as a fraction of the panel's.
REGION_STRIP = 0.05
# Pale and opaque (the colours the earlier translucent ones made on white): an opaque fill costs a fraction
# of a blended one, and the grid is drawn over the regions.
REGION_COLOURS = {"p": (221, 232, 251), "qrs": (251, 226, 226), "t": (224, 243, 230)}
# Labels of unreviewed beats near the model's call (APC_SCORE_NEAR or more, below the call): amber, worth a look.
NEAR_CALL_COLOUR = (200, 120, 0)
# Stretches left out of the analysis (flat, lead-off): a quiet grey under everything else.
UNANALYSABLE_COLOUR = (232, 232, 232)
# The p(APC) labels are drawn for at most this many beats on screen; with more they are left out
# (unreadable anyway), as are the wave regions above MAX_SHADED_BEATS.
MAX_LABELS = 60
MAX_SHADED_BEATS = 120
# Gap between a beat's point and the bottom of its label: clear of its 9 px marker.
LABEL_LIFT_PX = 7.0
# A beat's label clears the trace within this distance of its R peak (the QRS on any lead).
LABEL_CLEAR_S = 0.06
# Laid-out label texts kept for reuse (p(APC) to two decimals and a few symbols: a few hundred in practice).
MAX_CACHED_LABEL_TEXTS = 1000
BAND_COLUMNS = 2000  # per visible span
# White at w = 0, so the band is quiet where the model pays no extra attention and only weighted
# stretches catch the eye.
ATTENTION_COLOURMAP = pg.ColorMap([0.0, 0.5, 1.0], [(255, 255, 255), (255, 165, 50), (170, 0, 40)])
# In a reader's words: the model weights the trace where it looks (the enhanced trace is x·(1 + w)), and the band
# under it shades that weight w(t) from none (white) to the most the model adds (orange: the trace doubled).
ENHANCED_TITLE = ("Where DANet looked: the trace with its attention added; the band below shades the attention "
                  "from none (white) to full (orange)")
# Wider than this the enhanced trace is not computed or drawn: at that scale it is a smear.
MAX_ENHANCED_SPAN_S = 600.0
# Beat marks drawn at most; more than fit on screen tell a reviewer nothing and cost a repaint.
MAX_MARKERS = 3000


def label_text(score: float, symbol: str) -> str:
    """A beat's label: its APC score (0-100, the call at 50; none if unscored), then its review symbol (✕: not a
    beat)."""
    text = "" if np.isnan(score) else f"{score:.0f}"
    if symbol:
        text = f"{text} {symbol}" if len(symbol) <= 2 else f"{text} ✕"
    return text


class BeatLabels(ViewFillingItem):
    """The p(APC) labels of the beats on screen, all drawn by this one item when there are few enough.

    Painted in screen pixels from the beat arrays at each paint, so a pan moves
    no item and lays out no text; each distinct text is laid out once (a
    QStaticText) and reused.
    """

    def __init__(self) -> None:
        super().__init__()
        self.font = QFont()
        self.font.setPointSize(8)
        self.colours = {state: QColor(*STATE_STYLE[state][0]).darker(130) for state in BeatState}
        self.near_colour = QColor(*NEAR_CALL_COLOUR)
        self._texts: dict[str, QStaticText] = {}
        self.times_s = np.empty(0)
        self.values = np.empty(0)
        self.states = np.empty(0, np.int8)
        self.scores = np.empty(0)
        self.symbols = np.empty(0, object)

    def set_beats(self, times_s: np.ndarray, values: np.ndarray, states: np.ndarray, scores: np.ndarray,
                  symbols: np.ndarray) -> None:
        """Every beat (sorted by time) with the height of its point, its ``BeatState``, APC score and review symbol."""
        self.times_s, self.values, self.states, self.scores, self.symbols = times_s, values, states, scores, symbols
        self.update()

    def visible_rows(self) -> np.ndarray:
        """The beats on screen, or none if there are more than MAX_LABELS of them."""
        view = self.getViewBox()
        if view is None or not self.isVisible():
            return np.empty(0, np.int64)
        rect = view.viewRect()
        rows = np.arange(np.searchsorted(self.times_s, rect.left(), "left"),
                         np.searchsorted(self.times_s, rect.right(), "right"))
        return rows if len(rows) <= MAX_LABELS else rows[:0]

    def _laid_out(self, text: str) -> QStaticText:
        static = self._texts.get(text)
        if static is None:
            if len(self._texts) >= MAX_CACHED_LABEL_TEXTS:
                self._texts.clear()
            static = self._texts[text] = QStaticText(text)
            static.prepare(QTransform(), self.font)
        return static

    def placements(self, to_screen: QTransform, screen: QRectF) -> list[tuple[int, QStaticText, QRectF]]:
        """Each label on screen (its beat row, text and rectangle in the pixels of ``to_screen``): above its beat,
        but pushed inside ``screen`` (the view's rectangle in those pixels), which clips what crosses its edge.

        A tall QRS near the top of the view put its label above the view, cut in half; the label then sits on
        the complex, which is better than unreadable.
        """
        placed = []
        for row in self.visible_rows():
            static = self._laid_out(label_text(self.scores[row], self.symbols[row]))
            size = static.size()
            at = to_screen.map(QPointF(self.times_s[row], self.values[row]))
            left = min(max(at.x() - size.width() / 2, screen.left()), screen.right() - size.width())
            top = min(max(at.y() - LABEL_LIFT_PX - size.height(), screen.top()), screen.bottom() - size.height())
            placed.append((int(row), static, QRectF(left, top, size.width(), size.height())))
        return placed

    def scene_rects(self) -> list[QRectF]:
        """The labels' rectangles in scene coordinates, as ``paint`` places them (for checking they are inside)."""
        view = self.getViewBox()
        if view is None:
            return []
        to_scene = self.sceneTransform()
        return [rect for _, _, rect in self.placements(to_scene, to_scene.mapRect(view.viewRect()))]

    def paint(self, painter: QPainter, *args) -> None:
        view = self.getViewBox()
        if view is None:
            return
        to_screen = painter.transform()
        placed = self.placements(to_screen, to_screen.mapRect(view.viewRect()))
        if not placed:
            return
        painter.save()
        painter.resetTransform()
        painter.setFont(self.font)
        for row, static, rect in placed:
            near = self.states[row] == BeatState.NORMAL and not self.symbols[row] and self.scores[row] >= APC_SCORE_NEAR
            painter.setPen(self.near_colour if near else self.colours[int(self.states[row])])
            painter.drawStaticText(rect.topLeft(), static)
        painter.restore()


class ReviewView(pg.GraphicsLayoutWidget):
    """Raw trace above (or left of) the enhanced trace and its attention band; beats marked on the raw."""

    beatClicked = Signal(float)  # time in seconds of a click on a trace
    rangeShown = Signal(float, float)  # the visible time range after each refresh

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setBackground("w")
        self.raw_plot = pg.PlotItem(axisItems={"bottom": ClockAxis()})
        self.enhanced_plot = pg.PlotItem(axisItems={"bottom": ClockAxis()})
        self.band_plot = pg.PlotItem(axisItems={"bottom": ClockAxis()})
        for plot in (self.raw_plot, self.enhanced_plot, self.band_plot):
            for axis in ("left", "bottom"):
                # An axis's labels cost more to draw than a trace; cached as a pixmap, an axis whose range
                # did not change (the amplitude axes during a pan) is redrawn by a copy.
                plot.getAxis(axis).setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
            plot.showGrid(x=True, y=plot is not self.band_plot, alpha=0.25)
            plot.setMenuEnabled(False)
            plot.vb.enableAutoRange(x=False)
            plot.vb.setAutoVisible(y=True)
        self.enhanced_plot.setXLink(self.raw_plot)
        self.band_plot.setXLink(self.raw_plot)
        self.band_plot.getAxis("left").setTicks([[]])
        # No axis label: a few pixels tall, the band would spill it over the panel above; the title says what it is.
        self.band_plot.vb.setMouseEnabled(y=False)
        self.band_plot.setYRange(0, 1, padding=0)
        self.raw_plot.setTitle(self.legend_text(), size="9pt")
        self.enhanced_plot.setTitle(ENHANCED_TITLE, size="9pt", color="#333")

        self.raw_curve = self._trace_curve(self.raw_plot, (20, 20, 20))
        self.enhanced_curve = self._trace_curve(self.enhanced_plot, (20, 60, 140))
        self.band = pg.ImageItem(axisOrder="row-major")
        self.band.setColorMap(ATTENTION_COLOURMAP)
        self.band_plot.addItem(self.band)
        self.markers = pg.ScatterPlotItem(size=9, pxMode=True, hoverable=False)
        self.raw_plot.addItem(self.markers)
        self.grid = EcgGrid()
        self.raw_plot.addItem(self.grid, ignoreBounds=True)
        self.calipers = Calipers(self.raw_plot)
        self.regions = {
            (plot, name): self._region_bars(plot, REGION_COLOURS[name])
            for plot in (self.raw_plot, self.enhanced_plot) for name in SHOWN_REGIONS
        }
        # One bar item per trace holds every unanalysable stretch near the screen, however many the record has.
        self.unanalysable_bars = {
            plot: self._region_bars(plot, UNANALYSABLE_COLOUR) for plot in (self.raw_plot, self.enhanced_plot)
        }
        for bars in self.unanalysable_bars.values():
            bars.setZValue(-31)  # under the wave regions too
        self.selection_lines = []
        for plot in (self.raw_plot, self.enhanced_plot):
            line = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen((0, 0, 0, 110), width=2))
            line.hide()
            plot.addItem(line, ignoreBounds=True)
            self.selection_lines.append(line)
        self.labels = BeatLabels()
        self.raw_plot.addItem(self.labels, ignoreBounds=True)
        self.stack = StackedTraces(self.raw_plot, lambda colour: self._trace_curve(self.raw_plot, colour))

        self.side_by_side = False
        self.attention_visible = True
        self.regions_visible = False  # on the raw trace; the enhanced trace always shows them
        self.speed_mm_s = STANDARD_SPEED_MM_S
        self.gain_mm_mv: float | None = None  # None: the amplitude axis follows the visible trace
        self._width_px = 0.0
        self._label_heights_of: tuple[np.ndarray | None, np.ndarray] = (None, np.empty(0, np.int64))
        self._label_y = np.empty(0)
        self.cursor_s: float | None = None
        self.fs = 1.0
        self.raw = np.empty(0, np.float32)
        self.raw_pyramid: MinMaxPyramid | None = None
        self.pieces: list[EnhancedTrace] = []
        self._attention_note = ""
        self._shown_regions = np.empty((0, len(SHOWN_REGIONS), 2))  # (beats, P/QRS/T, start/stop) in seconds
        self._unanalysable = np.empty((0, 2), np.int64)  # [start, stop) samples at the record's rate
        self._shown_unanalysable = np.empty((0, 2))  # in seconds, near the screen
        self._enhanced_too_wide: bool | None = None
        self._beat_samples = np.empty(0, np.int64)
        self._beat_s = np.empty(0)
        self._beat_y = np.empty(0)
        self._beat_states = np.empty(0, np.int8)
        self._beat_scores = np.empty(0)
        self._beat_symbols = np.empty(0, object)
        self._beat_reviewed = np.empty(0, bool)
        # (start, stop, span) in seconds of the stretch the content was last cut to; None: cut again.
        self._cut_window: tuple[float, float, float] | None = None
        self._markers_shown: tuple[int, int] | None = None  # first beat and count drawn; None: draw again
        # Shared brushes and pens, indexed by state and reviewed-ness: no per-beat Qt objects.
        self._brushes = np.array([pg.mkBrush(*STATE_STYLE[state][0]) for state in BeatState], dtype=object)
        self._pens = np.array([pg.mkPen(None), pg.mkPen("k", width=1.2)], dtype=object)
        self._arrange()
        self.set_grid_visible(True)

        # At once, not deferred to the next event-loop turn: a deferred refresh let the pan paint first
        # with the previous content, then again. Most refreshes during a drag only move the view.
        self.raw_plot.vb.sigXRangeChanged.connect(lambda _view_box, _x_range: self.refresh())
        for plot in (self.raw_plot, self.enhanced_plot):
            plot.vb.sigResized.connect(self._keep_scale)
        for plot in (self.raw_plot, self.enhanced_plot):
            plot.vb.sigYRangeChanged.connect(self._size_regions)
        self.scene().sigMouseClicked.connect(self._clicked)
        self.scene().sigMouseMoved.connect(self._moved)

    @staticmethod
    def _trace_curve(plot: pg.PlotItem, colour: tuple[int, int, int]) -> pg.PlotDataItem:
        # One min/max pair per pixel column ("peak", factor 1): pyqtgraph's default of five per column
        # strokes the same pixels five times over, which is most of a zoomed-out repaint.
        curve = plot.plot(pen=pg.mkPen(colour, width=1), autoDownsampleFactor=1.0)
        curve.setClipToView(True)
        curve.setDownsampling(auto=True, method="peak")
        return curve

    @staticmethod
    def _region_bars(plot: pg.PlotItem, colour: tuple[int, int, int]) -> pg.BarGraphItem:
        # One bar item per wave type holds every visible beat's region: three items, not three per beat.
        # Left out of the auto-range; their height follows the visible range (_size_regions).
        bars = pg.BarGraphItem(x0=[], x1=[], y0=0, height=1, brush=pg.mkBrush(*colour), pen=pg.mkPen(None))
        bars.setZValue(-30)  # under the grid
        plot.addItem(bars, ignoreBounds=True)
        return bars

    # --- layout --------------------------------------------------------------------------------

    def _arrange(self) -> None:
        for plot in (self.raw_plot, self.enhanced_plot, self.band_plot):
            if plot.scene() is not None:
                self.ci.removeItem(plot)
        layout = self.ci.layout
        if self.side_by_side:
            self.ci.addItem(self.raw_plot, 0, 0, 2, 1)
            self.ci.addItem(self.enhanced_plot, 0, 1)
            self.ci.addItem(self.band_plot, 1, 1)
            layout.setRowStretchFactor(0, 10)
            layout.setRowStretchFactor(1, 1)
            layout.setRowStretchFactor(2, 0)
        else:
            self.ci.addItem(self.raw_plot, 0, 0)
            self.ci.addItem(self.enhanced_plot, 1, 0)
            self.ci.addItem(self.band_plot, 2, 0)
            for row, stretch in enumerate((self._raw_stretch(), 10, 1)):
                layout.setRowStretchFactor(row, stretch)
        self.band_plot.setMaximumHeight(46)
        self.band_plot.setVisible(self.attention_visible)
        # The time axis is drawn once per column, under its lowest plot.
        self.raw_plot.showAxis("bottom", self.side_by_side)
        self.enhanced_plot.showAxis("bottom", not self.attention_visible)

    def _raw_stretch(self) -> int:
        # Stacked, the raw panel takes more of the height: three fifths with two leads, four fifths with twelve.
        return min(40, 10 + 6 * (len(self.stack.stack.names) - 1)) if self.stack.active else 10

    def set_side_by_side(self, on: bool) -> None:
        self.side_by_side = on
        self._arrange()

    def set_attention_visible(self, on: bool) -> None:
        self.attention_visible = on
        self._arrange()

    def set_regions_visible(self, on: bool) -> None:
        self.regions_visible = on
        self._cut_window = None
        self.refresh()

    def set_grid_visible(self, on: bool) -> None:
        """ECG paper behind the raw trace instead of the plot's tick grid."""
        self.grid.setVisible(on)
        self.raw_plot.showGrid(x=not on, y=not on, alpha=0.25)

    def set_calipers_visible(self, on: bool) -> None:
        self.calipers.set_visible(on)

    # --- paper scale ---------------------------------------------------------------------------

    def set_speed(self, speed_mm_s: float, start_s: float | None = None) -> None:
        """Show as many seconds as fit the raw plot's width at ``speed_mm_s``, from ``start_s`` or keeping the
        centre."""
        self.speed_mm_s = speed_mm_s
        self.grid.set_scale(speed_mm_s, self.gain_mm_mv or STANDARD_GAIN_MM_MV)
        x0, x1 = self.raw_plot.viewRange()[0]
        span = self.raw_plot.vb.width() / (speed_mm_s * pixels_per_mm(screen_dpi(self)))
        if span <= 0:  # not laid out yet: nothing to fit
            return
        self.show_span(max(0.0, (x0 + x1 - span) / 2) if start_s is None else start_s, span)

    def shown_speed_mm_s(self) -> float | None:
        """The paper speed of what is on screen (after zooms and pans too); None before the view is laid out."""
        x0, x1 = self.raw_plot.viewRange()[0]
        width = self.raw_plot.vb.width()
        return width / ((x1 - x0) * pixels_per_mm(screen_dpi(self))) if width > 0 and x1 > x0 else None

    def set_gain(self, gain_mm_mv: float | None) -> None:
        """Fix the amplitude scale at ``gain_mm_mv`` (None: follow the visible trace again)."""
        self.gain_mm_mv = gain_mm_mv
        self.grid.set_scale(self.speed_mm_s, gain_mm_mv or STANDARD_GAIN_MM_MV)
        self._apply_gain()

    def _apply_gain(self) -> None:
        """The raw trace centred on its visible baseline, the enhanced one (band-passed) on zero, both at the gain.

        At one gain the two read alike, and their amplitude axes stay put while panning (redrawing an
        axis is a good part of a repaint)."""
        if self.gain_mm_mv is None:
            self.stack.place(self.stack.natural_spacing())
            for plot in (self.raw_plot, self.enhanced_plot):
                plot.vb.enableAutoRange(y=True)
            return
        mv_per_px = 1.0 / (self.gain_mm_mv * pixels_per_mm(screen_dpi(self)))
        (x0, x1), (y0, y1) = self.raw_plot.viewRange()
        visible = self._slice(self.raw, self.fs, 0.0, x0, x1)[1]
        visible = visible[:: max(1, len(visible) // 20_000)]  # a median of a 24 h view need not see every sample
        centre = float(np.median(visible)) if len(visible) else (y0 + y1) / 2
        # Stacked at a set gain, the leads share the panel's height (EDFbrowser's way: a tall QRS may reach into
        # its neighbour); centred on the middle of the stack.
        self.stack.place(self.raw_plot.vb.height() * mv_per_px / max(1, len(self.stack.stack.names)))
        centre += self.stack.centre_shift()
        for plot, middle in ((self.raw_plot, centre), (self.enhanced_plot, 0.0)):
            height = plot.vb.height() * mv_per_px
            plot.vb.disableAutoRange(axis=pg.ViewBox.YAxis)
            plot.setYRange(middle - height / 2, middle + height / 2, padding=0)

    def _keep_scale(self) -> None:
        """On a resize, keep seconds per pixel (and mV per pixel at a set gain): a wider plot shows more time.

        The selected beat keeps its place across the plot (else the left edge stays): side by side halves the
        width, which pushed a beat right of centre off the view."""
        width = self.raw_plot.vb.width()
        if self._width_px > 0 and width > 0 and width != self._width_px:
            x0, x1 = self.raw_plot.viewRange()[0]
            anchor = self.selection_lines[0].value() if self.selection_lines[0].isVisible() else x0
            anchor = anchor if x0 <= anchor <= x1 else x0
            scale = width / self._width_px
            self.raw_plot.setXRange(anchor - (anchor - x0) * scale, anchor + (x1 - anchor) * scale, padding=0)
        self._width_px = width
        if self.gain_mm_mv is not None:
            self._apply_gain()

    # --- content -------------------------------------------------------------------------------

    def set_signal(self, raw: np.ndarray, fs: float, lead: str, units: str,
                   pyramid: MinMaxPyramid | None = None, *, analysis_lead: str | None = None) -> None:
        """The raw lead drawn; zoomed out, from its min/max pyramid once there is one (``set_pyramid``). The
        enhanced trace is always the model's analysis lead, named by ``analysis_lead`` when it is (re)set."""
        self.raw, self.fs = np.asarray(raw, np.float32), fs
        self.raw_pyramid = pyramid
        label_axis(self.raw_plot.getAxis("left"), lead, units)
        if analysis_lead is not None:
            label_axis(self.enhanced_plot.getAxis("left"), f"{analysis_lead} enhanced" if analysis_lead else "",
                       units)
        self._place_beats()  # the beat marks sit on this lead's trace
        self._cut_window = self._markers_shown = None
        self.refresh()

    def set_pyramid(self, pyramid: MinMaxPyramid) -> None:
        self.raw_pyramid = pyramid
        self._cut_window = None
        self.refresh()

    def set_traces(self, pieces: list[EnhancedTrace], attention_module: bool = True) -> None:
        """The enhanced trace as the pieces computed so far (sorted, possibly with gaps between them)."""
        self.pieces = pieces
        # Said outright, so nobody reads meaning into an "enhanced" trace that equals its input.
        self._attention_note = "" if attention_module else "  — this model has no attention module"
        self._enhanced_too_wide = None  # the title is set again by the refresh
        self._cut_window = None
        self.refresh()

    def _title_enhanced(self, too_wide: bool) -> None:
        # Only on a change: setting a title lays the plot out again, too slow for every pan step.
        if too_wide != self._enhanced_too_wide:
            self._enhanced_too_wide = too_wide
            note = f"  — zoom in to {MAX_ENHANCED_SPAN_S / 60:g} min or less to see it" if too_wide else ""
            self.enhanced_plot.setTitle(ENHANCED_TITLE + self._attention_note + note, size="9pt", color="#333")

    def set_beats(self, samples: np.ndarray, states: np.ndarray, scores: np.ndarray, symbols: np.ndarray) -> None:
        """Beats at the record's rate with their ``BeatState``, APC score (``apc_score``; NaN: unscored) and review
        symbols."""
        self._beat_samples = np.asarray(samples, np.int64)
        self._beat_states, self._beat_scores, self._beat_symbols = states, scores, symbols
        self._beat_reviewed = symbols != ""
        self._place_beats()
        self._cut_window = self._markers_shown = None
        self.refresh()

    def set_unanalysable(self, stretches: np.ndarray) -> None:
        """The record's unanalysable stretches (sorted [start, stop) sample pairs at its rate), shaded grey."""
        self._unanalysable = np.asarray(stretches, np.int64).reshape(-1, 2)
        self._cut_window = None
        self.refresh()

    def set_stack(self, stack: LeadStack, traces: dict[int, tuple[np.ndarray, MinMaxPyramid]],
                  baselines: np.ndarray, spreads: np.ndarray) -> None:
        """The leads drawn: stacked (``stack.stacked``, once every lead's samples, baseline and spread are here) or
        the chosen one alone. The chosen lead is the raw trace (``set_signal``); the others are stacked around it."""
        was_active = self.stack.active
        self.stack.set_leads(stack, traces, baselines, spreads)
        if self.stack.active != was_active:
            self._arrange()
        self._apply_gain()
        self._cut_window = None
        self.refresh()

    def _place_beats(self) -> None:
        """Each beat's point on the raw trace on screen, for its mark and its label."""
        samples = self._beat_samples
        self._beat_s = samples / self.fs
        last = max(0, len(self.raw) - 1)
        self._beat_y = self.raw[np.clip(samples, 0, last)] if len(self.raw) else samples * 0.0
        # Labels go above the highest point of the QRS on the lead drawn: on a lead whose QRS points down at the
        # analysis lead's R (V1), a label at the R sample sat on the complex. Kept while the trace and the beats'
        # places are the same: every label key redraws the beats, and a Holter holds 100 000 of them.
        raw, placed = self._label_heights_of
        if raw is not self.raw or not np.array_equal(placed, samples):
            half = round(LABEL_CLEAR_S * self.fs)
            around = np.clip(samples[:, None] + np.arange(-half, half + 1), 0, last)
            self._label_y = self.raw[around].max(axis=1) if len(self.raw) and len(samples) else self._beat_y
            self._label_heights_of = (self.raw, samples)
        self.labels.set_beats(self._beat_s, self._label_y, self._beat_states, self._beat_scores, self._beat_symbols)

    def select(self, sample: int | None) -> None:
        for line in self.selection_lines:
            line.setVisible(sample is not None)
            if sample is not None:
                line.setValue(sample / self.fs)

    def show_span(self, start_s: float, span_s: float) -> None:
        self.raw_plot.setXRange(start_s, start_s + span_s, padding=0)  # a change of range refreshes

    def ensure_visible(self, time_s: float) -> None:
        """Scroll (keeping the span) so ``time_s`` is on screen, centred if it was off it."""
        x0, x1 = self.raw_plot.viewRange()[0]
        if not x0 <= time_s <= x1:
            self.show_span(time_s - (x1 - x0) / 2, x1 - x0)

    # --- drawing what is visible ---------------------------------------------------------------

    def refresh(self) -> None:
        """Cut the content again if the view left the stretch it was cut to, or zoomed; then report the range."""
        x0, x1 = self.raw_plot.viewRange()[0]
        cut = self._cut_window
        if cut is None or not (cut[0] <= x0 and x1 <= cut[1] and abs((x1 - x0) - cut[2]) <= 1e-9 * cut[2]):
            self._cut(x0, x1)
        # pyqtgraph fits an auto-ranged axis and moves a view's items to its new range only as the view
        # starts to paint; changed then, they are left marked for another paint. Done now (the fit again at
        # the paint finds nothing to change), a pan or zoom paints once.
        for plot in (self.raw_plot, self.enhanced_plot, self.band_plot):
            plot.vb.updateAutoRange()
            plot.vb.updateMatrix()
        self.calipers.place_readout()
        self.rangeShown.emit(x0, x1)

    def _cut(self, x0: float, x1: float) -> None:
        """Hand Qt the content of ``x0 ... x1`` and one span either side, so the next pan steps need nothing new."""
        span = x1 - x0
        lo_s, hi_s = x0 - span, x1 + span
        self._cut_window = (lo_s, hi_s, span)
        self.raw_curve.setData(*self._raw_points(lo_s, hi_s))
        self.stack.cut(lambda values, pyramid: self._points(values, pyramid, lo_s, hi_s))
        pieces = [p for p in self.pieces if p.start_s < hi_s and p.start_s + len(p.enhanced) / p.fs > lo_s]
        self._title_enhanced(span > MAX_ENHANCED_SPAN_S)
        if span > MAX_ENHANCED_SPAN_S:
            pieces = []
        self._draw_markers(lo_s, hi_s)
        self._draw_enhanced(pieces, lo_s, hi_s)
        self._draw_band(pieces, lo_s, hi_s, span)
        self._draw_unanalysable(lo_s, hi_s, span)
        self._draw_regions(pieces, lo_s, hi_s, x0, x1)

    def _raw_points(self, lo_s: float, hi_s: float) -> tuple[np.ndarray, np.ndarray]:
        return self._points(self.raw, self.raw_pyramid, lo_s, hi_s)

    def _points(self, samples: np.ndarray, pyramid: MinMaxPyramid | None, lo_s: float,
                hi_s: float) -> tuple[np.ndarray, np.ndarray]:
        """A lead's points for ``lo_s ... hi_s``: its samples, or zoomed out its min/max envelope."""
        envelope = pyramid.envelope(self.fs, lo_s, hi_s) if pyramid is not None else None
        if envelope is not None:
            return envelope
        times, values = self._slice(samples, self.fs, 0.0, lo_s, hi_s)
        # Zoomed out before the pyramid is built (it follows the first paint): every k-th sample, for now.
        stride = max(1, len(values) // MAX_TRACE_POINTS) if pyramid is None else 1
        return times[::stride], values[::stride]

    @staticmethod
    def _slice(values: np.ndarray, fs: float, start_s: float, lo_s: float,
               hi_s: float) -> tuple[np.ndarray, np.ndarray]:
        lo = max(0, int((lo_s - start_s) * fs))
        hi = min(len(values), int(np.ceil((hi_s - start_s) * fs)) + 1)
        hi = max(hi, lo)
        return start_s + np.arange(lo, hi) / fs, values[lo:hi]

    def _draw_markers(self, lo_s: float, hi_s: float) -> None:
        # Like the traces, the scatter holds only the beats near the screen: a label edit on a 24 h
        # record then redraws a few hundred points, not 100 000.
        near = np.arange(*np.searchsorted(self._beat_s, [lo_s, hi_s]))
        shown = (near[0] if len(near) else -1, len(near))
        if shown == self._markers_shown:
            # The same beats as last time (zoomed out, a zoom or a new cut often takes in the same whole
            # record): setting up a scatter of thousands of styled points is the dearest step of a cut.
            return
        self._markers_shown = shown
        if len(near) > MAX_MARKERS:
            # Zoomed out: the beats a reviewer hunts for stay, normal ones give way, then every k-th.
            near = near[self._beat_states[near] != BeatState.NORMAL]
            near = near[:: -(-len(near) // MAX_MARKERS)]
        states = self._beat_states[near]
        self.markers.setData(
            x=self._beat_s[near], y=self._beat_y[near], brush=self._brushes[states],
            pen=self._pens[self._beat_reviewed[near].astype(int)],
            symbol=np.where(states == BeatState.DELETED, "x", "o"),
        )

    def _draw_enhanced(self, pieces: list[EnhancedTrace], lo_s: float, hi_s: float) -> None:
        # Pieces not computed yet leave gaps: a NaN between pieces breaks the line there.
        times, values = [], []
        for piece in pieces:
            t, y = self._slice(piece.enhanced, piece.fs, piece.start_s, lo_s, hi_s)
            times += [t, [t[-1] if len(t) else piece.start_s]]
            values += [y, [np.nan]]
        if not times:
            self.enhanced_curve.setData([], [])
            return
        self.enhanced_curve.setData(np.concatenate(times), np.concatenate(values).astype(np.float32),
                                    connect="finite")

    def _draw_band(self, pieces: list[EnhancedTrace], lo_s: float, hi_s: float, span: float) -> None:
        # Each of BAND_COLUMNS columns per span shows the largest w(t) under it: a brief weight stays visible.
        # No more columns than samples, which would leave empty columns between them.
        self.band.setVisible(bool(pieces))
        if not pieces:
            return
        columns = max(1, min(round(BAND_COLUMNS * (hi_s - lo_s) / span), int((hi_s - lo_s) * pieces[0].fs)))
        image = np.zeros(columns, np.float32)
        for piece in pieces:
            t, w = self._slice(piece.weights, piece.fs, piece.start_s, lo_s, hi_s)
            column = ((t - lo_s) / (hi_s - lo_s) * columns).astype(np.int64)
            inside = (column >= 0) & (column < columns)
            np.maximum.at(image, column[inside], w[inside])
        self.band.setImage(image[None, :], levels=(0.0, 1.0), autoLevels=False)
        self.band.setRect(lo_s, 0, hi_s - lo_s, 1)

    def _draw_regions(self, pieces: list[EnhancedTrace], lo_s: float, hi_s: float, x0: float, x1: float) -> None:
        regions = np.empty((0, len(SHOWN_REGIONS), 2))
        if pieces:
            every = np.concatenate([piece.regions_s for piece in pieces])
            starts, stops = every[:, :, 0].min(axis=1), every[:, :, 1].max(axis=1)
            if np.count_nonzero((stops > x0) & (starts < x1)) <= MAX_SHADED_BEATS:
                regions = every[(stops > lo_s) & (starts < hi_s)]
        self._shown_regions = regions
        self._size_regions()

    def _draw_unanalysable(self, lo_s: float, hi_s: float, span: float) -> None:
        # Cut to the stretch handed to Qt; zoomed out on a 24 h record with thousands of stretches, those
        # less than a column of BAND_COLUMNS apart are drawn as one bar, so there are never more bars than
        # the screen can tell apart.
        stretches = self._unanalysable / self.fs
        near = np.clip(stretches[(stretches[:, 1] > lo_s) & (stretches[:, 0] < hi_s)], lo_s, hi_s)
        if len(near) > 1:
            first = np.flatnonzero(np.concatenate([[True], near[1:, 0] - near[:-1, 1] > span / BAND_COLUMNS]))
            last = np.append(first[1:], len(near)) - 1
            near = np.stack([near[first, 0], near[last, 1]], axis=1)
        self._shown_unanalysable = near

    def _size_regions(self) -> None:
        # Bars as tall as the visible range with a margin of one range each way, not "infinite": Qt's
        # painter fills a huge rectangle far more slowly than the part of it on screen.
        for plot, bars in self.unanalysable_bars.items():
            y0, y1 = plot.viewRange()[1]
            shown = self._shown_unanalysable
            bars.setOpts(x0=shown[:, 0], x1=shown[:, 1], y0=2 * y0 - y1, height=3 * (y1 - y0))
        # The wave regions are a thin strip along the foot of the panel, not bands over the ECG paper, which must
        # still read as paper; on the raw trace only when asked for (Ctrl+R).
        for (plot, name), bars in self.regions.items():
            k = SHOWN_REGIONS.index(name)
            y0, y1 = plot.viewRange()[1]
            hidden = plot is self.raw_plot and not self.regions_visible
            shown = self._shown_regions[:0] if hidden else self._shown_regions
            bars.setOpts(x0=shown[:, k, 0], x1=shown[:, k, 1], y0=y0, height=REGION_STRIP * (y1 - y0))

    # --- mouse ---------------------------------------------------------------------------------

    def _scene_time(self, position: QPointF) -> float | None:
        for plot in (self.raw_plot, self.enhanced_plot, self.band_plot):
            if plot.isVisible() and plot.sceneBoundingRect().contains(position):
                return plot.vb.mapSceneToView(position).x()
        return None

    def _moved(self, position: QPointF) -> None:
        self.cursor_s = self._scene_time(position)

    def _clicked(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return
        time_s = self._scene_time(event.scenePos())
        if time_s is not None:
            self.beatClicked.emit(time_s)

    def legend_text(self) -> str:
        return "  ".join(f"<span style='color:rgb{colour}'>●</span> {name}" for colour, name in STATE_STYLE.values())
