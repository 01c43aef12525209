"""R-peak detection, beat matching and RR features: the one place each is defined."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import sleepecg
from scipy.ndimage import maximum_filter1d, minimum_filter1d

from danet_viewer.core.recording import Recording

# Detected and reference beats within this distance are the same beat (AAMI EC57).
MATCH_TOLERANCE_S = 0.150
DETECTOR = f"sleepecg {sleepecg.__version__} detect_heartbeats"
# sleepecg's thresholds need a couple of seconds to settle; shorter signals hold no reliable beat.
MIN_DETECTION_S = 2.0


# A stretch of the analysis lead is unanalysable when for at least UNANALYSABLE_MIN_S it is invalid
# (NaN, as readers mark gaps), constant (zeros, a lead-off amplifier parked at one value, an ADC stuck
# at its rail) or nearly so. Two seconds: shorter dropouts are bridged (below), and no real ECG stays
# this flat for that long -- even in a pause the baseline, noise and P waves move it.
UNANALYSABLE_MIN_S = 2.0
# "Nearly constant" is judged against the lead's own amplitude, not in mV, so it holds whatever the
# units (mV, uV, raw ADC counts) or gain: a 2 s window is flat when its peak-to-peak is at most 1 % of
# the median peak-to-peak of all 2 s windows detected at once (a short record, a 600 s chunk of a long
# one), which in an ECG is that of a window with a QRS. 1 % of a 1.5 mV QRS is 15 uV: a lead-off
# flicker of a least significant bit or two (5 uV at MIT-BIH's 200 per mV) is flat, while the baseline
# of a real pause (muscle and electrode noise, tens of uV) stays well above it. Exactly constant and
# invalid windows are flat whatever the median, so an all-flat chunk (median 0) is still found; a chunk
# that is mostly flicker sets its own median and is detected as a noisy signal, as before.
FLAT_FRACTION = 0.01


@dataclass(frozen=True)
class BeatDetection:
    """R peaks of a lead and the stretches of it that could not be analysed."""

    beats: np.ndarray  # int64 sample indices, sorted
    unanalysable: np.ndarray  # int64 (n, 2): [start, stop) sample pairs, sorted, apart; no beat inside

    @property
    def unanalysable_samples(self) -> int:
        return int(np.sum(self.unanalysable[:, 1] - self.unanalysable[:, 0]))


def _runs(mask: np.ndarray) -> np.ndarray:
    """The [start, stop) pairs (int64, (n, 2)) of the runs of True in ``mask``."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(np.int8), [0]])))
    return edges.reshape(-1, 2).astype(np.int64)


