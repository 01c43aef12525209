"""Rule-guided synthetic APCs: the APC rule run as a generator over real sinus beats.

DS1 holds under a thousand SVEB beats, a third from one patient. Following the
diagnostic rule (danet.md), a normal beat becomes an APC when it comes early
(the stretch before its P wave is shortened, so the previous beat and its T
wave move closer, and a P′ may land on that T), its P wave changes shape, and
the pause after it is not fully compensatory. Only the window and the RR
features change; the QRS stays the beat's own, as in a real APC.
"""

from __future__ import annotations

import numpy as np

from danet_viewer.core.conditioning import MODEL_FS, WINDOW_LENGTH, scale_windows
from danet_viewer.core.features import BeatInputs

PREMATURITY = (0.55, 0.85)  # new pre-RR as a fraction of the original
COMPENSATION = (0.2, 0.8)  # fraction of the lost time given back after the beat
P_SCALES = ((-0.8, -0.2), (0.1, 0.5), (1.4, 2.0))  # inverted, flattened or enlarged P′
REGULAR_LIMIT = 0.15  # |pre/local - 1| and |post/local - 1| of a donor beat: only regular sinus beats
# Share of synthetic APCs set among frequent APCs: the local median RR is then theirs, the
# rhythm irregular but bimodal, and only the sinus reference shows them premature (mitdb 232's
# pattern, which DS1 barely holds).
FREQUENT_SHARE = 0.5


def donor_rows(inputs: BeatInputs, label: np.ndarray) -> np.ndarray:
    """Normal beats in regular rhythm with a found P wave: what a synthetic APC is made from."""
    pre, post, local = inputs.rr[:, 0], inputs.rr[:, 1], np.maximum(inputs.rr[:, 2], 1e-3)
    regular = (np.abs(pre / local - 1) < REGULAR_LIMIT) & (np.abs(post / local - 1) < REGULAR_LIMIT)
    return np.flatnonzero((label == 0) & inputs.p_found & regular)


def _taper(length: int) -> np.ndarray:
    return np.hanning(length + 2)[1:-1] if length > 0 else np.empty(0)


def synthesize_apcs(inputs: BeatInputs, rows: np.ndarray, rng: np.random.Generator) -> BeatInputs:
    """One synthetic APC per donor row (see the module docstring)."""
    windows = inputs.windows[rows].astype(np.float64)
    regions = inputs.regions[rows].astype(np.int64)
    rr = inputs.rr[rows].copy()
    out = np.empty_like(windows)
    for i in range(len(rows)):
        x, (p_on, p_off) = windows[i], regions[i, 0]
        fraction = rng.uniform(*PREMATURITY)
        shift = int(round(rr[i, 0] * (1 - fraction) * MODEL_FS))
        cut = max(1, p_on - 3)
        # Everything before the P wave moves later by `shift` and is added onto the beat, so a
        # large shift buries the P′ in the previous T wave, as in a real early APC.
        early = np.zeros(WINDOW_LENGTH)
        early[cut:] = x[cut:]
        moved = np.zeros(WINDOW_LENGTH)
        end = min(cut + shift, WINDOW_LENGTH)
        moved[shift:end] = x[: end - shift]
        moved[:shift] = x[0]  # the window's start repeats its first (baseline) sample
        low, high = P_SCALES[rng.integers(len(P_SCALES))]
        scale = rng.uniform(low, high)
        width = p_off - p_on
        if width > 2:
            early[p_on:p_off] += (scale - 1) * x[p_on:p_off] * _taper(width)
        synthetic = early + moved
        # The pause after the beat lengthens: what follows the T wave moves later.
        lost = rr[i, 0] * (1 - fraction)
        pause = lost * rng.uniform(*COMPENSATION)
        t_end, delay = regions[i, 2, 1], int(round(pause * MODEL_FS))
        if delay > 0 and t_end + delay < WINDOW_LENGTH:
            synthetic[t_end + delay :] = synthetic[t_end : WINDOW_LENGTH - delay].copy()
            synthetic[t_end : t_end + delay] = synthetic[t_end - 1]
        out[i] = synthetic
        regions[i, 3] = np.clip(regions[i, 3] + shift, 0, WINDOW_LENGTH)
        rr[i, 0] *= fraction
        rr[i, 1] += pause
        rr[i, 6] = rng.uniform(0.0, 0.25)  # an isolated APC's coupling interval is rare around it
        if rng.random() < FREQUENT_SHARE:
            _frequent_apc_context(rr[i], coupling=rr[i, 0], rng=rng)
            rr[i, 6] = rng.uniform(0.3, 0.7)
    return BeatInputs(scale_windows(out), rr, regions.astype(np.int16), np.ones(len(rows), bool))


def _frequent_apc_context(rr: np.ndarray, coupling: float, rng: np.random.Generator) -> None:
    """Set one beat's rhythm references (``RR_FEATURES`` row) to those of a stretch where APCs at
    ``coupling`` seconds are the majority: the local median is theirs, the rhythm irregular, and the
    previous beat an APC or a sinus beat."""
    rr[2] = coupling * rng.uniform(0.95, 1.2)
    rr[4] = rr[3] * rng.uniform(0.2, 0.6)
    rr[5] = coupling if rng.random() < 0.5 else rr[3]


def sinus_among_frequent_apcs(inputs: BeatInputs, rows: np.ndarray, rng: np.random.Generator) -> BeatInputs:
    """The other half of a record whose majority rhythm is APCs: its sinus beats (label 0).

    A synthetic APC set among frequent APCs teaches that an APC need not stand out from its local
    median or be rare. Without these beats a network may learn the converse from the synthetic
    ones alone: that a beat late against the local median, whose interval no neighbour repeats,
    is never normal, which is exactly what the sinus beats of such a record look like. The window
    is the donor's own; only the references change.
    """
    rr = inputs.rr[rows].copy()
    for i in range(len(rows)):
        coupling = rr[i, 0] * rng.uniform(*PREMATURITY)
        _frequent_apc_context(rr[i], coupling=coupling, rng=rng)
        if rng.random() < 0.5:  # the next beat is an APC
            rr[i, 1] = coupling
        rr[i, 6] = rng.uniform(0.0, 0.25)  # the sinus interval is rare among the APC couplings
    return BeatInputs(inputs.windows[rows], rr, inputs.regions[rows], inputs.p_found[rows])
