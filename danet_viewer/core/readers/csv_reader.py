"""ECG in a CSV file: one column per lead, loaded whole into memory.

Format::

    # sampling_rate: 360
    # units: mV
    time,MLII,V5
    0.000,-0.145,-0.065
    0.003,-0.145,-0.065
    ...

- Optional leading lines starting with ``#`` (blank lines allowed between
  them). ``# sampling_rate: HZ`` gives the rate; ``# units: U`` gives one
  unit for every lead, or ``# units: U1, U2, ...`` one per lead (default: no
  unit). Other ``#`` lines are ignored.
- Then a header row of comma-separated column names, one column per lead.
- An optional first column named ``time``, ``time_s``, ``t`` or ``seconds``
  holds the time in seconds; it is not a lead.
- The sampling rate is, in order of precedence: the ``fs`` argument (``--fs``),
  the ``# sampling_rate`` line, or the time column, whose steps must agree
  within 1 %.
- Every cell must be a number; blank lines at the end of the file are allowed.
"""

from __future__ import annotations

import csv
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd

from danet_viewer.core.recording import Recording
from danet_viewer.errors import RecordError

TABLE_SUFFIXES = (".csv", ".tsv", ".txt")
TIME_COLUMNS = ("time", "time_s", "t", "seconds")
# Largest relative deviation of a time step from the mean step.
_TIME_STEP_TOLERANCE = 0.01
_COMMENT_LINE = re.compile(r"#\s*([A-Za-z_]+)\s*:\s*(.*?)\s*$")
# pandas' message for a row with too many fields; its line 1 is the header row.
_RAGGED_ROW = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")


class CsvRecording(Recording):
    """A CSV file held in memory as float32, one row per lead."""

    def __init__(self, path: str | Path, *, fs: float | None = None, no_header: bool = False, column: str | None = None) -> None:
        path = Path(path)
        if not path.is_file():
            raise RecordError(path, "no such file")
        settings, frame, first_data_line = _read_table(path)
        # Quotes are plain characters to the parser (see _read_table): drop them around names.
        columns = [" ".join(str(name).split()).strip("\"'") for name in frame.columns]
        values = _to_numbers(path, frame, columns, first_data_line)
        if len(values) == 0:
            raise RecordError(path, "the signal has no samples")
        has_time = columns[0].lower() in TIME_COLUMNS
        lead_names = columns[1:] if has_time else columns
        if fs is None and "sampling_rate" in settings:
            fs = _parse_rate(path, settings["sampling_rate"])
        if fs is None and has_time:
            fs = _rate_from_time(path, values[:, 0], first_data_line)
        if fs is None:
            raise RecordError(
                path, "no sampling rate: add a time column, a '# sampling_rate: HZ' line, or pass --fs"
            )
        super().__init__(
            path=path,
            name=path.stem,
            fs=fs,
            lead_names=lead_names,
            units=_parse_units(path, settings.get("units", ""), len(lead_names)),
            n_samples=len(values),
        )
        leads = values[:, 1:] if has_time else values
        # Lead-major so that one lead's samples are contiguous.
        self._samples = np.ascontiguousarray(leads.T, dtype=np.float32)

    def _read(self, lead: int, start: int, stop: int) -> np.ndarray:
        return self._samples[lead, start:stop].copy()

    def source_files(self) -> list[Path]:
        return [self.path]


