"""All leads of the record stacked in the raw panel (View ▸ All leads), the chosen lead marked.

``StackedTraces`` draws the leads other than the chosen one (the review view's raw trace) in its raw plot: one
curve per lead from a small pool reused across records, cut to the view like the raw trace (min/max pyramid when
zoomed out), each moved to its place in the stack by an item offset, so a resize or a gain change moves curves
and hands Qt no new points; and one item that paints every lead's name. ``LeadStackFeed`` follows the review
model's ``leads`` event: it reads the leads (each once per record, with its pyramid, on a worker thread) and
hands them to the view.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, QPointF, QRectF, QThreadPool, Signal
from PySide6.QtGui import QColor, QFont, QPainter, QStaticText, QTransform

from danet_viewer._qt.ecg_paper import ViewFillingItem
from danet_viewer.components.lead_stack import LeadStack, baseline_and_spread
from danet_viewer.components.trace_envelope import MinMaxPyramid

OTHER_LEAD_COLOUR = (90, 90, 90)  # the chosen lead is the raw trace's near-black
MARK_COLOUR = (30, 100, 220)
# Stacked at a trace-following amplitude, leads lie this many of their largest spread apart.
SPREAD_SPACING = 1.1
NAME_MARGIN_PX = 4.0


class LeadNames(ViewFillingItem):
    """Each stacked lead's name at the left of the view, just above its baseline; the chosen lead's marked."""

    def __init__(self) -> None:
        super().__init__()
        self.font, self.marked_font = QFont(), QFont()
        self.font.setPointSize(8)
        self.marked_font.setPointSize(8)
        self.marked_font.setBold(True)
        self.names: list[tuple[str, float, bool]] = []  # text, baseline in the view's units, marked
        self._texts: dict[tuple[str, bool], QStaticText] = {}
        self.setZValue(10)  # over the traces

    def set_names(self, names: list[tuple[str, float, bool]]) -> None:
        self.names = names
        self.update()

    def _laid_out(self, text: str, marked: bool) -> QStaticText:
        static = self._texts.get((text, marked))
        if static is None:
            static = self._texts[text, marked] = QStaticText(text)
            static.prepare(QTransform(), self.marked_font if marked else self.font)
        return static

    def placements(self, to_screen: QTransform, screen: QRectF) -> list[tuple[QStaticText, QRectF, bool]]:
        """Each name's text and rectangle in the pixels of ``to_screen``, inside ``screen`` (the view's)."""
        placed = []
        for text, baseline, marked in self.names:
            static = self._laid_out(f"▶ {text}" if marked else text, marked)
            size = static.size()
            y = to_screen.map(QPointF(0.0, baseline)).y() - size.height() - 2.0
            top = min(max(y, screen.top()), screen.bottom() - size.height())
            placed.append((static, QRectF(screen.left() + NAME_MARGIN_PX, top, size.width(), size.height()), marked))
        return placed

    def scene_names(self) -> list[tuple[str, QRectF, bool]]:
        """The names as painted: text, scene rectangle, marked (for tests)."""
        view = self.getViewBox()
        if view is None or not self.isVisible():
            return []
        to_scene = self.sceneTransform()
        return [(static.text().removeprefix("▶ "), rect, marked)
                for static, rect, marked in self.placements(to_scene, to_scene.mapRect(view.viewRect()))]

    def paint(self, painter: QPainter, *args) -> None:
        view = self.getViewBox()
        if view is None or not self.names:
            return
        to_screen = painter.transform()
        placed = self.placements(to_screen, to_screen.mapRect(view.viewRect()))
        painter.save()
        painter.resetTransform()
        for static, rect, marked in placed:
            painter.fillRect(rect.adjusted(-2, 0, 2, 0), QColor(255, 255, 255, 210))
            painter.setFont(self.marked_font if marked else self.font)
            painter.setPen(QColor(*MARK_COLOUR) if marked else QColor(*OTHER_LEAD_COLOUR))
            painter.drawStaticText(rect.topLeft(), static)
        painter.restore()


class StackedTraces:
    """The leads other than the chosen one, stacked around it in ``plot``, and every lead's name."""

    def __init__(self, plot: pg.PlotItem, make_curve: Callable[[tuple[int, int, int]], pg.PlotDataItem]) -> None:
        self.plot, self.make_curve = plot, make_curve
        self.stack = LeadStack()
        self.traces: dict[int, tuple[np.ndarray, MinMaxPyramid]] = {}
        self.baselines = np.empty(0)
        self.spreads = np.empty(0)
        self.curves: list[pg.PlotDataItem] = []  # the pool: one per lead drawn, kept for the next record
        self.drawn: dict[int, pg.PlotDataItem] = {}
        self.names = LeadNames()
        plot.addItem(self.names, ignoreBounds=True)
        self.spacing = 1.0

    @property
    def active(self) -> bool:
        return self.stack.stacked and len(self.baselines) == len(self.stack.names)

    def set_leads(self, stack: LeadStack, traces: dict[int, tuple[np.ndarray, MinMaxPyramid]],
                  baselines: np.ndarray, spreads: np.ndarray) -> None:
        """What to draw: ``traces`` by lead (samples and pyramid); ``baselines`` and ``spreads`` of every lead, or
        empty until every lead is read."""
        self.stack, self.traces, self.baselines, self.spreads = stack, traces, baselines, spreads
        others = [lead for lead in sorted(traces) if lead != stack.chosen] if self.active else []
        while len(self.curves) < len(others):
            self.curves.append(self.make_curve(OTHER_LEAD_COLOUR))
        self.drawn = dict(zip(others, self.curves, strict=False))
        for curve in self.curves[len(others) :]:
            curve.setData([], [])
            curve.hide()
        for curve in self.drawn.values():
            curve.show()
        self.names.setVisible(self.active)

    def natural_spacing(self) -> float:
        """Leads apart by their largest spread: what a trace-following amplitude shows whole."""
        largest = float(np.max(self.spreads)) if len(self.spreads) else 0.0
        return SPREAD_SPACING * largest if largest > 0 else 1.0

    def cut(self, points: Callable[[np.ndarray, MinMaxPyramid], tuple[np.ndarray, np.ndarray]]) -> None:
        """Each lead's points near the screen (``points`` of its samples and pyramid, as the raw trace's)."""
        for lead, curve in self.drawn.items():
            curve.setData(*points(*self.traces[lead]))

    def place(self, spacing: float) -> None:
        """Each lead at its place in the stack, ``spacing`` apart, and its name beside it."""
        self.spacing = spacing
        if not self.active:
            self.names.set_names([])
            return
        offsets = self.stack.offsets(self.baselines, spacing)
        for lead, curve in self.drawn.items():
            curve.setPos(0.0, offsets[lead])
        chosen = self.stack.chosen
        self.names.set_names([(self.stack.title(lead), self.baselines[chosen] + (chosen - lead) * spacing,
                               lead == chosen) for lead in range(len(self.stack.names))])

    def centre_shift(self) -> float:
        return self.stack.centre_shift(self.spacing) if self.active else 0.0


