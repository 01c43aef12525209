"""WFDB records: a ``.hea`` header and its signal files, read with the wfdb package.

Every single-segment signal format wfdb reads is accepted: the ``.dat``
formats 8, 16, 24, 32, 61, 80, 160, 212, 310 and 311, the FLAC formats 508,
516 and 524, and PhysioNet/CinC ``.mat`` files (a header line such as
``A0001.mat 16+24 1000/mV ...`` names a MAT v4 file whose samples start at
byte 24). Signals with several samples per frame are averaged to one sample
per frame (wfdb's ``smooth_frames``), so every lead has the record's frame rate.

Limitations: multi-segment records are refused, and so are headers without a
signal length, because wfdb 4.3 cannot read a sample range of such a record.
"""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path

import numpy as np
import wfdb

from danet_viewer.core.recording import Recording
from danet_viewer.errors import RecordError

# Storage bits per sample of the uncompressed formats (310 and 311 pack three
# samples into 4 bytes), to predict a signal file's size from the header.
_BITS_PER_SAMPLE = {
    "8": Fraction(8), "80": Fraction(8),
    "16": Fraction(16), "61": Fraction(16), "160": Fraction(16),
    "24": Fraction(24), "32": Fraction(32), "212": Fraction(12),
    "310": Fraction(32, 3), "311": Fraction(32, 3),
}  # fmt: skip
# FLAC-compressed formats: no size can be predicted, wfdb decodes them with soundfile.
_FLAC_FORMATS = frozenset({"508", "516", "524"})


def _record_base(path: str | Path) -> Path:
    """The record path without ``.hea``: what wfdb calls the record name."""
    path = Path(path)
    return path.with_suffix("") if path.suffix.lower() == ".hea" else path