def _read_table(path: Path) -> tuple[dict[str, str], pd.DataFrame, int]:
    """The ``# key: value`` settings, the table, and the line number of its first data row.

    Python reads the preamble and pandas the rest from the same handle, so both
    see the same lines whatever the line endings.
    """
    settings: dict[str, str] = {}
    n_preamble_lines = 0
    try:
        with open(path, encoding="utf-8-sig") as handle:
            while True:
                header_position = handle.tell()
                line = handle.readline()
                if not line:
                    raise RecordError(path, "no header row")
                stripped = line.strip()
                if stripped and not stripped.startswith("#"):
                    break
                n_preamble_lines += 1
                if match := _COMMENT_LINE.match(stripped):
                    settings[match.group(1).lower()] = match.group(2)
            first_data_line = n_preamble_lines + 2
            # pandas would silently cut a first data row longer than the header.
            n_header_fields, n_row_fields = _count_fields(line), _count_fields(handle.readline())
            if n_row_fields > n_header_fields:
                raise RecordError(
                    path, f"line {first_data_line} has {n_row_fields} fields, the header has {n_header_fields}"
                )
            handle.seek(header_position)
            frame = pd.read_csv(
                handle,
                index_col=False,  # a row longer than the header is an error, not an index
                skip_blank_lines=False,  # keep one row per line so line numbers can be reported
                skipinitialspace=True,
                # No quoting: a quoted cell could hide line breaks, and ECG cells are numbers.
                quoting=csv.QUOTE_NONE,
                engine="c",
            )
    except UnicodeDecodeError:
        raise RecordError(path, "not a UTF-8 text file") from None
    except pd.errors.EmptyDataError:  # a header row of invisible characters
        raise RecordError(path, "no header row") from None
    except pd.errors.ParserError as error:
        if match := _RAGGED_ROW.search(str(error)):
            expected, line_in_table, seen = (int(number) for number in match.groups())
            raise RecordError(
                path, f"line {n_preamble_lines + line_in_table} has {seen} fields, the header has {expected}"
            ) from None
        raise RecordError(path, f"not a readable CSV file: {' '.join(str(error).split())}") from None
    # Blank lines at the end of the file become all-empty rows: drop them.
    filled = frame.notna().any(axis=1).to_numpy()
    n_rows = len(filled) - int(np.argmax(filled[::-1])) if filled.any() else 0
    return settings, frame.iloc[:n_rows], first_data_line


def _count_fields(row: str) -> int:
    try:
        return len(next(csv.reader([row], skipinitialspace=True, quoting=csv.QUOTE_NONE), []))
    except csv.Error:  # a malformed row: pandas reports it
        return 0


def _to_numbers(path: Path, frame: pd.DataFrame, columns: list[str], first_data_line: int) -> np.ndarray:
    """The table as float64 (rows x columns); refuses empty or non-numeric cells."""
    # pandas keeps a column with any non-numeric cell as text: turn those cells into NaN.
    text_columns = [name for name, column in frame.items() if not pd.api.types.is_numeric_dtype(column)]
    values = frame.assign(**{name: _column_as_numbers(frame[name]) for name in text_columns}).to_numpy(np.float64)
    missing = ~np.isfinite(values)
    if missing.any():
        row, column = np.argwhere(missing)[0]
        raise RecordError(
            path,
            f"{int(missing.sum())} missing or non-numeric values, first at line "
            f"{first_data_line + row} column {column + 1} ({columns[column]})",
        )
    return values


def _column_as_numbers(column: pd.Series) -> pd.Series:
    """A text column as numbers, NaN where a cell is not one."""
    try:
        return pd.to_numeric(column, errors="coerce")
    except OverflowError:  # pandas cannot coerce an integer beyond float64 (a cell of 400 nines): cell by cell
        return column.map(_cell_as_number)


def _cell_as_number(cell: object) -> float:
    try:
        return float(pd.to_numeric(cell, errors="coerce"))
    except OverflowError:
        return math.inf  # refused as non-finite, like "1e999"
    except (TypeError, ValueError):
        return math.nan


def _parse_rate(path: Path, text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise RecordError(path, f"'# sampling_rate: {text}' is not a number") from None


def _rate_from_time(path: Path, time: np.ndarray, first_data_line: int) -> float:
    """The rate of a time column in seconds, refusing uneven steps."""
    if len(time) < 2:
        raise RecordError(path, "one time value gives no sampling rate; add a '# sampling_rate: HZ' line")
    mean_step = (time[-1] - time[0]) / (len(time) - 1)
    deviation = np.abs(np.diff(time) - mean_step)
    worst = int(np.argmax(deviation))
    if not mean_step > 0 or deviation[worst] > _TIME_STEP_TOLERANCE * mean_step:
        raise RecordError(
            path,
            f"time column is not evenly spaced within 1 % (step to line {first_data_line + worst + 1} "
            f"is {time[worst + 1] - time[worst]:g} s); add a '# sampling_rate: HZ' line or pass --fs",
        )
    return 1.0 / mean_step


def _parse_units(path: Path, text: str, n_leads: int) -> list[str]:
    units = [unit.strip() for unit in text.split(",")]
    if len(units) == 1:
        return units * n_leads
    if len(units) != n_leads:
        raise RecordError(path, f"'# units' gives {len(units)} units for {n_leads} leads")
    return units
