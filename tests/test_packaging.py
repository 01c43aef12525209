"""The standalone executable's Python side: the frozen entry's dispatch, training from a frozen retrain dialog,
resources found from source and from a bundle. The built executable itself: scripts/smoke_exe.sh."""

from __future__ import annotations

import ast
import sys

import pytest

import danet_viewer.cli
import danet_viewer_frozen
import training.cli
from danet_viewer._qt.retrain_dialog import training_command
from danet_viewer.resources import resource_path, resource_root, sample_record
from tests.conftest import REPO


@pytest.fixture
def calls(monkeypatch):
    """Which command line's main ran, with what: both mains replaced by recorders."""
    seen = []
    monkeypatch.setattr(training.cli, "main", lambda argv: seen.append(("danet-train", argv)) or 0)
    monkeypatch.setattr(danet_viewer.cli, "main", lambda argv: seen.append(("danet-viewer", argv)) or 0)
    return seen


def test_train_goes_to_danet_train_without_its_own_name(calls):
    assert danet_viewer_frozen.main(["train", "retrain", "--store", "s.h5", "--out", "m"]) == 0
    assert calls == [("danet-train", ["retrain", "--store", "s.h5", "--out", "m"])]


@pytest.mark.parametrize("argv", [[], ["render", "r.hea", "--out", "x.png"], ["--version"], ["record.hea"],
                                  ["training.hea"]])
def test_everything_else_goes_to_danet_viewer(calls, argv):
    assert danet_viewer_frozen.main(argv) == 0
    assert calls == [("danet-viewer", argv)]


def test_the_real_commands_answer_through_the_entry(capsys):
    with pytest.raises(SystemExit) as version:
        danet_viewer_frozen.main(["--version"])
    assert version.value.code == 0 and capsys.readouterr().out.startswith("danet-viewer ")
    with pytest.raises(SystemExit) as train_help:
        danet_viewer_frozen.main(["train", "--help"])
    assert train_help.value.code == 0 and "retrain" in capsys.readouterr().out


def test_training_command_from_source_runs_the_training_module(monkeypatch):
    monkeypatch.delattr(sys, "frozen", raising=False)
    assert training_command(["retrain", "--out", "m"]) == [sys.executable, "-m", "training", "retrain", "--out", "m"]


def test_training_command_when_frozen_runs_the_executable_itself(monkeypatch):
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", "/opt/danet-viewer/danet-viewer")
    assert training_command(["retrain", "--out", "m"]) == ["/opt/danet-viewer/danet-viewer", "train", "retrain",
                                                           "--out", "m"]


def test_resources_from_source_are_the_checkouts(monkeypatch):
    monkeypatch.delattr(sys, "_MEIPASS", raising=False)
    assert resource_root() == REPO / "resources"
    assert sample_record().is_file() and resource_path("model", "model.json").is_file()


def test_resources_when_frozen_are_inside_the_bundle(monkeypatch, tmp_path):
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    assert resource_root() == tmp_path / "resources"
    assert sample_record() == tmp_path / "resources" / "sample" / "209_excerpt.hea"


def test_the_spec_bundles_every_resource_folder():
    spec = ast.parse((REPO / "build.spec").read_text())
    bundled = next(ast.literal_eval(node.value) for node in spec.body
                   if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "RESOURCES")
    assert sorted(bundled) == sorted(p.name for p in (REPO / "resources").iterdir() if p.is_dir())
