"""What the PDF report of one record holds, gathered from the store and the signal, without Qt.

The report (``danet_viewer._qt.report_pdf`` draws it) states the record's
summary (``danet_viewer.core.summary``) and shows ECG strips: automatic ones at
the highest and lowest heart rate, the longest pause, the longest SVEB run and
the first SVEB (APC), then one at each of the reviewer's bookmarks, each
``STRIP_S`` seconds of the analysis lead with every beat's effective label. A
bookmark of a stretch (Review ▸ Add view to report) is printed whole, as
consecutive strips, up to ``MAX_REPORT_STRETCH_S``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import wfdb

from danet_viewer import __version__
from danet_viewer.core.clock import RecordClock
from danet_viewer.core.recording import Recording
from danet_viewer.core.store import StoredRecord
from danet_viewer.core.summary import FROM_REVIEWER, RecordSummary, effective_labels, summarise
from danet_viewer.errors import DanetError

# At 25 mm/s, 7 s is 175 mm: one strip across an A4 page inside its margins.
STRIP_S = 7.0
# The longest stretch a reviewer adds to the report: six strips, most of a page.
MAX_REPORT_STRETCH_S = 6 * STRIP_S
# A strip that starts at an event shows this much before it.
LEAD_IN_S = 1.5
# Header comments beyond this are cut: the summary must stay on the first page.
MAX_NOTES_CHARS = 400
# Signal units the report knows how to draw at 10 mm/mV, with their factor to mV.
_TO_MV = {"mv": 1.0, "uv": 1e-3, "µv": 1e-3, "μv": 1e-3, "v": 1e3}


@dataclass(frozen=True)
class Strip:
    """``STRIP_S`` seconds of one lead from ``start_s``, with the beats in it."""

    title: str
    start_s: float
    signal_mv: np.ndarray  # float32, at ``fs``
    fs: float
    lead: str
    beat_s: np.ndarray  # beat times in seconds from the record's start
    beat_label: np.ndarray  # effective symbols (object)
    beat_reviewed: np.ndarray  # bool: the label is a person's, not the model's


@dataclass(frozen=True)
class ReportContent:
    summary: RecordSummary
    lead: str
    start: datetime | None  # the recording's start where its file states it
    identification: tuple[tuple[str, str], ...]  # (what, value) from the file's header, e.g. patient ID
    software: str
    created_at: str
    strips: tuple[Strip, ...]

    @property
    def clock(self) -> RecordClock:
        return RecordClock(self.start)

    def time(self, seconds: float) -> str:
        return self.clock.text(seconds)

    @property
    def beats_reviewed(self) -> int:
        return self.summary.beats_by_source[FROM_REVIEWER]


def auto_strip_times(summary: RecordSummary) -> list[tuple[str, float]]:
    """(title, start in seconds) of each automatic strip the summary has an event for, in the issue's order."""
    times = []
    half = STRIP_S / 2
    window = f"{summary.hr_window_s:g} s mean"
    if summary.hr_max_at_s is not None:
        middle = summary.hr_max_at_s + summary.hr_window_s / 2
        times.append((f"Heart rate max {summary.hr_max:.0f} bpm ({window})", middle - half))
        middle = summary.hr_min_at_s + summary.hr_window_s / 2
        times.append((f"Heart rate min {summary.hr_min:.0f} bpm ({window})", middle - half))
    if (pause := summary.longest_pause) is not None:
        # Centred, so both its beats show, unless it leaves less than half a second either side: then from its start.
        start = pause.start_s + pause.rr_s / 2 - half if pause.rr_s <= STRIP_S - 1.0 else pause.start_s - LEAD_IN_S
        times.append((f"Longest pause {pause.rr_s:.2f} s", start))
    if (run := summary.longest_run) is not None:
        times.append((f"Longest SVEB run: {run.beats} beats at {run.rate_bpm:.0f} bpm", run.start_s - LEAD_IN_S))
    if summary.first_sveb_s is not None:
        times.append(("First SVEB (APC)", summary.first_sveb_s - half))
    return times


