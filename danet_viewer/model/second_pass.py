"""The record-level second pass: each beat judged against its own patient's rhythm and dominant beat.

The network sees one beat and its local RR; a cardiologist judges a beat against the patient's
sinus cycle and sinus P wave. This pass takes the network's per-beat logit and adds evidence only
the whole record gives:

- the patient's underlying cycle found by *regularity*: the longest RR mode among beats whose
  neighbouring intervals agree with their own (``underlying_cycle``). Not the median: where APCs
  are the majority rhythm (mitdb 232) the median is their own cycle; an ectopic atrial rhythm is
  faster than the sinus one, so the longest well-supported regular cycle is the sinus one;
- the coupling interval and the pause after against that cycle;
- QRS and P-region likeness to the record's dominant-rhythm template (the beats on that cycle);
- the rhythm's irregularity around the beat, with which the weights learn an atrial fibrillation
  and flutter veto from both training databases (an early beat means nothing in AF);
- the beat's *kin*: the ``KIN_BEATS`` beats of its record most like it in P region and QRS, a soft
  beat class. An APC's kin are its focus's other beats, so the class's timing and the network's
  view of the class back each single call; in atrial fibrillation an early beat's kin are ordinary
  beats of every coupling, so its prematurity alone does not make it an APC.

A logistic regression over ``SECOND_PASS_FEATURES`` (weights in the model folder's
``second_pass.json``) turns them into p(APC). It was chosen on record-wise folds over the 74
training patients (docs/model.md, "The record-level second pass").
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from danet_viewer.core.atomic import atomic_output
from danet_viewer.core.conditioning import MODEL_FS, WINDOW_BEFORE
from danet_viewer.core.features import RHYTHM_FEATURES, BeatInputs
from danet_viewer.errors import DanetError

SECOND_PASS_FILE = "second_pass.json"
SECOND_PASS_FEATURES = (
    "network logit",
    "network logit - record median",
    "log pre/cycle",
    "log post/cycle",
    "log prev_pre/cycle",
    "log pre/local",
    "log pre/post",
    "log (pre+post)/2 cycle",
    "log local/cycle",
    "log irregularity/local",
    "rhythm_regularity",
    "p_wave_fraction",
    "recurrence",
    "qrs likeness",
    "p region likeness",
    "p found",
    "regular share",
    "kin network logit",
    "kin network logit - record median",
    "kin log pre/local",
    "kin log post/local",
    "kin log pre/cycle",
)
# Two intervals agree when they differ by less than this share: a sinus rhythm's beat-to-beat variation.
REGULAR_TOLERANCE = 0.10
# The underlying cycle is found over this many beats around each stretch of ``CYCLE_STEP_BEATS``.
CYCLE_SPAN_BEATS = 600
CYCLE_STEP_BEATS = 100
# A regular-cycle mode counts when it holds at least this share of the largest mode's regular beats.
CYCLE_MODE_SHARE = 0.25
CYCLE_BIN_LOG = 0.04  # histogram bins of log RR: 4 % wide
MIN_REGULAR_BEATS = 20
TEMPLATE_BEATS = 400
# Kin (``kin_rows``): chosen on record-wise folds over the 74 training patients (docs/model.md: 15 and 40
# beats scored alike, 40 made fewer false APCs in atrial fibrillation). Kin are looked for within blocks
# of about this many beats (20 minutes at 75 bpm): the search is quadratic in a block, so a 24 h record
# costs 70 small searches, not one of 100 000 beats, and annotate keeps its speed.
KIN_BEATS = 40
KIN_BLOCK_BEATS = 1500
KIN_SAMPLE_STEP = 3  # every third sample of the P region and the QRS (12 ms at 250 Hz) describes the shape
QRS_WINDOW = slice(WINDOW_BEFORE - round(0.08 * MODEL_FS), WINDOW_BEFORE + round(0.10 * MODEL_FS))
P_WINDOW = slice(WINDOW_BEFORE - round(0.30 * MODEL_FS), WINDOW_BEFORE - round(0.08 * MODEL_FS))
_RR = {name: i for i, name in enumerate(RHYTHM_FEATURES)}


def regular_beats(rr: np.ndarray) -> np.ndarray:
    """Beats (``RHYTHM_FEATURES`` rows) whose interval before, the one before that and the one after agree
    within ``REGULAR_TOLERANCE``: a beat in the middle of a steady rhythm."""
    pre, previous, following = (rr[:, _RR[name]].astype(np.float64) for name in ("pre_rr_s", "prev_pre_rr_s",
                                                                                "post_rr_s"))
    return (np.abs(previous - pre) <= REGULAR_TOLERANCE * pre) & (np.abs(following - pre) <= REGULAR_TOLERANCE * pre)


def _longest_mode(intervals: np.ndarray) -> float | None:
    """The longest RR mode holding at least ``CYCLE_MODE_SHARE`` of the largest one's beats, None if too few."""
    if len(intervals) < MIN_REGULAR_BEATS:
        return None
    logs = np.log(intervals)
    edges = np.arange(logs.min() - CYCLE_BIN_LOG, logs.max() + 2 * CYCLE_BIN_LOG, CYCLE_BIN_LOG)
    counts, edges = np.histogram(logs, edges)
    # A mode's mass: its bin and both neighbours, so a cycle on a bin edge is not split in two.
    mass = np.convolve(np.pad(counts, 1), np.ones(3), mode="valid")
    is_peak = (mass >= np.concatenate([[0], mass[:-1]])) & (mass >= np.concatenate([mass[1:], [0]])) & (counts > 0)
    peaks = np.flatnonzero(is_peak & (mass >= CYCLE_MODE_SHARE * mass.max()))
    top = peaks.max()
    near = np.abs(logs - (edges[top] + edges[top + 1]) / 2) <= 1.5 * CYCLE_BIN_LOG
    return float(np.median(intervals[near]))


