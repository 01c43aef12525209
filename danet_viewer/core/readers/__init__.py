"""Open any supported ECG file as a ``Recording``, and read its beat annotations.

Supported: WFDB records (``.hea`` plus signal files), EDF/EDF+/BDF and CSV.
Every failure on bad input is a ``RecordError`` naming the file and the problem.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import wfdb

from danet_viewer.core.readers.csv_reader import CsvRecording
from danet_viewer.core.readers.edf_reader import EdfRecording
from danet_viewer.core.readers.ishne_reader import IshneRecording
from danet_viewer.core.readers.wfdb_reader import WfdbRecording
from danet_viewer.core.recording import Recording
from danet_viewer.errors import RecordError

__all__ = [
    "Annotations",
    "CsvRecording",
    "EdfRecording",
    "IshneRecording",
    "WfdbRecording",
    "open_recording",
    "read_annotations",
]

# Every WFDB annotation symbol (beats, rhythm and noise marks); label 0's blank is no symbol.
_WFDB_SYMBOLS = frozenset(wfdb.io.annotation.ann_label_table["symbol"].str.strip()) - {""}


@dataclass(frozen=True)
class Annotations:
    """Annotation marks of one recording, sorted by sample."""

    sample: np.ndarray  # int64, at the recording's sampling rate
    symbol: np.ndarray  # object array of str (WFDB symbols)

    def __len__(self) -> int:
        return len(self.sample)


def open_recording(path: str | Path, *, fs: float | None = None) -> Recording:
    """Open an ECG file, choosing the reader by extension.

    ``fs`` sets the rate of a CSV file (overriding its own); other formats ignore it.
    A WFDB record may be named with or without ``.hea``.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in ("", ".hea") or Path(f"{path}.hea").is_file():
        return WfdbRecording(path)
    if suffix in (".dat", ".mat"):  # a WFDB record named by its signal file
        if not path.with_suffix(".hea").is_file():
            raise RecordError(path, f"no WFDB header {path.with_suffix('.hea').name} beside it")
        return WfdbRecording(path)
    if suffix in (".edf", ".bdf"):
        return EdfRecording(path)
    if suffix == ".ecg":
        return IshneRecording(path)
    if suffix == ".csv":
        return CsvRecording(path, fs=fs)
    if not path.exists():
        raise RecordError(path, "no such file")
    raise RecordError(path, f"unknown file type {path.suffix!r} (expected .hea, .edf, .bdf or .csv)")


def read_annotations(recording: Recording, extension: str) -> Annotations:
    """Every annotation of ``recording``, sorted by sample.

    WFDB: the annotation file ``<record>.<extension>`` (e.g. ``atr``). EDF+: with
    the recording's own extension (``edf``), the embedded annotations whose
    text is one WFDB symbol, at onset x fs rounded to a sample. Samples are not
    clipped to the signal.
    """
    if isinstance(recording, WfdbRecording):
        sample, symbols = recording.read_annotation_file(extension)
    elif isinstance(recording, EdfRecording):
        own_extension = recording.path.suffix.lstrip(".")
        if extension.lower() != own_extension.lower():
            raise RecordError(
                recording.path,
                f"EDF+ annotations are read from the file itself (extension {own_extension!r}), "
                f"not from {extension!r}",
            )
        marks = [
            (round(annotation.onset_s * recording.fs), annotation.text.strip())
            for annotation in recording.annotations
            if annotation.text.strip() in _WFDB_SYMBOLS
        ]
        sample = np.array([mark[0] for mark in marks], dtype=np.int64)
        symbols = [mark[1] for mark in marks]
    else:
        raise RecordError(recording.path, f"annotations cannot be read for a {type(recording).__name__}")
    order = np.argsort(sample, kind="stable")
    return Annotations(sample=sample[order], symbol=np.array(symbols, dtype=object)[order])
