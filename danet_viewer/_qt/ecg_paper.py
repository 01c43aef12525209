"""ECG paper: the millimetre grid and the gain (mm/mV) and speed (mm/s) that map a trace onto the screen.

A reviewer reads intervals and amplitudes off the boxes (one small box is
0.04 s and 0.1 mV at the standard 25 mm/s and 10 mm/mV), so the grid is one
item that paints, on each repaint, only the lines inside the visible range,
and leaves out a level whose lines would sit closer than a few pixels apart.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QLineF, QRectF
from PySide6.QtGui import QGuiApplication, QPainter, QPen

STANDARD_SPEED_MM_S = 25.0
STANDARD_GAIN_MM_MV = 10.0
SPEEDS_MM_S = (12.5, 25.0, 50.0)
GAINS_MM_MV = (5.0, 10.0, 20.0)
LARGE_BOX_MM = 5
FALLBACK_DPI = 96.0
# Closer than this, a level of lines would be a pink wash rather than boxes one can count
# (a 1 mm box is 3.8 px at 96 dpi, so the standard scale keeps it).
MIN_LINE_GAP_PX = 3.0
SMALL_LINE_COLOUR = (252, 215, 215)
LARGE_LINE_COLOUR = (240, 150, 150)


def screen_dpi(widget) -> float:
    """The physical dots per inch of the widget's screen; 96 offscreen or where the screen reports nonsense."""
    screen = widget.screen() if widget is not None else None
    if QGuiApplication.platformName() == "offscreen" or screen is None:
        return FALLBACK_DPI
    dpi = float(screen.physicalDotsPerInch())
    return dpi if 40.0 <= dpi <= 600.0 else FALLBACK_DPI


def pixels_per_mm(dpi: float) -> float:
    return dpi / 25.4


class EcgGrid(pg.GraphicsObject):
    """Small (1 mm) and large (5 mm) boxes at the given speed and gain, painted for the visible range only."""

    def __init__(self) -> None:
        super().__init__()
        self.small_s = 1.0 / STANDARD_SPEED_MM_S
        self.small_mv = 1.0 / STANDARD_GAIN_MM_MV
        self.small_pen = pg.mkPen(SMALL_LINE_COLOUR, width=0)
        self.large_pen = pg.mkPen(LARGE_LINE_COLOUR, width=0)
        for pen in (self.small_pen, self.large_pen):
            pen.setCosmetic(True)
        self._lines_for: tuple | None = None  # the view and scale self._lines were built for
        self._lines: list[tuple[QPen, list[QLineF]]] = []
        self.setZValue(-20)  # over the wave regions, under the traces

    def set_scale(self, speed_mm_s: float, gain_mm_mv: float) -> None:
        """One small box is 1 mm: 1/speed seconds wide and 1/gain mV high."""
        self.small_s, self.small_mv = 1.0 / speed_mm_s, 1.0 / gain_mm_mv
        self.update()

    def viewRangeChanged(self) -> None:  # noqa: N802 - pyqtgraph's hook
        self.prepareGeometryChange()
        self.update()

    def boundingRect(self) -> QRectF:  # noqa: N802 - Qt's name
        view = self.getViewBox()
        return QRectF() if view is None else view.viewRect()

    def visible_lines(self, box_mm: int) -> tuple[np.ndarray, np.ndarray]:
        """Times and amplitudes of one level's lines inside the view; empty where they would be too dense."""
        view = self.getViewBox()
        if view is None:
            return np.empty(0), np.empty(0)
        rect = view.viewRect()
        pixel_s, pixel_mv = view.viewPixelSize()
        step_s, step_mv = box_mm * self.small_s, box_mm * self.small_mv
        if step_s < MIN_LINE_GAP_PX * pixel_s or step_mv < MIN_LINE_GAP_PX * pixel_mv:
            return np.empty(0), np.empty(0)
        times = np.arange(np.ceil(rect.left() / step_s), np.floor(rect.right() / step_s) + 1) * step_s
        amplitudes = np.arange(np.ceil(rect.top() / step_mv), np.floor(rect.bottom() / step_mv) + 1) * step_mv
        return times, amplitudes

    def paint(self, painter: QPainter, *args) -> None:
        rect = self.boundingRect()
        if rect.isEmpty():
            return
        # A view is painted more than once per range (expose, forced repaints): the lines are built once.
        key = (rect.getRect(), self.small_s, self.small_mv, self.getViewBox().viewPixelSize())
        if key != self._lines_for:
            self._lines_for, self._lines = key, []
            for box_mm, pen in ((1, self.small_pen), (LARGE_BOX_MM, self.large_pen)):
                times, amplitudes = self.visible_lines(box_mm)
                if len(times):
                    self._lines.append((pen, [QLineF(t, rect.top(), t, rect.bottom()) for t in times]
                                        + [QLineF(rect.left(), a, rect.right(), a) for a in amplitudes]))  # fmt: skip
        for pen, lines in self._lines:
            painter.setPen(pen)
            painter.drawLines(lines)
