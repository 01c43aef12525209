"""The record summary on a synthetic two-hour record whose runs, pauses and rates are counted by hand."""

from __future__ import annotations

import numpy as np
import pytest

from danet_viewer.core.store import NOT_A_BEAT, ModelOutput, Review, StoredRecord
from danet_viewer.core.summary import (
    FROM_DETECTOR,
    FROM_MODEL,
    FROM_REVIEWER,
    merged_stretches,
    summarise,
)

FS = 250.0
DURATION_S = 7200.0
EXCLUDED_S = (4000.0, 4100.0)


class Timeline:
    """Beat times and symbols, built event by event; every event ends on an N beat at a whole second."""

    def __init__(self) -> None:
        self.times, self.symbols = [0.0], ["N"]

    def beat(self, rr_s: float, symbol: str = "N") -> None:
        self.times.append(round(self.times[-1] + rr_s, 6))  # no float drift over hours
        self.symbols.append(symbol)

    def until(self, time_s: float) -> None:
        """N beats one second apart up to ``time_s``."""
        assert self.times[-1] == int(self.times[-1]) and time_s > self.times[-1]
        while self.times[-1] < time_s:
            self.beat(1.0)

    def event(self, *beats: tuple[float, str]) -> None:
        for rr_s, symbol in beats:
            self.beat(rr_s, symbol)
        assert self.times[-1] == int(self.times[-1])


def two_hour_record() -> tuple[StoredRecord, np.ndarray]:
    """Hour 0 reviewed, hour 1 left to the model, its last 200 s unscored. Returns the record and beat times.

    Hour 0: a run of 5 SVEBs at 120 bpm (300 s), the fastest run (3 at 150 bpm, 900 s), a couplet (1000 s),
    two isolated SVEBs (1100, 1500 s), three VEBs (1300-1400 s), an F and a paced beat (1600, 1700 s;
    the paced one an added beat), a deleted false detection (1650.5 s), a minute at 120 bpm (600 s) and
    one at 40 bpm (1200 s), pauses of 3.0 and 2.0 s (1800, 2400 s) and an RR of 1.9 s (3000 s), four
    SVEBs in bigeminy (2000 s) and three in trigeminy (2500 s). Hour 1: no beats in 4000-4100 s
    (excluded), the model's four APCs on either side of it and at 5000 and 6000 s.
    """
    line = Timeline()
    line.until(300)
    line.event(*[(0.5, "A")] * 5, (0.5, "N"))
    line.until(600)
    line.event(*[(0.5, "N")] * 120)
    line.until(900)
    line.event(*[(0.4, "A")] * 3, (0.8, "N"))
    line.until(1000)
    line.event((0.6, "A"), (0.6, "A"), (0.8, "N"))
    line.until(1100)
    line.event((0.7, "A"), (1.3, "N"))
    line.until(1200)
    line.event(*[(1.5, "N")] * 40)
    for at in (1300, 1350, 1400):
        line.until(at)
        line.event((0.7, "V"), (1.3, "N"))
    line.until(1500)
    line.event((0.7, "A"), (1.3, "N"))
    line.until(1600)
    line.event((1.0, "F"))
    line.until(1699)
    line.event((1.0, "/"))
    line.until(1800)
    line.event((3.0, "N"))
    line.until(2000)
    line.event(*[(0.7, "A"), (1.3, "N")] * 4)
    line.until(2400)
    line.event((2.0, "N"))
    line.until(2500)
    line.event(*[(0.7, "A"), (1.3, "N"), (1.0, "N")] * 3)
    line.until(3000)
    line.event((1.9, "N"), (1.1, "N"))
    line.until(EXCLUDED_S[0] - 1)
    line.beat(EXCLUDED_S[1] - EXCLUDED_S[0] + 1)
    line.until(DURATION_S - 1)

    times = np.array(line.times)
    symbols = np.array(line.symbols, dtype=object)
    sample = np.round(times * FS).astype(np.int64)
    added = times == 1700.0
    false_detection = round(1650.5 * FS)
    record = StoredRecord("synthetic", "synthetic.hea", "0", FS, ["II"], ["mV"], int(DURATION_S * FS),
                          beats=np.sort(np.r_[sample[~added], false_detection]))
    scored = record.beats[record.beats < 7000 * FS]
    model_apcs = {round(t * FS) for t in (EXCLUDED_S[0] - 1, EXCLUDED_S[1], 5000.0, 6000.0, 1500.0)}
    # At 1500 s the model calls an APC the reviewer also called: one beat, not two.
    p_apc = np.array([0.9 if s in model_apcs else 0.1 for s in scored.tolist()], np.float32)
    record.model = ModelOutput(scored, p_apc, 0.5, "danet-test", "2026-01-01T00:00:00Z")
    for at, symbol in zip(sample[times < 3600].tolist(), symbols[times < 3600], strict=True):
        record.reviews[at] = Review(symbol, "dr_a", "2026-01-01T00:00:00Z")
    record.reviews[false_detection] = Review(NOT_A_BEAT, "dr_b", "2026-01-01T00:00:00Z")
    return record, times


@pytest.fixture(scope="module")
def summary_and_times():
    record, times = two_hour_record()
    return summarise(record, excluded=np.array([[round(EXCLUDED_S[0] * FS), round(EXCLUDED_S[1] * FS)]])), times


