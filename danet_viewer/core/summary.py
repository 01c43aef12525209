"""What a Holter report states about one record, computed from the annotation store (issue 18).

Each beat's label is its *effective* label: the reviewer's symbol where a person
reviewed it (a detection reviewed as not-a-beat is no beat), else the model's
verdict (``A`` where it called an APC, ``N`` where it did not), else ``N`` for a
beat the model never scored, as the WFDB export writes it. The summary counts
how many beats took their label from each source, so the report can say which.

Classes are AAMI's: N, SVEB (S), VEB (V), and "other" (F and Q).

Excluded time: stretches ``[start, stop)`` (samples) that could not be analysed
(flat line, lead off) are subtracted from the analysed time. Beats inside them
still count (the detector finds none there; a beat a reviewer added there is
the reviewer's call), but no RR interval that overlaps one is used: such an
interval is no heart period, so it takes no part in heart rate, pauses, or in
joining SVEBs into couplets, runs or bigeminy, which never span excluded time.

Times are seconds from the start of the record; ``danet_viewer.core.clock`` turns
them into time of day where the recording's start is known.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from danet_viewer.core.aami import SYMBOL_TO_AAMI
from danet_viewer.core.store import BeatTable, StoredRecord

# Heart rate is the mean rate over consecutive windows of this length from the record's start.
HR_WINDOW_S = 60.0
# A window whose usable RR intervals cover less than this share of it gives no heart rate.
HR_MIN_COVERAGE = 0.5
PAUSE_THRESHOLD_S = 2.0
MIN_RUN_BEATS = 3
# Bigeminy and trigeminy: at least this many SVEBs in a row, each 2 (3) beats after the last.
MIN_EPISODE_SVEBS = 3
HOUR_S = 3600.0

CLASSES = ("N", "SVEB", "VEB", "other")
_CLASS_OF_AAMI = {"N": "N", "S": "SVEB", "V": "VEB", "F": "other", "Q": "other"}

# Where a beat's effective label came from.
FROM_DETECTOR, FROM_MODEL, FROM_REVIEWER = 0, 1, 2


@dataclass(frozen=True)
class Run:
    """Consecutive SVEBs (a couplet, or a run of three or more)."""

    start_s: float  # the first SVEB
    stop_s: float  # the last SVEB
    beats: int
    rate_bpm: float  # 60 x (beats - 1) / (stop_s - start_s): the rate within the run


@dataclass(frozen=True)
class Episode:
    """Bigeminy or trigeminy: SVEBs every second (third) beat, ``sveb`` of them from ``start_s`` to ``stop_s``."""

    start_s: float
    stop_s: float
    sveb: int


@dataclass(frozen=True)
class Pause:
    start_s: float  # the beat before the pause
    rr_s: float


@dataclass(frozen=True)
class HourRow:
    """One hour of the record from its start (``start_s``); heart rates NaN where no window has one."""

    start_s: float
    beats: int
    hr_min: float
    hr_mean: float
    hr_max: float
    sveb: int
    veb: int


@dataclass(frozen=True)
class RecordSummary:
    record: str
    fs: float
    duration_s: float
    analysed_s: float
    excluded_s: float
    beats: int
    beats_by_source: dict[int, int]  # FROM_REVIEWER / FROM_MODEL / FROM_DETECTOR -> beats
    reviewers: tuple[str, ...]
    model_id: str  # "" when no model ran
    counts: dict[str, int]  # CLASSES -> beats
    sveb_isolated: int
    sveb_couplets: tuple[Run, ...]
    sveb_runs: tuple[Run, ...]  # MIN_RUN_BEATS or more
    bigeminy: tuple[Episode, ...]
    trigeminy: tuple[Episode, ...]
    first_sveb_s: float | None
    hr_window_s: float
    hr_trend_bpm: np.ndarray  # one value per window from the start, NaN where the window gives none
    hr_mean: float
    pause_threshold_s: float
    pauses: tuple[Pause, ...]
    hourly: tuple[HourRow, ...]

    @property
    def hr_min(self) -> float:
        return _nan_extreme(self.hr_trend_bpm, np.nanmin)

    @property
    def hr_max(self) -> float:
        return _nan_extreme(self.hr_trend_bpm, np.nanmax)

    @property
    def hr_min_at_s(self) -> float | None:
        """Start of the window with the lowest heart rate (the first, on a tie)."""
        return self._window_start(np.nanargmin)

    @property
    def hr_max_at_s(self) -> float | None:
        return self._window_start(np.nanargmax)

    @property
    def longest_run(self) -> Run | None:
        return max(self.sveb_runs, key=lambda run: (run.beats, -run.start_s), default=None)

    @property
    def fastest_run(self) -> Run | None:
        return max(self.sveb_runs, key=lambda run: (run.rate_bpm, -run.start_s), default=None)

    @property
    def longest_pause(self) -> Pause | None:
        return max(self.pauses, key=lambda pause: (pause.rr_s, -pause.start_s), default=None)

    def _window_start(self, pick) -> float | None:
        if np.all(np.isnan(self.hr_trend_bpm)):
            return None
        return float(pick(self.hr_trend_bpm)) * self.hr_window_s


def _nan_extreme(values: np.ndarray, pick) -> float:
    return float("nan") if np.all(np.isnan(values)) else float(pick(values))


def effective_labels(table: BeatTable) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Samples, effective symbols and label sources of the beats of ``table`` (deleted detections left out)."""
    keep = ~table.deleted
    symbol = np.where(table.model_apc == 1, "A", "N").astype(object)
    source = np.where(table.model_apc >= 0, FROM_MODEL, FROM_DETECTOR).astype(np.int8)
    reviewed = table.reviewed
    symbol[reviewed] = table.review_symbol[reviewed]
    source[reviewed] = FROM_REVIEWER
    return table.sample[keep], symbol[keep], source[keep]