class LeadStackFeed(QObject):
    """Reads a record's leads for the stack when it is shown, each once, and hands them to the review view."""

    _read = Signal(object, int, object, object, object)  # recording, lead, samples, pyramid, (baseline, spread)

    def __init__(self, review, view, lead_box) -> None:
        super().__init__()
        self.review, self.view = review, view
        self.recording = None
        self.traces: dict[int, tuple[np.ndarray, MinMaxPyramid]] = {}
        self.measures: dict[int, tuple[float, float]] = {}
        self._asked: set[int] = set()
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(1)
        self._read.connect(self._arrived)
        review.events.leads.connect(self._leads_changed)
        lead_box.activated.connect(lambda index: review.choose_lead(lead_box.itemData(index)))

    def _leads_changed(self) -> None:
        recording = self.review.recording if self.review.leads.names else None
        if recording is not self.recording:
            self.pool.clear()
            self.recording, self.traces, self.measures, self._asked = recording, {}, {}, set()
        if self.review.leads.stacked:
            for lead in range(len(self.review.leads.names)):
                if lead not in self._asked:
                    self._asked.add(lead)
                    known = self.review.analysis_raw if lead == self.review.lead else None
                    self.pool.start(lambda r=recording, lead=lead, known=known: self._read_lead(r, lead, known))
        self._show()

    def _read_lead(self, recording, lead: int, samples: np.ndarray | None) -> None:
        samples = recording.read(lead) if samples is None else samples
        self._read.emit(recording, lead, samples, MinMaxPyramid(samples), baseline_and_spread(samples))

    def _arrived(self, recording, lead: int, samples: np.ndarray, pyramid: MinMaxPyramid,
                 measure: tuple[float, float]) -> None:
        if recording is self.recording:
            self.traces[lead], self.measures[lead] = (samples, pyramid), measure
            self._show()

    def _show(self) -> None:
        stack = self.review.leads
        complete = len(self.measures) == len(stack.names)
        measures = np.array([self.measures[lead] for lead in range(len(stack.names)) if complete]).reshape(-1, 2)
        self.view.set_stack(stack, self.traces if complete else {}, measures[:, 0], measures[:, 1])

    @property
    def ready(self) -> bool:
        """Every lead of the record is read (the stack is drawn once it is)."""
        return bool(self.review.leads.names) and len(self.measures) == len(self.review.leads.names)

    def close(self) -> None:
        self.pool.clear()
        self.pool.waitForDone()
