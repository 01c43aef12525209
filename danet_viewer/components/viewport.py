"""The visible time range of a record and the navigation arithmetic on it: page, zoom, centre, clamp."""

from __future__ import annotations

from dataclasses import dataclass

MIN_SPAN_S = 0.5  # the deepest keyboard zoom: one QRS complex across the screen


@dataclass
class Viewport:
    """What is on screen: ``start_s ... stop_s`` of a record ``duration_s`` long.

    The methods return the ``(start_s, span_s)`` to show next; the view reports what it then shows
    through ``shown``, so a drag or a resize in the view is followed too.
    """

    duration_s: float = 0.0
    start_s: float = 0.0
    stop_s: float = 0.0

    @property
    def span_s(self) -> float:
        return self.stop_s - self.start_s

    def shown(self, start_s: float, stop_s: float) -> None:
        self.start_s, self.stop_s = float(start_s), float(stop_s)

    def clamp(self, start_s: float, span_s: float) -> tuple[float, float]:
        """The span kept between ``MIN_SPAN_S`` and the record, and the start inside the record."""
        span_s = min(max(span_s, MIN_SPAN_S), self.duration_s)
        return min(max(start_s, 0.0), self.duration_s - span_s), span_s

    def page(self, pages: int) -> tuple[float, float]:
        return self.clamp(self.start_s + pages * self.span_s, self.span_s)

    def zoom(self, factor: float) -> tuple[float, float]:
        """``factor`` times the span around the same centre (2: zoom out, 0.5: zoom in)."""
        centre = (self.start_s + self.stop_s) / 2
        return self.clamp(centre - factor * self.span_s / 2, factor * self.span_s)

    def centred_on(self, time_s: float) -> tuple[float, float]:
        return self.clamp(time_s - self.span_s / 2, self.span_s)

    def at_start(self) -> tuple[float, float]:
        return self.clamp(0.0, self.span_s)

    def at_end(self) -> tuple[float, float]:
        return self.clamp(self.duration_s, self.span_s)
