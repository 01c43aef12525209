"""ECG in a table of text (``.csv``, ``.tsv``, ``.txt``): one column per lead, loaded whole into memory.

The dialect is detected, not demanded::

    # sampling_rate: 360
    # units: mV
    time,MLII,V5
    0.000,-0.145,-0.065
    0.003,-0.145,-0.065
    ...

- Text: UTF-8 (with or without a BOM), UTF-16 (BOM, or NUL bytes that show it),
  else Windows-1252.
- Separator: tab, ``;``, ``|``, ``,`` or white space, whichever splits the rows
  into the same number of fields; a decimal comma where the separator is not a
  comma. Fields may be quoted.
- Before the table: lines starting with ``#`` (``# sampling_rate: HZ``,
  ``# units: U`` or ``# units: U1, U2, ...``), and ``key,value`` lines as
  device exports write them (Apple Watch: ``Sample Rate,512 hertz``,
  ``Unit,µV``, ``Lead,Lead I``, ``Recorded Date,...``). Keys: sampling rate
  (``sampling_rate``, ``sample_rate``, ``fs``, ...), units, lead (the name of a
  single column), start (``recorded_date``, ``start_time``, ...).
- A header row of column names (optional: a table whose first row is numbers has
  none, and its columns are "lead 1", "lead 2", ...), optionally followed by a
  units row (``mV``, ``(s)``, ...). A unit in brackets in a column name
  (``ecg [uV]``, ``Time (ms)``) is the column's unit.
- Not leads: time columns (named ``time``, ``t``, ``seconds``, ``timestamp``,
  ..., in s, ms, us or ns by their unit, or ISO / day-first date-time stamps),
  and an index column (consecutive sample numbers, as pandas and NeuroKit write).
- The sampling rate is, in order: the ``fs`` argument (``--fs``), the rate line,
  or the first evenly spaced time column (steps within 1 %).
- ``start`` is the preamble's start, else the first date-time stamp.
- Every cell of a lead must be a number; blank lines at the end are allowed.

``column`` (by name or 1-based number) reads one column as the only lead;
``no_header`` makes the first row data even where it could be column names
(a first row of consecutive integers over integer data).
Covered device exports: Apple Watch ECG, Polar H10 (Polar Sensor Logger),
Zephyr BioHarness (``Time,EcgWaveform`` with day-first stamps).
"""

from __future__ import annotations

import codecs
import csv
import io
import math
import re
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from danet_viewer.core.recording import Recording
from danet_viewer.errors import RecordError

TABLE_SUFFIXES = (".csv", ".tsv", ".txt")
TIME_COLUMNS = ("time", "time_s", "t", "seconds")
# Separators tried, most specific first; None is white space.
_SEPARATORS = ("\t", ";", "|", ",", None)
# Data rows sampled from the end of the file to choose the separator.
_SAMPLED_ROWS = 60
# Largest relative deviation of a time step from the mean step.
_TIME_STEP_TOLERANCE = 0.01
_COMMENT_LINE = re.compile(r"#\s*([^:]+?)\s*:\s*(.*?)\s*$")
_KEY_VALUE = re.compile(r"^\s*([A-Za-z][\w .-]*?)\s*[:=]\s*(.*?)\s*$")
# pandas' message for a row with too many fields; its line 1 is the first data row.
_RAGGED_ROW = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")
_NUMBER = re.compile(r"^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$")
_DECIMAL_COMMA_NUMBER = re.compile(r"^[-+]?\d*,\d+(?:[eE][-+]?\d+)?$")
_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{1,2}:\d{2}|^\d{1,2}/\d{1,2}/\d{4} \d{1,2}:\d{2}")
_DATE_TIME_FORMATS = ("ISO8601", "%d/%m/%Y %H:%M:%S.%f", "%d/%m/%Y %H:%M:%S", "%m/%d/%Y %H:%M:%S.%f")
_TIME_NAME = re.compile(r"^(?:t|time|times|seconds|secs?|timestamp|date|datetime|elapsed)$|time|stamp", re.IGNORECASE)
_INDEX_NAMES = frozenset(
    {"", "index", "unnamed: 0", "#", "n", "no", "nr", "sample", "samples", "sample #", "sample_index"}
)
_NAME_UNIT = re.compile(r"^(.*?)[\s_]*[\[(]\s*([^\])]+?)\s*[\])]\s*$")
_SECONDS_PER_UNIT = {"s": 1.0, "sec": 1.0, "secs": 1.0, "seconds": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}
_RATE_KEYS = frozenset({"sampling_rate", "sample_rate", "samplerate", "sampling_frequency", "fs", "frequency", "hz"})
_UNIT_KEYS = frozenset({"units", "unit"})
_START_KEYS = frozenset({"recorded_date", "start", "start_time", "recording_start", "date", "datetime", "start_date"})
_UNIT_WORDS = frozenset({"mv", "uv", "µv", "μv", "v", "nv", "s", "ms", "us", "ns", "sec", "adu", "counts", "mmhg", "%"})