def merged_stretches(stretches: np.ndarray | None, n_samples: int) -> np.ndarray:
    """``[start, stop)`` sample pairs clipped to the record, sorted, overlapping and touching ones merged."""
    pairs = np.empty((0, 2), np.int64) if stretches is None else np.asarray(stretches, np.int64).reshape(-1, 2)
    pairs = np.clip(pairs, 0, n_samples)
    pairs = pairs[pairs[:, 1] > pairs[:, 0]]
    pairs = pairs[np.argsort(pairs[:, 0], kind="stable")]
    merged: list[list[int]] = []
    for start, stop in pairs.tolist():
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], stop)
        else:
            merged.append([start, stop])
    return np.array(merged, np.int64).reshape(-1, 2)


def _usable_intervals(sample: np.ndarray, excluded: np.ndarray) -> np.ndarray:
    """For each pair of neighbouring beats, whether the interval between them overlaps no excluded stretch."""
    before, after = sample[:-1], sample[1:]
    started = np.searchsorted(excluded[:, 0], after, side="left")  # stretches starting before the later beat
    ended = np.searchsorted(excluded[:, 1], before, side="right")  # stretches over by the earlier beat
    return started == ended


def _stretches_of(flag: np.ndarray, joined: np.ndarray) -> list[tuple[int, int]]:
    """Maximal ``[first, last]`` beat indices where ``flag`` holds on every beat and ``joined`` between them."""
    where = np.flatnonzero(flag)
    if not len(where):
        return []
    # Every flagged beat but the last has a next beat, so ``joined`` (one per neighbouring pair) covers it.
    breaks = np.flatnonzero((np.diff(where) != 1) | ~joined[where[:-1]])
    starts = np.r_[0, breaks + 1]
    stops = np.r_[breaks, len(where) - 1]
    return [(int(where[a]), int(where[b])) for a, b in zip(starts, stops, strict=True)]


def _episodes(sveb_index: np.ndarray, segment: np.ndarray, period: int, time_s: np.ndarray) -> tuple[Episode, ...]:
    """Chains of SVEBs each ``period`` beats after the last, within one stretch of joined beats."""
    if len(sveb_index) < MIN_EPISODE_SVEBS:
        return ()
    linked = (np.diff(sveb_index) == period) & (np.diff(segment[sveb_index]) == 0)
    episodes = []
    first = 0
    for i in range(len(linked) + 1):
        if i == len(linked) or not linked[i]:
            if i - first + 1 >= MIN_EPISODE_SVEBS:
                episodes.append(Episode(float(time_s[sveb_index[first]]), float(time_s[sveb_index[i]]), i - first + 1))
            first = i + 1
    return tuple(episodes)


