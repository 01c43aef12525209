"""Calipers on the raw trace: two draggable time lines and two amplitude lines, with their differences."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtGui import QFont

CALIPER_COLOUR = (0, 110, 190)


class Calipers:
    """Four movable lines on ``plot`` and a readout of Δt (ms), the rate it implies (bpm) and ΔmV."""

    def __init__(self, plot: pg.PlotItem) -> None:
        self.plot = plot
        pen = pg.mkPen(CALIPER_COLOUR, width=1.5, style=pg.QtCore.Qt.PenStyle.DashLine)
        hover = pg.mkPen(CALIPER_COLOUR, width=3)
        self.time_lines = [pg.InfiniteLine(angle=90, movable=True, pen=pen, hoverPen=hover) for _ in range(2)]
        self.amplitude_lines = [pg.InfiniteLine(angle=0, movable=True, pen=pen, hoverPen=hover) for _ in range(2)]
        self.readout = pg.TextItem(color=CALIPER_COLOUR, fill=pg.mkBrush(255, 255, 255, 220), anchor=(0, 0))
        font = QFont()
        font.setPointSize(9)
        font.setBold(True)
        self.readout.setFont(font)
        for item in (*self.time_lines, *self.amplitude_lines, self.readout):
            item.setZValue(20)
            item.hide()
            plot.addItem(item, ignoreBounds=True)
        for line in (*self.time_lines, *self.amplitude_lines):
            line.sigPositionChanged.connect(self._update_readout)
        self.visible = False

    def set_visible(self, on: bool) -> None:
        """Show the calipers; each time they appear they are placed in the middle of the current view."""
        self.visible = on
        if on:
            (x0, x1), (y0, y1) = self.plot.viewRange()
            for line, fraction in zip(self.time_lines, (0.4, 0.6), strict=True):
                line.setValue(x0 + fraction * (x1 - x0))
            for line, fraction in zip(self.amplitude_lines, (0.3, 0.7), strict=True):
                line.setValue(y0 + fraction * (y1 - y0))
        for item in (*self.time_lines, *self.amplitude_lines, self.readout):
            item.setVisible(on)
        self._update_readout()

    @property
    def interval_s(self) -> float:
        return abs(self.time_lines[1].value() - self.time_lines[0].value())

    @property
    def amplitude(self) -> float:
        return abs(self.amplitude_lines[1].value() - self.amplitude_lines[0].value())

    def text(self) -> str:
        interval = self.interval_s
        rate = f"{60.0 / interval:.0f} bpm" if interval > 0 else "— bpm"
        return f"Δt {interval * 1000:.0f} ms   {rate}   ΔV {self.amplitude:.2f} mV"

    def _update_readout(self) -> None:
        if not self.visible:
            return
        self.readout.setText(self.text())
        self.place_readout()

    def place_readout(self) -> None:
        """At the top of the view, by the earlier time line (called again after every pan or zoom)."""
        if self.visible:
            (_, _), (_, y1) = self.plot.viewRange()
            self.readout.setPos(min(line.value() for line in self.time_lines), y1)
