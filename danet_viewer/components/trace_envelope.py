"""A min/max pyramid of a trace, so a zoomed-out view draws a few thousand points that keep every peak.

Built once per lead on a worker thread (a 24 h lead takes a fraction of a
second), then sliced on every repaint.
"""

from __future__ import annotations

import numpy as np

# The raw curve gets at most this many points (min/max pairs from the pyramid when zoomed out).
MAX_TRACE_POINTS = 8000
PYRAMID_FACTOR = 8


class MinMaxPyramid:
    """Min/max envelopes of a trace at every PYRAMID_FACTOR-fold reduction, built once, sliced per repaint."""

    def __init__(self, values: np.ndarray) -> None:
        self.levels: list[tuple[int, np.ndarray, np.ndarray]] = []  # (samples per bucket, minima, maxima)
        low, high, factor = values, values, 1
        while len(low) >= PYRAMID_FACTOR * MAX_TRACE_POINTS // 4:
            n = len(low) // PYRAMID_FACTOR * PYRAMID_FACTOR
            low, high = _fold(low[:n], np.minimum), _fold(high[:n], np.maximum)
            factor *= PYRAMID_FACTOR
            self.levels.append((factor, low, high))

    def envelope(self, fs: float, lo_s: float, hi_s: float) -> tuple[np.ndarray, np.ndarray] | None:
        """Times and interleaved min/max values covering ``lo_s ... hi_s``, None where the raw samples are few
        enough."""
        samples = (hi_s - lo_s) * fs
        if samples <= MAX_TRACE_POINTS or not self.levels:
            return None
        for factor, low, high in self.levels:
            if samples / factor <= MAX_TRACE_POINTS / 2 or factor == self.levels[-1][0]:
                lo = max(0, int(lo_s * fs / factor))
                hi = max(lo, min(len(low), int(np.ceil(hi_s * fs / factor)) + 1))
                times = np.repeat(np.arange(lo, hi) * factor / fs, 2)
                values = np.empty(2 * (hi - lo), np.float32)
                values[0::2], values[1::2] = low[lo:hi], high[lo:hi]
                return times, values
        return None


def _fold(values: np.ndarray, pick: np.ufunc) -> np.ndarray:
    # Column by column: about twice as fast as a reduction along a short last axis.
    columns = values.reshape(-1, PYRAMID_FACTOR)
    out = columns[:, 0].copy()
    for k in range(1, PYRAMID_FACTOR):
        pick(out, columns[:, k], out=out)
    return out
