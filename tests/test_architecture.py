"""The layering holds: the core, the review model and training never import Qt, the core never imports training,
and neither package has an import cycle (import-linter contracts in pyproject.toml)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

from tests.conftest import REPO


def test_import_contracts_hold():
    lint = shutil.which("lint-imports") or str(REPO / ".venv" / "bin" / "lint-imports")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run([lint, "--no-cache"], capture_output=True, text=True, cwd=REPO, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 4 kept, 0 broken" in result.stdout


def test_core_imports_without_qt():
    code = (
        "import sys; import danet_viewer.core.analysis, danet_viewer.core.export, danet_viewer.cli; "
        "import danet_viewer.components.review_model, danet_viewer.components.model_library; "
        "assert not any(m.startswith(('PySide6', 'pyqtgraph')) for m in sys.modules), 'Qt imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)