class CsvRecording(Recording):
    """A table of text held in memory as float32, one row per lead."""

    def __init__(
        self, path: str | Path, *, fs: float | None = None, no_header: bool = False, column: str | None = None
    ) -> None:
        path = Path(path)
        if not path.is_file():
            raise RecordError(path, "no such file")
        lines = _decode(path, path.read_bytes())
        table = _Table(path, lines, no_header=no_header)
        settings = table.settings
        if fs is None and (rate := _setting(settings, _RATE_KEYS)) is not None:
            fs = _parse_rate(path, rate)
        columns = table.columns(column)
        leads = [c for c in columns if c.role == "lead"]
        if not leads:
            listed = ", ".join(c.name for c in columns)
            raise RecordError(path, f"the record holds no signals (columns: {listed}); pass --column to name one")
        if fs is None:
            fs = table.rate_from_time(columns)
        if fs is None:
            raise RecordError(
                path, "no sampling rate: add a time column, a '# sampling_rate: HZ' line, or pass --fs"
            )
        names = [c.name for c in leads]
        if len(leads) == 1 and (lead := _setting(settings, frozenset({"lead"}))) and not table.has_header:
            names = [lead]
        units_setting = _setting(settings, _UNIT_KEYS)
        units = (
            _parse_units(path, units_setting, len(leads)) if units_setting is not None else [c.unit for c in leads]
        )
        super().__init__(
            path=path, name=path.stem, fs=fs, lead_names=names, units=units, n_samples=table.n_rows,
            start=_parse_start(_setting(settings, _START_KEYS)) or table.first_stamp(columns), warnings=table.notes,
        )
        # Lead-major so that one lead's samples are contiguous.
        self._samples = np.ascontiguousarray(table.numbers(leads).T, dtype=np.float32)

    def _read(self, lead: int, start: int, stop: int) -> np.ndarray:
        return self._samples[lead, start:stop].copy()

    def source_files(self) -> list[Path]:
        return [self.path]


class _Column:
    """One column of the table: its position, name, unit and role (lead, time, index)."""

    def __init__(self, position: int, name: str, unit: str, role: str, seconds_per_unit: float = 1.0) -> None:
        self.position = position
        self.name = name
        self.unit = unit
        self.role = role
        self.seconds_per_unit = seconds_per_unit


