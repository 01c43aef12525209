"""The model's conditioning: rate, band, window placement and scaling."""

from __future__ import annotations

import numpy as np

from danet_viewer.core.conditioning import (
    MODEL_FS,
    WINDOW_BEFORE,
    WINDOW_LENGTH,
    beat_windows,
    condition_signal,
    to_model_samples,
)
from tests.conftest import synthetic_ecg


def test_conditioning_resamples_and_removes_baseline():
    signal, beats = synthetic_ecg(360, 30)
    wander = 2.0 * np.sin(2 * np.pi * 0.1 * np.arange(len(signal)) / 360)
    conditioned = condition_signal(signal + wander, 360)
    assert conditioned.dtype == np.float32
    assert abs(len(conditioned) - 30 * MODEL_FS) <= 1
    clean = condition_signal(signal, 360)
    middle = slice(MODEL_FS * 5, -MODEL_FS * 5)  # away from the filter's edge transients
    assert np.abs(conditioned[middle] - clean[middle]).max() < 0.05  # 2 mV of 0.1 Hz wander is gone
    peaks = to_model_samples(beats, 360)
    assert np.all(conditioned[peaks] > 0.5)  # R peaks stay where the beats are


def test_windows_centre_the_beat_and_scale_robustly():
    signal, beats = synthetic_ecg(360, 30)
    conditioned = condition_signal(signal, 360)
    peaks = to_model_samples(beats, 360)
    windows = beat_windows(conditioned, peaks)
    assert windows.shape == (len(beats), WINDOW_LENGTH)
    # The window also holds the neighbouring beats; the beat itself sits at WINDOW_BEFORE as an R peak.
    peak_height = windows[:, WINDOW_BEFORE - 2 : WINDOW_BEFORE + 3].max(axis=1)
    assert np.all(peak_height >= 0.9 * windows.max(axis=1))
    scaled_again = beat_windows(conditioned * 7.5, peaks)  # gain does not matter
    np.testing.assert_allclose(windows, scaled_again, atol=1e-4)
    edge = beat_windows(conditioned, np.array([10]))  # padded at the start, no crash
    assert edge.shape == (1, WINDOW_LENGTH) and np.all(edge[0, :WINDOW_BEFORE - 10] == edge[0, 0])
