#!/usr/bin/env bash
# Install (scripts/setup.sh) and open the app on the bundled sample record.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
. .venv/bin/activate
. scripts/qt_system_libs.sh
# Qt aborts (signal 6) when its window plugin lacks a library; setup.sh has already said which, and how to install.
[ -z "$(qt_missing_packages "$(python -c "import os, PySide6; print(os.path.dirname(PySide6.__file__))")")" ] || exit 1
exec danet-viewer resources/sample/209_excerpt.hea
