#!/usr/bin/env bash
# Create .venv with everything the app and the tests need. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null || PYTHON=python3
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
. .venv/bin/activate
python -m pip install -q --upgrade pip
# The CPU build of torch first: left to the resolver, a bare torch requirement pulls a multi-GB CUDA build.
python -m pip install -q torch==2.13.0
python -m pip install -q -e ".[test]"
# Qt needs a few system libraries even offscreen; install them where we may (CI runs as root on Debian).
if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ] && ! ldconfig -p | grep -q libxkbcommon.so.0; then
    apt-get update -qq && apt-get install -y -qq libxkbcommon0 libegl1 libgl1 libfontconfig1 libdbus-1-3 >/dev/null
fi
