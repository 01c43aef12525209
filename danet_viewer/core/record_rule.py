"""The model's record-level rule: calls that only the whole record can make, beside the network's.

The network judges one beat against its neighbours. Where APCs are a patient's majority rhythm (MIT-BIH 232), they
look ordinary beside each other and the network misses nearly all of them; inside atrial fibrillation every beat
comes early and irregular, and the network calls some of them APCs, which in fibrillation none is. A cardiologist
settles both from the whole record: the first by each beat class's timing against the patient's own underlying
cycle, as the Templates view shows the classes; the second by the rhythm and the missing P waves. The rule
``PREMATURE_CLASSES_AF_VETO`` does both:

- a class is **premature** when its median coupling interval (``BeatClassTable.rr_quartiles``: pre-RR over the
  patient's underlying cycle, the 95th percentile of the 64 intervals before the beat, which frequent APCs cannot
  pull down) is under ``RR_RULE_FRACTION`` (0.85, the RR rule's own fraction) and its QRS is like the record's
  reference beat (``beat_classes.qrs_unlike_reference``: not ventricular);
- its beats that the RR rule also calls premature, and that come abruptly (their interval under the same fraction
  of the one before it, where sinus arrhythmia shortens the cycle gradually), are called APC;
- no beat inside **atrial fibrillation** is an APC, whichever of the network and the classes called it: AF is where
  Dash et al. 2009's detector, with its published thresholds, finds the intervals random
  (``atrial_fibrillation_beats``) *and* the P regions of consecutive beats are unalike (``atrial_coherence``). The
  intervals alone also flag runs of APCs, whose P waves repeat from beat to beat; fibrillatory waves do not.

Each constant but one is the RR rule's, the Templates view's or the paper's; ``ATRIAL_COHERENCE`` was chosen on
record-wise out-of-fold network calls over the 74 training patients (mitdb DS1 and svdb) by
``benchmarks/trial_af_veto.py``, never on DS2. The figures, and the earlier versions', are in docs/model.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy.ndimage import median_filter

from danet_viewer.core.beat_classes import P_WINDOW, RR_QUARTILES, qrs_unlike_reference
from danet_viewer.core.features import lead_chunks
from danet_viewer.core.recording import Recording
from danet_viewer.core.rr_rule import RR_RULE_FRACTION, rr_rule_calls
from danet_viewer.core.store import BeatClassTable

PREMATURE_CLASSES_AF_VETO = "premature-classes-af-veto"
RECORD_RULES = (PREMATURE_CLASSES_AF_VETO,)

# Dash S, Chon KH, Lu S, Raeder EA. Automatic real time detection of atrial fibrillation. Ann Biomed Eng
# 37(9):1701-1709 (2009): over 128 RR intervals with the 8 longest and 8 shortest dropped as ectopic, AF where the
# RMSSD over the mean interval, the Shannon entropy of a 16-bin histogram and the turning-point ratio all say so.
AF_WINDOW_INTERVALS = 128
AF_ECTOPIC_DROPPED = 8  # the longest and the shortest each
AF_HISTOGRAM_BINS = 16
AF_RMSSD_OVER_MEAN = 0.1
AF_ENTROPY = 0.7
AF_TURNING_POINTS = (0.54, 0.77)
# Fibrillation also needs the P regions (``beat_classes.P_WINDOW``) of consecutive beats unalike: the median of
# their correlations over the beats of Dash's window under this. Chosen among 0.3, 0.4 and 0.5 on out-of-fold calls
# over the 74 training patients (docs/model.md); DS1's AF beats sit at a median of 0.04 (90th percentile 0.18), its
# other beats at 0.87 and svdb's, APC runs included, at 0.85.
ATRIAL_COHERENCE = 0.3

_COUPLING = RR_QUARTILES.index("coupling")
_MEDIAN = 1


# Windows judged at once: a 24 h Holter has ~100 000, and each holds 128 intervals in several working arrays.
AF_WINDOWS_PER_BLOCK = 4096


def _af_windows(rr: np.ndarray) -> np.ndarray:
    """Dash et al.'s verdict on every window of ``AF_WINDOW_INTERVALS`` consecutive intervals, a block at a time."""
    windows = sliding_window_view(rr, AF_WINDOW_INTERVALS)
    return np.concatenate([_af_block(windows[start : start + AF_WINDOWS_PER_BLOCK])
                           for start in range(0, len(windows), AF_WINDOWS_PER_BLOCK)])


