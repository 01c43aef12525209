"""Beat detection, matching, RR features and the AAMI map."""

from __future__ import annotations

import numpy as np
import pytest

from danet_viewer.core import beats as beats_module
from danet_viewer.core.aami import aami_class, is_beat, is_sveb
from danet_viewer.core.beats import detect_beats, detect_recording_beats, match_beats, rr_features, score_detection
from tests.conftest import ArrayRecording, synthetic_ecg


def test_detector_finds_every_synthetic_beat():
    signal, truth = synthetic_ecg(360, 120, premature={5, 20, 33})
    detected = detect_beats(signal, 360)
    score = score_detection(truth, detected, 360)
    assert score.sensitivity == 1.0 and score.positive_predictivity == 1.0
    # sleepecg marks the R peak itself, within a few samples.
    ref, det = match_beats(truth, detected, 54)
    assert np.abs(detected[det] - truth[ref]).max() <= 5


def test_detector_bridges_dropouts_and_short_signals():
    signal, truth = synthetic_ecg(250, 60)
    signal[5000:5500] = np.nan
    detected = detect_beats(signal, 250)
    assert not np.any((detected >= 5000) & (detected < 5500))
    assert score_detection(truth, detected, 250).sensitivity > 0.97
    assert len(detect_beats(signal[:100], 250)) == 0
    assert len(detect_beats(np.full(5000, np.nan), 250)) == 0


def test_matching_is_one_to_one_and_nearest_first():
    reference = np.array([100, 200, 300, 1000])
    detected = np.array([105, 190, 198, 640])
    ref_index, det_index = match_beats(reference, detected, 20)
    assert list(zip(ref_index.tolist(), det_index.tolist())) == [(0, 0), (1, 2)]
    assert match_beats(reference, np.array([], np.int64), 20)[0].size == 0


def test_rr_features_use_local_median():
    samples = np.array([0, 360, 720, 1080, 1332, 1800])  # beat 4 premature (0.7 s)
    features = rr_features(samples, 360)
    np.testing.assert_allclose(features[4, :3], [0.7, 1.3, 1.0], atol=1e-6)
    np.testing.assert_allclose(features[0, :2], [1.0, 1.0])
    assert rr_features(np.array([5]), 360).shape == (1, 7)


def test_sinus_reference_resists_frequent_early_beats_and_irregularity_flags_af():
    rng = np.random.default_rng(0)
    # Mostly early beats (0.6 s) with a sinus interval (1.2 s) every third beat, as in mitdb 232.
    rr = np.tile([0.6, 0.6, 1.2], 40)
    features = rr_features(np.concatenate([[0], np.cumsum(rr)]) * 360, 360)
    assert features[60, 2] == pytest.approx(0.6, abs=1e-5)  # the median belongs to the early beats
    assert features[60, 3] == pytest.approx(1.2, abs=1e-5)  # the sinus reference does not
    regular = rr_features(np.cumsum(np.full(100, 0.8)) * 360, 360)[:, 4]
    fibrillation = rr_features(np.cumsum(rng.uniform(0.4, 1.0, 100)) * 360, 360)[:, 4]
    assert regular.max() < 0.01 < 0.1 < np.median(fibrillation)


def test_aami_mapping():
    assert [aami_class(s) for s in "NLRejAaJSVEF/fQ"] == list("NNNNNSSSSVVFQQQ")
    assert not is_beat("+") and not is_beat("~") and is_beat("A")
    assert is_sveb(["A", "N", "J", "V"]).tolist() == [True, False, True, False]
    with pytest.raises(ValueError):
        aami_class("+")


def test_chunked_detection_equals_whole_signal_detection(monkeypatch):
    signal, truth = synthetic_ecg(250, 300, premature={40, 90, 200})
    whole = detect_beats(signal, 250)
    monkeypatch.setattr(beats_module, "DETECTION_CHUNK_S", 47.3)  # boundaries at awkward places
    fractions = []
    chunked = detect_recording_beats(ArrayRecording(signal, 250), 0, progress=fractions.append)
    np.testing.assert_array_equal(chunked, whole)
    assert fractions[-1] == 1.0 and len(fractions) == 7
