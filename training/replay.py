"""Replay: a compact, fixed sample of a model's training beats, kept in its folder for fine-tuning.

Fine-tuning on one patient's reviewed beats alone teaches the model that patient's
rhythm as the rule for everyone. Adapted to mitdb 232, where four beats in five are
APCs, the default model found all of 232's APCs and called 16 769 false APCs across
the other DS2 records (DS2 F1 0.19 -> 0.18, 0.05 without 232). Every fine-tuning epoch
therefore takes in this whole sample beside the reviewed beats, so the patients the
model learned from stay in view. A retrained model
carries its base's sample on, so a chain of retrainings keeps the same anchor.

The file is plain arrays read without pickle; its SHA-256 sits in the model card and
is checked before use. Windows are stored as float16: about three significant
digits of the scaled windows (values near ±1) at half the size, and replay needs no more.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from danet_viewer.core.features import BeatInputs
from danet_viewer.errors import DanetError
from danet_viewer.model.card import REPLAY_FILE, ModelCard, read_card, sha256_file, write_card
from training.data import BeatSet, label_record
from training.mitdb import mitdb_dir

# Per training record: its SVEB beats up to a cap (mitdb 209 alone holds 383 of DS1's),
# and a uniform draw of its other beats, so every patient and rhythm is represented.
REPLAY_SVEB_PER_RECORD = 100
REPLAY_OTHER_PER_RECORD = 150


def sample_replay(train: BeatSet, seed: int = 0) -> BeatSet:
    """The replay sample of a training set: per record, capped SVEB beats and a uniform draw of the rest."""
    rng = np.random.default_rng(seed)
    rows = []
    for name in sorted(set(train.record)):
        in_record = train.record == name
        for label, cap in ((1, REPLAY_SVEB_PER_RECORD), (0, REPLAY_OTHER_PER_RECORD)):
            candidates = np.flatnonzero(in_record & (train.label == label))
            rows.append(rng.choice(candidates, min(cap, len(candidates)), replace=False))
    return train.subset(np.sort(np.concatenate(rows)))


def save_replay(beats: BeatSet, folder: Path) -> dict:
    """Write the sample into a model folder; returns the card entry that describes and pins it."""
    path = Path(folder) / REPLAY_FILE
    np.savez_compressed(
        path, windows=beats.inputs.windows.astype(np.float16), rr=beats.inputs.rr.astype(np.float32),
        regions=beats.inputs.regions.astype(np.int16), p_found=beats.inputs.p_found.astype(bool),
        label=beats.label.astype(np.int8), record=beats.record.astype(str),
    )
    return {"file": REPLAY_FILE, "sha256": sha256_file(path), "beats": len(beats), "apcs": int(beats.label.sum()),
            "records": sorted(set(beats.record))}


def load_replay(folder: Path, card: ModelCard) -> BeatSet | None:
    """The model's replay sample, hash-checked; None for a model that has none."""
    entry = card.training.get("replay")
    if not isinstance(entry, dict):
        return None
    path = Path(folder) / REPLAY_FILE
    if not path.is_file():
        raise DanetError(f"{path}: the model card names a replay sample that is missing")
    if sha256_file(path) != entry.get("sha256"):
        raise DanetError(f"{path}: the replay sample does not match the hash in its model card")
    try:
        with np.load(path, allow_pickle=False) as data:
            inputs = BeatInputs(data["windows"].astype(np.float32), data["rr"], data["regions"], data["p_found"])
            return BeatSet(inputs, data["label"], data["record"].astype(object))
    except (OSError, ValueError, KeyError) as error:
        raise DanetError(f"{path}: unreadable replay sample: {error}") from None


def carry_replay(base_folder: Path, base_card: ModelCard, out: Path) -> dict | None:
    """Copy the base model's replay sample into a retrained model's folder; returns its card entry."""
    entry = base_card.training.get("replay")
    if not isinstance(entry, dict):
        return None
    shutil.copy2(Path(base_folder) / REPLAY_FILE, Path(out) / REPLAY_FILE)
    return entry


def rebuild_replay(folder: Path, cache: Path) -> dict:
    """The sample ``fit`` writes, rebuilt for a model trained on mitdb DS1 before replay existed, from its
    card's records; returns its card entry."""
    card = read_card(folder)
    if card.training.get("source") != "mitdb DS1":
        raise DanetError(f"{folder}: not trained on mitdb DS1; its replay sample is written when it is trained")
    train = BeatSet.concatenate([label_record(mitdb_dir() / f"{name}.hea", cache).beats
                                 for name in card.training["train_records"]])
    card.training["replay"] = save_replay(sample_replay(train, card.training["config"]["seed"]), folder)
    write_card(card, folder)
    return card.training["replay"]
