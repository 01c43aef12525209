"""Model folders: the card round-trips; pickles, tampered or foreign weights are refused, and nothing runs."""

from __future__ import annotations

import json
import pickle

import pytest
import torch

from danet_viewer.model.card import CARD_FILE, WEIGHTS_FILE, ModelCard, ModelError, load_model, read_card, save_model
from danet_viewer.model.network import DANet, NetworkConfig


def _saved(folder, variant="hard"):
    torch.manual_seed(0)
    model = DANet(NetworkConfig(variant=variant)).eval()
    card = save_model(model, ModelCard(name="t", network={}, threshold=0.42, metrics={"f1": 0.5}), folder)
    return model, card


def test_card_round_trips_and_weights_load(tmp_path):
    model, card = _saved(tmp_path)
    loaded, loaded_card = load_model(tmp_path)
    assert loaded_card == read_card(tmp_path) and loaded_card.threshold == 0.42
    assert loaded_card.weights_sha256 == card.weights_sha256 and loaded_card.network["variant"] == "hard"
    for key, value in model.state_dict().items():
        torch.testing.assert_close(loaded.state_dict()[key], value)


def test_tampered_weights_are_refused(tmp_path):
    _saved(tmp_path)
    weights = tmp_path / WEIGHTS_FILE
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="do not match the sha256"):
        load_model(tmp_path)


class _Planted:
    """Unpickling this writes a file: proof that a pickle ran."""

    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (open, (str(self.target), "w"))


def test_a_pickle_is_refused_and_never_runs(tmp_path):
    _saved(tmp_path)
    marker = tmp_path / "pwned"
    weights = tmp_path / WEIGHTS_FILE
    weights.write_bytes(pickle.dumps({"weights": _Planted(marker)}))
    # Even with the card's hash matching the planted file, loading refuses it and runs nothing.
    card = json.loads((tmp_path / CARD_FILE).read_text())
    from danet_viewer.model.card import sha256_file

    card["weights_sha256"] = sha256_file(weights)
    (tmp_path / CARD_FILE).write_text(json.dumps(card))
    with pytest.raises(ModelError, match="not a safetensors file"):
        load_model(tmp_path)
    assert not marker.exists()


def test_missing_or_foreign_cards(tmp_path):
    with pytest.raises(ModelError, match="not a model folder"):
        load_model(tmp_path)
    (tmp_path / CARD_FILE).write_text("{not json")
    with pytest.raises(ModelError, match="unreadable model card"):
        load_model(tmp_path)
