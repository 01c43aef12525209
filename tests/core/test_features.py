"""The one path from a lead to model inputs: chunking changes nothing, features mean what they say."""

from __future__ import annotations

import numpy as np

from danet_viewer.core import features as features_module
from danet_viewer.core.beats import RR_FEATURES, detect_beats, rr_features
from danet_viewer.core.conditioning import WINDOW_BEFORE, WINDOW_LENGTH
from danet_viewer.core.features import (
    MODEL_RR_FEATURES,
    RHYTHM_FEATURES,
    model_rr_features,
    p_wave_fraction,
    prepare_beats,
    rhythm_regularity,
)
from tests.conftest import ArrayRecording, synthetic_ecg


def test_chunked_preparation_matches_one_pass(monkeypatch):
    signal, _ = synthetic_ecg(360, 180, premature={30, 90, 150})
    recording = ArrayRecording(signal, 360)
    beats = detect_beats(signal, 360)
    whole = prepare_beats(recording, 0, beats)
    monkeypatch.setattr(features_module, "PREPARE_CHUNK_S", 41.0)
    chunked = prepare_beats(recording, 0, beats)
    middle = slice(2, -2)  # the record's own edges differ only by where the filter starts
    np.testing.assert_allclose(chunked.windows[middle], whole.windows[middle], atol=2e-3)
    np.testing.assert_array_equal(chunked.regions[middle], whole.regions[middle])
    np.testing.assert_array_equal(chunked.rr, whole.rr)
    assert whole.windows.shape == (len(beats), WINDOW_LENGTH) and whole.rr.shape == (len(beats), len(RHYTHM_FEATURES))
    assert whole.p_found[middle].all()  # every synthetic beat has a P wave
    p_start, p_stop = whole.regions[10, 0]
    assert p_start < p_stop < WINDOW_BEFORE  # the P region lies before the beat's R peak


def test_model_rr_features_are_scale_free():
    seconds = {"pre_rr_s": 0.56, "post_rr_s": 1.0, "local_rr_s": 0.8, "sinus_rr_s": 0.8, "irregularity_s": 0.02,
               "prev_pre_rr_s": 0.8}
    context = {"recurrence": 0.1, "p_wave_fraction": 0.9, "rhythm_regularity": 0.8}
    rr = np.array([[{**seconds, **context}[name] for name in RHYTHM_FEATURES]], np.float32)
    values = model_rr_features(rr)
    assert values.shape == (1, len(MODEL_RR_FEATURES))
    np.testing.assert_allclose(values[0], [0.7, 1.25, 0.56, 0.7, 0.025, 0.8, 1.0, 0.1, 0.9], rtol=1e-5)
    slower = rr.copy()
    slower[:, [RHYTHM_FEATURES.index(name) for name in seconds]] *= 1.5  # the same rhythm, slower
    local = MODEL_RR_FEATURES.index("local_rr_s")  # the one absolute value
    np.testing.assert_allclose(np.delete(model_rr_features(slower), local, axis=1), np.delete(values, local, axis=1),
                               rtol=1e-5)
    # A model that names its inputs gets those, in its order: here the rhythm regularity first.
    chosen = model_rr_features(rr, ("rhythm_regularity", "pre/sinus"))
    np.testing.assert_allclose(chosen[0], [0.8, 0.7], rtol=1e-5)


def test_p_wave_fraction_is_low_where_p_waves_vanish():
    found = np.concatenate([np.ones(100, bool), np.zeros(100, bool)])
    fraction = p_wave_fraction(found)
    assert fraction[:80].min() == 1.0 and fraction[120:].max() == 0.0
    assert len(p_wave_fraction(np.array([], bool))) == 0


def _intervals(pre_rr_s: np.ndarray) -> np.ndarray:
    return rr_features(np.concatenate([[0.0], np.cumsum(pre_rr_s)]) * 250, 250)


def test_rhythm_regularity_tells_fibrillation_from_sinus_and_bigeminy():
    rng = np.random.default_rng(0)
    sinus = rhythm_regularity(_intervals(rng.normal(0.8, 0.01, 300)))
    bigeminy = rhythm_regularity(_intervals(np.tile([0.5, 1.0], 150) + rng.normal(0, 0.01, 300)))
    fibrillation = rhythm_regularity(_intervals(rng.uniform(0.4, 1.1, 300)))
    middle = slice(80, 220)
    assert sinus[middle].min() > 0.9
    assert 0.35 < bigeminy[middle].mean() < 0.65
    assert fibrillation[middle].max() < 0.3
    assert len(rhythm_regularity(np.empty((0, len(RR_FEATURES)), np.float32))) == 0
