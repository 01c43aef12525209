"""The "Selected beat" panel's text: one beat's timing, scores and review as a small HTML table."""

from __future__ import annotations

import numpy as np

from danet_viewer.core.clock import ELAPSED, RecordClock
from danet_viewer.core.store import BeatTable

NO_BEAT = "No beat selected"


# The APC score a reviewer reads: 50 is the model's operating threshold, whatever that threshold is in p(APC).
# A raw p(APC) of 0.96 reads as certain, yet falls below a 0.99 threshold; on this scale it is 19.
APC_SCORE_CALL = 50
# Unreviewed beats scored this high but below the call are drawn as near it: worth a look.
APC_SCORE_NEAR = 25


def apc_score(p_apc: np.ndarray | float, threshold: float) -> np.ndarray:
    """p(APC) against the operating threshold, 0-100: 100 x sigmoid(logit(p) - logit(threshold)), so the threshold
    scores 50 and each step of the model's log-odds moves the score the same way at any threshold. NaN stays NaN
    (beats the model did not score)."""
    eps = 1e-7
    p = np.clip(np.asarray(p_apc, np.float64), eps, 1 - eps)
    threshold = min(max(float(threshold), eps), 1 - eps)
    margin = np.log(p / (1 - p)) - np.log(threshold / (1 - threshold))
    return 100.0 / (1.0 + np.exp(-margin))


def counted(count: int, noun: str) -> str:
    """'1 APC', '2 APCs': a count with its noun in the right number."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def review_progress(table: BeatTable, candidate_rows) -> str:
    """How far the review is: the APC candidates and all beats, each reviewed of total (deleted detections count
    as reviewed beats: a person decided them)."""
    reviewed = int(table.reviewed[candidate_rows].sum())
    return (f"{reviewed} of {counted(len(candidate_rows), 'APC candidate')} reviewed, "
            f"{len(candidate_rows) - reviewed} to go; {int(table.reviewed.sum())} of {counted(len(table), 'beat')} "
            "reviewed in all")


def beat_details(table: BeatTable, row: int, fs: float, threshold: float,
                 clock: RecordClock = ELAPSED) -> list[tuple[str, str]]:
    """(name, value) rows describing beat ``row`` of ``table``, its time on ``clock`` (elapsed by default)."""
    sample = int(table.sample[row])
    before = (sample - table.sample[row - 1]) / fs if row > 0 else float("nan")
    after = (table.sample[row + 1] - sample) / fs if row + 1 < len(table) else float("nan")
    p = float(table.p_apc[row])
    model = {1: "APC", 0: "not APC"}.get(int(table.model_apc[row]), "not scored")
    if model == "APC" and p < threshold:  # the network alone would not call it: the model's record rule did
        model = "APC (its beat class is premature: the record rule)"
    elif model == "not APC" and p >= threshold:  # the network called it: the record rule overruled the call
        model = "not APC (inside atrial fibrillation: the record rule)"
    return [
        (clock.kind, clock.text(sample / fs, 3)),
        *([("from the start", clock.elapsed.text(sample / fs, 3))] if clock.known else []),
        ("sample", str(sample)),
        ("RR before", "—" if np.isnan(before) else f"{before * 1000:.0f} ms"),
        ("RR after", "—" if np.isnan(after) else f"{after * 1000:.0f} ms"),
        ("APC score", "—" if np.isnan(p) else f"{apc_score(p, threshold):.0f} (the call at {APC_SCORE_CALL})"),
        ("p(APC)", "—" if np.isnan(p) else f"{p:.3f} (threshold {threshold:.3f})"),
        ("model", model),
        ("review", table.review_symbol[row] or "unreviewed"),
        ("reviewer", table.reviewer[row] or "—"),
        ("reviewed at", table.reviewed_at[row] or "—"),
        ("origin", "added by a reviewer" if table.added[row] else "detected"),
    ]


def beat_details_html(table: BeatTable, row: int, fs: float, threshold: float,
                      clock: RecordClock = ELAPSED) -> str:
    rows = beat_details(table, row, fs, threshold, clock)
    return "<table>" + "".join(f"<tr><td><b>{k}</b>&nbsp;</td><td>{v}</td></tr>" for k, v in rows) + "</table>"