def underlying_cycle(rr: np.ndarray) -> np.ndarray:
    """Per beat (``RHYTHM_FEATURES`` rows, time order), the patient's underlying (sinus) cycle in seconds:
    the longest well-supported RR mode among the regular beats of the ``CYCLE_SPAN_BEATS`` around it.

    Where too few beats are regular (atrial fibrillation) the median RR stands in.
    """
    pre = rr[:, _RR["pre_rr_s"]].astype(np.float64)
    n = len(pre)
    if n == 0:
        return np.empty(0)
    regular = regular_beats(rr) & (pre > 0)
    centres, cycles = [], []
    for start in range(0, n, CYCLE_STEP_BEATS):
        centre = min(n - 1, start + CYCLE_STEP_BEATS // 2)
        first = max(0, min(centre - CYCLE_SPAN_BEATS // 2, n - CYCLE_SPAN_BEATS))
        span = slice(first, first + CYCLE_SPAN_BEATS)
        cycle = _longest_mode(pre[span][regular[span]])
        centres.append(centre)
        cycles.append(cycle if cycle is not None else float(np.median(pre[span])))
    return np.interp(np.arange(n), centres, cycles)


def _likeness(windows: np.ndarray, template: np.ndarray) -> np.ndarray:
    """Pearson correlation of each row with ``template``."""
    a = windows - windows.mean(axis=1, keepdims=True)
    b = template - template.mean()
    norms = np.linalg.norm(a, axis=1) * np.linalg.norm(b)
    return np.where(norms > 0, a @ b / np.maximum(norms, 1e-12), 0.0)


def dominant_template(windows: np.ndarray, on_cycle: np.ndarray) -> np.ndarray:
    """Median window of up to ``TEMPLATE_BEATS`` beats on the underlying cycle (all beats if too few)."""
    rows = np.flatnonzero(on_cycle)
    if len(rows) < MIN_REGULAR_BEATS:
        rows = np.arange(len(windows))
    rows = rows[np.linspace(0, len(rows) - 1, min(len(rows), TEMPLATE_BEATS)).astype(int)]
    return np.median(windows[rows], axis=0)


def kin_rows(windows: np.ndarray) -> np.ndarray:
    """Per beat (time order), the rows of its ``KIN_BEATS`` nearest beats of the same block (itself left out)
    in P-region and QRS shape, each shape sample standardised over the block; fewer where the record is short."""
    from sklearn.neighbors import NearestNeighbors  # here: scikit-learn costs half a second to import

    n = len(windows)
    kin = np.empty((n, min(KIN_BEATS, max(n - 1, 1))), np.int64)
    for block in np.array_split(np.arange(n), max(1, round(n / KIN_BLOCK_BEATS))):
        shape = np.concatenate([windows[block][:, P_WINDOW][:, ::KIN_SAMPLE_STEP],
                                windows[block][:, QRS_WINDOW][:, ::KIN_SAMPLE_STEP]], axis=1).astype(np.float64)
        shape = (shape - shape.mean(axis=0)) / (shape.std(axis=0) + 1e-6)
        if len(block) < 2:
            kin[block] = block[:, None]
            continue
        wanted = min(kin.shape[1], len(block) - 1)
        rows = NearestNeighbors(n_neighbors=wanted + 1).fit(shape).kneighbors(shape, return_distance=False)
        # The first neighbour is the beat itself (or its exact twin: either way one of its kind).
        rows = block[rows[:, 1:]]
        kin[block] = np.pad(rows, ((0, 0), (0, kin.shape[1] - wanted)), mode="edge")
    return kin


def second_pass_features(inputs: BeatInputs, p_apc: np.ndarray) -> np.ndarray:
    """``SECOND_PASS_FEATURES`` of one record's beats (time order) from their inputs and the raw p(APC)."""
    n = len(inputs)
    if n == 0:
        return np.empty((0, len(SECOND_PASS_FEATURES)), np.float32)
    rr = inputs.rr.astype(np.float64)
    pre, post = np.maximum(rr[:, _RR["pre_rr_s"]], 1e-3), np.maximum(rr[:, _RR["post_rr_s"]], 1e-3)
    local = np.maximum(rr[:, _RR["local_rr_s"]], 1e-3)
    cycle = np.maximum(underlying_cycle(rr), 1e-3)
    p = np.clip(p_apc.astype(np.float64), 1e-6, 1 - 1e-6)
    logit = np.log(p / (1 - p))
    on_cycle = (np.abs(np.log(pre / cycle)) < REGULAR_TOLERANCE) & (np.abs(np.log(post / cycle)) < REGULAR_TOLERANCE)
    template = dominant_template(inputs.windows, on_cycle)
    kin = kin_rows(inputs.windows)
    columns = [
        logit,
        logit - np.median(logit),
        np.log(pre / cycle),
        np.log(post / cycle),
        np.log(np.maximum(rr[:, _RR["prev_pre_rr_s"]], 1e-3) / cycle),
        np.log(pre / local),
        np.log(pre / post),
        np.log((pre + post) / (2 * cycle)),
        np.log(local / cycle),
        np.log(np.maximum(rr[:, _RR["irregularity_s"]], 1e-3) / local),
        rr[:, _RR["rhythm_regularity"]],
        rr[:, _RR["p_wave_fraction"]],
        rr[:, _RR["recurrence"]],
        _likeness(inputs.windows[:, QRS_WINDOW], template[QRS_WINDOW]),
        _likeness(inputs.windows[:, P_WINDOW], template[P_WINDOW]),
        inputs.p_found.astype(np.float64),
        np.full(n, regular_beats(rr).mean()),
        logit[kin].mean(axis=1),
        (logit - np.median(logit))[kin].mean(axis=1),
        np.log(pre / local)[kin].mean(axis=1),
        np.log(post / local)[kin].mean(axis=1),
        np.log(pre / cycle)[kin].mean(axis=1),
    ]
    return np.column_stack(columns).astype(np.float32)


@dataclass(frozen=True)
class SecondPass:
    """A logistic regression over standardised ``SECOND_PASS_FEATURES`` and the threshold it calls an APC at."""

    mean: np.ndarray
    scale: np.ndarray
    coefficients: np.ndarray
    intercept: float
    threshold: float
    chosen_by: str = ""  # how the threshold was chosen, for the card and the reader

    def p_apc(self, features: np.ndarray) -> np.ndarray:
        z = (features.astype(np.float64) - self.mean) / self.scale @ self.coefficients + self.intercept
        return (1 / (1 + np.exp(-np.clip(z, -40, 40)))).astype(np.float32)

    def score_records(self, inputs: BeatInputs, p_network: np.ndarray, records: np.ndarray | None) -> np.ndarray:
        """p(APC) of every beat from the network's raw ``p_network``, each record's beats taken together
        (``records`` names each beat's record, None: one record; beats in time order within a record)."""
        groups = np.zeros(len(p_network), np.int64) if records is None else np.unique(records, return_inverse=True)[1]
        p_apc = np.empty(len(p_network), np.float32)
        for group in range(groups.max(initial=-1) + 1):
            rows = np.flatnonzero(groups == group)
            p_apc[rows] = self.p_apc(second_pass_features(inputs.subset(rows), p_network[rows]))
        return p_apc

    def save(self, folder: Path) -> Path:
        path = Path(folder) / SECOND_PASS_FILE
        data = {"features": list(SECOND_PASS_FEATURES), "mean": self.mean.tolist(), "scale": self.scale.tolist(),
                "coefficients": self.coefficients.tolist(), "intercept": self.intercept,
                "threshold": self.threshold, "chosen_by": self.chosen_by}
        with atomic_output(path) as temporary:
            temporary.write_text(json.dumps(data, indent=1) + "\n")
        return path

    @classmethod
    def load(cls, folder: Path) -> SecondPass | None:
        """The folder's second pass, None where it has none (its network is scored on its own)."""
        path = Path(folder) / SECOND_PASS_FILE
        if not path.exists():
            return None
        try:
            data = json.loads(path.read_text())
            if tuple(data["features"]) != SECOND_PASS_FEATURES:
                raise ValueError(f"its features are not this version's {list(SECOND_PASS_FEATURES)}")
            arrays = [np.asarray(data[key], np.float64) for key in ("mean", "scale", "coefficients")]
            if any(a.shape != (len(SECOND_PASS_FEATURES),) for a in arrays) or not np.all(np.isfinite(arrays)):
                raise ValueError("mean, scale and coefficients need one finite value per feature")
            if np.any(arrays[1] <= 0):
                raise ValueError("every scale must be positive")
            return cls(*arrays, float(data["intercept"]), float(data["threshold"]), str(data.get("chosen_by", "")))
        except (ValueError, KeyError, TypeError, OSError) as error:
            raise DanetError(f"{path}: not a second pass ({error})") from None
