"""Batched scoring: the rhythm veto silences beats in an irregular rhythm and nothing else."""

from __future__ import annotations

import numpy as np
import torch

from danet_viewer.core.conditioning import WINDOW_LENGTH
from danet_viewer.core.features import RHYTHM_FEATURES, RHYTHM_REGULARITY_COLUMN, BeatInputs
from danet_viewer.model.inference import score_beats
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


def _model(rhythm_veto: float) -> DANet:
    torch.manual_seed(0)
    return DANet(NetworkConfig(variant="backbone", rhythm_veto=rhythm_veto))


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
