"""Exports of a store: a CSV beat table, WFDB annotation files, and an HDF5 training dataset (``dataset.py``)."""

from __future__ import annotations

import csv
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from danet_viewer.core.atomic import atomic_output
from danet_viewer.core.clock import RecordClock
from danet_viewer.core.store import AnnotationStore, BeatTable, StoredRecord, locate
from danet_viewer.errors import DanetError

if TYPE_CHECKING:
    from danet_viewer.core.dataset import Progress

# time_iso: the beat's ISO 8601 clock time where the recording's header states its start, else "" (time_s is then
# all there is: seconds from the first sample).
# model_rule: the model's record rule where it decided model_apc (core.record_rule): it called the beat an APC (the
# network may have too), or it overruled the network's APC call (inside atrial fibrillation).
CSV_COLUMNS = ("record", "sample", "time_s", "time_iso", "model_apc", "p_apc", "review_symbol", "reviewer",
               "reviewed_at", "class", "model_rule")
WFDB_EXTENSION = "rev"


def _exported_rows(table: BeatTable, reviewed_only: bool) -> np.ndarray:
    return np.flatnonzero(table.reviewed) if reviewed_only else np.arange(len(table))


def _record_rule_decided(record: StoredRecord, table: BeatTable) -> np.ndarray:
    """Per row of ``table``: the model's record rule called the beat an APC (``ModelOutput.record_calls``) or
    overruled the network's APC call (``record_vetoes``)."""
    decided = np.zeros(len(table), bool)
    model = record.model
    if model is not None and model.record_calls is not None:
        at, hit = locate(table.sample, model.sample)
        decided[at[hit]] = (model.record_calls | model.overruled)[hit]
    return decided


def export_csv(store: AnnotationStore, out: Path, *, reviewed_only: bool = False,
               records: list[str] | None = None) -> int:
    """One row per beat (deleted detections too, as review_symbol "not-a-beat"). Returns the row count.

    ``class`` is the beat's class id within its record (``danet_viewer.core.beat_classes``), empty for a beat
    without one (a deleted detection, a record whose beats were never grouped).
    """
    from danet_viewer.core.beat_classes import beat_class_ids  # signal processing: loaded when a CSV is written

    rows = 0
    with atomic_output(out) as temporary, open(temporary, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        for name in records or store.records():
            record = store.record(name)
            table = record.beat_table()
            clock = RecordClock.from_iso(record.start)
            class_ids = beat_class_ids(store, name)
            ruled = _record_rule_decided(record, table)
            for i in _exported_rows(table, reviewed_only):
                scored = table.model_apc[i] >= 0
                time_s = table.sample[i] / record.fs
                writer.writerow([
                    name, int(table.sample[i]), f"{time_s:.4f}", clock.iso(time_s),
                    int(table.model_apc[i]) if scored else "", f"{table.p_apc[i]:.4f}" if scored else "",
                    table.review_symbol[i], table.reviewer[i], table.reviewed_at[i],
                    int(class_ids[i]) if class_ids[i] >= 0 else "",
                    record.model.record_rule if ruled[i] else "",
                ])
                rows += 1
    return rows


def beat_symbols(table: BeatTable) -> np.ndarray:
    """The symbol each beat carries in an export: the review, else the model's verdict (A/N), else N."""
    symbols = np.where(table.model_apc == 1, "A", "N").astype(object)
    reviewed = table.reviewed
    symbols[reviewed] = table.review_symbol[reviewed]
    return symbols


def export_wfdb(store: AnnotationStore, out_dir: Path, *, reviewed_only: bool = False,
                records: list[str] | None = None, extension: str = WFDB_EXTENSION) -> list[Path]:
    """One WFDB annotation file ``<record>.<extension>`` per record in ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    import wfdb  # here, not at the top: the command line reads EXPORT_FORMATS for its parser on every start

    # wfdb writes in place; writing to a scratch folder and moving each file keeps outputs whole.
    with tempfile.TemporaryDirectory(dir=out_dir, prefix=".wfdb-export-") as scratch:
        for name in records or store.records():
            record = store.record(name)
            table = record.beat_table()
            keep = _exported_rows(table, reviewed_only)
            keep = keep[~table.deleted[keep]]
            if not len(keep):
                continue
            wfdb.wrann(name, extension, table.sample[keep], symbol=list(beat_symbols(table)[keep]),
                       fs=record.fs, write_dir=scratch)
            target = out_dir / f"{name}.{extension}"
            shutil.move(Path(scratch) / target.name, target)
            written.append(target)
    return written


def _write_csv(store: AnnotationStore, out: Path, reviewed_only: bool, records: list[str] | None,
               progress: Progress | None) -> str:
    return f"{export_csv(store, out, reviewed_only=reviewed_only, records=records)} beats -> {out}"


def _write_wfdb(store: AnnotationStore, out: Path, reviewed_only: bool, records: list[str] | None,
                progress: Progress | None) -> str:
    files = export_wfdb(store, out, reviewed_only=reviewed_only, records=records)
    return f"{len(files)} annotation files (.{WFDB_EXTENSION}) -> {out}"


def _write_dataset(store: AnnotationStore, out: Path, reviewed_only: bool, records: list[str] | None,
                   progress: Progress | None) -> str:
    from danet_viewer.core.dataset import export_dataset  # beat preparation: loaded when a dataset is written

    beats = export_dataset(store, out, reviewed_only=reviewed_only, records=records, progress=progress)
    return f"{beats} beats -> {out}"


@dataclass(frozen=True)
class ExportFormat:
    """One export as the user meets it, in ``danet-viewer export --format`` and in File ▸ Export."""

    description: str
    default_suffix: str  # after the store's stem, for the suggested output path
    file_filter: str | None  # a file chooser's name filter; None: the output is a folder
    # (store, out, reviewed_only, records, progress) -> the one-line summary
    write: Callable[[AnnotationStore, Path, bool, list[str] | None, Progress | None], str]


# The one list of formats, keyed as on the command line; the CLI and the export dialog both offer these.
EXPORT_FORMATS = {
    "csv": ExportFormat("CSV beat table", ".csv", "CSV files (*.csv)", _write_csv),
    "wfdb": ExportFormat(f"WFDB annotation files (<record>.{WFDB_EXTENSION})", "-annotations", None, _write_wfdb),
    "hdf5": ExportFormat("HDF5 training dataset", "-dataset.h5", "HDF5 datasets (*.h5 *.hdf5)", _write_dataset),
}


def export_store(store: AnnotationStore, fmt: str, out: Path, *, reviewed_only: bool = False,
                 records: list[str] | None = None, progress: Progress | None = None) -> str:
    """Run one export of ``records`` (None: every record); returns a one-line summary."""
    if fmt not in EXPORT_FORMATS:
        raise DanetError(f"unknown export format {fmt!r} (choose from {', '.join(EXPORT_FORMATS)})")
    return EXPORT_FORMATS[fmt].write(store, out, reviewed_only, records, progress)
