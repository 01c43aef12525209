"""The wave delineator against synthetic beats whose P, QRS and T positions are known exactly."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal as sps

from danet_viewer.core.conditioning import MODEL_FS, WINDOW_BEFORE, WINDOW_LENGTH, condition_signal, to_model_samples
from danet_viewer.core.delineation import REGIONS, Delineation, delineate, masks_from_intervals, region_intervals

RAW_FS = 500  # synthesised above the model rate, so conditioning resamples as it does for real records
# Each wave is a Gaussian: (centre relative to R in s, standard deviation in s, height in mV).
P_WAVE = (-0.17, 0.022, 0.15)
QRS_WAVES = ((-0.035, 0.008, -0.12), (0.0, 0.010, 1.3), (0.035, 0.009, -0.3))
T_WAVE = (0.28, 0.045, 0.35)
# A Gaussian's visible extent: 2.5 standard deviations, where it has fallen to 4 % of its height.
EXTENT_SD = 2.5
QRS_ON_S = QRS_WAVES[0][0] - EXTENT_SD * QRS_WAVES[0][1]
QRS_OFF_S = QRS_WAVES[-1][0] + EXTENT_SD * QRS_WAVES[-1][1]
# Tolerances in model samples (4 ms each).
QRS_TOLERANCE = round(0.020 * MODEL_FS)
P_TOLERANCE = round(0.020 * MODEL_FS)
T_TOLERANCE = round(0.040 * MODEL_FS)


def _gaussian(t: np.ndarray, centre: float, sd: float, height: float) -> np.ndarray:
    return height * np.exp(-0.5 * ((t - centre) / sd) ** 2)


def _record(rr_s: list[float], *, p_offsets_s: list[float] | None = None, noise_mv: float = 0.0,
            wander_mv: float = 0.0, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Conditioned synthetic lead, its R peaks and each beat's true P peak (model samples; -1 where no P).

    Beat i follows beat i-1 by ``rr_s[i-1]``; ``p_offsets_s[i]`` is where its P wave peaks relative to R
    (NaN: no P wave), by default P_WAVE's. Every beat has the same QRS and T.
    """
    r_times = 1.0 + np.concatenate([[0.0], np.cumsum(rr_s)])
    p_offsets = np.full(len(r_times), P_WAVE[0]) if p_offsets_s is None else np.asarray(p_offsets_s, float)
    t = np.arange(int((r_times[-1] + 1.5) * RAW_FS)) / RAW_FS
    ecg = np.zeros_like(t)
    for r_time, p_offset in zip(r_times, p_offsets, strict=True):
        near = np.abs(t - r_time) < 1.0
        for centre, sd, height in (*QRS_WAVES, T_WAVE):
            ecg[near] += _gaussian(t[near], r_time + centre, sd, height)
        if np.isfinite(p_offset):
            ecg[near] += _gaussian(t[near], r_time + p_offset, P_WAVE[1], P_WAVE[2])
    rng = np.random.default_rng(seed)
    ecg += noise_mv * rng.standard_normal(len(t)) + wander_mv * np.sin(2 * np.pi * 0.15 * t)
    r_peaks = to_model_samples(r_times * RAW_FS, RAW_FS)
    p_times = np.nan_to_num(r_times + p_offsets)
    p_peaks = np.where(np.isfinite(p_offsets), to_model_samples(p_times * RAW_FS, RAW_FS), -1)
    return condition_signal(ecg, RAW_FS), r_peaks, p_peaks


def _sinus(n_beats: int, rr_s: float = 0.8, seed: int = 0) -> list[float]:
    return list(rr_s * (1 + 0.03 * np.random.default_rng(seed).standard_normal(n_beats - 1)))


def _model_masks(d: Delineation, beat_index: np.ndarray, r_peaks: np.ndarray) -> np.ndarray:
    """The region masks the network weighs: the intervals features.py stores, expanded as inference.py does."""
    return masks_from_intervals(region_intervals(d, beat_index, r_peaks))


def _assert_ordered(d: Delineation, r_peaks: np.ndarray) -> None:
    assert np.all(d.p_on <= d.p_peak) and np.all(d.p_peak <= d.p_off) and np.all(d.p_off < d.qrs_on)
    assert np.all(d.qrs_on <= r_peaks) and np.all(r_peaks <= d.qrs_off) and np.all(d.qrs_off < d.t_on)
    assert np.all(d.t_on <= d.t_peak) and np.all(d.t_peak <= d.t_off)


