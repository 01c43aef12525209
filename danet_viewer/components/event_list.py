"""The events of a record a reviewer jumps between: SVEB runs and couplets, bigeminy and trigeminy, pauses, the
highest and lowest heart rate, and the reviewers' bookmarks, in time order (from ``core.summary``, without Qt)."""

from __future__ import annotations

from dataclasses import dataclass

from danet_viewer.core.store import BeatTable, StoredRecord
from danet_viewer.core.summary import RecordSummary, summarise

BOOKMARK, REPORT_STRIP = "Bookmark", "Report strip"


@dataclass(frozen=True)
class RecordEvent:
    """One row of the events list: from ``start_s`` to ``stop_s`` (equal for a moment), seconds from the start."""

    start_s: float
    stop_s: float
    kind: str
    detail: str
    bookmark_sample: int | None = None  # the bookmark's own sample, for a bookmark

    @property
    def middle_s(self) -> float:
        return (self.start_s + self.stop_s) / 2


def record_events(record: StoredRecord, summary: RecordSummary | None = None,
                  table: BeatTable | None = None) -> list[RecordEvent]:
    """Every event of ``record`` in time order (its summary is computed, from ``table`` where given, unless given)."""
    summary = summary or summarise(record, table=table)
    events = [RecordEvent(run.start_s, run.stop_s, "SVEB run", f"{run.beats} beats at {run.rate_bpm:.0f} bpm")
              for run in summary.sveb_runs]
    events += [RecordEvent(run.start_s, run.stop_s, "SVEB couplet", f"at {run.rate_bpm:.0f} bpm")
               for run in summary.sveb_couplets]
    for name, episodes in (("Bigeminy", summary.bigeminy), ("Trigeminy", summary.trigeminy)):
        events += [RecordEvent(e.start_s, e.stop_s, name, f"{e.sveb} SVEBs") for e in episodes]
    events += [RecordEvent(p.start_s, p.start_s + p.rr_s, "Pause", f"RR {p.rr_s:.2f} s") for p in summary.pauses]
    window = summary.hr_window_s
    for name, at_s, bpm in (("HR max", summary.hr_max_at_s, summary.hr_max),
                            ("HR min", summary.hr_min_at_s, summary.hr_min)):
        if at_s is not None:
            events.append(RecordEvent(at_s, at_s + window, name, f"{bpm:.0f} bpm ({window:g} s mean)"))
    for sample, mark in record.bookmarks.items():
        start_s = sample / record.fs
        kind = REPORT_STRIP if mark.span_s else BOOKMARK
        detail = f"{mark.comment or 'no comment'} ({mark.who})"
        events.append(RecordEvent(start_s, start_s + mark.span_s, kind, detail, bookmark_sample=sample))
    return sorted(events, key=lambda event: (event.start_s, event.kind))
