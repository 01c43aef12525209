"""Training and validation beats: mitdb DS1's fixed split, the 74 training patients (DS1 + svdb) split by
record-wise folds, and exported datasets split by record or by blocks.

Validation is by whole records; with fewer than three records, by interleaved blocks of
consecutive beats, never by shuffled beats of the same minute.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np

from danet_viewer.errors import DanetError
from training.data import BeatSet, ReferenceRecord, label_record, load_dataset_file
from training.databases import MITDB, SVDB
from training.mitdb import DS1, DS2, TRAINING_SETS, VALIDATION, mitdb_dir

# Validation blocks within a record: runs of consecutive beats (about a minute each), every
# VALIDATION_BLOCK_EVERY-th of them held out, so validation spans the whole reviewed stretch (its
# rhythms change over a recording) and never shares a minute with training. Which of the
# VALIDATION_BLOCK_EVERY phases is held out follows the APCs: a reviewer's APCs often come in a few
# bursts, and a fixed phase can hold out none of them (mitdb 202: 16 APCs in three blocks), which
# leaves nothing to stop on or to judge the new model by.
VALIDATION_BLOCK_BEATS = 60
VALIDATION_BLOCK_EVERY = 5
# Below this many APCs among the held-out reviewed beats, F1 moves by a third with one beat:
# too few to recommend a new model over its base.
MIN_HELD_OUT_APCS = 5


# The 74 patients' validation records for a fit: one of this many record-wise folds dealt by SVEB count
# with each database dealt in turn (so it holds APCs of both), the same deal `crossval --folds 5` makes.
# The last fold: the first holds mitdb's richest SVEB record (209), which training should keep.
POOLED_VALIDATION_FOLDS = 5
POOLED_VALIDATION_FOLD = POOLED_VALIDATION_FOLDS - 1


class TrainingRecord(NamedTuple):
    """A training patient: its database's name and its record's header."""

    database: str
    header: Path


class Split(NamedTuple):
    """Beats to train on, to validate on, every beat for pre-training, and the card's account of the split."""

    train: BeatSet
    val: BeatSet
    unlabelled: BeatSet
    description: dict


def mitdb_split(cache: Path) -> Split:
    """mitdb DS1: its validation records held out; unlabelled beats include the false detections."""
    folder = mitdb_dir()
    records = [label_record(folder / f"{name}.hea", cache) for name in DS1]
    train = BeatSet.concatenate([r.beats for r in records if r.name not in VALIDATION])
    val = BeatSet.concatenate([r.beats for r in records if r.name in VALIDATION])
    unlabelled = BeatSet.concatenate([r.beats for r in records] + [r.false_detections for r in records])
    return Split(train, val, unlabelled, {"source": "mitdb DS1", "train_records": sorted(set(train.record)),
                                          "validation_records": list(VALIDATION)})


def training_records(training_set: str) -> list[TrainingRecord]:
    """The records of a ``TRAINING_SETS`` name: mitdb DS1, and for "ds1+svdb" every svdb record after it."""
    if training_set not in TRAINING_SETS:
        raise DanetError(f"training set {training_set!r}: known sets are {', '.join(TRAINING_SETS)}")
    records = [TrainingRecord(MITDB.name, mitdb_dir() / f"{name}.hea") for name in DS1]
    if training_set == "ds1+svdb":
        records += [TrainingRecord(SVDB.name, SVDB.header(name)) for name in SVDB.records()]
    return records


def refuse_test_records(records: list[TrainingRecord]) -> None:
    """No mitdb DS2 record may train a model, stop its training or choose its threshold."""
    test = sorted({r.header.stem for r in records if r.database == MITDB.name and r.header.stem in DS2})
    if test:
        raise DanetError(f"mitdb DS2 record(s) {', '.join(test)} in the training or validation set: DS2 is the "
                         "untouched test set")


def labelled_records(records: list[TrainingRecord], cache: Path | None) -> list[ReferenceRecord]:
    """Each record detected and labelled by the one path every database takes (``data.label_record``),
    after refusing any DS2 record; two records of one name (one patient counted twice) are refused too."""
    refuse_test_records(records)
    names = [r.header.stem for r in records]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise DanetError(f"record(s) {', '.join(twice)} named twice in the training set: folds are by record name")
    return [label_record(r.header, cache) for r in records]


def record_folds(sveb: dict[str, int], folds: int, database: dict[str, str] | None = None) -> list[list[str]]:
    """Records dealt into ``folds`` folds in snake order of SVEB count (most first, ties by name): every fold
    gets a fair share of the APCs and of the records, the same on every run. With ``database`` (each
    record's), one database is dealt after the other in one snake, so every fold holds records, and APCs,
    of each. A record is one name: it is never split between folds."""
    if not 3 <= folds <= len(sveb):
        raise DanetError(f"--folds {folds}: need at least 3 (test, validation, training) and at most {len(sveb)}")
    group = database or {}
    dealt: list[list[str]] = [[] for _ in range(folds)]
    order = sorted(sveb, key=lambda name: (group.get(name, ""), -sveb[name], name))
    for position, name in enumerate(order):
        lap, seat = divmod(position, folds)
        dealt[seat if lap % 2 == 0 else folds - 1 - seat].append(name)
    return [sorted(fold) for fold in dealt]


