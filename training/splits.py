"""Training and validation beats: mitdb DS1's fixed split, and exported datasets split by record or by blocks.

Validation is by whole records; with fewer than three records, by interleaved blocks of
consecutive beats, never by shuffled beats of the same minute.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np

from training.data import BeatSet, label_record, load_dataset_file
from training.mitdb import DS1, VALIDATION, mitdb_dir

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
