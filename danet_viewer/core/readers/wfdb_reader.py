"""WFDB records: a ``.hea`` header and its signal files, read with the wfdb package.

Every signal format wfdb reads is accepted: the ``.dat`` formats 8, 16, 24,
32, 61, 80, 160, 212, 310 and 311, the FLAC formats 508, 516 and 524, and
PhysioNet/CinC ``.mat`` files (a header line such as ``A0001.mat 16+24 1000/mV
...`` names a MAT v4 file whose samples start at byte 24). A record may be
named by its header, by its signal file (``100.dat``, ``A0001.mat``) or with
no extension.

Multi-segment records (MIMIC's waveform records) are read segment by segment;
where a segment lacks a lead (or is a gap), its samples read as 0, with a
warning. A header without a signal length is read whole into memory, its
length taken from the signal files, as wfdb does.

Several samples per frame: every lead is read at its own rate (samples per
frame x frame rate), never averaged to the frame rate. When the leads differ in
rate, only the ECG leads (by name, see ``choose_ecg_signals``) are leads of the
recording; its rate is the highest of theirs, and a slower ECG lead is linearly
interpolated up to it. The recording's ``start`` is the header's base date and
time (the time on ``UNKNOWN_START_DATE`` when the header gives no date).
"""

from __future__ import annotations

import math
from datetime import datetime
from fractions import Fraction
from pathlib import Path

import numpy as np
import wfdb

from danet_viewer.core.recording import MAX_FS, MIN_FS, Recording, choose_ecg_signals, interpolate_up, start_of
from danet_viewer.errors import RecordError

# Storage bits per sample of the uncompressed formats (310 and 311 pack three
# samples into 4 bytes), to predict a signal file's size from the header.
_BITS_PER_SAMPLE = {
    "8": Fraction(8), "80": Fraction(8),
    "16": Fraction(16), "61": Fraction(16), "160": Fraction(16),
    "24": Fraction(24), "32": Fraction(32), "212": Fraction(12),
    "310": Fraction(32, 3), "311": Fraction(32, 3),
}
# FLAC-compressed formats: no size can be predicted, wfdb decodes them with soundfile.
_FLAC_FORMATS = frozenset({"508", "516", "524"})


# Extensions by which a record may be named: its header, or a signal file beside it.
RECORD_SUFFIXES = (".hea", ".dat", ".mat")


def _record_base(path: str | Path) -> Path:
    """The record path without ``.hea`` (or ``.dat``/``.mat``): what wfdb calls the record name."""
    path = Path(path)
    return path.with_suffix("") if path.suffix.lower() in RECORD_SUFFIXES else path


