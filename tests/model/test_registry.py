"""The model registry: add, activate atomically, roll back, delete; the bundled model is the default."""

from __future__ import annotations

import pytest
import torch

from danet_viewer.errors import DanetError
from danet_viewer.model.card import ModelCard, save_model
from danet_viewer.model.inference import default_model_folder
from danet_viewer.model.network import DANet, NetworkConfig
from danet_viewer.model.registry import BUNDLED, ModelRegistry


def _trained(folder, seed):
    torch.manual_seed(seed)
    save_model(DANet(NetworkConfig(variant="hard")), ModelCard(name=f"m{seed}", network={}, threshold=0.5), folder)
    return folder


def test_bundled_model_is_active_by_default(tmp_path):
    registry = ModelRegistry(tmp_path / "registry")
    assert registry.active_id() == BUNDLED and registry.active_folder() == default_model_folder()
    assert [m.model_id for m in registry.models()] == [BUNDLED]


def test_add_activate_rollback_delete(tmp_path):
    registry = ModelRegistry(tmp_path / "registry")
    first = registry.add(_trained(tmp_path / "a", 1))
    second = registry.add(_trained(tmp_path / "b", 2))
    assert registry.add(tmp_path / "a") == first  # adding the same model twice is a no-op
    registry.activate(first)
    registry.activate(second)
    assert registry.active_id() == second
    assert {m.model_id: m.active for m in registry.models()} == {BUNDLED: False, first: False, second: True}
    with pytest.raises(DanetError, match="is active"):
        registry.delete(second)
    assert registry.rollback() == first and registry.active_id() == first
    registry.delete(second)
    assert [m.model_id for m in registry.models()] == [BUNDLED, first]
    assert registry.rollback() == BUNDLED
    with pytest.raises(DanetError, match="no earlier model"):
        registry.rollback()


def test_rollback_never_lands_on_a_model_that_is_gone(tmp_path):
    registry = ModelRegistry(tmp_path / "registry")
    first = registry.add(_trained(tmp_path / "a", 1))
    second = registry.add(_trained(tmp_path / "b", 2))
    registry.activate(first)
    registry.activate(second)
    registry.activate(BUNDLED)  # history: bundled, first, second
    # What a delete killed between moving the folder and updating the history used to leave behind.
    (registry.models_dir / second).rename(registry.models_dir / f".{second}.deleting")
    assert registry.rollback() == first and registry.active_folder() == registry.models_dir / first
    registry.activate(BUNDLED)  # history: bundled, first
    registry.delete(first)  # the history forgets it before its folder goes
    assert registry.rollback() == BUNDLED
    with pytest.raises(DanetError, match="no earlier model"):
        registry.rollback()


def test_damaged_model_is_never_activated(tmp_path):
    registry = ModelRegistry(tmp_path / "registry")
    model_id = registry.add(_trained(tmp_path / "a", 1))
    weights = registry.folder(model_id) / "weights.safetensors"
    weights.write_bytes(weights.read_bytes()[:-10])
    with pytest.raises(DanetError, match="sha256"):
        registry.activate(model_id)
    assert registry.active_id() == BUNDLED