def _flat_mask(ecg: np.ndarray, fs: float) -> np.ndarray:
    """Per sample, whether it lies in a window of UNANALYSABLE_MIN_S that is invalid or flat (see FLAT_FRACTION)."""
    n = len(ecg)
    width = max(2, min(n, round(UNANALYSABLE_MIN_S * fs)))
    if n < 2:
        return np.ones(n, bool)
    valid = np.isfinite(ecg)
    # Invalid samples take no part in a window's peak-to-peak: a window of them alone has -inf.
    highest = maximum_filter1d(np.where(valid, ecg, -np.inf), width)
    lowest = minimum_filter1d(np.where(valid, ecg, np.inf), width)
    first = width // 2  # a centred filter's value at first + s covers the window ecg[s : s + width]
    spread = (highest - lowest)[first : first + n - width + 1]
    sampled = spread[:: max(1, width // 16)]  # neighbouring windows share most samples: a median needs few
    live = sampled[sampled > 0]
    tolerance = FLAT_FRACTION * float(np.median(live)) if len(live) else 0.0
    flat_windows = np.flatnonzero(spread <= tolerance)
    # Each flat window covers its samples: +1 where it starts, -1 where it ends, summed along the lead.
    cover = np.bincount(flat_windows, minlength=n + 1) - np.bincount(flat_windows + width, minlength=n + 1)
    return np.cumsum(cover[:n]) > 0


def _sleepecg_beats(ecg: np.ndarray, fs: float) -> np.ndarray | None:
    """sleepecg's R peaks in one stretch with no long gap or flat run; None if it cannot analyse the stretch.

    Short invalid gaps are bridged by interpolation so a dropout does not stop
    detection; no beat is reported inside a gap.
    """
    invalid = ~np.isfinite(ecg)
    if invalid.any():
        positions = np.arange(len(ecg))
        ecg = ecg.copy()
        ecg[invalid] = np.interp(positions[invalid], positions[~invalid], ecg[~invalid])
    try:
        peaks = np.asarray(sleepecg.detect_heartbeats(ecg, fs), dtype=np.int64)
    except ValueError:
        # What sleepecg (or scipy's filter under it) refuses is degenerate input: a stretch flat but for
        # its last few samples, too short to filter. The flat runs are cut out before, so this is rare.
        return None
    return peaks[~invalid[peaks]]


def detect_signal(signal: np.ndarray, fs: float) -> BeatDetection:
    """R peaks of one ECG lead, detected on its analysable parts only, and the unanalysable stretches.

    A flat or invalid stretch (see ``UNANALYSABLE_MIN_S``) is cut out and the
    parts between are detected on their own; a part shorter than
    ``MIN_DETECTION_S``, or one the detector refuses, is unanalysable too.
    """
    ecg = np.asarray(signal, dtype=np.float64)
    unanalysable = _flat_mask(ecg, fs)
    found = []
    for start, stop in _runs(~unanalysable):
        peaks = _sleepecg_beats(ecg[start:stop], fs) if stop - start >= MIN_DETECTION_S * fs else None
        if peaks is None:
            unanalysable[start:stop] = True
        else:
            found.append(peaks + start)
    beats = np.concatenate(found) if found else np.empty(0, np.int64)
    return BeatDetection(beats, _runs(unanalysable))


def detect_beats(signal: np.ndarray, fs: float) -> np.ndarray:
    """R-peak sample indices (int64, sorted) of one ECG lead; none in a flat, invalid or too short stretch."""
    return detect_signal(signal, fs).beats


# Long records are detected in chunks so memory stays bounded (sleepecg filters in float64
# copies of its input) and progress can be reported; the overlap lets each chunk's adaptive
# thresholds settle before the part it keeps.
DETECTION_CHUNK_S = 600.0
DETECTION_OVERLAP_S = 10.0


def detect_recording(
    recording: Recording, lead: int, progress: Callable[[float], None] | None = None
) -> BeatDetection:
    """Beats and unanalysable stretches of a whole recording's lead, chunk by chunk.

    ``progress`` gets the fraction done.
    """
    fs = recording.fs
    chunk = round(DETECTION_CHUNK_S * fs)
    overlap = round(DETECTION_OVERLAP_S * fs)
    found, stretches = [], []
    for start in range(0, recording.n_samples, chunk):
        stop = min(start + chunk, recording.n_samples)
        first = max(0, start - overlap)
        detection = detect_signal(recording.read(lead, first, stop + overlap), fs)
        peaks = detection.beats + first
        found.append(peaks[(peaks >= start) & (peaks < stop)])
        # Each chunk keeps its own part of a stretch; the overlap lets it see a stretch across its edge whole.
        kept = np.clip(detection.unanalysable + first, start, stop)
        stretches.append(kept[kept[:, 1] > kept[:, 0]])
        if progress:
            progress(stop / recording.n_samples)
    beats = np.concatenate(found) if found else np.empty(0, np.int64)
    # A beat on a chunk boundary can be found by both neighbours a sample or two apart.
    refractory = round(0.2 * fs)
    beats = beats[np.concatenate([[True], np.diff(beats) > refractory])] if len(beats) else beats
    return BeatDetection(beats, _joined(np.concatenate(stretches) if stretches else np.empty((0, 2), np.int64)))


def _joined(stretches: np.ndarray) -> np.ndarray:
    """Sorted [start, stop) pairs with those that touch (split by a chunk boundary) made one."""
    if not len(stretches):
        return stretches.reshape(0, 2)
    starts_new = np.concatenate([[True], stretches[1:, 0] > stretches[:-1, 1]])
    group_starts = np.flatnonzero(starts_new)
    group_stops = np.concatenate([group_starts[1:], [len(stretches)]]) - 1
    return np.stack([stretches[group_starts, 0], stretches[group_stops, 1]], axis=1)


def detect_recording_beats(
    recording: Recording, lead: int, progress: Callable[[float], None] | None = None
) -> np.ndarray:
    """R peaks of a whole recording's lead (``detect_recording`` without the stretches)."""
    return detect_recording(recording, lead, progress).beats


def match_beats(reference: np.ndarray, detected: np.ndarray, tolerance: int) -> tuple[np.ndarray, np.ndarray]:
    """Pair reference and detected beats at most ``tolerance`` samples apart, one to one.

    Closest pairs are taken first, so a beat is never matched past a nearer
    partner. Returns index arrays into ``reference`` and ``detected``.
    """
    reference = np.asarray(reference, dtype=np.int64)
    detected = np.asarray(detected, dtype=np.int64)
    if not len(reference) or not len(detected):
        return np.empty(0, np.int64), np.empty(0, np.int64)
    right = np.searchsorted(detected, reference)
    pairs = []
    for candidate in (right - 1, right):
        valid = (candidate >= 0) & (candidate < len(detected))
        ref_index = np.flatnonzero(valid)
        det_index = candidate[valid]
        distance = np.abs(detected[det_index] - reference[ref_index])
        close = distance <= tolerance
        pairs.append(np.stack([distance[close], ref_index[close], det_index[close]], axis=1))
    candidates = np.concatenate(pairs)
    candidates = candidates[np.lexsort((candidates[:, 1], candidates[:, 0]))]
    ref_used = np.zeros(len(reference), bool)
    det_used = np.zeros(len(detected), bool)
    matched_ref, matched_det = [], []
    for _, i, j in candidates:
        if not ref_used[i] and not det_used[j]:
            ref_used[i] = det_used[j] = True
            matched_ref.append(i)
            matched_det.append(j)
    order = np.argsort(matched_ref)
    return np.asarray(matched_ref, np.int64)[order], np.asarray(matched_det, np.int64)[order]


def match_reference(reference: np.ndarray, detected: np.ndarray, fs: float) -> tuple[np.ndarray, np.ndarray]:
    """Pair reference annotations with detected beats of a record at ``fs`` Hz: at most 150 ms apart, one to one.

    The one place the AAMI rule is turned into samples; every import, label and score matches through it.
    Returns index arrays into ``reference`` and ``detected`` (see ``match_beats``).
    """
    return match_beats(reference, detected, round(MATCH_TOLERANCE_S * fs))


@dataclass(frozen=True)
class DetectionScore:
    true_positives: int
    false_negatives: int
    false_positives: int

    @property
    def sensitivity(self) -> float:
        return self.true_positives / max(1, self.true_positives + self.false_negatives)

    @property
    def positive_predictivity(self) -> float:
        return self.true_positives / max(1, self.true_positives + self.false_positives)


def score_detection(reference: np.ndarray, detected: np.ndarray, fs: float) -> DetectionScore:
    """Beat-detection Se/PPV against reference beats, AAMI-style 150 ms matching."""
    ref_index, _ = match_reference(reference, detected, fs)
    tp = len(ref_index)
    return DetectionScore(tp, len(reference) - tp, len(detected) - tp)


RR_FEATURES = ("pre_rr_s", "post_rr_s", "local_rr_s", "sinus_rr_s", "irregularity_s", "prev_pre_rr_s", "recurrence")
# Beats of context for each rhythm reference (danet.md, "Known so far").
LOCAL_RR_BEATS = 10
SINUS_RR_BEATS = 64
SINUS_RR_PERCENTILE = 95
IRREGULARITY_BEATS = 33
RECURRENCE_BEATS = 32
RECURRENCE_TOLERANCE = 0.10


def _trailing(values: np.ndarray, width: int) -> np.ndarray:
    """Windows of the ``width`` values up to each index, padded at the start with the first value."""
    padded = np.concatenate([np.full(width - 1, values[0]), values])
    return np.lib.stride_tricks.sliding_window_view(padded, width)


def rr_features(samples: np.ndarray, fs: float) -> np.ndarray:
    """Per beat, in seconds: the RR intervals and rhythm references an APC is judged against.

    - ``pre_rr_s``, ``post_rr_s``: the intervals before and after the beat.
    - ``local_rr_s``: median of the previous ``LOCAL_RR_BEATS`` intervals. The local
      median, not the record mean: a record of mostly APCs (mitdb 232) shifts its own mean.
    - ``sinus_rr_s``: the 95th percentile of the previous ``SINUS_RR_BEATS`` intervals, a
      sinus reference that frequent early beats cannot pull down: where APCs are the
      majority (mitdb 232: about four beats in five), the median and even the 80th
      percentile are theirs, but the longest intervals are still the sinus ones.
    - ``irregularity_s``: median absolute successive RR difference over the centred
      ``IRREGULARITY_BEATS`` beats: high in atrial fibrillation, where every beat
      looks premature and an APC call means nothing.
    - ``prev_pre_rr_s``: the previous beat's pre-RR (bigeminy, runs, a beat after an early one).
    - ``recurrence``: fraction of the previous ``RECURRENCE_BEATS`` intervals within 10 % of
      this pre-RR. Ectopic beats with a fixed coupling interval recur (mitdb 232 is
      irregular but bimodal); atrial fibrillation's random intervals do not.

    The first and last beat repeat the nearest known interval.
    """
    samples = np.asarray(samples, dtype=np.float64)
    n = len(samples)
    features = np.zeros((n, len(RR_FEATURES)), np.float32)
    if n < 2:
        return features
    rr = np.diff(samples) / fs
    pre = np.concatenate([[rr[0]], rr])
    post = np.concatenate([rr, [rr[-1]]])
    successive = np.abs(np.diff(pre, prepend=pre[0]))
    half = IRREGULARITY_BEATS // 2
    centred = np.pad(successive, half, mode="edge")
    features[:, 0] = pre
    features[:, 1] = post
    features[:, 2] = np.median(_trailing(pre, LOCAL_RR_BEATS), axis=1)
    features[:, 3] = np.percentile(_trailing(pre, SINUS_RR_BEATS), SINUS_RR_PERCENTILE, axis=1)
    features[:, 4] = np.median(np.lib.stride_tricks.sliding_window_view(centred, IRREGULARITY_BEATS), axis=1)
    features[:, 5] = np.concatenate([[pre[0]], pre[:-1]])
    previous = _trailing(np.concatenate([[pre[0]], pre[:-1]]), RECURRENCE_BEATS)
    features[:, 6] = np.mean(np.abs(previous - pre[:, None]) <= RECURRENCE_TOLERANCE * pre[:, None], axis=1)
    return features