class _Table:
    """The dialect, preamble, header and data rows of a text table."""

    def __init__(self, path: Path, lines: list[str], *, no_header: bool) -> None:
        self.path = path
        self.settings: dict[str, str] = {}
        self.notes: list[str] = []
        first = 0
        while first < len(lines) and (not lines[first].strip() or lines[first].lstrip().startswith("#")):
            if match := _COMMENT_LINE.match(lines[first].strip()):
                self.settings[_key(match.group(1))] = match.group(2)
            first += 1
        sampled = _last_lines(lines, first, _SAMPLED_ROWS)  # the data rows, in all but the shortest tables
        if not sampled:
            raise RecordError(path, "the signal has no samples")
        self.separator, self.n_fields = _choose_separator(sampled)
        self.decimal = "."
        if self.separator != "," and any(
            _DECIMAL_COMMA_NUMBER.match(field) for line in sampled for field in self.split(line)
        ):
            self.decimal = ","
        data_start = next(
            (index for index in range(first, len(lines)) if lines[index].strip() and self._is_data(lines[index])), None
        )
        if data_start is None:
            raise RecordError(path, "the signal has no samples")
        before = [(index, self.split(lines[index])) for index in range(first, data_start) if lines[index].strip()]
        self.header: list[str] | None = None
        self.units_row: list[str] | None = None
        fitting = [(index, fields) for index, fields in before if len(fields) == self.n_fields]
        if fitting and not no_header:
            last_index, last = fitting[-1]
            if len(fitting) > 1 and all(_is_unit(field) for field in last) and any(last):
                self.units_row = last
                fitting = fitting[:-1]
            self.header = fitting[-1][1]
            header_index = fitting[-1][0]
            before = [(index, fields) for index, fields in before if index < header_index]
        for _, fields in before:  # metadata lines of a device export: key,value or key: value
            if len(fields) >= 2 and fields[0].strip():
                self.settings.setdefault(_key(fields[0]), fields[1].strip())
            elif len(fields) == 1 and (match := _KEY_VALUE.match(fields[0])):
                self.settings.setdefault(_key(match.group(1)), match.group(2))
        self.data_start = data_start
        self.frame = self._read_data(lines, data_start)
        if self.header is None and not no_header and self.n_fields >= 2:
            self._take_numbered_header(data_start)
        self.n_rows = len(self.frame)
        if self.n_rows == 0:
            raise RecordError(path, "the signal has no samples")

    @property
    def has_header(self) -> bool:
        return self.header is not None

    def split(self, line: str) -> list[str]:
        """A line's fields, unquoted and stripped."""
        if self.separator is None:
            return [field.strip('"') for field in line.split()]
        return _split(line, self.separator)

    def _is_data(self, line: str) -> bool:
        """A row of this table's width of which at least half the fields are numbers."""
        fields = self.split(line)
        if len(fields) != self.n_fields:
            return False
        numeric = sum(1 for field in fields if self._is_number(field))
        return numeric >= 1 and 2 * numeric >= len(fields)

    def _is_number(self, field: str) -> bool:
        return bool(_NUMBER.match(field) or (self.decimal == "," and _DECIMAL_COMMA_NUMBER.match(field)))

    def _read_data(self, lines: list[str], data_start: int) -> pd.DataFrame:
        """The rows from ``data_start`` as a frame (cells as pandas parses them), trailing blank rows dropped."""
        first_row = self.split(lines[data_start])
        if len(first_row) > self.n_fields:  # pandas would silently cut it
            raise RecordError(
                self.path, f"line {data_start + 1} has {len(first_row)} fields, the header has {self.n_fields}"
            )
        text = "\n".join(lines[data_start:])
        try:
            frame = pd.read_csv(
                io.StringIO(text),
                sep=r"\s+" if self.separator is None else self.separator,
                decimal=self.decimal,
                header=None,
                names=list(range(self.n_fields)),
                index_col=False,
                skip_blank_lines=False,  # keep one row per line so line numbers can be reported
                skipinitialspace=True,
                quotechar='"',
                keep_default_na=False,  # "nan" is not a sample: such a column stays text and is refused
                engine="c",
            )
        except pd.errors.ParserError as error:
            if match := _RAGGED_ROW.search(str(error)):
                expected, line_in_data, seen = (int(number) for number in match.groups())
                raise RecordError(
                    self.path, f"line {data_start + line_in_data} has {seen} fields, the header has {expected}"
                ) from None
            raise RecordError(self.path, f"not a readable table: {' '.join(str(error).split())[:200]}") from None
        filled = (frame.notna() & (frame != "")).any(axis=1).to_numpy() if len(frame) else np.zeros(0, bool)
        n_rows = len(filled) - int(np.argmax(filled[::-1])) if filled.any() else 0
        return frame.iloc[:n_rows]

    def _take_numbered_header(self, data_start: int) -> None:
        """A first row of consecutive integers over integer data is column numbers, not data: say so."""
        first = self.frame.iloc[0].tolist() if len(self.frame) else []
        if not all(re.fullmatch(r"\d+", str(cell)) for cell in first):
            return
        numbers = [int(cell) for cell in first]
        if numbers[0] not in (0, 1) or numbers != list(range(numbers[0], numbers[0] + len(numbers))):
            return
        self.header = [str(cell) for cell in first]
        self.frame = self.frame.iloc[1:]
        self.data_start = data_start + 1
        self.notes.append(
            f"line {data_start + 1} ({', '.join(self.header)}) is read as column names; pass --no-header if it is data"
        )

    def columns(self, chosen: str | None) -> list[_Column]:
        """Every column with its name, unit and role; ``chosen`` makes one column the only lead."""
        names = self.header or [f"lead {i + 1}" for i in range(self.n_fields)]
        units_row = self.units_row or [""] * self.n_fields
        columns = []
        for position, raw_name in enumerate(names):
            name, unit = _name_and_unit(" ".join(str(raw_name).split()), units_row[position])
            columns.append(_Column(position, name or f"lead {position + 1}", unit, "lead"))
        chosen_position = self._chosen_position(columns, chosen)
        for column in columns:
            cells = self.frame[column.position]
            if column.position == chosen_position:
                continue
            if _is_time_column(column, cells):
                column.role = "time"
                column.seconds_per_unit = _SECONDS_PER_UNIT.get(column.unit.lower(), 1.0)
            elif chosen_position is not None:
                column.role = "other"
            elif (
                column.position == 0 and len(columns) > 1
                and (self.header is None or column.name.lower() in _INDEX_NAMES or column.name.startswith("lead "))
                and _is_counter(cells)
            ):
                column.role = "index"
        return columns

    def _chosen_position(self, columns: list[_Column], chosen: str | None) -> int | None:
        if chosen is None:
            return None
        for column in columns:
            if column.name.lower() == chosen.strip().lower():
                return column.position
        if chosen.strip().isdigit() and 1 <= int(chosen) <= len(columns):
            return int(chosen) - 1
        listed = ", ".join(column.name for column in columns)
        raise RecordError(self.path, f"no column {chosen!r} (columns: {listed}, or 1-{len(columns)})")

    def numbers(self, columns: list[_Column]) -> np.ndarray:
        """Columns as float64 (rows x columns); refuses empty or non-numeric cells, naming the first."""
        values = np.column_stack([self._numbers(c) for c in columns])
        missing = ~np.isfinite(values)
        if missing.any():
            row, column = np.argwhere(missing)[0]
            raise RecordError(
                self.path,
                f"{int(missing.sum())} missing or non-numeric values, first at line "
                f"{self.data_start + row + 1} column {columns[column].position + 1} ({columns[column].name})",
            )
        return values

    def _cells(self, column: _Column) -> pd.Series:
        """A column's cells; pandas parsed the numeric columns already, text keeps its decimal comma."""
        cells = self.frame[column.position]
        if pd.api.types.is_bool_dtype(cells):  # "True"/"False" are no samples
            return cells.astype(str)
        if self.decimal == "," and not pd.api.types.is_numeric_dtype(cells):
            return cells.astype(str).str.replace(",", ".", regex=False).where(cells.notna())
        return cells

    def _numbers(self, column: _Column) -> np.ndarray:
        cells = self._cells(column)
        if pd.api.types.is_numeric_dtype(cells) and not pd.api.types.is_bool_dtype(cells):
            return cells.to_numpy(np.float64)
        return _column_as_numbers(cells).to_numpy(np.float64)

    def rate_from_time(self, columns: list[_Column]) -> float | None:
        """The rate of the first evenly spaced time column; an uneven one's error if none is even."""
        first_error = None
        for column in columns:
            if column.role != "time":
                continue
            seconds = self._seconds(column)
            try:
                return _rate_from_time(self.path, seconds, self.data_start + 1, column.name)
            except RecordError as error:
                first_error = first_error or error
        if first_error is not None:
            raise first_error
        return None

    def _seconds(self, column: _Column) -> np.ndarray:
        cells = self.frame[column.position]
        stamps = _as_date_times(cells)
        if stamps is not None:
            return (stamps - stamps.iloc[0]).dt.total_seconds().to_numpy(np.float64)
        return self.numbers([column])[:, 0] * column.seconds_per_unit

    def first_stamp(self, columns: list[_Column]) -> datetime | None:
        for column in columns:
            if column.role == "time" and (stamps := _as_date_times(self.frame[column.position])) is not None:
                return stamps.iloc[0].to_pydatetime()
        return None


