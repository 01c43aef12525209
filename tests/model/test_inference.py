"""Batched scoring: the rhythm veto silences beats in an irregular rhythm and nothing else; record-relative
scores stand each beat against its own record."""

from __future__ import annotations

import numpy as np
import torch

from danet_viewer.core.conditioning import WINDOW_LENGTH
from danet_viewer.core.features import RHYTHM_FEATURES, RHYTHM_REGULARITY_COLUMN, BeatInputs
from danet_viewer.model.inference import relative_to_record, score_beats
from danet_viewer.model.network import DANet, NetworkConfig


def _inputs(n: int = 40) -> BeatInputs:
    rng = np.random.default_rng(0)
    rr = np.tile(np.array([0.8, 0.8, 0.8, 0.9, 0.02, 0.8, 0.9, 0.9, 0.9], np.float32), (n, 1))
    rr[:, 0] = rng.uniform(0.4, 1.0, n)  # some early beats, so p(APC) varies
    rr[: n // 2, RHYTHM_REGULARITY_COLUMN] = 0.15  # the first half in an AF-like rhythm
    regions = np.tile(np.array([[300, 340], [365, 390], [420, 480], [150, 220]], np.int16), (n, 1, 1))
    windows = rng.normal(size=(n, WINDOW_LENGTH)).astype(np.float32)
    assert rr.shape[1] == len(RHYTHM_FEATURES)
    return BeatInputs(windows, rr, regions, np.ones(n, bool))


def _model(rhythm_veto: float, record_relative: bool = False) -> DANet:
    torch.manual_seed(0)
    return DANet(NetworkConfig(variant="backbone", rhythm_veto=rhythm_veto, record_relative=record_relative))


def test_rhythm_veto_zeroes_irregular_beats_only():
    inputs = _inputs()
    free = score_beats(_model(0.0), inputs, batch_size=7).p_apc
    vetoed = score_beats(_model(0.3), inputs, batch_size=7).p_apc
    assert (free[:20] > 0).all() and (vetoed[:20] == 0).all()
    np.testing.assert_array_equal(vetoed[20:], free[20:])


def test_batching_does_not_change_scores():
    inputs = _inputs()
    np.testing.assert_allclose(score_beats(_model(0.0), inputs, batch_size=7).p_apc,
                               score_beats(_model(0.0), inputs, batch_size=64).p_apc, rtol=1e-5, atol=1e-6)  # fmt: skip


def _logit(p: np.ndarray) -> np.ndarray:
    return np.log(p / (1 - p))


def test_record_relative_scores_stand_out_from_their_own_record_only():
    # Record a: calm, one beat stands out. Record b: every beat high (as in atrial fibrillation).
    calm = np.array([0.02, 0.03, 0.02, 0.9, 0.025])
    flooded = np.array([0.9, 0.92, 0.88, 0.91, 0.9])
    relative = relative_to_record(np.concatenate([calm, flooded]), np.array(["a"] * 5 + ["b"] * 5))
    outlier, rest = relative[3], np.delete(relative, 3)
    assert outlier > 0.99 and rest.max() < 0.7  # the flooded record no longer outranks the APC
    np.testing.assert_allclose(_logit(relative[:5].astype(np.float64)), _logit(calm) - _logit(np.median(calm)),
                               rtol=1e-4)  # fmt: skip
    assert np.median(relative[5:]) == 0.5
    np.testing.assert_allclose(relative_to_record(calm), relative[:5])  # no records: all one record


def test_a_record_relative_model_scores_through_the_one_path():
    inputs, records = _inputs(), np.repeat(["x", "y"], 20)
    raw = score_beats(_model(0.0), inputs).p_apc
    relative = score_beats(_model(0.0, record_relative=True), inputs, records=records).p_apc
    np.testing.assert_allclose(relative, relative_to_record(raw, records), rtol=1e-5)
    # The veto still has the last word.
    vetoed = score_beats(_model(0.3, record_relative=True), inputs, records=records).p_apc
    assert (vetoed[:20] == 0).all() and np.allclose(vetoed[20:], relative[20:])
