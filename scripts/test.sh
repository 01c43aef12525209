#!/usr/bin/env bash
# Install (scripts/setup.sh), lint (ruff, the rules in pyproject.toml), and run the whole test suite headless.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
. .venv/bin/activate
ruff check .
export QT_QPA_PLATFORM=${QT_QPA_PLATFORM:-offscreen}
python -m pytest -q "$@"
