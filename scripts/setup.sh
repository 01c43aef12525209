#!/usr/bin/env bash
# Create .venv with everything the app and the tests need, and the system libraries Qt needs to open a window.
# Safe to run again: the Python install is skipped while the project's requirements are what was installed last.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/qt_system_libs.sh
PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null || PYTHON=python3
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
. .venv/bin/activate

# What the install depends on: the requirements and this script. The editable install follows source edits by itself.
STAMP=.venv/.danet-setup-stamp
wanted=$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -d' ' -f1)
if [ "$(cat "$STAMP" 2>/dev/null)" != "$wanted" ] || ! python -c "import danet_viewer, training" 2>/dev/null; then
    python -m pip install -q --upgrade pip
    # The CPU build of torch first: left to the resolver, a bare torch requirement pulls a multi-GB CUDA build.
    python -m pip install -q torch==2.13.0
    python -m pip install -q -e ".[test]"
    echo "$wanted" >"$STAMP"
fi

# Qt's platform plugins need system libraries the wheels do not carry; a missing one aborts the app at start-up.
# Where they cannot be installed, the line printed says how, and set-up goes on: the tests run offscreen without
# them, and run_sample.sh refuses to start a window that would abort.
qt_install_system_libs "$(python -c "import os, PySide6; print(os.path.dirname(PySide6.__file__))")" setup || true
