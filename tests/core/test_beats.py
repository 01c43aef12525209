"""Beat detection, matching, RR features and the AAMI map."""

from __future__ import annotations

import numpy as np
import pytest

from danet_viewer.core import beats as beats_module
from danet_viewer.core.aami import aami_class, is_beat, is_sveb
from danet_viewer.core.beats import (
    detect_beats,
    detect_recording,
    detect_recording_beats,
    detect_signal,
    match_beats,
    match_reference,
    rr_features,
    score_detection,
)
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
    assert list(zip(ref_index.tolist(), det_index.tolist(), strict=True)) == [(0, 0), (1, 2)]
    assert match_beats(reference, np.array([], np.int64), 20)[0].size == 0


def test_reference_matching_allows_150_ms_at_the_record_rate():
    reference = np.array([1000, 2000, 3000])
    # 150 ms is 54 samples at 360 Hz and 37.5 at 250 Hz, which rounds to 38.
    for fs, tolerance in ((360, 54), (250, 38)):
        detected = reference + np.array([tolerance - 1, tolerance, tolerance + 1])
        ref_index, det_index = match_reference(reference, detected, fs)
        assert ref_index.tolist() == det_index.tolist() == [0, 1]


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
    signal[40 * 250 : 55 * 250] = 0.0  # a flat stretch across the chunk boundary at 47.3 s
    whole = detect_signal(signal, 250)
    monkeypatch.setattr(beats_module, "DETECTION_CHUNK_S", 47.3)  # boundaries at awkward places
    fractions = []
    chunked = detect_recording(ArrayRecording(signal, 250), 0, progress=fractions.append)
    np.testing.assert_array_equal(chunked.beats, whole.beats)
    np.testing.assert_array_equal(chunked.unanalysable, whole.unanalysable)
    assert len(chunked.unanalysable) == 1
    np.testing.assert_array_equal(detect_recording_beats(ArrayRecording(signal, 250), 0), whole.beats)
    assert fractions[-1] == 1.0 and len(fractions) == 7


FS = 360


@pytest.mark.parametrize("flat", [0.0, 1.7, np.nan, -2048 / 200, 1e6])
def test_an_all_flat_lead_is_one_unanalysable_stretch_with_no_beats(flat):
    # Zeros, a lead-off level, no samples at all, an ADC rail, and a constant in raw counts.
    signal = np.full(FS * 60, flat, np.float32)
    detection = detect_signal(signal, FS)
    assert not len(detection.beats)
    np.testing.assert_array_equal(detection.unanalysable, [[0, len(signal)]])
    assert not len(detect_beats(signal, FS))


def _lead_off(signal: np.ndarray, start: int, stop: int, kind: str) -> np.ndarray:
    signal = signal.copy()
    rng = np.random.default_rng(3)
    signal[start:stop] = {
        "zeros": 0.0,
        "nan": np.nan,
        "rail": signal.max() * 4,
        "flicker": 0.005 * rng.integers(-1, 1, stop - start, endpoint=True),  # +-1 LSB at 200 per mV
    }[kind]
    return signal


@pytest.mark.parametrize("kind", ["zeros", "nan", "rail", "flicker"])
@pytest.mark.parametrize("scale", [1.0, 1000.0])  # mV, uV: the same stretch whatever the units
def test_a_flat_or_lead_off_stretch_is_cut_out_and_beats_are_found_on_both_sides(kind, scale):
    signal, truth = synthetic_ecg(FS, 120)
    start, stop = 40 * FS, 70 * FS
    detection = detect_signal(_lead_off(signal, start, stop, kind) * scale, FS)
    assert len(detection.unanalysable) == 1
    found_start, found_stop = detection.unanalysable[0]
    # Within a beat of the lead-off's edges: the samples beside it may be baseline close to its level.
    assert abs(found_start - start) <= 0.5 * FS and abs(found_stop - stop) <= 0.5 * FS
    beats = detection.beats
    assert not np.any((beats >= found_start) & (beats < found_stop))
    for side in (truth < start - FS, truth >= stop + FS):
        assert score_detection(truth[side], beats, FS).sensitivity == 1.0


def test_a_pause_with_a_live_baseline_is_not_unanalysable():
    # A 3 s asystole still shows the baseline's noise: it is a finding to review, not a lead-off.
    signal, _ = synthetic_ecg(FS, 60, seed=4)
    rng = np.random.default_rng(5)
    signal[30 * FS : 33 * FS] = 0.02 * rng.standard_normal(3 * FS)
    assert not len(detect_signal(signal, FS).unanalysable)


def test_a_stretch_the_detector_refuses_is_unanalysable_not_an_error():
    # Flat but for its last samples: too short after its flat start for sleepecg's filter (a ValueError).
    signal = np.zeros(2 * FS)
    signal[-5:] = 1.0
    detection = detect_signal(signal, FS)
    assert not len(detection.beats)
    np.testing.assert_array_equal(detection.unanalysable, [[0, len(signal)]])


def test_a_long_record_with_an_all_flat_detection_chunk():
    piece, _ = synthetic_ecg(FS, 60)
    signal = np.tile(piece, 25)  # 25 min, detected in chunks of 10 min
    before = detect_recording_beats(ArrayRecording(signal, FS), 0)
    flat = slice(600 * FS, 1200 * FS)  # the second chunk, whole
    signal[flat] = 0.0
    detection = detect_recording(ArrayRecording(signal, FS), 0)
    np.testing.assert_array_equal(detection.unanalysable, [[flat.start, flat.stop]])
    assert detection.unanalysable_samples == 600 * FS
    beats = detection.beats
    assert not np.any((beats >= flat.start) & (beats < flat.stop))
    # Away from its edges, the rest of the record is detected as if the chunk were not flat.
    for away in (lambda b: b < flat.start - 2 * FS, lambda b: b >= flat.stop + 2 * FS):
        assert len(beats[away(beats)]) > 300
        np.testing.assert_array_equal(beats[away(beats)], before[away(before)])
