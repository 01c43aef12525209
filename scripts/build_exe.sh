#!/usr/bin/env bash
# Build the standalone executable dist/danet-viewer/danet-viewer (README "Standalone executable").
# It runs in a fresh virtual environment (build/venv) holding only the app's run-time dependencies, the CPU build
# of torch and PyInstaller, so nothing from a development environment (test tools, matplotlib) reaches the bundle.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null || PYTHON=python3
BUILD_ENV=build/venv

started=$SECONDS
rm -rf "$BUILD_ENV"
"$PYTHON" -m venv "$BUILD_ENV"
. "$BUILD_ENV/bin/activate"
python -m pip install -q --upgrade pip
# The CPU build of torch first (as scripts/setup.sh does); where pip's index would serve the CUDA build, point
# TORCH_INDEX_URL at PyTorch's CPU wheel index.
python -m pip install -q torch==2.13.0 ${TORCH_INDEX_URL:+--index-url "$TORCH_INDEX_URL"}
python -m pip install -q ".[build]"
# Libraries Qt's platform plugins link but the wheels leave to the system (scripts/qt_system_libs.sh): present at
# build time, they are bundled, so a workstation without them still opens the window.
. scripts/qt_system_libs.sh
qt_install_system_libs "$(python -c "import os, PySide6; print(os.path.dirname(PySide6.__file__))")" build_exe ||
    echo "build_exe: the bundle will open its window only where the system has those libraries" >&2
installed=$SECONDS
python -m PyInstaller --noconfirm --clean --log-level WARN build.spec

# The bundle must run on a workstation without a GPU: no CUDA library may have slipped in.
cuda=$(find dist/danet-viewer \( -name 'libtorch_cuda*' -o -name 'libcudart*' -o -name 'libcudnn*' -o -name 'libnccl*' \
    -o -path '*/nvidia/*' \) -print -quit)
if [ -n "$cuda" ]; then
    echo "build_exe: CUDA libraries in the bundle (e.g. $cuda): install the CPU build of torch" >&2
    exit 1
fi
echo "build_exe: environment $((installed - started)) s, PyInstaller $((SECONDS - installed)) s;" \
    "dist/danet-viewer: $(du -sh dist/danet-viewer | cut -f1)"
