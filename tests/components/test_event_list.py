"""The events list: runs, couplets, bigeminy/trigeminy, pauses, heart-rate extremes and bookmarks, in time order."""

from __future__ import annotations

import numpy as np
import pytest

from danet_viewer.components.event_list import BOOKMARK, REPORT_STRIP, record_events
from danet_viewer.core.store import Bookmark
from danet_viewer.core.summary import summarise
from tests.core.test_summary import EXCLUDED_S, FS, two_hour_record


def test_the_hand_counted_record_lists_its_events_in_time_order():
    record, _ = two_hour_record()
    record.bookmarks[round(450 * FS)] = Bookmark(round(450 * FS), "odd P", "dr_a", "2026-01-01T00:00:00Z")
    record.bookmarks[round(3300 * FS)] = Bookmark(round(3300 * FS), "", "dr_b", "2026-01-01T00:00:00Z",
                                                  span_s=20.0)
    excluded = np.array([[round(EXCLUDED_S[0] * FS), round(EXCLUDED_S[1] * FS)]])
    summary = summarise(record, excluded=excluded)
    events = record_events(record, summary)
    assert [event.start_s for event in events] == sorted(event.start_s for event in events)
    by_kind = {}
    for event in events:
        by_kind.setdefault(event.kind, []).append(event)
    assert [(e.start_s, e.detail) for e in by_kind["SVEB run"]] == [
        (pytest.approx(300.5), "5 beats at 120 bpm"), (pytest.approx(900.4), "3 beats at 150 bpm")]
    assert len(by_kind["SVEB couplet"]) == 1 and by_kind["SVEB couplet"][0].start_s == pytest.approx(1000.6)
    assert len(by_kind["Bigeminy"]) == len(by_kind["Trigeminy"]) == 1
    assert [(e.start_s, e.stop_s - e.start_s) for e in by_kind["Pause"]] == [
        (1800.0, pytest.approx(3.0)), (2400.0, pytest.approx(2.0))]
    # The minutes at 120 and at 40 bpm (a window's mean counts the RR that ends in it: 119 bpm at 600 s).
    high, low = by_kind["HR max"][0], by_kind["HR min"][0]
    assert high.start_s == 600 and high.detail == f"{summary.hr_max:.0f} bpm (60 s mean)"
    assert low.start_s == 1200 and low.detail == f"{summary.hr_min:.0f} bpm (60 s mean)"
    assert 118 < summary.hr_max < 121 and 39 < summary.hr_min < 41
    bookmark, strip = by_kind[BOOKMARK][0], by_kind[REPORT_STRIP][0]
    assert (bookmark.start_s, bookmark.detail, bookmark.bookmark_sample) == (450.0, "odd P (dr_a)", 450 * FS)
    assert (strip.start_s, strip.stop_s, strip.detail) == (3300.0, 3320.0, "no comment (dr_b)")
    assert by_kind["Pause"][0].middle_s == pytest.approx(1801.5)


def test_a_record_with_no_beats_has_no_events():
    record, _ = two_hour_record()
    record.beats, record.reviews, record.model = np.empty(0, np.int64), {}, None
    assert record_events(record) == []
