"""The continuous trace: stretches tile the beats, w(t) is each beat's own window, chunks join seamlessly.

A rule-only network (the hard WEM, no trained weights) gives a known, non-trivial w(t);
the stitching is tested against it, not any model's quality.
"""

from __future__ import annotations

import numpy as np
import pytest

from danet_viewer.core.conditioning import MODEL_FS, WINDOW_BEFORE, condition_signal, to_model_samples
from danet_viewer.core.features import prepare_beats
from danet_viewer.model import trace
from danet_viewer.model.inference import score_beats
from danet_viewer.model.network import DANet, NetworkConfig
from danet_viewer.model.trace import beat_stretches, enhanced_trace
from tests.conftest import ArrayRecording, synthetic_ecg


@pytest.fixture(scope="module")
def lead():
    signal, beats = synthetic_ecg(360, 40, premature={5, 12, 20})
    return ArrayRecording(signal, 360), beats


def test_stretches_tile_the_beats_around_their_peaks():
    peaks = np.array([100, 300, 450, 700])
    starts, stops = beat_stretches(peaks)
    assert np.array_equal(starts[1:], stops[:-1])  # no gap, no overlap
    assert np.all((starts < peaks) & (peaks < stops))
    assert starts[1] == 300 - round(0.65 * 200) and stops[1] == 300 + round(0.35 * 150)
    assert starts[0] == 100 - round(0.65 * 200) and stops[-1] == 700 + round(0.35 * 250)


def test_with_no_attention_the_enhanced_trace_is_the_conditioned_lead(lead):
    recording, beats = lead
    result = enhanced_trace(recording, 0, beats, DANet(NetworkConfig(variant="backbone")))
    assert result.fs == MODEL_FS and result.start_s == 0
    assert not result.weights.any()
    np.testing.assert_array_equal(result.enhanced, result.conditioned)
    whole = condition_signal(recording.read(0), recording.fs)
    assert len(result.conditioned) == len(whole)
    np.testing.assert_allclose(result.conditioned, whole, atol=1e-5)


def test_stitched_weights_are_each_beats_own_window_on_its_stretch(lead):
    recording, beats = lead
    network = DANet(NetworkConfig(variant="hard"))
    result = enhanced_trace(recording, 0, beats, network)
    windows = score_beats(network, prepare_beats(recording, 0, beats), attention=True).weights
    assert windows.any()  # the rule prior weights the P wave and the previous T
    peaks = to_model_samples(beats, recording.fs)
    starts, stops = beat_stretches(peaks)
    for i, (peak, start, stop) in enumerate(zip(peaks, starts, stops, strict=True)):
        own = windows[i, start - peak + WINDOW_BEFORE : stop - peak + WINDOW_BEFORE]
        np.testing.assert_array_equal(result.weights[start:stop], own)
    assert not result.weights[: starts[0]].any() and not result.weights[stops[-1] :].any()
    np.testing.assert_allclose(result.enhanced, result.conditioned * (1 + result.weights), rtol=1e-6)
    assert np.array_equal(result.beat_sample, beats)
    p, qrs, t = (result.regions_s[:, k].mean(axis=1) for k in range(3))
    assert np.all((p < beats / recording.fs) & (beats / recording.fs < t))
    assert np.allclose(qrs, beats / recording.fs, atol=0.05)


def test_chunks_and_ranges_join_into_the_same_trace(lead, monkeypatch):
    recording, beats = lead
    network = DANet(NetworkConfig(variant="hard"))
    whole = enhanced_trace(recording, 0, beats, network)
    monkeypatch.setattr(trace, "TRACE_CHUNK_S", 7.0)
    fractions = []
    chunked = enhanced_trace(recording, 0, beats, network, progress=fractions.append)
    assert len(fractions) == 6 and fractions[-1] == 1.0
    assert len(chunked.weights) == len(whole.weights)
    np.testing.assert_array_equal(chunked.weights, whole.weights)
    np.testing.assert_allclose(chunked.conditioned, whole.conditioned, atol=2e-3)
    assert np.array_equal(chunked.beat_sample, whole.beat_sample)
    part = enhanced_trace(recording, 0, beats, network, start_s=12.0, stop_s=20.0)
    offset = round(part.start_s * part.fs)
    assert 11.9 < part.start_s <= 12.0 and part.time_s[-1] >= 19.99
    np.testing.assert_array_equal(part.weights, whole.weights[offset : offset + len(part.weights)])
