"""Beat classes: what they separate, how the store keeps them, and how they follow a reviewer's edits."""

from __future__ import annotations

from functools import partial

import h5py
import numpy as np
import pytest

from danet_viewer.core import beat_classes
from danet_viewer.core import features as features_module
from danet_viewer.core.analysis import register_recording
from danet_viewer.core.beat_classes import beat_class_ids, class_pages, label_class, update_beat_classes
from danet_viewer.core.beats import DETECTOR
from danet_viewer.core.features import prepare_beats
from danet_viewer.core.store import NOT_A_BEAT, AnnotationStore
from tests.conftest import ArrayRecording

FS = 360
NORMAL, APC, VENTRICULAR = "N", "A", "V"


def three_kinds(n_beats: int = 100, seed: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A lead of sinus beats, APCs (30 % early, inverted P) and ventricular beats (early, wide QRS, no P).

    The first ectopic beat comes once the underlying cycle is established: with no sinus beats
    before it, a beat has no cycle to be early against. Returns the signal, the R-peak samples and
    each beat's kind.
    """
    rng = np.random.default_rng(seed)
    kinds = np.full(n_beats, NORMAL, object)
    kinds[np.arange(40, n_beats, 7)] = APC
    kinds[np.arange(43, n_beats, 7)] = VENTRICULAR
    peaks, time = [], 0.8
    for kind in kinds:
        time += 0.85 * (0.7 if kind != NORMAL else 1.0) * (1 + 0.02 * rng.standard_normal())
        peaks.append(time)
        if kind == VENTRICULAR:
            time += 0.3  # the compensatory pause
    t = np.arange(int((peaks[-1] + 1.0) * FS)) / FS
    signal = 0.02 * rng.standard_normal(len(t))
    for r, kind in zip(peaks, kinds, strict=True):
        waves = {
            NORMAL: ((-0.17, 0.025, 0.15), (0.0, 0.012, 1.2), (0.03, 0.01, -0.25), (0.25, 0.05, 0.3)),
            APC: ((-0.13, 0.02, -0.15), (0.0, 0.012, 1.2), (0.03, 0.01, -0.25), (0.25, 0.05, 0.3)),
            VENTRICULAR: ((0.0, 0.04, -1.4), (0.08, 0.04, 0.6), (0.32, 0.07, 0.5)),
        }[kind]
        for offset, width, height in waves:
            signal += height * np.exp(-0.5 * ((t - r - offset) / width) ** 2)
    return signal.astype(np.float32), np.round(np.array(peaks) * FS).astype(np.int64), kinds


def classify(store: AnnotationStore, recording: ArrayRecording, beats: np.ndarray):
    """Put ``recording`` and its ``beats`` in ``store`` and group them into classes, which it returns."""
    register_recording(recording, store, "t")
    store.set_beats(recording.name, beats, detector=DETECTOR, lead="II", who="t")
    return update_beat_classes(store, recording, who="t")


@pytest.fixture
def classified(tmp_path):
    """A store holding the three-kind record, its beats and their classes; yields (store, recording, kinds)."""
    signal, beats, kinds = three_kinds()
    recording = ArrayRecording(signal, FS, "three")
    with AnnotationStore.open(tmp_path / "s.h5", "a") as store:
        classify(store, recording, beats)
        yield store, recording, kinds


def test_sinus_beats_apcs_and_ventricular_beats_never_share_a_class(classified):
    store, _, kinds = classified
    ids = beat_class_ids(store, "three")
    for class_id in np.unique(ids):
        assert len(set(kinds[ids == class_id])) == 1, f"class {class_id} mixes {set(kinds[ids == class_id])}"
    # The APCs are one class and the ventricular beats another; the sinus beats may spread over a few.
    apc_class, ventricular_class = (np.unique(ids[kinds == kind]) for kind in (APC, VENTRICULAR))
    assert len(apc_class) == len(ventricular_class) == 1
    classes = store.record("three").classes
    assert classes.templates.shape == (classes.n_classes, 2, classes.reference_beat.shape[1])
    assert np.array_equal(classes.counts, np.bincount(ids))
    # Class 0 is the largest: sinus beats, on time. APCs and ventricular beats come early.
    assert set(kinds[ids == 0]) == {NORMAL}
    coupling_median = classes.rr_quartiles[:, 2, 1]
    assert coupling_median[0] > 0.9
    assert coupling_median[apc_class[0]] < 0.8 and coupling_median[ventricular_class[0]] < 0.8


def test_classes_survive_reopening_the_store(classified, tmp_path):
    store, _, _ = classified
    before = store.record("three").classes
    store.close()
    with AnnotationStore.open(tmp_path / "s.h5", "r") as reopened:
        after = reopened.record("three").classes
        assert after.same_as(before)
        assert np.array_equal(beat_class_ids(reopened, "three"), beat_class_ids(store, "three"))


def test_a_store_without_classes_opens_and_gets_them_on_demand(classified, tmp_path):
    store, recording, _ = classified
    before = store.record("three").classes
    store.close()
    # A store as written before classes existed: no classes group (a newer version of them reads the same).
    with h5py.File(tmp_path / "s.h5", "a") as handle:
        del handle["records/three/classes"]
    with AnnotationStore.open(tmp_path / "s.h5", "a") as old:
        assert old.record("three").classes is None
        assert np.all(beat_class_ids(old, "three") == -1)
        classes = update_beat_classes(old, recording, who="t")
        assert classes.same_as(before)
    with AnnotationStore.open(tmp_path / "s.h5", "r") as upgraded:
        assert upgraded.record("three").classes.same_as(classes)


# 1: stores written before the model's logit joined the features (their centroids have one feature fewer).
@pytest.mark.parametrize("version", [1, 99])
def test_classes_of_another_schema_version_are_dropped_and_recomputed(classified, tmp_path, version):
    store, recording, _ = classified
    before = store.record("three").classes
    store.close()
    with h5py.File(tmp_path / "s.h5", "a") as handle:
        handle["records/three/classes"].attrs["classes_schema_version"] = version
    with AnnotationStore.open(tmp_path / "s.h5", "a") as reopened:
        assert reopened.record("three").classes is None
        assert update_beat_classes(reopened, recording, who="t").same_as(before)


def test_an_added_beat_joins_the_nearest_class_and_a_deleted_one_leaves(classified, monkeypatch):
    store, recording, kinds = classified
    ids = beat_class_ids(store, "three")
    beats = store.record("three").beats
    ventricular_class = ids[np.flatnonzero(kinds == VENTRICULAR)[0]]
    gone, readded = beats[np.flatnonzero(kinds == VENTRICULAR)[:2]]
    store.set_label("three", gone, NOT_A_BEAT, "dr")
    # Re-adding a beat: take one ventricular beat out of the classes, then add it back as a reviewer would.
    classes = store.record("three").classes
    keep = classes.sample != readded
    store.set_beat_classes(
        "three", classes.with_members(classes.sample[keep], classes.class_id[keep], classes.distance[keep]), who="t"
    )
    monkeypatch.setattr(beat_classes, "compute_beat_classes", lambda *args, **kwargs: pytest.fail("recomputed"))
    store.set_label("three", readded, VENTRICULAR, "dr")
    updated = update_beat_classes(store, recording, who="t")
    after = beat_class_ids(store, "three")
    table = store.beat_table("three")
    assert after[np.searchsorted(table.sample, gone)] == -1
    assert gone not in updated.sample
    assert after[np.searchsorted(table.sample, readded)] == ventricular_class
    assert updated.counts[ventricular_class] == np.count_nonzero(kinds == VENTRICULAR) - 1


def test_nothing_is_recomputed_or_written_while_the_beats_stay_the_same(classified, monkeypatch):
    store, recording, _ = classified
    before = store.record("three").classes
    audit = len(store.audit_log())
    monkeypatch.setattr(beat_classes, "compute_beat_classes", lambda *args, **kwargs: pytest.fail("recomputed"))
    store.set_label("three", int(store.record("three").beats[3]), APC, "dr")  # a label, not a beat change
    assert update_beat_classes(store, recording, who="t") is before
    assert len(store.audit_log()) == audit + 1  # the label only


def test_a_new_detection_recomputes_the_classes(classified):
    store, recording, _ = classified
    beats = store.record("three").beats
    store.set_beats("three", beats[:-5], detector=DETECTOR, lead="II", who="t")
    assert store.record("three").classes is None  # classes belong to the detection they were computed on
    classes = update_beat_classes(store, recording, who="t")
    assert len(classes.sample) == len(beats) - 5


def test_labelling_a_class_labels_its_unreviewed_beats_only(classified):
    store, _, kinds = classified
    ids = beat_class_ids(store, "three")
    apc_class = ids[np.flatnonzero(kinds == APC)[0]]
    first_apc = int(store.record("three").beats[np.flatnonzero(kinds == APC)[0]])
    store.set_label("three", first_apc, "a", "dr")
    labelled = label_class(store, "three", apc_class, APC, reviewer="dr")
    assert labelled == np.count_nonzero(kinds == APC) - 1
    reviews = store.record("three").reviews
    assert reviews[first_apc].symbol == "a"  # a reviewer's own label is never overwritten
    assert {reviews[int(s)].symbol for s in store.record("three").classes.members(apc_class)} == {APC, "a"}


def test_review_order_sums_the_model_s_doubt_and_the_classes(classified):
    store, _, _ = classified
    beats = store.record("three").beats
    classes = store.record("three").classes
    review_order = partial(beat_classes.review_order, prematurity_weight=0.0)
    # Without a model: every beat once, the farthest from its class's centroid first.
    order = review_order(store, "three")
    assert sorted(order) == list(range(len(beats)))
    assert np.all(np.diff(classes.distance[order]) <= 0)
    # The model doubts two beats far beyond any class distance: they come first, the surer doubt first.
    p_apc = np.full(len(beats), 0.5, np.float32)
    p_apc[[5, 9]] = [1 - 1e-5, 1 - 1e-6]
    store.set_model_output("three", beats, p_apc, threshold=0.5, model_id="m", who="t")
    order = review_order(store, "three")
    assert sorted(order) == list(range(len(beats)))
    assert list(order[:2]) == [9, 5]
    # Where the model is undecided (at its threshold), the classes' doubt alone orders the beats.
    rest = order[2:]
    assert np.all(np.diff(classes.distance[rest]) <= 0)
    store.label_beats("three", beats[[9]], "A", reviewer="dr", action="label")
    assert review_order(store, "three")[0] == 5  # labelled an APC, 9 agrees with the model now
    assert review_order(store, "three")[-1] == 9

def test_early_beats_not_labelled_apc_come_first_and_labelled_apcs_on_time_first(classified):
    store, _, kinds = classified
    beats = store.record("three").beats
    early = set(np.flatnonzero(kinds != NORMAL).tolist())  # APCs and ventricular beats come 30 % early
    # Prematurity far outweighing the classes' doubt: a Holter reader's sort by coupling interval.
    order = beat_classes.review_order(store, "three", prematurity_weight=1000.0)
    assert set(order[: len(early)].tolist()) == early
    # Labelled APCs, the early beats are no longer in doubt; the early part is now the last to check.
    store.label_beats("three", beats[sorted(early)], "A", reviewer="dr", action="label")
    order = beat_classes.review_order(store, "three", prematurity_weight=1000.0)
    assert set(order[-len(early) :].tolist()) == early


def test_class_pages_hold_every_classified_beat_once_the_most_doubtful_class_first(classified):
    store, _, kinds = classified
    ids = beat_class_ids(store, "three")
    apc_class = int(ids[np.flatnonzero(kinds == APC)[0]])
    # The model calls the APCs APC, every class is labelled N: the APC class is in doubt and comes first, the
    # sinus beats the model agrees with in none; within a class the most doubtful beat first.
    beats = store.record("three").beats
    p_apc = np.where(kinds == APC, 0.99, 0.01).astype(np.float32)
    store.set_model_output("three", beats, p_apc, threshold=0.5, model_id="m", who="t")
    for class_id in np.unique(ids):
        label_class(store, "three", int(class_id), NORMAL, reviewer="dr")
    pages = class_pages(store, "three")
    assert pages[0][0] == apc_class
    assert sorted(np.concatenate([rows for _, rows in pages]).tolist()) == list(range(len(ids)))
    doubt = beat_classes.beat_doubt(store, "three")
    for class_id, rows in pages:
        assert set(ids[rows]) == {class_id} and np.all(np.diff(doubt[rows]) <= 0)
    # A class labelled not-a-beat (its beats now deleted) still pages: a missed APC may hide in it.
    members = store.record("three").classes.members(apc_class)
    store.label_beats("three", members, NOT_A_BEAT, reviewer="dr", action=f"label_class {apc_class}")
    assert store.beat_table("three").deleted[ids == apc_class].all()
    assert sorted(dict(class_pages(store, "three"))[apc_class]) == sorted(dict(pages)[apc_class])


def test_gallery_sections_page_each_class_then_the_whole_record_by_doubt(classified):
    store, _, kinds = classified
    beats = store.record("three").beats
    store.set_model_output("three", beats, np.where(kinds == APC, 0.99, 0.01).astype(np.float32), threshold=0.5,
                           model_id="m", who="t")
    for class_id in np.unique(beat_class_ids(store, "three")):
        label_class(store, "three", int(class_id), NORMAL, reviewer="dr")
    sections = beat_classes.gallery_sections(store, "three")
    assert [(c, rows.tolist()) for c, rows in sections[:-1]] == [(c, rows.tolist()) for c, rows in
                                                                  class_pages(store, "three")]
    whole_id, whole = sections[-1]
    assert whole_id == -1 and whole.tolist() == beat_classes.review_order(store, "three").tolist()
    # The whole record's first page holds the APCs the class labels got wrong; its last only sinus beats.
    page = beat_classes.GALLERY_PAGE_BEATS
    assert set(np.flatnonzero(kinds == APC)) <= set(whole[:page].tolist())
    assert set(kinds[whole[-page:]]) == {NORMAL}


def test_two_modes_finds_the_early_group_of_a_bimodal_coupling_only():
    rng = np.random.default_rng(0)
    on_time = np.log(rng.normal(1.0, 0.03, 200))
    early = np.log(rng.normal(0.7, 0.03, 12))
    found = beat_classes.two_modes(np.concatenate([on_time, early]))
    assert found is not None and found.tolist() == [False] * 200 + [True] * 12
    assert beat_classes.two_modes(on_time) is None  # one group
    assert beat_classes.two_modes(np.zeros(50)) is None  # nothing to part


AF = "af"


def bigeminy_and_fibrillation(seed: int = 2, af_beats: int = 150) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sinus rhythm, a stretch of atrial bigeminy (APCs at 60 % of the cycle, inverted P), sinus again, then atrial
    fibrillation (``af_beats`` random intervals, no P wave, fibrillatory waves), then sinus: the signal, R peaks and
    kinds."""
    rng = np.random.default_rng(seed)
    kinds = [NORMAL] * 80 + [NORMAL, APC] * 30 + [NORMAL] * 60 + [AF] * af_beats + [NORMAL] * 60
    kinds = np.array(kinds, object)
    peaks, time = [], 0.8
    for i, kind in enumerate(kinds):
        if kind == AF:
            time += rng.uniform(0.45, 1.0)
        elif kind == APC:
            time += 0.8 * 0.6 * (1 + 0.02 * rng.standard_normal())
        else:
            after_apc = i > 0 and kinds[i - 1] == APC
            time += 0.8 * (1.15 if after_apc else 1.0) * (1 + 0.02 * rng.standard_normal())
        peaks.append(time)
    t = np.arange(int((peaks[-1] + 1.0) * FS)) / FS
    signal = 0.02 * rng.standard_normal(len(t))
    fibrillating = (t > peaks[kinds.tolist().index(AF)] - 1.0) & (t < peaks[len(kinds) - 61])
    signal += fibrillating * 0.05 * np.sin(2 * np.pi * 6.3 * t + rng.uniform(0, 0.3, len(t)))
    for r, kind in zip(peaks, kinds, strict=True):
        p_wave = {NORMAL: ((-0.17, 0.025, 0.15),), APC: ((-0.13, 0.02, -0.15),), AF: ()}[kind]
        for offset, width, height in (*p_wave, (0.0, 0.012, 1.2), (0.03, 0.01, -0.25), (0.25, 0.05, 0.3)):
            signal += height * np.exp(-0.5 * ((t - r - offset) / width) ** 2)
    return signal.astype(np.float32), np.round(np.array(peaks) * FS).astype(np.int64), kinds


def test_bigeminal_apcs_group_apart_from_sinus_beats_and_from_atrial_fibrillation(tmp_path):
    signal, beats, kinds = bigeminy_and_fibrillation()
    recording = ArrayRecording(signal, FS, "bigeminy")
    with AnnotationStore.open(tmp_path / "s.h5", "a") as store:
        classify(store, recording, beats)
        ids = beat_class_ids(store, recording.name)
    # Each class labelled by its majority, as a reviewer labels a class with one key.
    called_apc = np.zeros(len(kinds), bool)
    for class_id in np.unique(ids):
        members = kinds[ids == class_id]
        values, counts = np.unique(members, return_counts=True)
        called_apc[ids == class_id] = values[np.argmax(counts)] == APC
    is_apc = kinds == APC
    assert np.mean(called_apc[is_apc]) >= 0.9, "the bigeminal APCs are found"
    # Early beats in fibrillation are not APCs; at its onset a beat or two still has sinus rhythm around it.
    assert np.count_nonzero(called_apc[kinds == AF]) <= 3
    assert not called_apc[kinds == NORMAL].any()


def test_the_features_read_the_same_windows_as_the_model_s_preparation_chunk_by_chunk(monkeypatch):
    signal, beats, _ = bigeminy_and_fibrillation()
    recording = ArrayRecording(signal, FS, "bigeminy")
    whole = prepare_beats(recording, 0, beats)
    # Chunks of 60 s: the record's 5 min take several, each conditioned with its margins.
    monkeypatch.setattr(features_module, "PREPARE_CHUNK_S", 60.0)
    evidence = beat_classes.beat_evidence(recording, 0, beats)
    assert evidence.spans.shape == (len(beats), 2, beat_classes.FEATURE_SPAN.stop - beat_classes.FEATURE_SPAN.start)
    chunked = prepare_beats(recording, 0, beats)  # in the same 60 s chunks
    np.testing.assert_allclose(evidence.spans[:, 0], whole.windows[:, beat_classes.FEATURE_SPAN], atol=1e-4)
    np.testing.assert_array_equal(evidence.p_found, chunked.p_found)
    np.testing.assert_allclose(evidence.rr, whole.rr)
    assert np.all(np.isnan(evidence.p_logit))  # no model output given


def test_class_review_order_puts_first_the_class_whose_timing_the_model_contradicts(classified):
    store, _, kinds = classified
    beats = store.record("three").beats
    ids = beat_class_ids(store, "three")
    apc_class = ids[np.flatnonzero(kinds == APC)[0]]
    # The model calls nothing an APC: the early, APC-like class is where it disagrees most.
    store.set_model_output("three", beats, np.full(len(beats), 0.1, np.float32), threshold=0.5, model_id="m", who="t")
    order = beat_classes.class_review_order(store, "three")
    assert sorted(order) == list(range(store.record("three").classes.n_classes))
    assert order[0] in set(ids[kinds != NORMAL])
    label_class(store, "three", apc_class, APC, reviewer="dr")
    assert beat_classes.class_review_order(store, "three")[-1] == apc_class  # reviewed classes come last


def test_a_class_proposes_the_model_s_call_on_most_of_the_beats_it_scored():
    from danet_viewer.core.beat_classes import class_proposals, proposal_plan

    class_ids = np.array([0, 0, 0, 1, 1, 1, 1, 2, -1])
    model_apc = np.array([1, 1, 0, 1, 0, 0, -1, -1, 1])  # -1: not scored
    # Class 0: two of three called APC; class 1: one of three scored; class 2: none scored, so no proposal.
    supraventricular = np.zeros(3, bool)
    assert list(class_proposals(class_ids, model_apc, supraventricular)) == ["A", "N", ""]
    reviewed = np.array([False, True, False, False, False, False, False, False, False])
    plan = proposal_plan(class_ids, model_apc, reviewed, supraventricular)
    assert list(plan.rows) == [0, 2, 3, 4, 5, 6] and list(plan.symbols) == ["A", "A", "N", "N", "N", "N"]
    assert plan.classes == (0, 1) and plan.text() == "1 as N (4 beats), 1 as A (2 beats)"
    # A class whose QRS is unlike the record's beat gets no proposal: the model's "not APC" is no "N" for it.
    wide_class_1 = np.array([False, True, False])
    assert list(class_proposals(class_ids, model_apc, wide_class_1)) == ["A", "", ""]
    assert list(proposal_plan(class_ids, model_apc, reviewed, wide_class_1).rows) == [0, 2]


def test_classes_of_ventricular_beats_are_told_by_their_qrs_and_get_no_proposal(classified):
    from danet_viewer.core.beat_classes import class_proposals, qrs_unlike_reference

    store, _, kinds = classified
    beats = store.record("three").beats
    store.set_model_output("three", beats, np.full(len(beats), 0.1, np.float32), threshold=0.5, model_id="m", who="t")
    ids, classes = beat_class_ids(store, "three"), store.record("three").classes
    kind_of_class = [kinds[ids == c][0] for c in range(classes.n_classes)]  # classes never mix kinds (test above)
    unlike = qrs_unlike_reference(classes)
    assert [bool(u) for u in unlike] == [kind == VENTRICULAR for kind in kind_of_class]
    # The model calls no beat an APC: every class is proposed N but the ventricular one, which gets no proposal.
    proposals = class_proposals(ids, store.beat_table("three").model_apc, unlike)
    assert [p for p in proposals] == ["" if kind == VENTRICULAR else "N" for kind in kind_of_class]


def test_accepting_the_proposals_in_the_store_is_one_journal_line_that_keeps_reviewers_labels(classified):
    from danet_viewer.core.beat_classes import accept_proposals

    store, _, kinds = classified
    beats = store.record("three").beats
    store.set_model_output("three", beats, np.where(kinds == APC, 0.9, 0.1), threshold=0.5, model_id="m", who="t")
    store.set_label("three", int(beats[0]), VENTRICULAR, "dr")
    lines = len(store.journal_path.read_bytes().splitlines())
    plan = accept_proposals(store, "three", reviewer="dr accept")
    assert len(store.journal_path.read_bytes().splitlines()) == lines + 1
    # Every beat but the reviewer's and the ventricular class's (no proposal: the model says only "not APC").
    accepted = beats[1:][kinds[1:] != VENTRICULAR]
    assert len(plan.rows) == len(accepted) > 0
    reviews = store.record("three").reviews
    assert reviews[int(beats[0])].symbol == VENTRICULAR  # a reviewer's own label is never overwritten
    assert {int(b) for b in beats[1:][kinds[1:] == VENTRICULAR]}.isdisjoint(reviews)  # left for the reader
    assert {reviews[int(b)].reviewer for b in accepted} == {"dr accept"}
    # The classes never mix APCs with other beats, so each beat gets the model's own call.
    assert [reviews[int(b)].symbol for b in accepted] == ["A" if kind == APC else "N"
                                                          for kind in kinds[1:][kinds[1:] != VENTRICULAR]]
    assert store.audit_log()[-1].action == f"accept_proposals {len(plan.classes)} classes, {len(accepted)} beats"