def _decode(path: Path, raw: bytes) -> list[str]:
    """The file's lines, decoded as UTF-8, UTF-16 or Windows-1252."""
    if raw.startswith(codecs.BOM_UTF8):
        encodings = ["utf-8-sig"]
    elif raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encodings = ["utf-16"]
    elif len(raw) >= 4 and raw[1::2].count(0) > len(raw) // 4 and raw[0::2].count(0) == 0:
        encodings = ["utf-16-le"]
    elif len(raw) >= 4 and raw[0::2].count(0) > len(raw) // 4 and raw[1::2].count(0) == 0:
        encodings = ["utf-16-be"]
    else:
        encodings = ["utf-8", "cp1252"]
    for encoding in encodings:
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise RecordError(path, f"not a text file (undecodable as {encodings[-1]})")
    if "\x00" in text:
        raise RecordError(path, "not a text file (it holds NUL bytes)")
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _last_lines(lines: list[str], first: int, count: int) -> list[str]:
    """Up to ``count`` non-blank lines from the end, not before line index ``first``, in file order."""
    found: list[str] = []
    for index in range(len(lines) - 1, first - 1, -1):
        if lines[index].strip():
            found.append(lines[index])
            if len(found) == count:
                break
    return found[::-1]


def _split(line: str, separator: str) -> list[str]:
    try:
        fields = next(csv.reader([line], delimiter=separator, quotechar='"', skipinitialspace=True), [])
    except csv.Error:  # a malformed row: the table parser reports it
        fields = line.split(separator)
    return [field.strip() for field in fields]


