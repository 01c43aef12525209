"""Every time the program shows, from the recording's start: clock time where the header states it, else elapsed.

Clinicians speak in clock time ("the run at 03:12"), so a time into a record
is shown as the time of day where the recording's start is known (WFDB base
time, EDF start), and as elapsed hh:mm:ss from the first sample where it is
not. ``RecordClock`` is the one formatter: axes, lists, the status bar, exports
and the report all ask it, so no two places can disagree.

A header may give a time of day but no date (``UNKNOWN_START_DATE`` then holds
the date's place): times are still clock times, but an ISO 8601 stamp is a time
of day alone, with no made-up date.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from danet_viewer.core.recording import UNKNOWN_START_DATE


def _hms(seconds: float, decimals: int) -> str:
    """``seconds`` as hh:mm:ss with ``decimals`` places of seconds; hours go on past 24, a minus sign before."""
    sign = "-" if seconds < 0 else ""
    scale = 10**decimals
    whole, fraction = divmod(round(abs(seconds) * scale), scale)
    text = f"{sign}{whole // 3600:02d}:{whole // 60 % 60:02d}:{whole % 60:02d}"
    return f"{text}.{fraction:0{decimals}d}" if decimals else text


def _rounded(moment: datetime, decimals: int) -> datetime:
    """``moment`` rounded to ``decimals`` places of seconds (59.9996 s to the millisecond is the next minute)."""
    step_us = 10 ** (6 - decimals)
    return moment.replace(microsecond=0) + timedelta(microseconds=round(moment.microsecond / step_us) * step_us)


def duration_text(seconds: float) -> str:
    """A length of time as hh:mm:ss (an hour and a half: 01:30:00)."""
    return _hms(seconds, 0)


def tick_decimals(spacing_s: float) -> int:
    """Places of seconds that tell ticks ``spacing_s`` apart: 0 from a second up, 1 for 0.1 s ... at most 3."""
    if spacing_s >= 1 or spacing_s <= 0:
        return 0
    return min(3, math.ceil(-math.log10(spacing_s) - 1e-9))


@dataclass(frozen=True)
class RecordClock:
    """Times into one record as a reader is shown them; ``start`` is the first sample's (naive, local) time."""

    start: datetime | None = None

    @classmethod
    def from_iso(cls, text: str) -> RecordClock:
        """The clock of a start written by ``start_iso`` ("" for none); a time of day alone keeps the date unknown."""
        if not text:
            return cls(None)
        if "T" not in text:
            return cls(datetime.combine(UNKNOWN_START_DATE, datetime.strptime(text, "%H:%M:%S.%f").time()))
        return cls(datetime.fromisoformat(text))

    @property
    def known(self) -> bool:
        return self.start is not None

    @property
    def date_known(self) -> bool:
        return self.start is not None and self.start.date() != UNKNOWN_START_DATE

    @property
    def elapsed(self) -> RecordClock:
        """The same record's times as elapsed from its start."""
        return ELAPSED

    @property
    def kind(self) -> str:
        """What the times are, for an axis label or a column heading."""
        return "clock time" if self.known else "elapsed time"

    def text(self, seconds: float, decimals: int = 0) -> str:
        """``seconds`` into the record as hh:mm:ss[.fff]: the time of day, or elapsed without a start."""
        if self.start is None:
            return _hms(seconds, decimals)
        moment = _rounded(self.start + timedelta(seconds=seconds), decimals)
        text = moment.strftime("%H:%M:%S")
        return f"{text}.{moment.microsecond // 10 ** (6 - decimals):0{decimals}d}" if decimals else text

    def tick(self, seconds: float, spacing_s: float) -> str:
        """An axis tick label, with the places of seconds that tell ticks ``spacing_s`` apart."""
        return self.text(seconds, tick_decimals(spacing_s))

    def iso(self, seconds: float) -> str:
        """ISO 8601 of ``seconds`` into the record, to the millisecond: date and time, the time of day alone where
        the header gives no date, "" without a start (the seconds beside it are then all there is)."""
        if self.start is None:
            return ""
        moment = _rounded(self.start + timedelta(seconds=seconds), 3)
        if not self.date_known:
            return moment.time().isoformat(timespec="milliseconds")
        return moment.isoformat(timespec="milliseconds")

    def start_iso(self) -> str:
        return self.iso(0.0)

    def start_text(self) -> str:
        """The start as a reader is told it, in words where the file says nothing."""
        if self.start is None:
            return "not stated in the file (times are elapsed hh:mm:ss)"
        if not self.date_known:
            return self.start.strftime("%H:%M:%S (the file states no date)")
        return self.start.strftime("%Y-%m-%d %H:%M:%S")


# The clock of a record whose start is not known: elapsed times.
ELAPSED = RecordClock()
