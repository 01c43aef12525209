"""A store writer SIGKILLed during label edits, imports, re-analysis and its own opening loses nothing.

The suite runs ``benchmarks/bench_kill.py`` with a few kills; the benchmark
itself runs hundreds (see its docstring for what is checked after each kill).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import REPO

KILLS = 16  # four of each kind of operation


@pytest.mark.slow
def test_writer_killed_during_every_kind_of_operation_keeps_every_reported_label():
    done = subprocess.run(
        [sys.executable, "benchmarks/bench_kill.py", "--kills", str(KILLS), "--seed", "3", "--json", "--no-results"],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )
    result = json.loads(done.stdout)
    assert not result["problems"], result["problems"][:5]
    assert done.returncode == 0, done.stderr[-2000:]
    assert result["kills"] == KILLS and sum(result["kills_by_operation"].values()) == KILLS
    assert result["labels_checked"] > 100 and result["operations_reported"] > KILLS
    in_flight = result["kills_by_operation"]
    assert sum(in_flight.get(op, 0) for op in ("label edit", "import", "re-analysis", "opening")) >= KILLS // 2
