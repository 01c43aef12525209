"""The "Selected beat" panel's text: one beat's timing, scores and review as a small HTML table."""

from __future__ import annotations

import numpy as np

from danet_viewer.core.store import BeatTable

NO_BEAT = "No beat selected"


def format_time(seconds: float) -> str:
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{int(hours)}:{int(minutes):02d}:{secs:06.3f}" if hours else f"{int(minutes)}:{secs:06.3f}"


def counted(count: int, noun: str) -> str:
    """'1 APC', '2 APCs': a count with its noun in the right number."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def review_progress(table: BeatTable, candidate_rows) -> str:
    """How far the review is: the APC candidates and all beats, each reviewed of total (deleted detections count
    as reviewed beats: a person decided them)."""
    reviewed = int(table.reviewed[candidate_rows].sum())
    return (f"{reviewed} of {counted(len(candidate_rows), 'APC candidate')} reviewed, "
            f"{len(candidate_rows) - reviewed} to go; {int(table.reviewed.sum())} of {counted(len(table), 'beat')} "
            "reviewed in all")  # fmt: skip


def beat_details(table: BeatTable, row: int, fs: float, threshold: float) -> list[tuple[str, str]]:
    """(name, value) rows describing beat ``row`` of ``table``."""
    sample = int(table.sample[row])
    before = (sample - table.sample[row - 1]) / fs if row > 0 else float("nan")
    after = (table.sample[row + 1] - sample) / fs if row + 1 < len(table) else float("nan")
    p = float(table.p_apc[row])
    model = {1: "APC", 0: "not APC"}.get(int(table.model_apc[row]), "not scored")
    return [
        ("time", format_time(sample / fs)),
        ("sample", str(sample)),
        ("RR before", "—" if np.isnan(before) else f"{before * 1000:.0f} ms"),
        ("RR after", "—" if np.isnan(after) else f"{after * 1000:.0f} ms"),
        ("p(APC)", "—" if np.isnan(p) else f"{p:.3f} (threshold {threshold:.2f})"),
        ("model", model),
        ("review", table.review_symbol[row] or "unreviewed"),
        ("reviewer", table.reviewer[row] or "—"),
        ("reviewed at", table.reviewed_at[row] or "—"),
        ("origin", "added by a reviewer" if table.added[row] else "detected"),
    ]


def beat_details_html(table: BeatTable, row: int, fs: float, threshold: float) -> str:
    rows = beat_details(table, row, fs, threshold)
    return "<table>" + "".join(f"<tr><td><b>{k}</b>&nbsp;</td><td>{v}</td></tr>" for k, v in rows) + "</table>"