def test_clean_sinus_beats_are_delineated_where_the_waves_are():
    x, r, p_true = _record(_sinus(30))
    d = delineate(x, r)
    assert len(d) == len(r) and d.p_on.dtype == np.int64 and d.p_found.dtype == bool
    _assert_ordered(d, r)
    np.testing.assert_array_less(np.abs(d.qrs_on - (r + QRS_ON_S * MODEL_FS)), QRS_TOLERANCE)
    np.testing.assert_array_less(np.abs(d.qrs_off - (r + QRS_OFF_S * MODEL_FS)), QRS_TOLERANCE)
    assert d.p_found.all() and d.t_found.all()
    np.testing.assert_array_less(np.abs(d.p_peak - p_true), P_TOLERANCE)
    np.testing.assert_array_less(np.abs(d.t_peak - (r + T_WAVE[0] * MODEL_FS)), T_TOLERANCE)
    # The P and T regions hold their peaks and stay inside the waves' visible extent.
    for (centre, sd, _), on, off in ((P_WAVE, d.p_on, d.p_off), (T_WAVE, d.t_on, d.t_off)):
        assert np.all(on >= r + (centre - EXTENT_SD * sd - 0.02) * MODEL_FS)
        assert np.all(off <= r + (centre + EXTENT_SD * sd + 0.02) * MODEL_FS)
        assert np.all(off - on >= 2 * sd * MODEL_FS)


def test_beats_without_p_wave_are_flagged_and_get_the_fallback_region_before_the_qrs():
    n = 30
    rr = _sinus(n)
    missing = np.arange(2, n, 3)
    p_offsets = np.full(n, P_WAVE[0])
    p_offsets[missing] = np.nan
    x, r, p_true = _record(rr, p_offsets_s=list(p_offsets))
    d = delineate(x, r)
    np.testing.assert_array_equal(np.flatnonzero(~d.p_found), missing)
    found = d.p_found
    np.testing.assert_array_less(np.abs(d.p_peak[found] - p_true[found]), P_TOLERANCE)
    # Fallback: 120 ms centred 160 ms before R, scaled by the preceding RR over 0.8 s, clear of the QRS.
    rr_prev = np.diff(r)[missing - 1] / MODEL_FS
    centre = r[missing] - np.round(0.16 * MODEL_FS * np.clip(rr_prev / 0.8, 0.6, 1.2))
    np.testing.assert_array_equal(d.p_peak[missing], centre)
    np.testing.assert_array_equal(d.p_off[missing] - d.p_on[missing], round(0.12 * MODEL_FS))
    assert np.all(d.p_off[missing] < d.qrs_on[missing])
    assert np.all(d.p_on[missing] > d.t_off[missing - 1] - 0.1 * MODEL_FS)  # where the P wave belongs


def test_noise_and_baseline_wander_leave_the_points_in_place():
    x, r, p_true = _record(_sinus(60, rr_s=0.75, seed=3), noise_mv=0.025, wander_mv=0.3, seed=3)
    d = delineate(x, r)
    _assert_ordered(d, r)
    assert np.mean(np.abs(d.qrs_on - (r + QRS_ON_S * MODEL_FS)) < QRS_TOLERANCE) >= 0.95
    assert np.mean(np.abs(d.qrs_off - (r + QRS_OFF_S * MODEL_FS)) < QRS_TOLERANCE) >= 0.95
    assert d.p_found.mean() >= 0.9
    assert np.mean(np.abs(d.p_peak - p_true) < P_TOLERANCE) >= 0.9
    assert np.mean(np.abs(d.t_peak - (r + T_WAVE[0] * MODEL_FS)) < T_TOLERANCE) >= 0.95


def test_fast_rate_and_pure_noise_without_atrial_activity():
    """At 150 bpm P merges into T; with no P at all (only noise before the QRS) few P waves may be claimed."""
    n = 40
    x, r, _ = _record(_sinus(n, rr_s=0.75, seed=5), p_offsets_s=[np.nan] * n, noise_mv=0.02, seed=5)
    d = delineate(x, r)
    _assert_ordered(d, r)
    assert d.p_found.mean() <= 0.2
    fast_x, fast_r, _ = _record(_sinus(n, rr_s=0.4, seed=6))
    fast = delineate(fast_x, fast_r)
    _assert_ordered(fast, fast_r)
    # The T search ends at 0.6·RR_next after R, before the next beat's P wave.
    np.testing.assert_array_less(fast.t_off[:-1] - fast_r[:-1], 0.6 * np.diff(fast_r) + 1)


def test_premature_beat_with_p_wave_on_the_previous_t_wave():
    """An APC 0.45 s after a sinus beat: its P' sits on the previous T wave (0.28 s after that R)."""
    rr = _sinus(20)
    early = 10
    rr[early - 1] = 0.45
    rr[early] = 1.1  # the pause after it
    x, r, p_true = _record(rr)
    d = delineate(x, r)
    _assert_ordered(d, r)
    assert abs(d.qrs_on[early] - (r[early] + QRS_ON_S * MODEL_FS)) < QRS_TOLERANCE
    assert abs(d.qrs_off[early] - (r[early] + QRS_OFF_S * MODEL_FS)) < QRS_TOLERANCE
    assert d.t_off[early - 1] < d.qrs_on[early]  # the previous T search stopped short of this beat
    # The hidden P' is covered by this beat's P region or by the previous T region, both in its window.
    masks = _model_masks(d, np.array([early]), r)[0]
    p_prime = p_true[early] - (r[early] - WINDOW_BEFORE)
    assert masks[REGIONS.index("p"), p_prime] == 1 or masks[REGIONS.index("prev_t"), p_prime] == 1
    assert d.p_on[early] > r[early - 1] and d.p_off[early] < d.qrs_on[early]
    # The beats around it are unaffected.
    others = np.delete(np.arange(len(r)), early)
    assert d.p_found[others].all()
    np.testing.assert_array_less(np.abs(d.p_peak[others] - p_true[others]), P_TOLERANCE)


