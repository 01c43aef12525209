"""The HDF5 training dataset: written from an annotation store, read back as labelled beats for training.

The writer (``export_dataset``, behind ``danet-viewer export --format hdf5``) and the reader
(``read_labelled_beats``, behind ``danet-train fit --dataset`` and ``retrain``) live here together,
and so does the one rule for which beats count as reviewed (``reviewed_beats``).

The dataset (``schema = "danet-review-dataset"``, ``schema_version`` 2) is
self-contained, so a model can be trained on it anywhere:

- ``windows``  float32 (N, WINDOW_LENGTH): conditioned beat windows at ``model_fs``
  (see ``danet_viewer.core.conditioning``), the beat at index ``window_before``.
- ``rr``       float32 (N, 9): RR intervals and rhythm references in seconds, then
  unitless rhythm context (columns named by the ``rr_features`` attribute; see
  ``danet_viewer.core.beats.rr_features`` and ``danet_viewer.core.features``).
- ``regions``  int16 (N, 4, 2): delineated P, QRS, T and previous-T intervals
  ``[start, stop)`` in window samples (order in the ``regions`` attribute).
- ``p_found``  bool (N): False where the P region is the RR-scaled fallback.
- ``symbol``   str (N): the beat's WFDB symbol: the reviewer's where reviewed,
  else the imported reference's (matched within 150 ms), else "".
- ``label_source`` int8 (N): 2 reviewer, 1 reference, 0 none.
- ``sveb``     int8 (N): 1 for an SVEB (APC) symbol, 0 for another beat, -1 unlabelled.
- ``p_apc``    float32 (N): the model's p(APC) when the dataset was written, NaN if none.
- ``record_index`` int32 (N) into ``records``; ``sample`` int64 (N) at the record's own rate.
- ``class``    int32 (N): the beat's class id within its record (``danet_viewer.core.beat_classes``), -1
  where it has none; absent from datasets written before classes (an extra column: same schema version).
- ``records``, ``record_lead``, ``record_fs``, ``record_start``: one entry per record; ``record_start`` is
  the ISO 8601 clock time of its first sample as its header states it ("" where it states none), so a
  beat's clock time is ``record_start`` + ``sample`` / ``record_fs``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from danet_viewer.core.aami import is_sveb
from danet_viewer.core.atomic import atomic_output
from danet_viewer.core.beat_classes import beat_class_ids
from danet_viewer.core.beats import match_reference
from danet_viewer.core.clock import RecordClock
from danet_viewer.core.conditioning import BAND_HZ, MODEL_FS, WINDOW_BEFORE, WINDOW_LENGTH
from danet_viewer.core.delineation import REGIONS
from danet_viewer.core.features import RHYTHM_FEATURES, BeatInputs, prepare_beats
from danet_viewer.core.readers import open_recording
from danet_viewer.core.store import AnnotationStore, BeatTable, StoredRecord, utc_now
from danet_viewer.errors import DanetError

DATASET_SCHEMA = "danet-review-dataset"
# 2: ``rr`` gained the rhythm_regularity column.
DATASET_SCHEMA_VERSION = 2

Progress = Callable[[int, int], None]


def reviewed_beats(table: BeatTable) -> np.ndarray:
    """Which beats of a table count as reviewed: a reviewer labelled them, and they are not deleted detections."""
    return table.reviewed & ~table.deleted


@dataclass(frozen=True)
class ReviewedCount:
    beats: int
    apcs: int


def count_reviewed(store: AnnotationStore) -> ReviewedCount:
    """Reviewed beats and reviewed APCs of a store: what a reviewed-only dataset of it holds."""
    beats = apcs = 0
    for name in store.records():
        table = store.beat_table(name)
        labels = table.review_symbol[reviewed_beats(table)]
        beats += len(labels)
        apcs += int(is_sveb(labels).sum())
    return ReviewedCount(beats, apcs)


def _labels(record: StoredRecord, table: BeatTable) -> tuple[np.ndarray, np.ndarray]:
    symbol = np.full(len(table), "", object)
    source = np.zeros(len(table), np.int8)
    if len(record.reference_sample):
        ref_index, beat_index = match_reference(record.reference_sample, table.sample, record.fs)
        symbol[beat_index] = record.reference_symbol[ref_index]
        source[beat_index] = 1
    reviewed = table.reviewed
    symbol[reviewed] = table.review_symbol[reviewed]
    source[reviewed] = 2
    return symbol, source


def export_dataset(store: AnnotationStore, out: Path, *, reviewed_only: bool = False,
                   records: list[str] | None = None, progress: Progress | None = None) -> int:
    """Write the HDF5 training dataset (schema in the module docstring). Returns the beat count."""
    names = records or store.records()
    columns = ("windows", "rr", "regions", "p_found", "symbol", "source", "p_apc", "index", "sample", "class")
    parts: dict[str, list[np.ndarray]] = {column: [] for column in columns}
    leads, rates, starts = [], [], []
    for index, name in enumerate(names):
        record = store.record(name)
        table = record.beat_table()
        beats = np.flatnonzero(~table.deleted)
        if not len(beats):
            raise DanetError(f"{store.path}: record {name} has no beats; run annotate first")
        recording = open_recording(record.source_path)
        if recording.content_hash() != record.content_hash:
            raise DanetError(f"{recording.path}: the file changed since it was annotated into {store.path}")
        # RR features and delineation need every beat; the export then keeps the labelled ones.
        inputs = prepare_beats(recording, record.analysis_lead, table.sample[beats])
        symbol, source = _labels(record, table)
        keep = np.flatnonzero(reviewed_beats(table)[beats]) if reviewed_only else np.arange(len(beats))
        rows = beats[keep]
        kept = inputs.subset(keep)
        for column, values in (("windows", kept.windows), ("rr", kept.rr), ("regions", kept.regions),
                               ("p_found", kept.p_found), ("symbol", symbol[rows]), ("source", source[rows]),
                               ("p_apc", table.p_apc[rows]), ("index", np.full(len(rows), index, np.int32)),
                               ("sample", table.sample[rows]), ("class", beat_class_ids(store, name)[rows])):
            parts[column].append(values)
        leads.append(record.analysis_lead)
        rates.append(record.fs)
        starts.append(record.start or RecordClock(recording.start).start_iso())
        if progress:
            progress(index + 1, len(names))
    joined = {column: np.concatenate(values) for column, values in parts.items()}
    sveb = np.where(joined["source"] > 0, is_sveb(joined["symbol"]).astype(np.int8), -1).astype(np.int8)
    string = h5py.string_dtype()
    with atomic_output(out) as temporary, h5py.File(temporary, "w") as handle:
        handle.attrs.update(
            schema=DATASET_SCHEMA, schema_version=DATASET_SCHEMA_VERSION, model_fs=MODEL_FS,
            window_before=WINDOW_BEFORE, window_length=WINDOW_LENGTH, band_hz=BAND_HZ,
            rr_features=list(RHYTHM_FEATURES), regions=list(REGIONS), reviewed_only=reviewed_only,
            source_store=str(store.path), created_at=utc_now(),
        )
        handle.create_dataset("windows", data=joined["windows"].reshape(-1, WINDOW_LENGTH).astype(np.float32),
                              compression="gzip", compression_opts=4, shuffle=True)
        handle.create_dataset("rr", data=joined["rr"].reshape(-1, len(RHYTHM_FEATURES)).astype(np.float32))
        handle.create_dataset("regions", data=joined["regions"].reshape(-1, len(REGIONS), 2).astype(np.int16))
        handle.create_dataset("p_found", data=joined["p_found"].astype(bool))
        handle.create_dataset("symbol", data=list(joined["symbol"]), dtype=string)
        handle.create_dataset("label_source", data=joined["source"].astype(np.int8))
        handle.create_dataset("sveb", data=sveb)
        handle.create_dataset("p_apc", data=joined["p_apc"].astype(np.float32))
        handle.create_dataset("record_index", data=joined["index"].astype(np.int32))
        handle.create_dataset("sample", data=joined["sample"].astype(np.int64))
        handle.create_dataset("class", data=joined["class"].astype(np.int32))
        handle.create_dataset("records", data=list(names), dtype=string)
        handle.create_dataset("record_lead", data=leads, dtype=string)
        handle.create_dataset("record_fs", data=np.asarray(rates, np.float64))
        handle.create_dataset("record_start", data=starts, dtype=string)
    return len(joined["sample"])


@dataclass
class LabelledBeats:
    """The labelled rows of a dataset: model inputs, SVEB label (1) or other beat (0), and record name."""

    inputs: BeatInputs
    label: np.ndarray  # int8
    record: np.ndarray  # object (str)


def read_labelled_beats(path: Path) -> LabelledBeats:
    """The rows of a dataset with ``sveb >= 0``; DanetError for a file of another kind or schema version."""
    try:
        with h5py.File(path, "r") as data:
            if data.attrs.get("schema") != DATASET_SCHEMA:
                raise DanetError(f"{path}: not a DANet Review dataset")
            if int(data.attrs.get("schema_version", 0)) != DATASET_SCHEMA_VERSION:
                raise DanetError(f"{path}: dataset schema version {data.attrs.get('schema_version')}, this version "
                                 f"reads {DATASET_SCHEMA_VERSION}: export it again")
            if int(data.attrs["window_length"]) != WINDOW_LENGTH:
                raise DanetError(f"{path}: windows of {data.attrs['window_length']} samples, "
                                 f"model needs {WINDOW_LENGTH}")
            labelled = data["sveb"][()] >= 0
            records = data["records"].asstr()[()]
            inputs = BeatInputs(data["windows"][()][labelled], data["rr"][()][labelled],
                                data["regions"][()][labelled], data["p_found"][()][labelled])
            return LabelledBeats(inputs, data["sveb"][()][labelled].astype(np.int8),
                                 records[data["record_index"][()][labelled]].astype(object))
    except OSError as error:
        raise DanetError(f"{path}: cannot read dataset: {error}") from None
