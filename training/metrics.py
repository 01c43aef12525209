"""SVEB metrics per the evaluation protocol (danet.md): beat-level Se, +P, F1; strips; threshold choice."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Counts:
    tp: int
    fn: int
    fp: int
    tn: int

    def __add__(self, other: Counts) -> Counts:
        return Counts(self.tp + other.tp, self.fn + other.fn, self.fp + other.fp, self.tn + other.tn)

    @property
    def sensitivity(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else float("nan")

    @property
    def positive_predictivity(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else float("nan")

    @property
    def specificity(self) -> float:
        return self.tn / (self.tn + self.fp) if self.tn + self.fp else float("nan")

    @property
    def accuracy(self) -> float:
        total = self.tp + self.fn + self.fp + self.tn
        return (self.tp + self.tn) / total if total else float("nan")

    @property
    def f1(self) -> float:
        return 2 * self.tp / (2 * self.tp + self.fp + self.fn) if self.tp else 0.0

    def as_dict(self) -> dict:
        return {"tp": self.tp, "fn": self.fn, "fp": self.fp, "tn": self.tn, "se": self.sensitivity,
                "ppv": self.positive_predictivity, "f1": self.f1}


def count(label: np.ndarray, predicted: np.ndarray, missed_positive: int = 0, missed_negative: int = 0) -> Counts:
    """Confusion counts; reference beats no detection found are false negatives of their class."""
    label = np.asarray(label, bool)
    predicted = np.asarray(predicted, bool)
    return Counts(int(np.sum(label & predicted)), int(np.sum(label & ~predicted)) + missed_positive,
                  int(np.sum(~label & predicted)), int(np.sum(~label & ~predicted)) + missed_negative)


def average_precision(label: np.ndarray, score: np.ndarray) -> float:
    """Area under the precision-recall curve (step-wise, as scikit-learn computes it)."""
    label = np.asarray(label, bool)
    if not label.any():
        return float("nan")
    order = np.argsort(-np.asarray(score), kind="stable")
    hits = label[order]
    precision = np.cumsum(hits) / np.arange(1, len(hits) + 1)
    return float(np.sum(precision[hits]) / hits.sum())


def best_threshold(label: np.ndarray, score: np.ndarray) -> tuple[float, float]:
    """The threshold maximising F1 on these beats, and that F1 (midpoint between neighbouring scores)."""
    label = np.asarray(label, bool)
    order = np.argsort(-np.asarray(score), kind="stable")
    sorted_score = np.asarray(score)[order]
    tp = np.cumsum(label[order])
    fp = np.arange(1, len(order) + 1) - tp
    f1 = 2 * tp / (2 * tp + fp + (label.sum() - tp))
    best = int(np.argmax(f1))
    below = sorted_score[best + 1] if best + 1 < len(sorted_score) else 0.0
    return float((sorted_score[best] + below) / 2), float(f1[best])


# How an operating threshold is chosen on validation beats: "f1", the F1-optimal one; or
# "false-alarm", the one that calls FALSE_ALARM_RATE of the validation beats that are not SVEB.
THRESHOLD_RULES = ("f1", "false-alarm")
# A reviewer called to one normal beat in a hundred: about DS1's SVEB prevalence (2 %), so at half
# the APCs found a call is about as likely right as wrong. Fixed before it was first measured.
FALSE_ALARM_RATE = 0.01


def false_alarm_threshold(label: np.ndarray, score: np.ndarray, rate: float = FALSE_ALARM_RATE) -> float:
    """The threshold that calls ``rate`` of the negatives among these beats (midpoint between neighbouring
    scores). Unlike the F1-optimal threshold it does not hang on the few APCs of a validation set."""
    negatives = np.sort(np.asarray(score)[~np.asarray(label, bool)])[::-1]
    called = int(rate * len(negatives))
    if called == 0:
        return float(np.nextafter(negatives[0], np.inf)) if len(negatives) else 0.5
    below = negatives[called] if called < len(negatives) else 0.0
    return float((negatives[called - 1] + below) / 2)


def choose_threshold(label: np.ndarray, score: np.ndarray, rule: str = "f1") -> float:
    """The operating threshold on these validation beats by ``rule`` (THRESHOLD_RULES)."""
    if rule == "false-alarm":
        return false_alarm_threshold(label, score)
    if rule != "f1":
        raise ValueError(f"unknown threshold rule {rule!r}; known: {', '.join(THRESHOLD_RULES)}")
    return best_threshold(label, score)[0]


def strip_counts(times_s: np.ndarray, label: np.ndarray, predicted: np.ndarray, duration_s: float,
                 strip_s: float = 10.0, missed_positive_times: np.ndarray | None = None) -> Counts:
    """10 s strip verdicts: a strip is APC-positive if it holds an SVEB beat; the verdict, if any beat is called."""
    n_strips = int(duration_s // strip_s)
    strip = (np.asarray(times_s) // strip_s).astype(int)
    inside = strip < n_strips
    truth = np.zeros(n_strips, bool)
    verdict = np.zeros(n_strips, bool)
    np.logical_or.at(truth, strip[inside], np.asarray(label, bool)[inside])
    np.logical_or.at(verdict, strip[inside], np.asarray(predicted, bool)[inside])
    if missed_positive_times is not None and len(missed_positive_times):
        missed = (np.asarray(missed_positive_times) // strip_s).astype(int)
        truth[missed[missed < n_strips]] = True
    return count(truth, verdict)
