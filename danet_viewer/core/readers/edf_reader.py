"""EDF and EDF+ files (and BDF), read with edfio.

The leads are the ECG signals, chosen by label and transducer (``ECG``, ``EKG``,
lead names I-III, aVR ..., V1-V6, MLII ...; see ``choose_ecg_signals``): a
polysomnogram's EEG, SaO2 or respiration signals are not leads, whatever their
order or rate. A file with no signal that could be ECG is refused, naming what
it holds. Each lead is read at its own rate; the recording's rate is the highest
ECG rate, and a lead sampled more slowly is linearly interpolated up to it
(never averaged down), so one sample index means one instant on every lead.
A lead whose calibration is unusable is skipped with a warning, not the file.
EDF+ annotation signals are never leads. EDF is memory-mapped, so a read
touches only the data records it needs; edfio loads BDF files whole.
Discontinuous EDF+D recordings (data records with gaps) are refused.
The recording's ``start`` is the header's start date and time (the time on
``UNKNOWN_START_DATE`` when an EDF+ header anonymises the date).
"""

from __future__ import annotations

import warnings
from datetime import datetime
from pathlib import Path
from typing import NamedTuple

import edfio
import numpy as np

from danet_viewer.core.recording import Recording, choose_ecg_signals, interpolate_up, start_of
from danet_viewer.errors import RecordError

# Fixed-size parts of an EDF header (EDF spec, section 2).
_FIXED_HEADER_BYTES = 256
_SIGNAL_HEADER_BYTES = 256
# Within the signal headers, "samples per data record" follows label (16),
# transducer (80), dimension (8), four ranges (4 x 8) and prefiltering (80).
_SAMPLES_FIELD_OFFSET = 216
_FLOAT32_MAX = float(np.finfo(np.float32).max)


class EdfAnnotation(NamedTuple):
    """One EDF+ annotation: onset and duration in seconds from the recording start."""

    onset_s: float
    duration_s: float | None
    text: str


class _Format(NamedTuple):
    version: bytes
    bytes_per_sample: int


_EDF = _Format(b"0       ", 2)
_BDF = _Format(b"\xffBIOSEMI", 3)


class EdfRecording(Recording):
    """An EDF, EDF+C or BDF file; ``annotations`` holds its EDF+ annotations (none for plain EDF)."""

    def __init__(self, path: str | Path) -> None:
        path = Path(path)
        if not path.is_file():
            raise RecordError(path, "no such file")
        is_bdf = path.suffix.lower() == ".bdf"
        file_format = _BDF if is_bdf else _EDF
        _check_header_and_size(path, file_format)
        try:
            # latin-1 decodes any byte: real files put e.g. "µV" in ASCII fields.
            if is_bdf:
                edf = edfio.read_bdf(path, header_encoding="latin-1")
            else:
                edf = edfio.read_edf(path, lazy_load_data=True, header_encoding="latin-1")
            ordinary = edf.signals
            if not ordinary:
                raise RecordError(path, "the file holds no signals, only annotations")
            chosen, notes = choose_ecg_signals(
                path,
                [signal.label for signal in ordinary],
                [signal.physical_dimension for signal in ordinary],
                [signal.transducer_type for signal in ordinary],
            )
            self._signals = []
            for index in chosen:
                problem = _calibration_problem(ordinary[index], file_format.bytes_per_sample)
                if problem is None:
                    self._signals.append(ordinary[index])
                elif len(chosen) == 1:
                    raise RecordError(path, problem)
                else:
                    notes.append(f"{problem}: skipped")
            if not self._signals:
                raise RecordError(path, f"no ECG signal has a usable calibration ({notes[-1]})")
            fs = max(signal.sampling_frequency for signal in self._signals)
            lead_names = [signal.label.strip() or f"lead {i + 1}" for i, signal in enumerate(self._signals)]
            units = [signal.physical_dimension.strip() for signal in self._signals]
            slower = [name for name, signal in zip(lead_names, self._signals, strict=True)
                      if signal.sampling_frequency < fs]
            if slower:
                notes.append(f"{', '.join(slower)} interpolated up to {fs:g} Hz")
            n_samples = edf.num_data_records * max(signal.samples_per_data_record for signal in self._signals)
            if edf.reserved.startswith(("EDF+D", "BDF+D")) and not edf.is_continuous:
                raise RecordError(path, "discontinuous EDF+D recordings (gaps between data records) are not supported")
            annotations = edf.annotations
            start = _start(edf)
        except RecordError:
            raise
        except Exception as error:  # noqa: BLE001 - edfio raises many types for a malformed header
            raise RecordError(path, f"not a valid EDF file: {' '.join(str(error).split())}") from None
        super().__init__(
            path=path, name=path.stem, fs=fs, lead_names=lead_names, units=units, n_samples=n_samples,
            start=start, warnings=notes,
        )
        self.annotations = tuple(EdfAnnotation(a.onset, a.duration, a.text) for a in annotations)

    def _read(self, lead: int, start: int, stop: int) -> np.ndarray:
        signal = self._signals[lead]
        native_fs = signal.sampling_frequency
        if native_fs == self.fs:
            return _read_native(signal, start, stop)
        native_length = round(self.n_samples * native_fs / self.fs)
        return interpolate_up(
            lambda first, last: _read_native(signal, first, last), native_fs, native_length, self.fs, start, stop
        )

    def source_files(self) -> list[Path]:
        return [self.path]


