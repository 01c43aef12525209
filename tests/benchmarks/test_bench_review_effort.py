"""The review-effort benchmark's Holter reader: with the classes' proposals it labels only the classes the proposal
gets wrong, then accepts the rest in one action; without them it labels class after class."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.bench_review_effort import Player, _label_and_split_classes
from danet_viewer.core.analysis import register_recording
from danet_viewer.core.beat_classes import beat_class_ids, update_beat_classes
from danet_viewer.core.beats import DETECTOR
from danet_viewer.core.store import AnnotationStore
from tests.conftest import ArrayRecording
from tests.core.test_beat_classes import APC, FS, NORMAL, VENTRICULAR, three_kinds


@pytest.fixture
def store_and_recording(tmp_path):
    """The three-kind record with its reference, a model that misses every APC and calls five sinus beats APC."""
    signal, beats, kinds = three_kinds(n_beats=150)
    recording = ArrayRecording(signal, FS, "three")
    sinus = np.flatnonzero(kinds == NORMAL)
    with AnnotationStore.open(tmp_path / "s.h5", "a") as store:
        register_recording(recording, store, "t")
        store.set_beats(recording.name, beats, detector=DETECTOR, lead="II", who="t")
        p_apc = np.full(len(beats), 0.1)
        p_apc[sinus[::len(sinus) // 5][:5]] = 0.9
        store.set_model_output(recording.name, beats, p_apc, threshold=0.5, model_id="m", who="t")
        store.set_reference(recording.name, beats, list(kinds), source="atr", who="t")
        update_beat_classes(store, recording, who="t")
        yield store, recording, kinds


def test_the_reader_labels_the_classes_the_proposal_gets_wrong_then_accepts_the_rest(store_and_recording):
    store, recording, kinds = store_and_recording
    ids = beat_class_ids(store, "three")
    apc_classes = set(ids[kinds == APC])
    assert apc_classes.isdisjoint(ids[kinds != APC])  # the classes keep the APCs apart
    player = Player(store, "three", FS)
    assert player.f1 == 0.0
    splits, _, accepted = _label_and_split_classes(player, recording, accept=True)
    # One label per APC class (proposed N, as the model misses its beats), then one accept that clears the five
    # sinus beats the model called APC: every sinus beat. The ventricular class gets no proposal (its QRS is unlike
    # the record's), so its beats stay unreviewed rather than called normal.
    assert player.f1 == 1.0 and splits == 0
    assert player.actions == len(apc_classes) + 1 and accepted == np.sum(kinds == NORMAL)
    player.check()
    reviews = store.record("three").reviews
    assert {int(s) for s in store.record("three").beats[kinds == VENTRICULAR]}.isdisjoint(reviews)


def test_without_proposals_the_reader_labels_class_after_class(store_and_recording):
    store, recording, kinds = store_and_recording
    player = Player(store, "three", FS)
    _label_and_split_classes(player, recording, accept=False)
    ids = beat_class_ids(store, "three")
    assert player.f1 >= 0.95 and player.actions > len(set(ids[kinds == APC])) + 1
    player.check()
