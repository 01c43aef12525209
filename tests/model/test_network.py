"""DANet modules: shapes, determinism, the WEM's identity at w = 0, the hard WEM on its regions."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from danet_viewer.core.conditioning import WINDOW_LENGTH
from danet_viewer.core.delineation import REGIONS, masks_from_intervals
from danet_viewer.model.network import DANet, HardWEM, NetworkConfig, SoftWEM

BATCH = 4


def _batch(seed: int = 0):
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(BATCH, 1, WINDOW_LENGTH, generator=generator)
    rr = torch.rand(BATCH, len(NetworkConfig().rr_features), generator=generator)
    intervals = np.array([[[300, 340], [365, 390], [420, 480], [150, 220]]] * BATCH)
    return x, rr, torch.from_numpy(masks_from_intervals(intervals))


@pytest.mark.parametrize("variant", ["backbone", "hard", "soft"])
def test_shapes_and_determinism(variant):
    torch.manual_seed(0)
    model = DANet(NetworkConfig(variant=variant)).eval()
    logits, weights, enhanced = model(*_batch())
    assert logits.shape == (BATCH,) and weights.shape == enhanced.shape == (BATCH, 1, WINDOW_LENGTH)
    torch.manual_seed(0)
    again = DANet(NetworkConfig(variant=variant)).eval()
    torch.testing.assert_close(again(*_batch())[0], logits)


def test_zero_weights_leave_the_signal_unchanged():
    x, rr, masks = _batch()
    model = DANet(NetworkConfig(variant="hard", alpha=(0.0, 0.0, 0.0, 0.0))).eval()
    _, weights, enhanced = model(x, rr, masks)
    assert torch.all(weights == 0)
    torch.testing.assert_close(enhanced, x)
    backbone = DANet(NetworkConfig(variant="backbone")).eval()
    torch.testing.assert_close(backbone(x, rr, masks)[2], x)


def test_hard_wem_weights_sit_on_the_delineated_regions():
    x, _, masks = _batch()
    config = NetworkConfig(variant="hard", alpha=(1.0, 0.0, 0.25, 0.5))
    weights = HardWEM(config)(x, masks)[0, 0]
    assert torch.all(weights[300:340] == 1.0) and torch.all(weights[150:220] == 0.5)
    assert torch.all(weights[420:480] == 0.25) and torch.all(weights[365:390] == 0)
    outside = torch.ones(WINDOW_LENGTH, dtype=torch.bool)
    for start, stop in ((300, 340), (150, 220), (420, 480)):
        outside[start:stop] = False
    assert torch.all(weights[outside] == 0)


def test_soft_wem_stays_in_range_and_predicts_regions():
    config = NetworkConfig(variant="soft", alpha_max=1.5)
    wem = SoftWEM(config).eval()
    x, _, _ = _batch()
    weights = wem(x)
    assert weights.min() >= 0 and weights.max() <= 1.5
    assert wem.region_logits(x).shape == (BATCH, len(REGIONS), WINDOW_LENGTH)


def test_config_round_trips():
    config = NetworkConfig(variant="soft", alpha=(2.0, 0.0, 0.1, 1.0), channels=(8, 16, 16, 32))
    assert NetworkConfig.from_dict(config.to_dict()) == config


def test_rhythm_inputs_are_named_and_old_cards_still_load():
    config = NetworkConfig(variant="backbone", rr_features=("pre/sinus", "rhythm_regularity"))
    assert DANet(config).classifier.rr[0].in_features == 2
    assert NetworkConfig.from_dict(config.to_dict()) == config
    legacy = {key: value for key, value in NetworkConfig().to_dict().items() if key != "rr_features"}
    assert NetworkConfig.from_dict({**legacy, "n_rr_features": 9}) == NetworkConfig()
    with pytest.raises(ValueError, match="unknown rhythm input mean_rr"):
        NetworkConfig(rr_features=("pre/local", "mean_rr"))
