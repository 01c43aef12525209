"""Open any supported ECG file as a ``Recording``, and read its beat annotations.

Supported: WFDB records (``.hea`` plus signal files), EDF/EDF+/BDF, ISHNE Holter
(``.ecg``), DICOM waveforms (``.dcm``), HL7 aECG (``.xml``) and CSV/text tables
(``.csv``, ``.tsv``, ``.txt``). A file with another or no extension is
recognised by its content where it can be (DICOM, ISHNE, aECG).
Every failure on bad input is a ``RecordError`` naming the file and the problem.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import wfdb

from danet_viewer.core.readers.aecg_reader import AecgRecording
from danet_viewer.core.readers.csv_reader import TABLE_SUFFIXES, CsvRecording
from danet_viewer.core.readers.dicom_reader import DicomRecording
from danet_viewer.core.readers.edf_reader import EdfRecording
from danet_viewer.core.readers.ishne_reader import MAGIC as ISHNE_MAGIC
from danet_viewer.core.readers.ishne_reader import IshneRecording
from danet_viewer.core.readers.wfdb_reader import WfdbRecording
from danet_viewer.core.recording import Recording
from danet_viewer.errors import RecordError

__all__ = [
    "AecgRecording",
    "Annotations",
    "CsvRecording",
    "DicomRecording",
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


def open_recording(
    path: str | Path, *, fs: float | None = None, no_header: bool = False, column: str | None = None
) -> Recording:
    """Open an ECG file, choosing the reader by extension (else by content).

    ``fs`` sets the rate of a CSV file (overriding its own); ``no_header`` (the first
    row is data) and ``column`` (the one column to read, by name or 1-based number)
    settle an ambiguous table. Other formats ignore all three.
    A WFDB record may be named with or without ``.hea``, or by its ``.dat``/``.mat`` file.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if Path(f"{path}.hea").is_file() or suffix == ".hea":
        return WfdbRecording(path)
    if suffix == "" and path.is_file() and (reader := _recognise(path)) is not None:
        return reader(path)
    if suffix == "":
        return WfdbRecording(path)
    if suffix in (".dat", ".mat"):  # a WFDB record named by its signal file
        if not path.with_suffix(".hea").is_file():
            raise RecordError(path, f"no WFDB header {path.with_suffix('.hea').name} beside it")
        return WfdbRecording(path)
    if suffix in (".edf", ".bdf"):
        return EdfRecording(path)
    if suffix == ".ecg":
        return IshneRecording(path)
    if suffix in (".dcm", ".dicom"):
        return DicomRecording(path)
    if suffix == ".xml":
        return AecgRecording(path)
    if suffix in TABLE_SUFFIXES:
        return CsvRecording(path, fs=fs, no_header=no_header, column=column)
    if not path.is_file():
        raise RecordError(path, "no such file")
    reader = _recognise(path)
    if reader is None:
        raise RecordError(path, f"unknown file type {path.suffix!r} (expected {', '.join(RECORDING_SUFFIXES)})")
    return reader(path)


# What open_recording opens by extension (the GUI's file filter lists the same).
RECORDING_SUFFIXES = (".hea", ".dat", ".mat", ".edf", ".bdf", ".ecg", ".dcm", ".xml", *TABLE_SUFFIXES)


def _recognise(path: Path) -> type[Recording] | None:
    """A reader for a file by its first bytes: DICOM's preamble, ISHNE's magic, an aECG root element."""
    with open(path, "rb") as handle:
        head = handle.read(4096)
    if head[128:132] == b"DICM":
        return DicomRecording
    if head.startswith(ISHNE_MAGIC):
        return IshneRecording
    if b"<AnnotatedECG" in head:
        return AecgRecording
    return None


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