def test_moderately_premature_beat_keeps_its_own_p_wave():
    rr = _sinus(20)
    rr[9] = 0.6
    x, r, p_true = _record(rr)
    d = delineate(x, r)
    assert d.p_found[10] and abs(d.p_peak[10] - p_true[10]) < P_TOLERANCE


def test_masks_are_exactly_the_delineated_regions():
    x, r, _ = _record(_sinus(12, rr_s=1.0))
    d = delineate(x, r)
    beats = np.arange(len(r))
    masks = _model_masks(d, beats, r)
    assert masks.shape == (len(r), len(REGIONS), WINDOW_LENGTH) and masks.dtype == np.float32
    assert REGIONS == ("p", "qrs", "t", "prev_t")
    assert set(np.unique(masks)) <= {0.0, 1.0}
    for i in beats:
        start = r[i] - WINDOW_BEFORE
        regions = [(d.p_on[i], d.p_off[i]), (d.qrs_on[i], d.qrs_off[i]), (d.t_on[i], d.t_off[i])]
        regions.append((d.t_on[i - 1], d.t_off[i - 1]) if i else (1, 0))
        for channel, (on, off) in enumerate(regions):
            expected = np.zeros(WINDOW_LENGTH, np.float32)
            expected[max(on - start, 0) : max(off - start + 1, 0)] = 1
            np.testing.assert_array_equal(masks[i, channel], expected)
    # prev_t of beat i is beat i-1's T mask moved by the RR interval into beat i's window.
    for i in beats[1:]:
        shift = r[i] - r[i - 1]
        moved = np.zeros(WINDOW_LENGTH, np.float32)
        moved[: WINDOW_LENGTH - shift] = masks[i - 1, REGIONS.index("t"), shift:]
        np.testing.assert_array_equal(masks[i, REGIONS.index("prev_t")], moved)
    # The R peak sits in the QRS channel at WINDOW_BEFORE; a subset of beats gives the same rows.
    assert np.all(masks[:, REGIONS.index("qrs"), WINDOW_BEFORE] == 1)
    np.testing.assert_array_equal(_model_masks(d, np.array([5, 2]), r), masks[[5, 2]])


def test_masks_clip_regions_at_the_window_edges():
    x, r, _ = _record(_sinus(6, rr_s=1.8))  # the previous T wave straddles the window's start, 1.5 s before R
    d = delineate(x, r)
    masks = _model_masks(d, np.arange(len(r)), r)
    window_start = r[1:] - WINDOW_BEFORE
    assert np.all(d.t_on[:-1] < window_start) and np.all(d.t_off[:-1] >= window_start)
    prev_t = masks[1:, REGIONS.index("prev_t")]
    assert np.all(prev_t[:, 0] == 1)
    np.testing.assert_array_equal(prev_t.sum(axis=1), d.t_off[:-1] - window_start + 1)
    with pytest.raises(ValueError):
        _model_masks(d, np.arange(3), r[:-1])


def test_other_rates_edges_and_bad_input():
    x, r, p_true = _record(_sinus(15))
    d = delineate(x, r)
    doubled = delineate(sps.resample_poly(x, 2, 1), 2 * r, fs=2 * MODEL_FS)  # same waves at 500 Hz
    assert doubled.p_found.all()
    for name in ("p_peak", "qrs_on", "qrs_off", "t_peak"):
        np.testing.assert_array_less(np.abs(getattr(doubled, name) / 2 - getattr(d, name)), 4)
    # Beats at the very edges of the signal still get every point, inside the signal.
    edges = delineate(x, np.array([3, r[5], len(x) - 2]))
    for name in ("p_on", "p_off", "qrs_on", "qrs_off", "t_on", "t_off"):
        assert np.all((getattr(edges, name) >= 0) & (getattr(edges, name) < len(x)))
    assert len(delineate(x, np.empty(0, np.int64))) == 0
    assert len(delineate(x, r[3:4])) == 1
    with pytest.raises(ValueError):
        delineate(x, r[::-1])
    with pytest.raises(ValueError):
        delineate(x, np.array([len(x)]))
    with pytest.raises(ValueError):
        d.p_on[0] = 0  # read-only