def _choose_separator(rows: list[str]) -> tuple[str | None, int]:
    """The separator that splits the most rows into one width above 1, and that width (else none, 1)."""
    best: tuple[float, str | None, int] = (0.0, ",", 1)
    for separator in _SEPARATORS:
        widths = [len(row.split()) if separator is None else len(_split(row, separator)) for row in rows]
        width = max(set(widths), key=widths.count)
        share = widths.count(width) / len(widths)
        if width > 1 and share >= 0.5 and share > best[0]:
            best = (share, separator, width)
    return best[1], best[2]


def _key(text: str) -> str:
    return re.sub(r"[\s-]+", "_", text.strip().strip('"').lower())


def _setting(settings: dict[str, str], keys: frozenset[str]) -> str | None:
    return next((value for key, value in settings.items() if key in keys), None)


def _is_unit(field: str) -> bool:
    stripped = field.strip().strip("[]()").strip().lower()
    return not field.strip() or stripped in _UNIT_WORDS or (field.strip()[:1] in "[(" and len(stripped) <= 8)


def _name_and_unit(name: str, unit_cell: str) -> tuple[str, str]:
    """A column name without a bracketed unit, and the unit (the units row's, else the bracket's)."""
    unit = unit_cell.strip().strip("[]()").strip()
    if match := _NAME_UNIT.match(name):
        name, bracket_unit = match.group(1).strip(), match.group(2).strip()
        unit = unit or bracket_unit
    elif match := re.match(r"^(.*time)_(s|ms|us|ns)$", name, re.IGNORECASE):
        name, unit = name, unit or match.group(2)
    return name.strip('"\''), unit


def _is_time_column(column: _Column, cells: pd.Series) -> bool:
    if column.name.lower() in TIME_COLUMNS or _TIME_NAME.search(column.name):
        return True
    return len(cells) > 0 and bool(_DATE_TIME.match(str(cells.iloc[0])))


def _is_counter(cells: pd.Series) -> bool:
    """Consecutive integers from 0 or 1: sample numbers, not a signal."""
    values = _column_as_numbers(cells).to_numpy(np.float64)
    if len(values) < 2 or not np.isfinite(values).all() or values[0] not in (0.0, 1.0):
        return False
    return bool(np.all(np.diff(values) == 1.0))


def _as_date_times(cells: pd.Series) -> pd.Series | None:
    """Date-time stamps as naive datetimes (their time zone dropped), or None if the cells are not stamps."""
    if len(cells) == 0 or not _DATE_TIME.match(str(cells.iloc[0])):
        return None
    for date_format in _DATE_TIME_FORMATS:
        try:
            stamps = pd.to_datetime(cells, format=date_format)
        except (ValueError, TypeError, OverflowError):
            continue
        if getattr(stamps.dt, "tz", None) is not None:
            stamps = stamps.dt.tz_localize(None)
        return stamps
    return None


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
    match = re.fullmatch(r"\s*([-+]?[\d.]+(?:[eE][-+]?\d+)?|nan|inf)\s*(?:hz|hertz|/s|sps)?\s*", text, re.IGNORECASE)
    try:
        return float(match.group(1)) if match else float(text)
    except ValueError:
        raise RecordError(path, f"'# sampling_rate: {text}' is not a number") from None


def _parse_start(text: str | None) -> datetime | None:
    """A preamble's start date and time as the file states it (a time zone dropped), None if unreadable."""
    if not text:
        return None
    try:
        stamp = pd.Timestamp(text.strip())
    except (ValueError, TypeError, OverflowError):
        return None
    if pd.isna(stamp):
        return None
    return stamp.tz_localize(None).to_pydatetime() if stamp.tzinfo is not None else stamp.to_pydatetime()


def _rate_from_time(path: Path, time: np.ndarray, first_data_line: int, name: str) -> float:
    """The rate of a time column in seconds, refusing uneven steps."""
    if len(time) < 2:
        raise RecordError(path, "one time value gives no sampling rate; add a '# sampling_rate: HZ' line")
    mean_step = (time[-1] - time[0]) / (len(time) - 1)
    deviation = np.abs(np.diff(time) - mean_step)
    worst = int(np.argmax(deviation))
    if not mean_step > 0 or deviation[worst] > _TIME_STEP_TOLERANCE * mean_step:
        raise RecordError(
            path,
            f"time column {name!r} is not evenly spaced within 1 % (step to line {first_data_line + worst + 1} "
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