def _af_block(windows: np.ndarray) -> np.ndarray:
    ordered = np.sort(windows, axis=1)
    low = ordered[:, AF_ECTOPIC_DROPPED : AF_ECTOPIC_DROPPED + 1]
    high = ordered[:, -AF_ECTOPIC_DROPPED - 1 : -AF_ECTOPIC_DROPPED]
    kept = (windows >= low) & (windows <= high)
    # The kept intervals in time order, packed to the left of each row (they are as many in every row but for ties).
    order = np.argsort(~kept, axis=1, kind="stable")
    packed = np.take_along_axis(windows, order, axis=1)
    count = kept.sum(axis=1)
    column = np.arange(AF_WINDOW_INTERVALS)
    valid = column[None, :] < count[:, None]
    mean = np.where(valid, packed, 0.0).sum(axis=1) / count
    steps = np.diff(packed, axis=1)
    step_valid = valid[:, 1:]
    rmssd = np.sqrt(np.where(step_valid, steps**2, 0.0).sum(axis=1) / (count - 1)) / mean
    middle = packed[:, 1:-1]
    turning = ((middle - packed[:, :-2]) * (middle - packed[:, 2:]) > 0) & valid[:, 2:]
    turning_ratio = turning.sum(axis=1) / (count - 2)
    span = np.maximum(ordered[:, -AF_ECTOPIC_DROPPED - 1] - ordered[:, AF_ECTOPIC_DROPPED], 1e-12)
    bins = np.clip(((packed - low) * (AF_HISTOGRAM_BINS / span)[:, None]).astype(int), 0, AF_HISTOGRAM_BINS - 1)
    histogram = np.zeros((len(windows), AF_HISTOGRAM_BINS))
    np.add.at(histogram, (np.nonzero(valid)[0], bins[valid]), 1.0)
    share = histogram / count[:, None]
    entropy = -np.sum(np.where(share > 0, share * np.log(np.where(share > 0, share, 1.0)), 0.0), axis=1)
    entropy /= np.log(AF_HISTOGRAM_BINS)
    return ((rmssd > AF_RMSSD_OVER_MEAN) & (entropy > AF_ENTROPY) & (turning_ratio >= AF_TURNING_POINTS[0]) &
            (turning_ratio <= AF_TURNING_POINTS[1]))


def atrial_fibrillation_beats(samples: np.ndarray, fs: float) -> np.ndarray:
    """Per beat (``samples`` of one record in time order): inside atrial fibrillation by Dash et al.'s detector, on
    the window of intervals centred on the beat (the nearest whole window at the record's edges). A record shorter
    than one window (about two minutes) has too few intervals to judge: no beat is AF."""
    rr = np.diff(np.asarray(samples, np.float64)) / fs
    if len(rr) < AF_WINDOW_INTERVALS:
        return np.zeros(len(samples), bool)
    verdicts = _af_windows(rr)
    return verdicts[np.clip(np.arange(len(samples)) - AF_WINDOW_INTERVALS // 2, 0, len(verdicts) - 1)]


def premature_classes(classes: BeatClassTable) -> np.ndarray:
    """Per class: its median coupling is under ``RR_RULE_FRACTION`` of the underlying cycle and its QRS is like the
    record's reference beat."""
    if classes.n_classes == 0:
        return np.zeros(0, bool)
    return (classes.rr_quartiles[:, _COUPLING, _MEDIAN] < RR_RULE_FRACTION) & ~qrs_unlike_reference(classes)


def abrupt_beats(samples: np.ndarray) -> np.ndarray:
    """Per beat (in time order): its interval is under ``RR_RULE_FRACTION`` of the interval before it."""
    intervals = np.diff(np.asarray(samples, np.float64))
    abrupt = np.zeros(len(samples), bool)
    abrupt[2:] = intervals[1:] < RR_RULE_FRACTION * intervals[:-1]
    return abrupt


def atrial_coherence(recording: Recording, lead: int, samples: np.ndarray) -> np.ndarray:
    """Per beat (``samples`` of one record in time order): how alike the P regions of consecutive beats are, the
    median over the ``AF_WINDOW_INTERVALS`` + 1 beats around it of each beat's P region (``P_WINDOW`` of its model
    window, conditioned as the network's) correlated with the one before. Repeating P waves, sinus or ectopic, give
    near 1; fibrillatory waves, which fall anywhere before a QRS, near 0."""
    samples = np.asarray(samples, dtype=np.int64)
    regions = np.zeros((len(samples), P_WINDOW.stop - P_WINDOW.start), np.float32)
    for chunk in lead_chunks(recording, lead, samples, delineated=False):
        regions[chunk.kept] = chunk.windows()[:, P_WINDOW]
    regions -= regions.mean(axis=1, keepdims=True)
    regions /= np.maximum(np.linalg.norm(regions, axis=1, keepdims=True), 1e-6)
    alike = np.ones(len(samples))
    alike[1:] = np.sum(regions[1:] * regions[:-1], axis=1)
    return median_filter(alike, size=AF_WINDOW_INTERVALS + 1, mode="nearest")


@dataclass(frozen=True)
class RecordRuleCalls:
    """What the record rule says of each classified beat, beside the network's p(APC)."""

    added: np.ndarray  # bool: an APC, whatever the network says
    vetoed: np.ndarray  # bool: not an APC, whatever the network says (inside atrial fibrillation)


def record_rule_calls(recording: Recording, lead: int, classes: BeatClassTable) -> RecordRuleCalls:
    """``PREMATURE_CLASSES_AF_VETO`` on the classified beats (``classes.sample``, the record's live beats in time
    order, detected on ``lead``): the premature classes' RR-rule and abrupt beats are APCs, and no beat inside
    atrial fibrillation (random intervals and unalike P regions) is."""
    samples = classes.sample
    if not len(samples):
        return RecordRuleCalls(np.zeros(0, bool), np.zeros(0, bool))
    fibrillation = (atrial_fibrillation_beats(samples, recording.fs) &
                    (atrial_coherence(recording, lead, samples) < ATRIAL_COHERENCE))
    in_premature_class = premature_classes(classes)[classes.class_id]
    added = in_premature_class & rr_rule_calls(samples) & abrupt_beats(samples) & ~fibrillation
    return RecordRuleCalls(added, fibrillation)
