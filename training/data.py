"""Training data: labelled beats from MIT-BIH, from annotation stores and exported datasets.

Every source ends as a ``BeatSet``: the model inputs of ``danet_viewer.core.features``
(one path for training and inference), labels (1 SVEB, 0 other beat) and a record
id per beat, so splits are always made by record, never by beat.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from danet_viewer.core.aami import is_beat, is_sveb
from danet_viewer.core.beats import detect_recording_beats, match_reference
from danet_viewer.core.dataset import read_labelled_beats
from danet_viewer.core.features import BeatInputs, prepare_beats, rhythm_features
from danet_viewer.core.readers import open_recording, read_annotations

# The cache holds what is slow to compute (windows, delineation); the rhythm features are derived
# from its beats on every load, so changing them needs no new preparation.
CACHE_VERSION = 6


@dataclass
class BeatSet:
    """Beats ready for the network, with labels and the record each came from."""

    inputs: BeatInputs
    label: np.ndarray  # int8: 1 SVEB, 0 any other beat
    record: np.ndarray  # object (str)

    def __len__(self) -> int:
        return len(self.label)

    def subset(self, rows: np.ndarray) -> BeatSet:
        return BeatSet(self.inputs.subset(rows), self.label[rows], self.record[rows])

    @classmethod
    def concatenate(cls, parts: list[BeatSet]) -> BeatSet:
        inputs = BeatInputs(*(np.concatenate([getattr(p.inputs, f) for p in parts])
                              for f in ("windows", "rr", "regions", "p_found")))
        return cls(inputs, np.concatenate([p.label for p in parts]), np.concatenate([p.record for p in parts]))


@dataclass
class ReferenceRecord:
    """One record's detected beats labelled from its reference annotations (the evaluation unit)."""

    name: str
    fs: float
    duration_s: float
    beats: BeatSet  # detected beats that match a reference beat
    beat_sample: np.ndarray
    false_detections: BeatSet  # detections with no reference beat (label 0): false alarms if called APC
    false_sample: np.ndarray
    missed_sveb_sample: np.ndarray  # reference SVEB beats no detection matched: false negatives
    missed_other: int

    @property
    def missed_sveb(self) -> int:
        return len(self.missed_sveb_sample)


def _beat_set(inputs: BeatInputs, rows: np.ndarray, label: np.ndarray, name: str) -> BeatSet:
    return BeatSet(inputs.subset(rows), label.astype(np.int8), np.full(len(rows), name, object))


def label_record(header: Path, cache: Path | None = None) -> ReferenceRecord:
    """Detect beats on the analysis lead, match them to the .atr reference within 150 ms, prepare inputs."""
    recording = open_recording(header)
    cached = cache / f"{recording.name}.v{CACHE_VERSION}.npz" if cache else None
    if cached is not None and cached.exists():
        data = np.load(cached, allow_pickle=False)
        beats, reference, symbols = data["beats"], data["reference"], data["symbols"].astype(object)
        rhythm = rhythm_features(beats, recording.fs, data["p_found"])
        inputs = BeatInputs(data["windows"], rhythm, data["regions"], data["p_found"])
    else:
        lead = recording.preferred_lead()
        beats = detect_recording_beats(recording, lead)
        annotations = read_annotations(recording, "atr")
        keep = np.array([is_beat(s) for s in annotations.symbol], bool)
        reference, symbols = annotations.sample[keep], annotations.symbol[keep]
        inputs = prepare_beats(recording, lead, beats)
        if cached is not None:
            cached.parent.mkdir(parents=True, exist_ok=True)
            np.savez(cached, windows=inputs.windows, regions=inputs.regions, p_found=inputs.p_found,
                     beats=beats, reference=reference, symbols=symbols.astype(str))
    ref_index, det_index = match_reference(reference, beats, recording.fs)
    sveb = is_sveb(symbols)
    unmatched_ref = np.setdiff1d(np.arange(len(reference)), ref_index)
    unmatched_det = np.setdiff1d(np.arange(len(beats)), det_index)
    return ReferenceRecord(
        name=recording.name,
        fs=recording.fs,
        duration_s=recording.duration_s,
        beats=_beat_set(inputs, det_index, sveb[ref_index], recording.name),
        beat_sample=beats[det_index],
        false_detections=_beat_set(inputs, unmatched_det, np.zeros(len(unmatched_det)), recording.name),
        false_sample=beats[unmatched_det],
        missed_sveb_sample=reference[unmatched_ref][sveb[unmatched_ref]],
        missed_other=int((~sveb[unmatched_ref]).sum()),
    )


def load_dataset_file(path: Path) -> BeatSet:
    """Labelled beats of an exported HDF5 dataset (``danet-viewer export --format hdf5``)."""
    beats = read_labelled_beats(path)
    return BeatSet(beats.inputs, beats.label, beats.record)
