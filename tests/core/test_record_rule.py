"""The model's record-level rule: premature beat classes, and the atrial fibrillation veto over every call."""

from __future__ import annotations

import numpy as np
import pytest

from danet_viewer.core.analysis import analyse_recording, apply_record_rule, register_recording
from danet_viewer.core.beats import DETECTOR
from danet_viewer.core.readers import open_recording
from danet_viewer.core.record_rule import (
    AF_WINDOW_INTERVALS,
    ATRIAL_COHERENCE,
    PREMATURE_CLASSES_AF_VETO,
    abrupt_beats,
    atrial_coherence,
    atrial_fibrillation_beats,
    premature_classes,
    record_rule_calls,
)
from danet_viewer.core.store import AnnotationStore
from danet_viewer.errors import DanetError
from tests.conftest import ArrayRecording
from tests.core.test_beat_classes import (  # noqa: F401 (classified: a fixture)
    AF,
    APC,
    FS,
    VENTRICULAR,
    bigeminy_and_fibrillation,
    classified,
    classify,
)


def beats_of(rr_s: np.ndarray, fs: float = 250.0) -> np.ndarray:
    return np.round(np.concatenate([[1.0], 1.0 + np.cumsum(rr_s)]) * fs).astype(np.int64)


def test_the_af_detector_flags_random_intervals_and_not_sinus_rhythm_or_sparse_ectopy():
    rng = np.random.default_rng(0)
    sinus = 0.8 * (1 + 0.02 * rng.standard_normal(600))
    assert not atrial_fibrillation_beats(beats_of(sinus), 250.0).any()
    fibrillation = rng.uniform(0.4, 1.2, 600)
    assert atrial_fibrillation_beats(beats_of(fibrillation), 250.0).mean() > 0.95
    # An APC and its pause every 20 beats: the 8 shortest and longest intervals a window drops are the ectopic ones.
    ectopy = sinus.copy()
    ectopy[10::20], ectopy[11::20] = 0.5, 1.1
    assert not atrial_fibrillation_beats(beats_of(ectopy), 250.0).any()


def test_a_record_shorter_than_one_window_has_no_af():
    rr = np.random.default_rng(1).uniform(0.4, 1.2, AF_WINDOW_INTERVALS - 1)
    assert not atrial_fibrillation_beats(beats_of(rr), 250.0).any()


def test_sinus_arrhythmia_shortens_the_cycle_gradually_where_an_apc_comes_abruptly():
    from danet_viewer.core.rr_rule import rr_rule_calls

    # Breathing swings the cycle between 1.1 and 0.7 s, 6 % a beat: the RR rule calls the fastest beats premature.
    swing = 0.9 + 0.2 * np.sin(np.arange(80) * 2 * np.pi / 16)
    beats = beats_of(swing)
    assert rr_rule_calls(beats).any() and not abrupt_beats(beats).any()
    apc = beats_of(np.concatenate([np.full(20, 0.9), [0.6, 1.2], np.full(20, 0.9)]))
    # The APC, and the beat after its pause, which the RR rule does not call.
    assert np.flatnonzero(abrupt_beats(apc)).tolist() == [21, 23]
    assert np.flatnonzero(abrupt_beats(apc) & rr_rule_calls(apc)).tolist() == [21]


def test_the_premature_class_is_called_and_neither_sinus_nor_ventricular_beats_are(classified):  # noqa: F811
    store, recording, kinds = classified
    classes = store.record(recording.name).classes
    premature = premature_classes(classes)
    in_premature = premature[classes.class_id]
    # Sinus beats may share the verdict (here the ventricular beats' pauses lift the sinus reference, the 95th
    # percentile of the intervals): the RR rule within the class is what tells them apart.
    assert in_premature[kinds == APC].all()
    assert not in_premature[kinds == VENTRICULAR].any(), "a ventricular class is never premature: its QRS is unlike"
    said = record_rule_calls(recording, 0, classes)
    assert said.added[kinds == APC].mean() >= 0.9
    assert not said.added[kinds != APC].any()
    assert not said.vetoed.any(), "no fibrillation here"


