"""The one time formatter: clock time from the recording's start, elapsed hh:mm:ss without one, ISO 8601 for exports."""

from __future__ import annotations

from datetime import datetime

from danet_viewer.core.clock import ELAPSED, RecordClock, duration_text, tick_decimals
from danet_viewer.core.recording import UNKNOWN_START_DATE


def test_elapsed_times_are_hh_mm_ss_past_a_day_and_before_the_start():
    assert ELAPSED.text(3725.4) == "01:02:05"
    assert ELAPSED.text(90000.0) == "25:00:00"
    assert ELAPSED.text(75.5, 3) == "00:01:15.500"
    assert ELAPSED.text(-1.5, 1) == "-00:00:01.5"  # an axis padded left of the first sample
    assert ELAPSED.kind == "elapsed time" and not ELAPSED.known and ELAPSED.iso(10.0) == ""
    assert duration_text(5400.0) == "01:30:00"


def test_clock_times_cross_midnight_and_round_on_the_clock():
    clock = RecordClock(datetime(2026, 3, 1, 23, 59, 59, 999000))
    assert clock.kind == "clock time" and clock.date_known
    assert clock.text(0.5) == "00:00:00"  # 23:59:59.999 + 0.5 s rounds to the next second, not down
    assert clock.text(0.0004, 3) == "23:59:59.999"
    assert clock.iso(1.0) == "2026-03-02T00:00:00.999"
    assert clock.start_text() == "2026-03-01 23:59:59"
    assert clock.elapsed.text(61.0) == "00:01:01"


def test_a_time_of_day_without_a_date_gives_times_of_day_and_iso_times_without_a_made_up_date():
    clock = RecordClock(datetime.combine(UNKNOWN_START_DATE, datetime.min.time().replace(hour=8)))
    assert clock.known and not clock.date_known
    assert clock.text(90.25, 2) == "08:01:30.25"
    assert clock.iso(90.25) == "08:01:30.250"
    assert "no date" in clock.start_text()


def test_a_start_survives_its_iso_text():
    for clock in (ELAPSED, RecordClock(datetime(2026, 3, 1, 8, 30, 0, 250000)),
                  RecordClock(datetime(1900, 1, 1, 8, 30))):
        assert RecordClock.from_iso(clock.start_iso()) == clock


def test_tick_labels_carry_the_places_that_tell_ticks_apart():
    assert [tick_decimals(s) for s in (3600, 1, 0.5, 0.2, 0.1, 0.04, 0.001)] == [0, 0, 1, 1, 1, 2, 3]
    clock = RecordClock(datetime(2026, 3, 1, 8, 30))
    assert clock.tick(12.5, 0.5) == "08:30:12.5" and clock.tick(600, 300) == "08:40:00"
