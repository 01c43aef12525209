"""The benchmark and helper scripts import only what exists: they run outside the suite (they need ../shared or
minutes), so a moved module broke them silently once (training.mitdb.REPO, _qt.review_session)."""

from __future__ import annotations

import ast
import importlib

import pytest

from tests.conftest import REPO

SCRIPTS = sorted((REPO / "benchmarks").glob("*.py")) + sorted((REPO / "scripts").glob("*.py"))
OWN_PACKAGES = ("danet_viewer", "training", "benchmarks")


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda path: path.name)
def test_every_import_of_the_projects_own_code_resolves(script):
    missing = []
    for node in ast.walk(ast.parse(script.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in OWN_PACKAGES:
            module = importlib.import_module(node.module)
            missing += [f"{node.module}.{alias.name}" for alias in node.names if not hasattr(module, alias.name)]
    assert missing == []