class WfdbRecording(Recording):
    """A single-segment WFDB record; samples are read from disk on demand."""

    def __init__(self, path: str | Path) -> None:
        self._base = _record_base(path)
        self._header_path = self._base.with_name(self._base.name + ".hea")
        if not self._header_path.is_file():
            raise RecordError(self._header_path, "no such file")
        header = self._parse_header()
        n_signals = header.n_sig or 0
        self._formats = [str(fmt) for fmt in header.fmt or []]
        for fmt in self._formats:
            if fmt not in _BITS_PER_SAMPLE and fmt not in _FLAC_FORMATS:
                raise RecordError(self._header_path, f"unknown signal format {fmt!r}")
        # Each signal file with the indices of the signals stored in it.
        self._signal_files: dict[Path, list[int]] = {}
        for index, file_name in enumerate(header.file_name or []):
            self._signal_files.setdefault(self._base.parent / file_name, []).append(index)
        for file in self._signal_files:
            if not file.is_file():
                raise RecordError(self._header_path, f"missing signal file {file.name}")
        if header.sig_len is None and n_signals:
            raise RecordError(self._header_path, "the header gives no signal length")

        names = header.sig_name or [None] * n_signals
        super().__init__(
            path=self._header_path,
            name=self._base.name,
            fs=float(header.fs),
            lead_names=[name or f"lead {i + 1}" for i, name in enumerate(names)],
            units=[unit or "mV" for unit in header.units or [None] * n_signals],
            n_samples=header.sig_len or 0,
        )
        self._check_skews_and_offsets(header)
        self._check_file_sizes(header)
        # Reading the last frame of every lead proves the header's calibration,
        # skew and frame layout decode (and a FLAC file is long enough), so that
        # later reads fail only if the files change underneath us.
        self._rdrecord(self.n_samples - 1, self.n_samples, channels=None)

    def _parse_header(self) -> wfdb.Record:
        try:
            header = wfdb.rdheader(str(self._base))
        except Exception as error:  # wfdb raises many types for one malformed line
            raise RecordError(self._header_path, f"cannot parse header: {_one_line(error)}") from None
        if isinstance(header, wfdb.MultiRecord):
            raise RecordError(self._header_path, "multi-segment records are not supported")
        n_lines = len(header.file_name or [])
        if n_lines != (header.n_sig or 0):
            raise RecordError(self._header_path, f"header declares {header.n_sig} signals but describes {n_lines}")
        return header

    def _check_skews_and_offsets(self, header: wfdb.Record) -> None:
        """Refuse skews and byte offsets no real record has, before wfdb acts on them.

        wfdb reads ``skew`` frames beyond every read, allocating for them first: a
        header skew of 10**9 cost 4 GB for a 1000-sample record.
        """
        for index, skew in enumerate(header.skew or []):
            if skew is not None and not 0 <= skew <= self.n_samples:
                raise RecordError(
                    self._header_path, f"signal {index + 1} is skewed by {skew} samples (the record has {self.n_samples})"
                )
        for index, offset in enumerate(header.byte_offset or []):
            if offset is not None and offset < 0:
                raise RecordError(self._header_path, f"signal {index + 1} has a negative byte offset ({offset})")

    def _check_file_sizes(self, header: wfdb.Record) -> None:
        """Refuse a signal file shorter than the header's signal length needs."""
        for file, signals in self._signal_files.items():
            # As in wfdb, the first signal of a file gives its format and byte offset.
            fmt = self._formats[signals[0]]
            if fmt in _FLAC_FORMATS:
                continue
            offset = header.byte_offset[signals[0]] or 0
            samples_per_frame = sum(header.samps_per_frame[i] or 1 for i in signals)
            needed = offset + math.ceil(self.n_samples * samples_per_frame * _BITS_PER_SAMPLE[fmt] / 8)
            actual = file.stat().st_size
            if actual < needed:
                raise RecordError(file, f"truncated: header promises {needed} bytes, file has {actual}")

    def _rdrecord(self, start: int, stop: int, channels: list[int] | None) -> np.ndarray:
        """Physical samples ``start:stop`` (frames x channels), float32."""
        try:
            record = wfdb.rdrecord(
                str(self._base),
                sampfrom=start,
                sampto=stop,
                channels=channels,
                physical=True,
                return_res=32,
            )
        except Exception as error:  # a changed or undecodable file, whatever wfdb raises
            raise RecordError(
                self._header_path, f"cannot read samples {start}-{stop}: {_one_line(error)}"
            ) from None
        return record.p_signal

    def _read(self, lead: int, start: int, stop: int) -> np.ndarray:
        # Format 8 stores first differences, and wfdb restarts them from the
        # header's initial value at any start, so read from sample 0 and slice.
        first = 0 if self._formats[lead] == "8" else start
        samples = self._rdrecord(first, stop, channels=[lead])[start - first :, 0]
        return np.ascontiguousarray(samples, dtype=np.float32)

    def source_files(self) -> list[Path]:
        return [self._header_path, *self._signal_files]

    def read_annotation_file(self, extension: str) -> tuple[np.ndarray, list[str]]:
        """Samples (at this record's rate, int64) and symbols of ``<record>.<extension>``."""
        file = self._base.with_name(f"{self._base.name}.{extension}")
        if not file.is_file():
            raise RecordError(file, "no such annotation file")
        try:
            annotation = wfdb.rdann(str(self._base), extension)
        except Exception as error:  # wfdb raises many types for a corrupt file
            raise RecordError(file, f"cannot read annotations: {_one_line(error)}") from None
        sample = np.asarray(annotation.sample, dtype=np.int64)
        # An annotation file may declare its own rate (e.g. beats marked on a
        # resampled copy); bring its sample numbers to this record's rate.
        annotation_fs = float(annotation.fs or self.fs)
        if not (math.isfinite(annotation_fs) and annotation_fs > 0):
            raise RecordError(file, f"annotation file declares sampling rate {annotation_fs:g} Hz")
        if annotation_fs != self.fs:
            sample = np.round(sample * (self.fs / annotation_fs)).astype(np.int64)
        return sample, [str(symbol) for symbol in annotation.symbol]


def _one_line(error: BaseException) -> str:
    """An exception as one short line, for a RecordError's problem text."""
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= 200 else text[:197] + "..."