def summarise(record: StoredRecord, *, excluded: np.ndarray | None = None, hr_window_s: float = HR_WINDOW_S,
              pause_threshold_s: float = PAUSE_THRESHOLD_S, table: BeatTable | None = None) -> RecordSummary:
    """The summary of ``record``; ``excluded`` defaults to its unanalysable (flat or lead-off) stretches."""
    if hr_window_s <= 0 or pause_threshold_s <= 0:
        raise ValueError("the heart-rate window and the pause threshold must be positive")
    excluded = merged_stretches(record.unanalysable if excluded is None else excluded, record.n_samples)
    fs = record.fs
    # The window passes the beat table it holds: building it again is most of a 24 h summary's time.
    table = record.beat_table() if table is None else table
    sample, symbol, source = effective_labels(table)
    time_s = sample / fs
    beat_class = np.array([_CLASS_OF_AAMI[SYMBOL_TO_AAMI[s]] for s in symbol], dtype=object)
    is_sveb = beat_class == "SVEB"

    rr_s = np.diff(time_s)
    usable = _usable_intervals(sample, excluded)
    segment = np.r_[0, np.cumsum(~usable)] if len(sample) else np.empty(0, np.int64)

    stretches = _stretches_of(is_sveb, usable)
    runs = [Run(float(time_s[a]), float(time_s[b]), b - a + 1, 60.0 * (b - a) / (time_s[b] - time_s[a]))
            for a, b in stretches if b > a]
    sveb_index = np.flatnonzero(is_sveb)

    duration_s = record.n_samples / fs
    hr_trend, rr_end_s, rr_used = _heart_rate_trend(time_s, rr_s, usable, duration_s, hr_window_s)
    pause_at = np.flatnonzero(usable & (rr_s >= pause_threshold_s))
    excluded_s = float((excluded[:, 1] - excluded[:, 0]).sum()) / fs
    return RecordSummary(
        record=record.name, fs=fs, duration_s=duration_s, analysed_s=duration_s - excluded_s, excluded_s=excluded_s,
        beats=len(sample),
        beats_by_source={src: int(np.sum(source == src)) for src in (FROM_REVIEWER, FROM_MODEL, FROM_DETECTOR)},
        reviewers=tuple(sorted(set(table.reviewer[table.reviewed]))),
        model_id=record.model.model_id if record.model is not None else "",
        counts={name: int(np.sum(beat_class == name)) for name in CLASSES},
        sveb_isolated=sum(1 for a, b in stretches if a == b),
        sveb_couplets=tuple(run for run in runs if run.beats == 2),
        sveb_runs=tuple(run for run in runs if run.beats >= MIN_RUN_BEATS),
        bigeminy=_episodes(sveb_index, segment, 2, time_s),
        trigeminy=_episodes(sveb_index, segment, 3, time_s),
        first_sveb_s=float(time_s[sveb_index[0]]) if len(sveb_index) else None,
        hr_window_s=hr_window_s, hr_trend_bpm=hr_trend,
        hr_mean=_mean_rate(rr_used), pause_threshold_s=pause_threshold_s,
        pauses=tuple(Pause(float(time_s[i]), float(rr_s[i])) for i in pause_at),
        hourly=_hourly(time_s, is_sveb, beat_class == "VEB", hr_trend, rr_end_s, rr_used, duration_s, hr_window_s),
    )


def _mean_rate(rr_s: np.ndarray) -> float:
    return 60.0 * len(rr_s) / float(rr_s.sum()) if len(rr_s) else float("nan")


def _heart_rate_trend(time_s: np.ndarray, rr_s: np.ndarray, usable: np.ndarray, duration_s: float,
                      window_s: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean rate per window (each usable RR counts in the window where it ends), and the usable RRs' ends."""
    rr_end_s, rr_used = time_s[1:][usable], rr_s[usable]
    windows = max(1, int(np.ceil(duration_s / window_s)))
    window = np.minimum((rr_end_s // window_s).astype(np.int64), windows - 1)
    count = np.bincount(window, minlength=windows)
    covered = np.bincount(window, weights=rr_used, minlength=windows)
    with np.errstate(invalid="ignore", divide="ignore"):
        trend = np.where(covered >= HR_MIN_COVERAGE * window_s, 60.0 * count / covered, np.nan)
    return trend, rr_end_s, rr_used


def _hourly(time_s: np.ndarray, is_sveb: np.ndarray, is_veb: np.ndarray, hr_trend: np.ndarray, rr_end_s: np.ndarray,
            rr_used: np.ndarray, duration_s: float, window_s: float) -> tuple[HourRow, ...]:
    rows = []
    window_start = np.arange(len(hr_trend)) * window_s
    for hour in range(max(1, int(np.ceil(duration_s / HOUR_S)))):
        start, stop = hour * HOUR_S, (hour + 1) * HOUR_S
        beats = (time_s >= start) & (time_s < stop)
        rates = hr_trend[(window_start >= start) & (window_start < stop)]
        rows.append(HourRow(
            start_s=start, beats=int(beats.sum()),
            hr_min=_nan_extreme(rates, np.nanmin),
            hr_mean=_mean_rate(rr_used[(rr_end_s >= start) & (rr_end_s < stop)]),
            hr_max=_nan_extreme(rates, np.nanmax),
            sveb=int(np.sum(beats & is_sveb)), veb=int(np.sum(beats & is_veb)),
        ))
    return tuple(rows)

