"""Axis labels with physical units, and time axes in clock time, as a clinician reads them."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QWidget

from danet_viewer.core.clock import ELAPSED, RecordClock

# Tick spacings a reader can name: fractions of a second (0.04 s is a small box at 25 mm/s), then seconds,
# minutes and hours that divide the next unit evenly, so ticks fall on round clock times.
TICK_SPACINGS_S = (0.04, 0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800,
                   3600, 7200, 10800, 21600, 43200, 86400)
# Room a tick label takes on the axis (hh:mm:ss.s and a gap), which bounds how many ticks fit.
TICK_LABEL_PX = 90.0


def label_axis(axis: pg.AxisItem, text: str, units: str = "") -> None:
    """Label ``axis`` '<text> (<units>)' with its tick values in those very units.

    pyqtgraph prefixes a unit by the values' magnitude and rescales the ticks: a lead in mV read '(mmV)' from -600 to
    600, a µV lead '(kuV)', a long time axis '(ks)'. The recording's own units are what a reader expects.
    """
    axis.enableAutoSIPrefix(False)
    axis.setLabel(text, units=units or None)


def _seconds_of_day(clock: RecordClock) -> float:
    start = clock.start
    if start is None:
        return 0.0
    return start.hour * 3600 + start.minute * 60 + start.second + start.microsecond / 1e6


def _axis_label(clock: RecordClock) -> str:
    return f"clock time (start {clock.start_text()})" if clock.known else "elapsed time (hh:mm:ss from the start)"


class ClockAxis(pg.AxisItem):
    """A time axis over seconds from the record's start, ticked in hh:mm:ss of its ``RecordClock``.

    Ticks fall on round clock times (08:20:00, not 08:17:23 plus 200 s), in spacings of
    ``TICK_SPACINGS_S``; without a start time they are round elapsed times. Never "ks".
    """

    def __init__(self, orientation: str = "bottom", **kwargs) -> None:
        super().__init__(orientation, **kwargs)
        self.enableAutoSIPrefix(False)
        self.clock = ELAPSED
        self.setLabel(_axis_label(self.clock))

    def set_clock(self, clock: RecordClock) -> None:
        if clock == self.clock:
            return
        self.clock = clock
        self.setLabel(_axis_label(clock))
        self.picture = None  # the cached tick labels were of the last clock
        self.update()

    def tickValues(self, minVal: float, maxVal: float, size: float):  # noqa: N803 - pyqtgraph's names
        span = maxVal - minVal
        if not (span > 0 and math.isfinite(span)) or size <= 0:
            return []
        fits = max(2.0, size / TICK_LABEL_PX)
        major = next((s for s in TICK_SPACINGS_S if span / s <= fits), 86400 * math.ceil(span / fits / 86400))
        minors = [s for s in TICK_SPACINGS_S if s < major and (major / s) % 1 < 1e-9 and span / s <= 4 * fits]
        levels = [(major, self._ticks(minVal, maxVal, major))]
        if minors:
            levels.append((minors[0], self._ticks(minVal, maxVal, minors[0])))
        return levels

    def _ticks(self, low: float, high: float, spacing: float) -> list[float]:
        # Round on the clock: tick k sits where (time of day at the start + t) is a multiple of spacing.
        offset = _seconds_of_day(self.clock)
        first = math.ceil((low + offset) / spacing - 1e-9)
        last = math.floor((high + offset) / spacing + 1e-9)
        return list(np.arange(first, last + 1) * spacing - offset)

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:
        return [self.clock.tick(value * scale, spacing * scale) for value in values]


def show_clock(window: QWidget, clock: RecordClock) -> None:
    """Tick every clock axis in ``window`` (main view, tachogram, overview, whatever holds one) by ``clock``."""
    views = window.findChildren(pg.GraphicsView)
    for view in [window, *views] if isinstance(window, pg.GraphicsView) else views:
        for item in view.scene().items():
            if isinstance(item, ClockAxis):
                item.set_clock(clock)