def sveb_count(record: ReferenceRecord) -> int:
    """The record's reference SVEB beats, detected or not: what folds are dealt by."""
    return int(record.beats.label.sum()) + record.missed_sveb


def pooled_split(records: list[TrainingRecord], cache: Path | None) -> Split:
    """The 74 training patients (or any ``training_records``): validation is fold ``POOLED_VALIDATION_FOLD`` of
    ``record_folds`` by database, the rest trains; unlabelled beats include the false detections."""
    labelled = labelled_records(records, cache)
    database = {record.name: r.database for record, r in zip(labelled, records, strict=True)}
    folds = record_folds({record.name: sveb_count(record) for record in labelled}, POOLED_VALIDATION_FOLDS, database)
    held_out = folds[POOLED_VALIDATION_FOLD]
    train = BeatSet.concatenate([r.beats for r in labelled if r.name not in held_out])
    val = BeatSet.concatenate([r.beats for r in labelled if r.name in held_out])
    unlabelled = BeatSet.concatenate([r.beats for r in labelled] + [r.false_detections for r in labelled])
    databases = sorted(set(database.values()))
    description = {
        "source": " + ".join("mitdb DS1" if name == MITDB.name else name for name in databases),
        "databases": {name: {"records": sorted(n for n, d in database.items() if d == name),
                             "citation": {MITDB.name: MITDB.citation, SVDB.name: SVDB.citation}[name]}
                      for name in databases},
        "train_records": sorted(set(train.record)),
        "validation_records": held_out,
        "validation_chosen_by": f"fold {POOLED_VALIDATION_FOLD} of {POOLED_VALIDATION_FOLDS} record-wise folds "
                                "dealt by SVEB count, each database in turn (training.splits.record_folds); "
                                "early stopping and the threshold are chosen on it",
        "validation_apcs": {name: int(sum(r.beats.label.sum() for r in labelled
                                          if r.name in held_out and database[r.name] == name))
                            for name in databases},
    }
    return Split(train, val, unlabelled, description)


def dataset_split(paths: list[Path], val_records: list[str] | None) -> Split:
    """Exported datasets, split by ``split_by_record``."""
    beats = BeatSet.concatenate([load_dataset_file(path) for path in paths])
    train, val, chosen = split_by_record(beats, val_records)
    return Split(train, val, beats, {"source": [str(p) for p in paths], "train_records": sorted(set(train.record)),
                                     "validation_records": chosen})


def _held_out_phase(phase: np.ndarray, label: np.ndarray) -> int:
    """The block phase whose APC count is nearest a fair share of the record's (a 1/VALIDATION_BLOCK_EVERY
    share, and at least MIN_HELD_OUT_APCS where the record has them); the last phase on a tie."""
    apcs = np.bincount(phase[label.astype(bool)], minlength=VALIDATION_BLOCK_EVERY)
    target = max(apcs.sum() / VALIDATION_BLOCK_EVERY, min(MIN_HELD_OUT_APCS, apcs.max()))
    distance = np.abs(apcs - target)
    return int(np.flatnonzero(distance == distance.min())[-1])


def split_by_record(beats: BeatSet, val_records: list[str] | None,
                    fraction: float = 0.2) -> tuple[BeatSet, BeatSet, list[str]]:
    """(train, validation, what was held out): by whole records; with fewer than 3 records, by interleaved
    blocks of beats, never by beat."""
    names = sorted(set(beats.record))
    if val_records:
        chosen = list(val_records)
    elif len(names) >= 3:
        chosen = names[-max(1, round(fraction * len(names))) :]
    else:
        chosen = []
    if chosen:
        is_val = np.isin(beats.record, chosen)
        return beats.subset(np.flatnonzero(~is_val)), beats.subset(np.flatnonzero(is_val)), chosen
    # Beats are in time order within each record.
    is_val = np.zeros(len(beats), bool)
    for name in names:
        rows = np.flatnonzero(beats.record == name)
        # A short reviewed stretch still gets two validation blocks, of fewer beats.
        block_beats = max(1, min(VALIDATION_BLOCK_BEATS, len(rows) // (2 * VALIDATION_BLOCK_EVERY)))
        phase = np.arange(len(rows)) // block_beats % VALIDATION_BLOCK_EVERY
        is_val[rows] = phase == _held_out_phase(phase, beats.label[rows])
    description = f"every {VALIDATION_BLOCK_EVERY}th block of up to {VALIDATION_BLOCK_BEATS} consecutive beats"
    return beats.subset(np.flatnonzero(~is_val)), beats.subset(np.flatnonzero(is_val)), [description]