class WfdbRecording(Recording):
    """A WFDB record (single- or multi-segment); samples are read from disk on demand."""

    def __init__(self, path: str | Path) -> None:
        self._base = _record_base(path)
        self._header_path = self._base.with_name(self._base.name + ".hea")
        if not self._header_path.is_file():
            raise RecordError(self._header_path, "no such file")
        header = self._parse_header()
        self._multi_segment = isinstance(header, wfdb.MultiRecord)
        # Signals held whole in memory (physical, one array per signal at its own rate), or None.
        self._in_memory: list[np.ndarray] | None = None
        self._signal_files: dict[Path, list[int]] = {}
        notes: list[str] = []
        if self._multi_segment:
            names, units, samples_per_frame, n_frames = self._open_segments(header, notes)
            self._formats = ["16"] * len(names)  # no format 8 read-from-start rule across segments
        else:
            names, units, samples_per_frame, n_frames = self._open_single_segment(header)
        self.frame_fs = float(header.fs)
        if not (math.isfinite(self.frame_fs) and self.frame_fs > 0):
            raise RecordError(
                self._header_path, f"sampling rate {self.frame_fs:g} Hz is outside {MIN_FS:g}-{MAX_FS:g} Hz"
            )
        rates = [self.frame_fs * n for n in samples_per_frame]
        if len(set(rates)) == 1:
            chosen = list(range(len(names)))
        else:
            chosen, choice_notes = choose_ecg_signals(self._header_path, names, units)
            notes += choice_notes
        fs = max(rates[i] for i in chosen)
        ratio = round(fs / self.frame_fs)
        self._signals = chosen
        self._samples_per_frame = samples_per_frame
        slower = [names[i] for i in chosen if rates[i] < fs]
        if slower:
            notes.append(f"{', '.join(slower)} interpolated up to {fs:g} Hz")
        super().__init__(
            path=self._header_path,
            name=self._base.name,
            fs=fs,
            lead_names=[names[i] for i in chosen],
            units=[units[i] for i in chosen],
            n_samples=n_frames * ratio,
            start=_start(header),
            warnings=notes,
        )
        if not self._multi_segment and self._in_memory is None:
            self._check_skews_and_offsets(header)
            self._check_file_sizes(header)
            # Reading the last frame of every signal proves the header's calibration,
            # skew and frame layout decode (and a FLAC file is long enough), so that
            # later reads fail only if the files change underneath us.
            self._rdrecord(n_frames - 1, n_frames, signal=None)

    def _parse_header(self) -> wfdb.Record | wfdb.MultiRecord:
        try:
            header = wfdb.rdheader(str(self._base))
        except Exception as error:  # noqa: BLE001 - wfdb raises many types for one malformed line
            raise RecordError(self._header_path, f"cannot parse header: {_one_line(error)}") from None
        if isinstance(header, wfdb.MultiRecord):
            return header
        n_lines = len(header.file_name or [])
        if n_lines != (header.n_sig or 0):
            raise RecordError(self._header_path, f"header declares {header.n_sig} signals but describes {n_lines}")
        return header

    def _open_single_segment(self, header: wfdb.Record) -> tuple[list[str], list[str], list[int], int]:
        """Check the signal files; names, units, samples per frame and frame count of the signals."""
        n_signals = header.n_sig or 0
        if n_signals == 0:
            raise RecordError(self._header_path, "the record holds no signals")
        self._formats = [str(fmt) for fmt in header.fmt or []]
        for fmt in self._formats:
            if fmt not in _BITS_PER_SAMPLE and fmt not in _FLAC_FORMATS:
                raise RecordError(self._header_path, f"unknown signal format {fmt!r}")
        # Each signal file with the indices of the signals stored in it.
        for index, file_name in enumerate(header.file_name or []):
            self._signal_files.setdefault(self._base.parent / file_name, []).append(index)
        for file in self._signal_files:
            if not file.is_file():
                raise RecordError(self._header_path, f"missing signal file {file.name}")
        # A signal line without an x gives None (one sample per frame); an explicit x0 is a signal with no samples.
        samples_per_frame = [1 if n is None else int(n) for n in header.samps_per_frame or [1] * n_signals]
        if any(n <= 0 for n in samples_per_frame):
            raise RecordError(self._header_path, "a signal has no samples per frame")
        n_frames = header.sig_len
        if n_frames is None:
            n_frames = self._read_whole(header)
        names = [name or f"lead {i + 1}" for i, name in enumerate(header.sig_name or [None] * n_signals)]
        units = [unit or "mV" for unit in header.units or [None] * n_signals]
        return names, units, samples_per_frame, n_frames

    def _read_whole(self, header: wfdb.Record) -> int:
        """Read a record whose header gives no signal length; its frame count, from the files."""
        if any(fmt in _FLAC_FORMATS for fmt in self._formats):
            raise RecordError(self._header_path, "a FLAC record needs a signal length in its header")
        if any(skew for skew in header.skew or []) or any(offset and offset < 0 for offset in header.byte_offset or []):
            raise RecordError(self._header_path, "a record without a signal length may not be skewed or offset")
        n_frames = None
        for file, signals in self._signal_files.items():
            bits = _BITS_PER_SAMPLE[self._formats[signals[0]]] * sum(header.samps_per_frame[i] or 1 for i in signals)
            payload = file.stat().st_size - (header.byte_offset[signals[0]] or 0)
            frames = math.floor(max(payload, 0) * 8 / bits)
            n_frames = frames if n_frames is None else min(n_frames, frames)
        if not n_frames:
            raise RecordError(self._header_path, "the signal has no samples")
        try:
            record = wfdb.rdrecord(str(self._base), physical=True, return_res=32, smooth_frames=False)
        except Exception as error:  # noqa: BLE001 - an undecodable file, whatever wfdb raises
            raise RecordError(self._header_path, f"cannot read the record: {_one_line(error)}") from None
        spf = [int(n or 1) for n in header.samps_per_frame]
        self._in_memory = [np.nan_to_num(np.asarray(signal[: n_frames * spf[i]], dtype=np.float32), nan=0.0)
                           for i, signal in enumerate(record.e_p_signal)]
        return n_frames

    def _open_segments(
        self, header: wfdb.MultiRecord, notes: list[str]
    ) -> tuple[list[str], list[str], list[int], int]:
        """Open every segment (checking its files); the signals of the record as a whole."""
        names: list[str] = []
        units: list[str] = []
        samples_per_frame: list[int] = []
        missing_frames: dict[str, int] = {}
        segment_signals: list[tuple[list[str], int]] = []
        for segment_name, length in zip(header.seg_name or [], header.seg_len or [], strict=False):
            length = int(length or 0)
            if segment_name == "~":  # a gap
                segment_signals.append(([], length))
                continue
            if length == 0:  # the layout segment: names every signal, holds no samples
                continue
            segment = WfdbRecording(self._base.parent / segment_name)
            if segment._multi_segment:
                raise RecordError(segment.path, "a segment of a multi-segment record is itself multi-segmented")
            if length and segment.n_samples // round(segment.fs / segment.frame_fs) < length:
                raise RecordError(segment.path, f"shorter than the {length} samples the record's header gives it")
            self._signal_files.update({file: [] for file in segment.source_files()})
            for position, name in enumerate(segment.lead_names):
                if name not in names:
                    names.append(name)
                    units.append(segment.units[position])
                    samples_per_frame.append(round(segment.fs / segment.frame_fs))
            if length:
                segment_signals.append((list(segment.lead_names), length))
        for segment_leads, length in segment_signals:
            for name in names:
                if name not in segment_leads:
                    missing_frames[name] = missing_frames.get(name, 0) + length
        if not names:
            raise RecordError(self._header_path, "no segment holds a signal")
        n_frames = int(header.sig_len or sum(int(length or 0) for length in header.seg_len or []))
        for name, frames in missing_frames.items():
            notes.append(f"{name} is missing for {frames / header.fs:.0f} s of the record: read as 0 there")
        self._segment_names = names
        return names, units, samples_per_frame, n_frames

    def _check_skews_and_offsets(self, header: wfdb.Record) -> None:
        """Refuse skews and byte offsets no real record has, before wfdb acts on them.

        wfdb reads ``skew`` frames beyond every read, allocating for them first: a
        header skew of 10**9 cost 4 GB for a 1000-sample record.
        """
        n_frames = header.sig_len
        for index, skew in enumerate(header.skew or []):
            if skew is not None and not 0 <= skew <= n_frames:
                raise RecordError(
                    self._header_path, f"signal {index + 1} is skewed by {skew} samples (the record has {n_frames})"
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
            needed = offset + math.ceil(header.sig_len * samples_per_frame * _BITS_PER_SAMPLE[fmt] / 8)
            actual = file.stat().st_size
            if actual < needed:
                raise RecordError(file, f"truncated: header promises {needed} bytes, file has {actual}")

    def _rdrecord(self, start: int, stop: int, signal: int | None) -> np.ndarray | None:
        """Physical samples of frames ``start:stop`` of one signal at its own rate, float32 (all: None)."""
        try:
            record = wfdb.rdrecord(
                str(self._base),
                sampfrom=start,
                sampto=stop,
                # Segments of a multi-segment record may order their signals differently: read those by name.
                channels=None if signal is None or self._multi_segment else [signal],
                channel_names=[self._segment_names[signal]] if signal is not None and self._multi_segment else None,
                physical=True,
                return_res=32,
                smooth_frames=False,
            )
        except Exception as error:  # noqa: BLE001 - a changed or undecodable file, whatever wfdb raises
            raise RecordError(
                self._header_path, f"cannot read samples {start}-{stop}: {_one_line(error)}"
            ) from None
        if signal is None:
            return None
        samples = np.asarray(record.e_p_signal[0], dtype=np.float32)
        return np.nan_to_num(samples, nan=0.0) if self._multi_segment else samples

    def _read_native(self, signal: int, start: int, stop: int) -> np.ndarray:
        """Samples ``start:stop`` of one signal at its own rate."""
        if self._in_memory is not None:
            return self._in_memory[signal][start:stop].copy()
        per_frame = self._samples_per_frame[signal]
        # Format 8 stores first differences, and wfdb restarts them from the
        # header's initial value at any start, so read from frame 0 and slice.
        first_frame = 0 if self._formats[signal] == "8" else start // per_frame
        stop_frame = -(-stop // per_frame)
        samples = self._rdrecord(first_frame, stop_frame, signal)
        offset = first_frame * per_frame
        return np.ascontiguousarray(samples[start - offset : stop - offset])

    def _read(self, lead: int, start: int, stop: int) -> np.ndarray:
        signal = self._signals[lead]
        native_fs = self.frame_fs * self._samples_per_frame[signal]
        if native_fs == self.fs:
            return self._read_native(signal, start, stop)
        native_length = self.n_samples // round(self.fs / native_fs)
        return interpolate_up(
            lambda first, last: self._read_native(signal, first, last), native_fs, native_length, self.fs, start, stop
        )

    def source_files(self) -> list[Path]:
        return [self._header_path, *self._signal_files]

    def read_annotation_file(self, extension: str) -> tuple[np.ndarray, list[str]]:
        """Samples (at this record's rate, int64) and symbols of ``<record>.<extension>``."""
        file = self._base.with_name(f"{self._base.name}.{extension}")
        if not file.is_file():
            raise RecordError(file, "no such annotation file")
        try:
            annotation = wfdb.rdann(str(self._base), extension)
        except Exception as error:  # noqa: BLE001 - wfdb raises many types for a corrupt file
            raise RecordError(file, f"cannot read annotations: {_one_line(error)}") from None
        sample = np.asarray(annotation.sample, dtype=np.int64)
        # An annotation file may declare its own rate (e.g. beats marked on a
        # resampled copy); bring its sample numbers to this record's rate.
        # Without one, WFDB annotations count frames.
        annotation_fs = float(annotation.fs or self.frame_fs)
        if not (math.isfinite(annotation_fs) and annotation_fs > 0):
            raise RecordError(file, f"annotation file declares sampling rate {annotation_fs:g} Hz")
        if annotation_fs != self.fs:
            sample = np.round(sample * (self.fs / annotation_fs)).astype(np.int64)
        return sample, [str(symbol) for symbol in annotation.symbol]


def _start(header: wfdb.Record | wfdb.MultiRecord) -> datetime | None:
    """The header's base date and time (the time on ``UNKNOWN_START_DATE`` when it gives no date)."""
    return start_of(header.base_date, header.base_time)


def _one_line(error: BaseException) -> str:
    """An exception as one short line, for a RecordError's problem text."""
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= 200 else text[:197] + "..."
