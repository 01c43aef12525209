"""The model controller the dialogs hand their choices to: it changes the registry and says what is active."""

from __future__ import annotations

import pytest
import torch

from danet_viewer.components.model_library import ModelLibrary
from danet_viewer.errors import DanetError
from danet_viewer.model.card import ModelCard, save_model
from danet_viewer.model.network import DANet, NetworkConfig
from danet_viewer.model.registry import BUNDLED


def trained(folder, seed):
    torch.manual_seed(seed)
    save_model(DANet(NetworkConfig(variant="hard")), ModelCard(name=f"m{seed}", network={}, threshold=0.5), folder)
    return folder


def test_activate_adopt_roll_back_and_delete_report_the_active_model(tmp_path):
    library = ModelLibrary(tmp_path / "registry")
    active = []
    library.events.active_changed.connect(active.append)
    first = library.registry.add(trained(tmp_path / "a", 1))
    library.activate(first)
    second = library.adopt(trained(tmp_path / "b", 2))
    assert library.registry.active_id() == second and active == [first, second]
    with pytest.raises(DanetError, match="is active"):
        library.delete(second)
    library.roll_back()
    library.delete(second)
    assert active == [first, second, first]
    assert [m.model_id for m in library.registry.models()] == [BUNDLED, first]


def test_without_a_root_the_registry_follows_the_environment(tmp_path, monkeypatch):
    library = ModelLibrary()
    monkeypatch.setenv("DANET_REVIEW_DATA", str(tmp_path / "elsewhere"))
    assert library.registry.root == tmp_path / "elsewhere"
