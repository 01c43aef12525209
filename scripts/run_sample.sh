#!/usr/bin/env bash
# Install (scripts/setup.sh) and open the app on the bundled sample record.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
. .venv/bin/activate
exec danet-viewer resources/sample/209_excerpt.hea
