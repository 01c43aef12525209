"""Navigation arithmetic: pages and zooms keep the span inside the record and above the deepest zoom."""

from __future__ import annotations

import pytest

from danet_viewer.components.viewport import MIN_SPAN_S, Viewport


def test_a_page_moves_by_one_span_and_stops_at_either_end():
    viewport = Viewport(100.0, 20.0, 30.0)
    assert viewport.span_s == 10.0
    assert viewport.page(1) == (30.0, 10.0) and viewport.page(-1) == (10.0, 10.0)
    viewport.shown(95.0, 100.0)
    assert viewport.page(1) == (95.0, 5.0)
    viewport.shown(1.0, 6.0)
    assert viewport.page(-1) == (0.0, 5.0)


def test_a_zoom_keeps_the_centre_between_the_deepest_zoom_and_the_whole_record():
    viewport = Viewport(100.0, 10.0, 20.0)
    assert viewport.zoom(0.5) == (12.5, 5.0) and viewport.zoom(2.0) == (5.0, 20.0)
    viewport.shown(50.0, 50.6)
    assert viewport.zoom(0.5) == (pytest.approx(50.15), MIN_SPAN_S)
    viewport.shown(0.0, 80.0)
    assert viewport.zoom(2.0) == (0.0, 100.0)


def test_centre_start_and_end_keep_the_span():
    viewport = Viewport(100.0, 40.0, 50.0)
    assert viewport.centred_on(70.0) == (65.0, 10.0) and viewport.centred_on(99.0) == (90.0, 10.0)
    assert viewport.at_start() == (0.0, 10.0) and viewport.at_end() == (90.0, 10.0)
