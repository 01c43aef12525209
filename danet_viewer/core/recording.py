"""The one in-memory view of an ECG file, whatever its format."""

from __future__ import annotations

import hashlib
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from datetime import date, datetime, time, timedelta
from pathlib import Path

import numpy as np

from danet_viewer.errors import RecordError

# Rates outside this range are not ECG recordings (or the header is corrupt).
MIN_FS = 50.0
MAX_FS = 20_000.0

# The date of a start whose header gives only a time of day (a WFDB base time without a base date, an EDF+
# "Startdate X"): no ECG was recorded before 1901, so it can never be a real date.
UNKNOWN_START_DATE = date(1900, 1, 1)

# Lead names preferred for a single-lead analysis, most preferred first, compared after
# ``lead_key`` (so "ECG II", "EKG II" and "Lead II" are all "II").
LEAD_PREFERENCE = ("II", "MLII", "ECG1", "ECG", "I", "V5", "MLIII", "III", "V1", "V2")

# A prefix that only says "this is ECG" ("ECG II", "EKG: V1", "Lead I"), dropped to compare lead names.
_ECG_PREFIX = re.compile(r"^(?:ECG|EKG|LEAD)(?:[\s:_-]+|(?=[^0-9A-Z]))(?:LEAD\s+)?")
# Names of ECG leads: limb and augmented leads, precordial (also right-sided and posterior), modified
# limb leads of Holter and MIT-BIH records (MLII, ML5), modified chest leads (MV2, CM5, CC5), French D1-D3.
_ECG_LEAD = re.compile(r"^(?:I{1,3}|-?AV[RLF]|V[1-9]?R?|ML[A-Z0-9]*|MV\d|C[MC]\d|D(?:I{1,3}|[1-3])|ECG\d*|EKG\d*)$")
# Words that name a signal other than ECG (sleep, respiration, blood pressure, motion, markers).
_OTHER_SIGNAL = re.compile(
    r"\b(?:EEG|EOG|EMG|SA?O2|SPO2|PLETH\w*|PPG|RESP\w*|ABP|ART|PAP|CVP|ICP|NBP\w*|BP|HR|PULSE|THOR\w*|ABD\w*|"
    r"AIRFLOW|FLOW|NASAL|SNORE|POS(?:ITION)?|LIGHT|TEMP\w*|CO2|ETCO2|LEG|CHIN|EVENT|MARKER|STATUS|ACC\w*|GYRO|"
    r"PCG|SOUND|IMPEDANCE|RR)\b"
)
# 10-20 EEG electrode names, alone or as a derivation ("C3-A2", "Fp1", "O2-M1").
_EEG_ELECTRODE = re.compile(r"^(?:FP|AF|FC|FT|CP|TP|PO|F|C|P|O|T|A|M)(?:\d+|Z)(?:\s*-\s*\w+)?$")
# Units of a signal that cannot be ECG (an ECG is a voltage).
_NON_VOLTAGE_UNITS = frozenset(
    {"%", "MMHG", "BPM", "DEGC", "°C", "C", "L/MIN", "L/S", "ML", "OHM", "G", "M/S2", "CMH2O"}
)

# Content check: the first differences of an ECG are spiky (QRS complexes among slow waves), so their
# kurtosis is high (MIT-BIH's 96 leads: 7-55 over their first minute, but 2.6-4.9 on five noisy V1 leads);
# plethysmograms, respiration and EEG give near-Gaussian or flatter differences (1.5-3.1).
_CONTENT_SECONDS = 60.0
_MIN_ECG_DIFF_KURTOSIS = 4.0


def lead_key(name: str) -> str:
    """A lead name without case, padding or an ECG/EKG/Lead prefix: "ECG II" and "Lead II" are "II"."""
    key = " ".join(name.upper().split())
    return _ECG_PREFIX.sub("", key) or key


def is_ecg_name(name: str, transducer: str = "") -> bool:
    """True for a name (or a transducer, as EDF gives) that says the signal is an ECG lead."""
    key = lead_key(name)
    words = f"{name} {transducer}".upper()
    return bool(_ECG_LEAD.match(key.replace(" ", ""))) or bool(re.search(r"ECG|EKG|ELECTROCARDIO", words))


