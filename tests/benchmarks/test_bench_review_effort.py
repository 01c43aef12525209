"""The review-effort benchmark's Holter reader: it labels only the classes the proposal gets wrong, then accepts the
rest in one action; then it pages through the exceptions in the beat gallery, a page and each correction an action."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.bench_review_effort import Player, _gallery_exceptions, _label_and_split_classes
from danet_viewer.core.analysis import register_recording
from danet_viewer.core.beat_classes import GALLERY_PAGE_BEATS, beat_class_ids, update_beat_classes
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
    splits, _, accepted = _label_and_split_classes(player, recording)
    # One label per APC class (proposed N, as the model misses its beats), then one accept that clears the five
    # sinus beats the model called APC: every sinus beat. The ventricular class gets no proposal (its QRS is unlike
    # the record's), so its beats stay unreviewed rather than called normal.
    assert player.f1 == 1.0 and splits == 0
    assert player.actions == len(apc_classes) + 1 and accepted == np.sum(kinds == NORMAL)
    player.check()
    reviews = store.record("three").reviews
    assert {int(s) for s in store.record("three").beats[kinds == VENTRICULAR]}.isdisjoint(reviews)


def test_the_gallery_reader_pays_a_page_and_each_correction_until_the_goal(store_and_recording):
    store, _, _ = store_and_recording
    player = Player(store, "three", FS)  # no class labelled: the model's calls, every APC missed
    _gallery_exceptions(player)
    assert player.f1 >= 0.95 and player.pages >= 1
    # Each correction is one stored review, each page one action more, and a page holds at most 24 beats.
    assert player.actions == player.pages + len(store.record("three").reviews)
    assert player.pages * GALLERY_PAGE_BEATS >= player.shown


def test_the_gallery_reader_leaves_after_a_page_with_nothing_to_correct(store_and_recording):
    store, _, _ = store_and_recording
    player = Player(store, "three", FS)
    correct = np.flatnonzero(player.called == player.truth)
    player.review_pages(correct, patience=1)
    assert (player.actions, player.pages, player.shown) == (1, 1, GALLERY_PAGE_BEATS)
    player.review_pages(correct)  # without patience: every page, nothing to correct, the goal out of reach
    assert player.pages == 1 + -(-len(correct) // GALLERY_PAGE_BEATS) and player.f1 < 0.95
    assert not store.record("three").reviews