def bookmark_strip_times(record: StoredRecord) -> list[tuple[str, float]]:
    """(title, start in seconds) of the strips of the record's bookmarks, in time order: one centred on a moment,
    consecutive ones over a stretch (its first ``MAX_REPORT_STRETCH_S``)."""
    times = []
    for _, mark in sorted(record.bookmarks.items()):
        at_s, what = mark.sample / record.fs, f"{mark.comment or 'no comment'} ({mark.who})"
        if not mark.span_s:
            times.append((f"Bookmark: {what}", at_s - STRIP_S / 2))
            continue
        parts = max(1, math.ceil(min(mark.span_s, MAX_REPORT_STRETCH_S) / STRIP_S - 1e-6))
        # The part first: a long comment is cut at the caption's end, the part number never.
        times += [(f"Report strip{f' {k + 1}/{parts}' if parts > 1 else ''}: {what}", at_s + k * STRIP_S)
                  for k in range(parts)]
    return times


def header_identification(recording: Recording) -> tuple[tuple[str, str], ...]:
    """(what, value) pairs that say whose recording this is, as its file's header states them.

    EDF and BDF: the patient and recording identification fields (EDF+ writes X for
    each subfield it does not know: a field of nothing else is left out). WFDB: the
    header's comment lines (MIT-BIH's give age, sex and medication). Other formats,
    or a header that cannot be read again, give none.
    """
    path = recording.path
    suffix = path.suffix.lower()
    try:
        if suffix in (".edf", ".bdf"):
            with open(path, "rb") as handle:
                head = handle.read(168)
            fields = (("Patient (EDF header)", head[8:88]), ("Recording (EDF header)", head[88:168]))
            texts = [(what, raw.decode("latin-1").strip()) for what, raw in fields]
            return tuple((what, text) for what, text in texts if set(text.split()) - {"X", "Startdate"})
        if suffix == ".hea":
            comments = [line.strip() for line in wfdb.rdheader(str(path.with_suffix(""))).comments if line.strip()]
            notes = "; ".join(comments)
            if len(notes) > MAX_NOTES_CHARS:
                notes = notes[: MAX_NOTES_CHARS - 3].rstrip() + "..."
            return (("Header notes", notes),) if notes else ()
    except (OSError, ValueError):
        return ()
    return ()


def _to_mv(unit: str, path: object) -> float:
    try:
        return _TO_MV[unit.strip().lower()]
    except KeyError:
        raise DanetError(f"{path}: cannot draw a lead in {unit!r} on ECG paper (mV, uV or V)") from None


def build_report(record: StoredRecord, recording: Recording, *, start: datetime | None = None,
                 identification: tuple[tuple[str, str], ...] = (),
                 excluded: np.ndarray | None = None) -> ReportContent:
    """The report of ``record``, whose signal ``recording`` is (checked by its content hash)."""
    if recording.content_hash() != record.content_hash:
        raise DanetError(f"{recording.path}: is not the recording the store's record {record.name!r} was made from")
    summary = summarise(record, excluded=excluded)
    lead = recording.lead_index(record.analysis_lead) if record.analysis_lead else recording.preferred_lead()
    scale = _to_mv(recording.units[lead], recording.path)
    sample, symbol, source = effective_labels(record.beat_table())
    beat_s = sample / record.fs
    last_start = max(0.0, summary.duration_s - STRIP_S)
    strips = []
    for title, wanted_s in auto_strip_times(summary) + bookmark_strip_times(record):
        start_s = min(max(0.0, wanted_s), last_start)
        first, stop = round(start_s * recording.fs), round((start_s + STRIP_S) * recording.fs)
        inside = (beat_s >= start_s) & (beat_s < start_s + STRIP_S)
        strips.append(Strip(
            title=title, start_s=start_s, signal_mv=recording.read(lead, first, stop) * np.float32(scale),
            fs=recording.fs, lead=recording.lead_names[lead], beat_s=beat_s[inside], beat_label=symbol[inside],
            beat_reviewed=source[inside] == FROM_REVIEWER,
        ))
    return ReportContent(
        summary=summary, lead=recording.lead_names[lead], start=start, identification=identification,
        software=f"DANet Review {__version__}", created_at=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        strips=tuple(strips),
    )
