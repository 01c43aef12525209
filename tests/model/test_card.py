"""Model folders: the card round-trips; pickles, tampered or foreign weights are refused, and nothing runs."""

from __future__ import annotations

import functools
import json
import os
import pickle
import re
import shutil
import tempfile
import tracemalloc
from collections import Counter
from pathlib import Path

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import danet_viewer
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


def test_a_record_rule_is_part_of_the_model_s_identity(tmp_path):
    """The same weights with a record rule make other calls, so a store analysed without it is analysed again."""
    _, card = _saved(tmp_path)
    _with_card(tmp_path, record_rule="premature-classes-af-veto")
    ruled = read_card(tmp_path)
    assert ruled.record_rule == "premature-classes-af-veto"
    assert ruled.model_id == f"{card.model_id}+premature-classes-af-veto" != card.model_id


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


def test_a_pickled_model_file_beside_the_card_is_never_loaded(tmp_path):
    _saved(tmp_path)
    marker = tmp_path / "pwned"
    (tmp_path / WEIGHTS_FILE).unlink()
    (tmp_path / "weights.pt").write_bytes(pickle.dumps({"state_dict": _Planted(marker)}))  # what torch.save writes
    with pytest.raises(ModelError, match="missing weights.safetensors"):
        load_model(tmp_path)
    assert not marker.exists()


def test_no_module_of_the_application_can_unpickle():
    """safetensors is the only way weights come in: no torch.load, pickle or np.load with pickles anywhere."""
    source = Path(danet_viewer.__file__).parent
    offenders = [f"{path.relative_to(source)}: {word}" for path in source.rglob("*.py")
                 for word in ("torch.load", "import pickle", "allow_pickle=True", "import dill", "joblib")
                 if word in path.read_text()]
    assert not offenders


def _with_card(folder, **changes):
    card = json.loads((folder / CARD_FILE).read_text())
    for key, value in changes.items():
        if key.startswith("network."):
            card["network"][key.removeprefix("network.")] = value
        else:
            card[key] = value
    (folder / CARD_FILE).write_text(json.dumps(card))


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"conditioning": "250 Hz"}, "conditioning is str"),
        ({"card_version": "1"}, "card_version is str"),
        ({"threshold": "0.5"}, "threshold is str"),
        ({"threshold": float("nan")}, "threshold nan is not a probability"),
        ({"threshold": 3}, "threshold 3 is not a probability"),
        ({"raw_threshold": -1}, "raw_threshold -1 is not a probability"),
        ({"network.record_relative": True}, "a record-relative model card needs its raw_threshold"),
        ({"record_rule": "every-early-beat"}, "record rule 'every-early-beat' is not one this version knows"),
        ({"record_rule": 1}, "record_rule is int"),
        ({"network": [1, 2]}, "network is list"),
        ({"network.channels": []}, "the card describes no valid network"),
        ({"network.variant": "huge"}, "the card describes no valid network"),
        ({"network.bogus": 1}, "the card describes no valid network"),
        ({"network.channels": [16, 32, 48, 65]}, "weights do not fit the network in the card"),
    ],
)
def test_a_card_of_the_wrong_shape_is_refused_with_a_model_error(tmp_path, changes, problem):
    _saved(tmp_path)
    _with_card(tmp_path, **changes)
    with pytest.raises(ModelError, match=re.escape(problem)):
        load_model(tmp_path)


def test_a_card_asking_for_a_terabyte_network_allocates_nothing(tmp_path):
    """The weights match their hash, so the card alone is trusted to build the network: it is built on torch's
    meta device and compared with the shapes the weights file declares before anything real is allocated."""
    _saved(tmp_path)
    _with_card(tmp_path, **{"network.channels": [1_000_000, 1_000_000, 1_000_000, 1_000_000]})
    tracemalloc.start()
    try:
        with pytest.raises(ModelError, match="weights do not fit the network in the card"):
            load_model(tmp_path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 50 * 2**20


JSON_VALUES = st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=5) | \
    st.lists(st.integers(-5, 100), max_size=5) | st.dictionaries(st.text(max_size=4), st.integers(), max_size=2)
CARD_KEYS = ["name", "network", "threshold", "raw_threshold", "lead", "conditioning", "training", "metrics",
             "code_version",
             "created_at", "weights_sha256", "format", "card_version", "bogus", "network.variant",
             "network.window_length", "network.rr_features", "network.channels", "network.dropout",
             "network.alpha", "network.alpha_max", "network.wem_channels", "network.rhythm_veto",
             "network.record_relative", "network.extra", "network.bogus"]
FUZZ_SCALE = int(os.environ.get("DANET_FUZZ_SCALE", "1"))
TRIED: Counter[str] = Counter()


@functools.cache
def _saved_model_folder() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="danet-fuzz-card-"))
    _saved(folder)
    return folder


@settings(max_examples=40 * FUZZ_SCALE, deadline=None)
@given(changes=st.dictionaries(st.sampled_from(CARD_KEYS), JSON_VALUES, min_size=1, max_size=3))
def test_fuzzed_cards_load_or_give_a_model_error(changes):
    TRIED["model card"] += 1
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        shutil.copytree(_saved_model_folder(), folder, dirs_exist_ok=True)
        if "network" in changes and not isinstance(changes["network"], dict):
            changes = {key: value for key, value in changes.items() if not key.startswith("network.")}
        _with_card(folder, **changes)
        try:
            model, card = load_model(folder)
        except ModelError as error:
            assert "\n" not in str(error)
            return
        assert 0.0 <= card.threshold <= 1.0 and not model.training
