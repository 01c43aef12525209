"""The min/max pyramid: a zoomed-out trace drawn from a few thousand points that keep every peak."""

from __future__ import annotations

import numpy as np

from danet_viewer.components.trace_envelope import MAX_TRACE_POINTS, MinMaxPyramid


def test_zoomed_out_the_trace_comes_from_the_min_max_pyramid():
    rng = np.random.default_rng(1)
    trace = rng.normal(size=2_000_000).astype(np.float32)
    fs = 360.0
    pyramid = MinMaxPyramid(trace)
    assert pyramid.envelope(fs, 100.0, 110.0) is None  # few samples: the raw ones are drawn
    times, values = pyramid.envelope(fs, 0.0, len(trace) / fs)
    assert len(values) <= MAX_TRACE_POINTS and values.min() == trace.min() and values.max() == trace.max()
    assert np.all(np.diff(times) >= 0)
