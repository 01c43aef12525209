"""ECG paper: the millimetre grid and the gain (mm/mV) and speed (mm/s) that map a trace onto the screen.

A reviewer reads intervals and amplitudes off the boxes (one small box is
0.04 s and 0.1 mV at the standard 25 mm/s and 10 mm/mV), so the grid is one
item, and leaves out a level whose lines would sit closer than a few pixels
apart. Hundreds of one-pixel lines cost Qt's rasteriser milliseconds at every
pan (a vertical line is a separate span on every row), so they are not drawn
as lines: the time lines are set into a one-pixel-high image of the visible
range and one view width either side, repeated down the view at its offset,
and the amplitude lines are filled in as one-pixel-high rectangles. Each paint
is then a tiled copy and a few fills; the time lines' image is made again
only when the view leaves it or zooms.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QGuiApplication, QImage, QPainter, QPixmap, QTransform

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


def line_row(lines: list[tuple[np.ndarray, tuple[int, int, int]]], width: int, ratio: float) -> QPixmap:
    """A row of ``width`` device pixels, transparent but at the given columns, each group in its colour, later
    groups over earlier ones."""
    pixels = np.zeros(width, np.uint32)
    for columns, (red, green, blue) in lines:
        pixels[columns[(columns >= 0) & (columns < width)]] = 0xFF000000 | red << 16 | green << 8 | blue
    row = QPixmap.fromImage(QImage(pixels.data, width, 1, 4 * width, QImage.Format.Format_ARGB32_Premultiplied))
    row.setDevicePixelRatio(ratio)
    return row


def screen_dpi(widget) -> float:
    """The physical dots per inch of the widget's screen; 96 offscreen or where the screen reports nonsense."""
    screen = widget.screen() if widget is not None else None
    if QGuiApplication.platformName() == "offscreen" or screen is None:
        return FALLBACK_DPI
    dpi = float(screen.physicalDotsPerInch())
    return dpi if 40.0 <= dpi <= 600.0 else FALLBACK_DPI


def pixels_per_mm(dpi: float) -> float:
    return dpi / 25.4


class ViewFillingItem(pg.GraphicsObject):
    """An item that paints whatever of the view is on screen: its bounds are the view's rectangle."""

    def viewRangeChanged(self) -> None:  # pyqtgraph's hook, by its name
        self.prepareGeometryChange()
        self.update()

    def boundingRect(self) -> QRectF:
        view = self.getViewBox()
        return QRectF() if view is None else view.viewRect()