def is_other_signal(name: str, unit: str = "") -> bool:
    """True for a signal that by its name or unit is not ECG (EEG, SpO2, respiration, ...)."""
    upper = " ".join(name.upper().replace("_", " ").split())
    non_voltage = unit.strip().upper() in _NON_VOLTAGE_UNITS
    return bool(_OTHER_SIGNAL.search(upper) or _EEG_ELECTRODE.match(upper)) or non_voltage


def choose_ecg_signals(
    path: Path, names: Sequence[str], units: Sequence[str], transducers: Sequence[str] | None = None
) -> tuple[list[int], list[str]]:
    """The signals of a mixed file (a PSG, a monitor record) that become leads, and warnings.

    The signals named as ECG (by label or transducer) and not as something else;
    failing those, every signal not named as something else, with a warning;
    failing those, a ``RecordError`` that lists what the file holds.
    """
    transducers = transducers or [""] * len(names)
    others = [is_other_signal(name, unit) for name, unit in zip(names, units, strict=True)]
    chosen = [i for i, name in enumerate(names) if is_ecg_name(name, transducers[i]) and not others[i]]
    if chosen:
        return chosen, []
    chosen = [i for i in range(len(names)) if not others[i]]
    if not chosen:
        listed = ", ".join(name.strip() or "?" for name in names[:12]) + (", ..." if len(names) > 12 else "")
        raise RecordError(path, f"no ECG signal (the file holds {listed})")
    unnamed = ", ".join(names[i].strip() or "?" for i in chosen[:6])
    return chosen, [f"no signal is labelled as ECG; reading {unnamed} as ECG leads"]


def start_of(day: date | None, clock: time | None) -> datetime | None:
    """A header's start: date and time, the time alone on ``UNKNOWN_START_DATE``, or None without a time."""
    if clock is None:
        return None
    return datetime.combine(day or UNKNOWN_START_DATE, clock)


def interpolate_up(
    read_native: Callable[[int, int], np.ndarray],
    native_fs: float,
    native_length: int,
    fs: float,
    start: int,
    stop: int,
) -> np.ndarray:
    """Samples ``start:stop`` at rate ``fs`` of a signal stored at the lower rate ``native_fs``.

    Linear interpolation between the native samples around the range (read with
    ``read_native(first, stop)``); past the last native sample the last value is held.
    """
    times = np.arange(start, stop, dtype=np.float64) * (native_fs / fs)
    first = min(int(np.floor(times[0])), native_length - 1)
    last = min(int(np.floor(times[-1])) + 2, native_length)
    native = read_native(first, last).astype(np.float64)
    return np.interp(times, np.arange(first, last, dtype=np.float64), native).astype(np.float32)