def test_atrial_fibrillation_is_vetoed_and_the_bigeminal_apcs_are_called(tmp_path):
    signal, beats, kinds = bigeminy_and_fibrillation(af_beats=400)
    recording = ArrayRecording(signal, FS, "bigeminy")
    with AnnotationStore.open(tmp_path / "s.h5", "a") as store:
        classes = classify(store, recording, beats)
    assert np.array_equal(classes.sample, beats)
    said = record_rule_calls(recording, 0, classes)
    assert said.added[kinds == APC].mean() >= 0.9
    assert not said.added[(kinds != APC) & (kinds != AF)].any()
    # Inside the fibrillation every call is overruled, the network's too, and the rule adds none; the verdicts are
    # on windows of AF_WINDOW_INTERVALS beats centred on each, so half a window at each edge may go either way.
    af = np.flatnonzero(kinds == AF)
    inside = af[AF_WINDOW_INTERVALS // 2 : -AF_WINDOW_INTERVALS // 2]
    assert said.vetoed[inside].all() and not said.added[inside].any()
    assert not said.vetoed[kinds != AF].any()
    coherence = atrial_coherence(recording, 0, beats)
    assert np.median(coherence[inside]) < ATRIAL_COHERENCE < np.median(coherence[kinds != AF])


def irregular_with_p_waves(seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Beats at random intervals (0.6-1.1 s), each with the same upright P wave: irregular by RR alone, as runs of
    APCs among sinus beats are, but not fibrillation. The signal and R peaks."""
    rng = np.random.default_rng(seed)
    peaks = 0.8 + np.cumsum(rng.uniform(0.6, 1.1, 400))
    t = np.arange(int((peaks[-1] + 1.0) * FS)) / FS
    signal = 0.02 * rng.standard_normal(len(t))
    for r in peaks:
        for offset, width, height in ((-0.17, 0.025, 0.15), (0.0, 0.012, 1.2), (0.03, 0.01, -0.25),
                                      (0.25, 0.05, 0.3)):
            signal += height * np.exp(-0.5 * ((t - r - offset) / width) ** 2)
    return signal.astype(np.float32), np.round(peaks * FS).astype(np.int64)


def test_random_intervals_with_repeating_p_waves_are_not_fibrillation():
    signal, beats = irregular_with_p_waves()
    assert atrial_fibrillation_beats(beats, FS).mean() > 0.9, "the intervals alone would say fibrillation"
    coherence = atrial_coherence(ArrayRecording(signal, FS, "irregular"), 0, beats)
    assert np.all(coherence >= ATRIAL_COHERENCE), "the P waves say it is not"


class QuietScorer:
    """A stand-in network that calls nothing (p(APC) 0.1 everywhere), with the record rule."""

    threshold = 0.5
    model_id = f"quiet+{PREMATURE_CLASSES_AF_VETO}"
    record_rule = PREMATURE_CLASSES_AF_VETO

    def score_recording(self, recording, lead, beats, progress=None) -> np.ndarray:
        return np.full(len(beats), 0.1, np.float32)


def test_annotate_stores_the_rule_s_calls_beside_the_network_s_and_they_survive_reopening(synthetic_record, tmp_path):
    header, beats, symbols = synthetic_record
    recording = open_recording(header)
    path = tmp_path / "s.h5"
    with AnnotationStore.open(path, "a") as store:
        result = analyse_recording(recording, store, who="t", model=QuietScorer())
        audit = [entry.after for entry in store.audit_log() if entry.action == "set_model_output"]
    with AnnotationStore.open(path) as store:
        model = store.record(recording.name).model
        table = store.beat_table(recording.name)
    assert model.record_rule == PREMATURE_CLASSES_AF_VETO and model.record_calls is not None
    assert result.apcs == int(model.record_calls.sum()) > 0, "the network called none: every call is the rule's"
    np.testing.assert_array_equal(table.model_apc[np.isin(table.sample, model.sample)], model.record_calls)
    assert np.all(table.p_apc[table.model_apc == 1] == pytest.approx(0.1)), "p(APC) stays the network's"
    # The calls fall on the premature beats of the reference.
    premature = beats[np.array(symbols) == "A"]
    called = table.sample[table.model_apc == 1]
    near = np.min(np.abs(called[:, None] - premature[None, :]), axis=1) <= 0.15 * 360
    assert near.mean() >= 0.9 and len(called) >= 0.8 * len(premature)
    assert audit[-1].endswith(f"{result.apcs} by its {PREMATURE_CLASSES_AF_VETO} rule, which overruled 0"), \
        "the audit log says who called them"


def test_a_store_without_record_calls_reads_the_network_s_calls_alone(synthetic_record, tmp_path):
    header, _, _ = synthetic_record
    recording = open_recording(header)
    with AnnotationStore.open(tmp_path / "s.h5", "a") as store:
        register_recording(recording, store, "t")
        store.set_beats(recording.name, np.array([400, 700, 1000]), detector=DETECTOR, lead="MLII", who="t")
        store.set_model_output(recording.name, np.array([400, 700, 1000]), np.array([0.9, 0.1, 0.2]),
                               threshold=0.5, model_id="m", who="t")
    with AnnotationStore.open(tmp_path / "s.h5") as store:
        model = store.record(recording.name).model
    assert model.record_calls is None and model.record_vetoes is None and model.record_rule == ""
    np.testing.assert_array_equal(model.apc, [1, 0, 0])


def test_the_rule_overrules_the_network_s_calls_in_fibrillation_and_the_store_keeps_that(tmp_path):
    signal, beats, kinds = bigeminy_and_fibrillation(af_beats=400)
    recording = ArrayRecording(signal, FS, "bigeminy")
    path = tmp_path / "s.h5"
    with AnnotationStore.open(path, "a") as store:
        classes = classify(store, recording, beats)
        store.set_model_output(recording.name, beats, np.full(len(beats), 0.9), threshold=0.5, model_id="m", who="t")
        apcs = apply_record_rule(store, recording, 0, classes, PREMATURE_CLASSES_AF_VETO, who="t")
        audit = [entry.after for entry in store.audit_log() if entry.action == "set_model_output"]
    with AnnotationStore.open(path) as store:
        model = store.record(recording.name).model
    vetoed = model.record_vetoes
    assert vetoed[kinds == AF].mean() > 0.6 and not vetoed[kinds != AF].any() and apcs == len(beats) - vetoed.sum()
    # The network called every beat: every call stands but those inside the fibrillation.
    np.testing.assert_array_equal(model.apc, ~vetoed)
    assert np.all(model.p_apc == pytest.approx(0.9)), "p(APC) stays the network's"
    assert audit[-1].endswith(f"which overruled {int(vetoed.sum())}")


def test_record_calls_must_be_one_per_beat_and_name_their_rule(synthetic_record, tmp_path):
    header, _, _ = synthetic_record
    recording = open_recording(header)
    samples = np.array([400, 700, 1000])
    with AnnotationStore.open(tmp_path / "s.h5", "a") as store:
        register_recording(recording, store, "t")
        store.set_beats(recording.name, samples, detector=DETECTOR, lead="MLII", who="t")
        for calls, vetoes, rule in ((np.array([True, False]), None, PREMATURE_CLASSES_AF_VETO),
                                    (None, np.array([True, False]), PREMATURE_CLASSES_AF_VETO),
                                    (np.array([True, False, False]), None, "")):
            with pytest.raises(DanetError, match="one per beat, with the rule's name"):
                store.set_model_output(recording.name, samples, np.zeros(3), threshold=0.5, model_id="m", who="t",
                                       record_calls=calls, record_vetoes=vetoes, record_rule=rule)
        with pytest.raises(DanetError, match="both called and overruled the same beat"):
            store.set_model_output(recording.name, samples, np.zeros(3), threshold=0.5, model_id="m", who="t",
                                   record_calls=np.array([True, False, False]),
                                   record_vetoes=np.array([True, False, False]), record_rule=PREMATURE_CLASSES_AF_VETO)


def test_an_unknown_record_rule_is_refused(classified):  # noqa: F811
    store, recording, _ = classified
    table = store.beat_table(recording.name)
    store.set_model_output(recording.name, table.sample, np.zeros(len(table.sample)), threshold=0.5, model_id="m",
                           who="t")
    with pytest.raises(DanetError, match="not one this version knows"):
        apply_record_rule(store, recording, 0, store.record(recording.name).classes, "every-beat", who="t")


def test_a_whole_record_render_makes_the_rule_s_calls_as_annotate_does(synthetic_record, tmp_path):
    from danet_viewer.core.analysis import analyse_stretch

    recording = open_recording(synthetic_record[0])
    with AnnotationStore.open(tmp_path / "s.h5", "a") as store:
        analyse_recording(recording, store, who="t", model=QuietScorer())
        annotated = store.record(recording.name).model
    rendered = analyse_stretch(recording, 10.0, 20.0, model=QuietScorer()).record.model
    assert rendered.record_rule == PREMATURE_CLASSES_AF_VETO
    np.testing.assert_array_equal(rendered.sample, annotated.sample)
    np.testing.assert_array_equal(rendered.record_calls, annotated.record_calls)
    np.testing.assert_array_equal(rendered.record_vetoes, annotated.record_vetoes)
