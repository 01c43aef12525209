"""R-peak detection, beat matching and RR features: the one place each is defined."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import sleepecg

from danet_viewer.core.recording import Recording

# Detected and reference beats within this distance are the same beat (AAMI EC57).
MATCH_TOLERANCE_S = 0.150
DETECTOR = f"sleepecg {sleepecg.__version__} detect_heartbeats"
# sleepecg's thresholds need a couple of seconds to settle; shorter signals hold no reliable beat.
MIN_DETECTION_S = 2.0


def detect_beats(signal: np.ndarray, fs: float) -> np.ndarray:
    """R-peak sample indices (int64, sorted) of one ECG lead.

    Invalid samples (NaN, as WFDB marks them) are bridged by interpolation so
    a dropout does not stop detection; no beat is reported inside a gap.
    """
    ecg = np.asarray(signal, dtype=np.float64)
    if len(ecg) < MIN_DETECTION_S * fs:
        return np.empty(0, np.int64)
    invalid = ~np.isfinite(ecg)
    if invalid.all():
        return np.empty(0, np.int64)
    if invalid.any():
        positions = np.arange(len(ecg))
        ecg[invalid] = np.interp(positions[invalid], positions[~invalid], ecg[~invalid])
    peaks = np.asarray(sleepecg.detect_heartbeats(ecg, fs), dtype=np.int64)
    return peaks[~invalid[peaks]] if invalid.any() else peaks


# Long records are detected in chunks so memory stays bounded (sleepecg filters in float64
# copies of its input) and progress can be reported; the overlap lets each chunk's adaptive
# thresholds settle before the part it keeps.
DETECTION_CHUNK_S = 600.0
DETECTION_OVERLAP_S = 10.0


def detect_recording_beats(
    recording: Recording, lead: int, progress: Callable[[float], None] | None = None
) -> np.ndarray:
    """R peaks of a whole recording's lead, detected chunk by chunk; ``progress`` gets the fraction done."""
    fs = recording.fs
    chunk = round(DETECTION_CHUNK_S * fs)
    overlap = round(DETECTION_OVERLAP_S * fs)
    found = []
    for start in range(0, recording.n_samples, chunk):
        stop = min(start + chunk, recording.n_samples)
        first = max(0, start - overlap)
        peaks = detect_beats(recording.read(lead, first, stop + overlap), fs) + first
        found.append(peaks[(peaks >= start) & (peaks < stop)])
        if progress:
            progress(stop / recording.n_samples)
    beats = np.concatenate(found) if found else np.empty(0, np.int64)
    # A beat on a chunk boundary can be found by both neighbours a sample or two apart.
    refractory = round(0.2 * fs)
    return beats[np.concatenate([[True], np.diff(beats) > refractory])] if len(beats) else beats


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
    ref_index, _ = match_beats(reference, detected, round(MATCH_TOLERANCE_S * fs))
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