class Recording(ABC):
    """A multi-lead ECG with lazy access to any sample range of any lead.

    Subclasses validate their input in ``__init__`` (raising ``RecordError``)
    so that an opened ``Recording`` is known to be readable end to end.
    """

    def __init__(
        self,
        path: Path,
        name: str,
        fs: float,
        lead_names: Sequence[str],
        units: Sequence[str],
        n_samples: int,
        *,
        start: datetime | None = None,
        warnings: Sequence[str] = (),
    ) -> None:
        if not np.isfinite(fs) or not (MIN_FS <= fs <= MAX_FS):
            raise RecordError(path, f"sampling rate {fs:g} Hz is outside {MIN_FS:g}-{MAX_FS:g} Hz")
        if n_samples <= 0:
            raise RecordError(path, "the signal has no samples")
        if not lead_names:
            raise RecordError(path, "the record holds no signals")
        if len(units) != len(lead_names):
            raise RecordError(path, "lead names and units differ in number")
        self.path = Path(path)
        self.name = name
        self.fs = float(fs)
        self.lead_names = tuple(lead_names)
        self.units = tuple(units)
        self.n_samples = int(n_samples)
        # The clock time of the first sample as the header states it (naive, local), or None. Where the
        # header gives a time of day but no date, the date is UNKNOWN_START_DATE (see start_date_known).
        self.start = start
        # What the reader skipped or doubted (a channel without calibration, leads interpolated up ...).
        self.warnings = tuple(warnings)

    @property
    def start_date_known(self) -> bool:
        """False where ``start`` is only a time of day (or None): its date part then means nothing."""
        return self.start is not None and self.start.date() != UNKNOWN_START_DATE

    @property
    def duration_s(self) -> float:
        return self.n_samples / self.fs

    def lead_index(self, lead: int | str) -> int:
        if isinstance(lead, str):
            try:
                return self.lead_names.index(lead)
            except ValueError:
                raise RecordError(
                    self.path, f"no lead named {lead!r} (leads: {', '.join(self.lead_names)})"
                ) from None
        if not 0 <= lead < len(self.lead_names):
            raise RecordError(self.path, f"lead index {lead} out of range 0-{len(self.lead_names) - 1}")
        return int(lead)

    def preferred_lead(self) -> int:
        """The lead a single-lead analysis uses: II, MLII, ECG1, ... (``LEAD_PREFERENCE``), else the
        first lead named as ECG, else the first lead."""
        keys = [lead_key(name) for name in self.lead_names]
        for wanted in LEAD_PREFERENCE:
            if wanted in keys:
                return keys.index(wanted)
        for index, name in enumerate(self.lead_names):
            if is_ecg_name(name) and not is_other_signal(name, self.units[index]):
                return index
        return 0

    def lead_warnings(self, lead: int | str) -> tuple[str, ...]:
        """The recording's warnings, and why ``lead`` may not be ECG (by its name, unit or content)."""
        index = self.lead_index(lead)
        name, unit = self.lead_names[index], self.units[index]
        doubts = list(self.warnings)
        if is_other_signal(name, unit):
            doubts.append(f"lead {name!r} ({unit or 'no unit'}) does not look like ECG by its name or unit")
        elif not is_ecg_name(name) and not self._looks_like_ecg(index):
            doubts.append(f"lead {name!r} does not look like ECG (no sharp QRS-like deflections)")
        return tuple(doubts)

    def _looks_like_ecg(self, index: int) -> bool:
        samples = self.read(index, 0, round(_CONTENT_SECONDS * self.fs)).astype(np.float64)
        steps = np.diff(samples)
        spread = steps.std() if len(steps) else 0.0
        if not spread > 0:
            return False  # flat: another check reports it
        kurtosis = float(np.mean(((steps - steps.mean()) / spread) ** 4))
        return kurtosis >= _MIN_ECG_DIFF_KURTOSIS

    def read(self, lead: int | str, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Samples ``start:stop`` of one lead, float32, in physical units."""
        index = self.lead_index(lead)
        stop = self.n_samples if stop is None else min(int(stop), self.n_samples)
        start = max(0, int(start))
        if stop <= start:
            return np.empty(0, dtype=np.float32)
        return self._read(index, start, stop)

    @abstractmethod
    def _read(self, lead: int, start: int, stop: int) -> np.ndarray:
        """Samples of lead ``lead`` (a valid index), ``0 <= start < stop <= n_samples``."""

    @abstractmethod
    def source_files(self) -> list[Path]:
        """Every file the signal is read from, for the content hash."""

    def content_hash(self) -> str:
        """sha256 over the signal files, so a store can tell a changed file."""
        digest = hashlib.sha256()
        for file in self.source_files():
            with open(file, "rb") as handle:
                while chunk := handle.read(1 << 20):
                    digest.update(chunk)
        return digest.hexdigest()

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.name!r}, fs={self.fs:g}, leads={list(self.lead_names)}, "
            f"duration={self.duration_s:.1f}s)"
        )


class RecordingStretch(Recording):
    """Samples ``first ... last`` of another recording, as a recording of their own (sample 0 is ``first``).

    What analyses a stretch hands the detector and the model: every read stays inside the stretch, so the
    work is that of the stretch however long the recording is.
    """

    def __init__(self, recording: Recording, first: int, last: int) -> None:
        first, last = max(0, int(first)), min(recording.n_samples, int(last))
        start = recording.start + timedelta(seconds=first / recording.fs) if recording.start is not None else None
        super().__init__(recording.path, recording.name, recording.fs, recording.lead_names, recording.units,
                         last - first, start=start, warnings=recording.warnings)
        self.recording, self.first = recording, first

    def _read(self, lead: int, start: int, stop: int) -> np.ndarray:
        return self.recording.read(lead, self.first + start, self.first + stop)

    def source_files(self) -> list[Path]:
        return self.recording.source_files()
