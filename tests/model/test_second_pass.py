"""The record-level second pass: the underlying cycle is found by regularity (not the median, which a majority
of APCs makes theirs), the dominant template comes from the beats on that cycle, the pass loads only a sound
JSON file, and score_beats uses it whenever the model has one. A beat's kin are the beats of its own shape, found
block by block in a long record."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from danet_viewer.core.beats import rr_features
from danet_viewer.core.conditioning import WINDOW_LENGTH
from danet_viewer.core.features import BeatInputs, p_wave_fraction, rhythm_regularity
from danet_viewer.errors import DanetError
from danet_viewer.model.inference import operating_threshold, score_beats
from danet_viewer.model.network import DANet, NetworkConfig
from danet_viewer.model.second_pass import (
    KIN_BEATS,
    KIN_BLOCK_BEATS,
    SECOND_PASS_FEATURES,
    SecondPass,
    kin_rows,
    second_pass_features,
    underlying_cycle,
)

FS = 250


def _rhythm(intervals: list[float]) -> np.ndarray:
    samples = np.concatenate([[0], np.cumsum(np.round(np.array(intervals) * FS))]).astype(np.int64)
    rr = rr_features(samples, FS)
    p_found = np.ones(len(samples), bool)
    return np.column_stack([rr, p_wave_fraction(p_found), rhythm_regularity(rr)]).astype(np.float32)


def _inputs(rr: np.ndarray, seed: int = 0) -> BeatInputs:
    rng = np.random.default_rng(seed)
    n = len(rr)
    regions = np.tile(np.array([[300, 340], [365, 390], [420, 480], [150, 220]], np.int16), (n, 1, 1))
    return BeatInputs(rng.normal(size=(n, WINDOW_LENGTH)).astype(np.float32), rr, regions, np.ones(n, bool))


def test_the_underlying_cycle_is_the_sinus_one_where_apc_runs_are_the_majority():
    # Runs of an ectopic atrial rhythm at 0.6 s (three beats in five) between runs of sinus at 1.0 s:
    # the median RR is the APCs' own cycle; the longest regular cycle is the sinus one.
    intervals = ([1.0] * 8 + [0.6] * 12) * 40
    rr = _rhythm(intervals)
    assert np.median(rr[:, 0]) == pytest.approx(0.6, abs=0.01)
    assert np.allclose(underlying_cycle(rr), 1.0, atol=0.01)


def test_isolated_apcs_are_early_against_the_cycle_and_followed_by_a_pause():
    intervals = []
    for _ in range(100):
        intervals += [0.9, 0.9, 0.9, 0.55, 1.25]  # an APC 0.55 s after a sinus beat, then the pause
    rr = _rhythm(intervals)
    features = second_pass_features(_inputs(rr), np.full(len(rr), 0.1, np.float32))
    assert features.shape == (len(rr), len(SECOND_PASS_FEATURES))
    pre, post = (features[:, SECOND_PASS_FEATURES.index(name)] for name in ("log pre/cycle", "log post/cycle"))
    apcs = np.flatnonzero(np.isclose(rr[:, 0], 0.55, atol=0.01))
    sinus = np.flatnonzero(np.isclose(rr[:, 0], 0.9, atol=0.01) & np.isclose(rr[:, 1], 0.9, atol=0.01))
    assert np.allclose(pre[apcs], np.log(0.55 / 0.9), atol=0.02) and np.all(post[apcs] > np.log(1.3))
    assert np.allclose(pre[sinus], 0.0, atol=0.02)


def test_qrs_likeness_is_to_the_dominant_beats_template():
    rr = _rhythm([0.9, 0.9, 0.9, 0.55, 1.25] * 60)
    inputs = _inputs(rr)
    dominant = np.sin(np.linspace(0, 20, WINDOW_LENGTH)).astype(np.float32)
    other = np.cos(np.linspace(0, 33, WINDOW_LENGTH)).astype(np.float32)
    early = np.isclose(rr[:, 0], 0.55, atol=0.01)
    inputs.windows[:] = np.where(early[:, None], other, dominant)
    likeness = second_pass_features(inputs, np.full(len(rr), 0.1, np.float32))[
        :, SECOND_PASS_FEATURES.index("qrs likeness")]
    assert np.allclose(likeness[~early], 1.0, atol=1e-4) and np.all(likeness[early] < 0.9)


def _two_shapes(early: np.ndarray, seed: int = 0) -> np.ndarray:
    """Windows of one shape for the ``early`` beats and another for the rest, with a little noise."""
    rng = np.random.default_rng(seed)
    dominant = np.sin(np.linspace(0, 20, WINDOW_LENGTH))
    other = np.cos(np.linspace(0, 33, WINDOW_LENGTH))
    return (np.where(early[:, None], other, dominant) + rng.normal(0, 0.05, (len(early), WINDOW_LENGTH))).astype(
        np.float32)


def test_a_beats_kin_are_the_beats_of_its_own_shape():
    early = np.zeros(300, bool)
    early[::5] = True  # 60 early beats of another shape: more than KIN_BEATS of each kind
    kin = kin_rows(_two_shapes(early))
    assert kin.shape == (300, KIN_BEATS)
    assert np.all(early[kin] == early[:, None])
    assert not np.any(kin == np.arange(300)[:, None])  # a beat is not its own kin


def test_kin_features_carry_the_class_timing_to_every_member():
    # APCs of one focus (their own shape), most at 0.55 s but some at 0.8 s, which alone reads as barely early.
    intervals = [0.9, 0.9, 0.9, 0.55, 1.25] * 50 + [0.9, 0.9, 0.9, 0.8, 1.0] * 10
    rr = _rhythm(intervals)
    early = rr[:, 0] < 0.85
    inputs = _inputs(rr)
    inputs.windows[:] = _two_shapes(early)
    features = second_pass_features(inputs, np.full(len(rr), 0.1, np.float32))
    kin_pre = features[:, SECOND_PASS_FEATURES.index("kin log pre/local")]
    late_apcs = np.isclose(rr[:, 0], 0.8, atol=0.01)
    assert np.all(kin_pre[late_apcs] < np.log(0.75)) and np.all(kin_pre[~early] > np.log(0.95))


def test_kin_are_found_within_blocks_of_a_long_record_and_in_the_shortest_one():
    n = 2 * KIN_BLOCK_BEATS + 7
    early = np.zeros(n, bool)
    early[::4] = True
    kin = kin_rows(_two_shapes(early, seed=1))
    block = np.searchsorted(np.cumsum([len(b) for b in np.array_split(np.arange(n), 2)]), np.arange(n), "right")
    assert np.all(block[kin] == block[:, None])  # never across blocks
    assert np.all(early[kin] == early[:, None])
    assert kin_rows(_two_shapes(np.array([True]))).tolist() == [[0]]  # one beat: its own kin
    assert kin_rows(_two_shapes(np.array([True, False, True]))).shape == (3, 2)


def _pass(threshold: float = 0.5) -> SecondPass:
    n = len(SECOND_PASS_FEATURES)
    coefficients = np.zeros(n)
    coefficients[SECOND_PASS_FEATURES.index("log pre/cycle")] = -10.0
    return SecondPass(np.zeros(n), np.ones(n), coefficients, -1.0, threshold, "a test")


def test_a_pass_round_trips_through_json_and_refuses_a_bad_file(tmp_path):
    fitted = _pass(0.7)
    fitted.save(tmp_path)
    loaded = SecondPass.load(tmp_path)
    assert loaded.threshold == 0.7 and np.array_equal(loaded.coefficients, fitted.coefficients)
    assert SecondPass.load(tmp_path / "missing") is None
    (tmp_path / "second_pass.json").write_text('{"features": ["network logit"], "mean": [0]}')
    with pytest.raises(DanetError, match="second_pass.json: not a second pass"):
        SecondPass.load(tmp_path)


def test_score_beats_uses_the_models_second_pass_record_by_record():
    torch.manual_seed(0)
    network = DANet(NetworkConfig(variant="backbone", record_relative=True))
    rr = _rhythm([0.9, 0.9, 0.9, 0.55, 1.25] * 30)
    inputs = _inputs(rr)
    network.second_pass = _pass(0.6)
    p_apc = score_beats(network, inputs, records=np.array(["a"] * len(rr))).p_apc
    early = np.isclose(rr[:, 0], 0.55, atol=0.01)
    assert np.all(p_apc[early] > 0.9) and np.all(p_apc[~early] < 0.5)
    card = type("Card", (), {"threshold": 0.99})()
    assert operating_threshold(network, card) == 0.6
    network.second_pass = None
    assert operating_threshold(network, card) == 0.99
