"""EDF and EDF+ files (and BDF), read with edfio.

The leads are the ordinary signals that share the sampling rate of the first
ordinary signal; signals at other rates (respiration, SpO2, ...) are skipped,
and EDF+ annotation signals are never leads. EDF is memory-mapped, so a read
touches only the data records it needs; edfio loads BDF files whole.
Discontinuous EDF+D recordings (data records with gaps) are refused.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import edfio
import numpy as np

from danet_viewer.core.recording import Recording
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
            fs = ordinary[0].sampling_frequency
            self._signals = [signal for signal in ordinary if signal.sampling_frequency == fs]
            lead_names = [signal.label.strip() or f"lead {i + 1}" for i, signal in enumerate(self._signals)]
            units = [signal.physical_dimension.strip() for signal in self._signals]
            for signal in self._signals:
                _check_calibration(path, signal, file_format.bytes_per_sample)
            n_samples = edf.num_data_records * self._signals[0].samples_per_data_record
            if edf.reserved.startswith(("EDF+D", "BDF+D")) and not edf.is_continuous:
                raise RecordError(path, "discontinuous EDF+D recordings (gaps between data records) are not supported")
            annotations = edf.annotations
        except RecordError:
            raise
        except Exception as error:  # edfio raises many types for a malformed header
            raise RecordError(path, f"not a valid EDF file: {' '.join(str(error).split())}") from None
        super().__init__(path=path, name=path.stem, fs=fs, lead_names=lead_names, units=units, n_samples=n_samples)
        self.annotations = tuple(EdfAnnotation(a.onset, a.duration, a.text) for a in annotations)

    def _read(self, lead: int, start: int, stop: int) -> np.ndarray:
        signal = self._signals[lead]
        # edfio slices by seconds and rounds back to samples: exact for integer sample numbers.
        data = signal.get_data_slice(start / signal.sampling_frequency, stop / signal.sampling_frequency)
        return data.astype(np.float32)

    def source_files(self) -> list[Path]:
        return [self.path]


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


def _check_calibration(path: Path, signal: edfio.EdfSignal | edfio.BdfSignal, bytes_per_sample: int) -> None:
    """Refuse a lead whose digital-to-physical scaling is undefined or overflows float32."""
    physical = (signal.physical_min, signal.physical_max)
    digital = (signal.digital_min, signal.digital_max)
    usable = physical[0] != physical[1] and digital[0] < digital[1]
    if usable:
        # The physical values of the extreme digital values the file can hold.
        gain = (physical[1] - physical[0]) / (digital[1] - digital[0])
        limit = 2 ** (8 * bytes_per_sample - 1)
        extremes = [physical[0] + (value - digital[0]) * gain for value in (-limit, limit - 1)]
        usable = all(abs(value) <= _FLOAT32_MAX for value in extremes)  # False for inf and NaN
    if not usable:
        raise RecordError(
            path,
            f"signal {signal.label.strip()!r} has no usable calibration "
            f"(physical {physical[0]:g} to {physical[1]:g}, digital {digital[0]} to {digital[1]})",
        )