def _read_native(signal: edfio.EdfSignal | edfio.BdfSignal, start: int, stop: int) -> np.ndarray:
    """Samples ``start:stop`` of a signal at its own rate, float32."""
    # edfio slices by seconds and rounds back to samples: exact for integer sample numbers.
    fs = signal.sampling_frequency
    return signal.get_data_slice(start / fs, stop / fs).astype(np.float32)


def _start(edf: edfio.Edf) -> datetime | None:
    """The header's start date and time; only the time where the date is anonymised or unreadable."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # edfio warns when the legacy and EDF+ dates differ
        try:
            start_time = edf.starttime
        except Exception:  # noqa: BLE001 - a malformed time field: the signal is still readable
            return None
        try:
            return datetime.combine(edf.startdate, start_time)
        except Exception:  # noqa: BLE001 - "Startdate X" (anonymised) or a malformed date
            return start_of(None, start_time)


def _check_header_and_size(path: Path, expected: _Format) -> None:
    """Refuse a file that is not EDF/BDF or whose size disagrees with its header.

    edfio would only warn and guess in the second case, so this runs first.
    """
    with open(path, "rb") as handle:
        fixed = handle.read(_FIXED_HEADER_BYTES)
        if len(fixed) < _FIXED_HEADER_BYTES or fixed[:8] != expected.version:
            raise RecordError(path, "not an EDF file (no EDF header)" if expected is _EDF else "not a BDF file")
        try:
            header_bytes = int(fixed[184:192])
            n_records = int(fixed[236:244])
            n_signals = int(fixed[252:256])
        except ValueError:
            raise RecordError(path, "malformed EDF header (non-numeric size fields)") from None
        if n_signals <= 0 or header_bytes != _FIXED_HEADER_BYTES + _SIGNAL_HEADER_BYTES * n_signals:
            raise RecordError(path, f"malformed EDF header ({n_signals} signals in {header_bytes} header bytes)")
        if n_records < 0:
            raise RecordError(path, "the header does not give the number of data records")
        handle.seek(_FIXED_HEADER_BYTES + _SAMPLES_FIELD_OFFSET * n_signals)
        try:
            samples_per_record = sum(int(handle.read(8)) for _ in range(n_signals))
        except ValueError:
            raise RecordError(path, "malformed EDF header (non-numeric samples per data record)") from None
    needed = header_bytes + n_records * samples_per_record * expected.bytes_per_sample
    actual = path.stat().st_size
    if actual < needed:
        raise RecordError(path, f"truncated: header promises {needed} bytes, file has {actual}")
    if actual > needed:
        raise RecordError(path, f"header promises {needed} bytes, file has {actual} (trailing data)")


def _calibration_problem(signal: edfio.EdfSignal | edfio.BdfSignal, bytes_per_sample: int) -> str | None:
    """Why a signal's digital-to-physical scaling is undefined or overflows float32; None if usable."""
    physical = (signal.physical_min, signal.physical_max)
    digital = (signal.digital_min, signal.digital_max)
    usable = physical[0] != physical[1] and digital[0] < digital[1]
    if usable:
        # The physical values of the extreme digital values the file can hold.
        gain = (physical[1] - physical[0]) / (digital[1] - digital[0])
        limit = 2 ** (8 * bytes_per_sample - 1)
        extremes = [physical[0] + (value - digital[0]) * gain for value in (-limit, limit - 1)]
        usable = all(abs(value) <= _FLOAT32_MAX for value in extremes)  # False for inf and NaN
    if usable:
        return None
    return (
        f"signal {signal.label.strip()!r} has no usable calibration "
        f"(physical {physical[0]:g} to {physical[1]:g}, digital {digital[0]} to {digital[1]})"
    )