class EcgGrid(ViewFillingItem):
    """Small (1 mm) and large (5 mm) boxes at the given speed and gain, painted for the visible range only."""

    def __init__(self) -> None:
        super().__init__()
        self.small_s = 1.0 / STANDARD_SPEED_MM_S
        self.small_mv = 1.0 / STANDARD_GAIN_MM_MV
        # The time lines' image: the scale it was made for, the first and last second it covers, and itself.
        self._time_lines_for: tuple | None = None
        self._time_lines_s = (0.0, 0.0)
        self._time_lines = QPixmap()
        self.setZValue(-20)  # over the wave regions, under the traces

    def set_scale(self, speed_mm_s: float, gain_mm_mv: float) -> None:
        """One small box is 1 mm: 1/speed seconds wide and 1/gain mV high."""
        self.small_s, self.small_mv = 1.0 / speed_mm_s, 1.0 / gain_mm_mv
        self.update()

    def visible_lines(self, box_mm: int) -> tuple[np.ndarray, np.ndarray]:
        """Times and amplitudes of one level's lines inside the view; empty where they would be too dense."""
        view = self.getViewBox()
        if view is None:
            return np.empty(0), np.empty(0)
        return self.lines_in(view.viewRect(), *view.viewPixelSize(), box_mm)

    def lines_in(self, rect: QRectF, pixel_s: float, pixel_mv: float, box_mm: int) -> tuple[np.ndarray, np.ndarray]:
        """Times and amplitudes of one level's lines inside ``rect`` (data units), at a pixel of ``pixel_s`` by
        ``pixel_mv``; empty where they would be too dense."""
        step_s, step_mv = box_mm * self.small_s, box_mm * self.small_mv
        if step_s < MIN_LINE_GAP_PX * pixel_s or step_mv < MIN_LINE_GAP_PX * pixel_mv:
            return np.empty(0), np.empty(0)
        times = np.arange(np.ceil(rect.left() / step_s), np.floor(rect.right() / step_s) + 1) * step_s
        amplitudes = np.arange(np.ceil(rect.top() / step_mv), np.floor(rect.bottom() / step_mv) + 1) * step_mv
        return times, amplitudes

    def paint(self, painter: QPainter, *args) -> None:
        view = self.getViewBox()
        rect = view.viewRect() if view is not None else QRectF()
        if rect.isEmpty():
            return
        to_screen = painter.transform()  # data to the view's pixels: a scale and an offset
        scale = (to_screen.m11(), to_screen.m22())
        if not all(np.isfinite(scale)) or min(abs(scale[0] * rect.width()), abs(scale[1] * rect.height())) < 1.0:
            # A view squeezed to no height (a short window, a tall dock) has an infinite or zero scale: rectangles
            # of NaN pixels crash Qt's rasteriser, and there is nothing to rule.
            return
        ratio = painter.device().devicePixelRatioF()
        pixel_s, pixel_mv = 1.0 / abs(to_screen.m11()), 1.0 / abs(to_screen.m22())
        small_mv = self.lines_in(rect, pixel_s, pixel_mv, 1)[1]
        large_mv = self.lines_in(rect, pixel_s, pixel_mv, LARGE_BOX_MM)[1]
        if not len(large_mv):
            return  # zoomed out too far for even the large boxes
        screen = to_screen.mapRect(rect)
        time_lines = self._time_lines_of(rect, pixel_s, pixel_mv, ratio)
        first_column = to_screen.map(QPointF(self._time_lines_s[0], 0.0)).x()
        painter.save()
        painter.resetTransform()
        painter.setPen(Qt.PenStyle.NoPen)
        # The small boxes' lines first, the large ones' over them.
        self._fill_amplitude_lines(painter, small_mv, SMALL_LINE_COLOUR, to_screen, screen, ratio)
        painter.drawTiledPixmap(screen, time_lines, QPointF(screen.left() - first_column, 0.0))
        self._fill_amplitude_lines(painter, large_mv, LARGE_LINE_COLOUR, to_screen, screen, ratio)
        painter.restore()

    @staticmethod
    def _fill_amplitude_lines(painter: QPainter, amplitudes: np.ndarray, colour: tuple[int, int, int],
                              to_screen: QTransform, screen: QRectF, ratio: float) -> None:
        """Amplitude lines as one-device-pixel-high rectangles across the view (a solid fill is a fast one)."""
        tops = np.floor((to_screen.m22() * amplitudes + to_screen.dy()) * ratio) / ratio
        painter.setBrush(QColor(*colour))
        painter.drawRects([QRectF(screen.left(), top, screen.width(), 1.0 / ratio) for top in tops])

    def _time_lines_of(self, rect: QRectF, pixel_s: float, pixel_mv: float, ratio: float) -> QPixmap:
        """Both levels' time lines as a row of device pixels from ``self._time_lines_s[0]``, covering ``rect`` and
        one view width either side; made again only when ``rect`` is off it or the scale changed."""
        made, scale = self._time_lines_for, (self.small_s, self.small_mv, ratio, pixel_s, pixel_mv)
        first_s, last_s = self._time_lines_s
        # Pan steps change the pixel size in its last bits only.
        if made is None or made[:3] != scale[:3] or not np.allclose(made[3:], scale[3:], rtol=1e-9, atol=0.0) \
                or not first_s <= rect.left() <= rect.right() <= last_s:
            covered = rect.adjusted(-rect.width(), 0.0, rect.width(), 0.0)
            columns_per_s = ratio / pixel_s
            lines = [(np.rint((self.lines_in(covered, pixel_s, pixel_mv, box_mm)[0] - covered.left()) * columns_per_s)
                      .astype(np.int64), colour)
                     for box_mm, colour in ((1, SMALL_LINE_COLOUR), (LARGE_BOX_MM, LARGE_LINE_COLOUR))]
            self._time_lines_for, self._time_lines_s = scale, (covered.left(), covered.right())
            self._time_lines = line_row(lines, int(np.ceil(covered.width() * columns_per_s)) + 1, ratio)
        return self._time_lines