def test_counts_classes_and_label_sources(summary_and_times):
    summary, times = summary_and_times
    assert summary.beats == len(times)  # the deleted detection is no beat, the added one is
    assert summary.counts == {"SVEB": 5 + 3 + 2 + 2 + 4 + 3 + 4, "VEB": 3, "other": 2, "N": len(times) - 28}
    assert summary.beats_by_source == {FROM_REVIEWER: int(np.sum(times < 3600)), FROM_MODEL: 400 + 2900,
                                       FROM_DETECTOR: 200}
    assert summary.reviewers == ("dr_a", "dr_b")
    assert summary.model_id == "danet-test"


def test_time_analysed_and_excluded(summary_and_times):
    summary, _ = summary_and_times
    assert (summary.duration_s, summary.excluded_s, summary.analysed_s) == (7200.0, 100.0, 7100.0)


def test_sveb_isolated_couplets_runs_and_episodes(summary_and_times):
    summary, _ = summary_and_times
    # 1100, 1500, four in bigeminy, three in trigeminy, the model's four (those either side of the
    # excluded stretch are not a couplet: no interval across excluded time joins beats).
    assert summary.sveb_isolated == 13
    assert [(c.start_s, c.beats) for c in summary.sveb_couplets] == [(1000.6, 2)]
    assert summary.sveb_couplets[0].rate_bpm == pytest.approx(100.0)
    assert [(r.start_s, r.beats) for r in summary.sveb_runs] == [(300.5, 5), (900.4, 3)]
    assert summary.longest_run.start_s == 300.5 and summary.longest_run.rate_bpm == pytest.approx(120.0)
    assert summary.fastest_run.start_s == 900.4 and summary.fastest_run.rate_bpm == pytest.approx(150.0)
    assert [(e.start_s, e.stop_s, e.sveb) for e in summary.bigeminy] == [(2000.7, 2006.7, 4)]
    assert [(e.start_s, e.stop_s, e.sveb) for e in summary.trigeminy] == [(2500.7, 2506.7, 3)]
    assert summary.first_sveb_s == 300.5


def test_heart_rate_windows_and_their_times(summary_and_times):
    summary, _ = summary_and_times
    assert summary.hr_window_s == 60.0
    # 600-660 s: the RR of 1 s ending at 600 s, then 119 of 0.5 s; 1200-1260 s: one of 1 s, 39 of 1.5 s.
    assert summary.hr_max == pytest.approx(60 * 120 / 60.5) and summary.hr_max_at_s == 600.0
    assert summary.hr_min == pytest.approx(60 * 40 / 59.5) and summary.hr_min_at_s == 1200.0
    assert len(summary.hr_trend_bpm) == 120
    # The excluded stretch leaves the window inside it without a rate.
    assert np.isnan(summary.hr_trend_bpm[67]) and summary.hr_trend_bpm[66] == pytest.approx(60.0)
    assert 55.0 < summary.hr_mean < 65.0


def test_pauses_threshold_and_configurable(summary_and_times):
    summary, _ = summary_and_times
    assert summary.pause_threshold_s == 2.0
    # 3.0 s at 1800 s and 2.0 s at 2400 s; 1.9 s is none, nor the 101 s across the excluded stretch.
    assert [(p.start_s, p.rr_s) for p in summary.pauses] == [(1800.0, 3.0), (2400.0, pytest.approx(2.0))]
    assert summary.longest_pause.start_s == 1800.0
    record, _ = two_hour_record()
    lower = summarise(record, pause_threshold_s=1.85)
    assert [p.start_s for p in lower.pauses] == [1800.0, 2400.0, 3000.0, EXCLUDED_S[0] - 1]


def test_hourly_table(summary_and_times):
    summary, times = summary_and_times
    first, second = summary.hourly
    assert (first.start_s, first.beats, first.sveb, first.veb) == (0.0, int(np.sum(times < 3600)), 19, 3)
    assert first.hr_min == pytest.approx(summary.hr_min) and first.hr_max == pytest.approx(summary.hr_max)
    assert (second.start_s, second.beats, second.sveb, second.veb) == (3600.0, 400 + 2900 + 200, 4, 0)
    assert (second.hr_min, second.hr_mean, second.hr_max) == (60.0, pytest.approx(60.0), 60.0)


def test_excluded_stretches_default_to_none_and_merge():
    record, _ = two_hour_record()
    without = summarise(record)
    assert without.excluded_s == 0.0 and without.analysed_s == DURATION_S
    # Without the exclusion the 101 s gap is a pause, and the APCs either side of it neighbours: a couplet.
    assert len(without.pauses) == 3 and len(without.sveb_couplets) == 2
    assert merged_stretches(np.array([[50, 80], [10, 20], [15, 30], [90, 200]]), 100).tolist() == [
        [10, 30], [50, 80], [90, 100]]


def test_empty_record_summarises_to_nothing():
    record = StoredRecord("empty", "e.hea", "0", FS, ["II"], ["mV"], int(10 * FS))
    summary = summarise(record)
    assert summary.beats == 0 and summary.sveb_runs == () and summary.pauses == ()
    assert np.isnan(summary.hr_min) and summary.hr_min_at_s is None and np.isnan(summary.hr_mean)
