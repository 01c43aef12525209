"""Fuzz benchmark: the test suite's fuzz campaigns at scale, with the number of inputs tried per reader.

Run: .venv/bin/python benchmarks/bench_fuzz.py            (scale 25 and 4 x 1500 damaged store files; ~10 min)
     .venv/bin/python benchmarks/bench_fuzz.py --scale 2 --byte-rounds 1 --byte-count 200   (a quick look)

The campaigns are the hypothesis tests of tests/core/test_fuzz_readers.py,
tests/core/test_fuzz_store.py and tests/model/test_card.py, run with
DANET_FUZZ_SCALE times their examples: every reader (WFDB, EDF/EDF+, CSV),
the store opener (HDF5 structure, journals, bit-flipped and truncated files)
and the model card. Each input must give the project's own one-line error or
open and read in full, within the tests' time and memory bounds; the first
input that does not stops the benchmark with hypothesis' report.

Prints the counts; writes them to benchmarks/results/reliability.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.bench_kill import write_results_section  # noqa: E402


def run(scale: int, byte_rounds: int, byte_count: int) -> tuple[list[dict], list[str]]:
    """One row per campaign (name, inputs, opened, refused, seconds), and the failures."""
    os.environ["DANET_FUZZ_SCALE"] = str(scale)  # read when the test modules are imported, just below
    from tests.core import test_fuzz_readers as readers
    from tests.core import test_fuzz_store as stores
    from tests.model import test_card as cards

    campaigns = [
        readers.test_wfdb_headers_of_absurd_values_over_any_signal_file,
        readers.test_wfdb_bit_flipped_or_truncated_files,
        readers.test_edf_headers_of_absurd_values_flips_and_lengths,
        readers.test_csv_ragged_rows_bad_cells_and_absurd_rates,
        stores.test_structurally_damaged_stores_are_refused_or_work,
        stores.test_damaged_journals_are_refused_or_replayed,
        cards.test_fuzzed_cards_load_or_give_a_model_error,
    ]
    tallies = (readers.TRIED, stores.TRIED, cards.TRIED)
    rows, failures = [], []
    for campaign in campaigns:
        before = Counter()
        for tally in tallies:
            before.update(tally)
        started = time.monotonic()
        try:
            campaign()
        except Exception as error:  # noqa: BLE001 - hypothesis' report of the failing input is the result
            failures.append(f"{campaign.__name__}: {error}")
        after = Counter()
        for tally in tallies:
            after.update(tally)
        for name, tried in (after - before).items():
            rows.append({"campaign": name, "inputs": tried, "opened": readers.OUTCOMES.get((name, "opened")),
                         "refused": readers.OUTCOMES.get((name, "refused")),
                         "seconds": time.monotonic() - started})
            print(f"{name}: {tried} inputs, {rows[-1]['seconds']:.0f} s", file=sys.stderr, flush=True)
    started, bytes_row = time.monotonic(), Counter()
    for round_number in range(byte_rounds):
        try:
            result = stores.run_byte_damage_campaign(seed=100 + round_number, count=byte_count)
        except AssertionError as error:
            failures.append(f"store file (bytes), seed {100 + round_number}: {error}")
            continue
        print(f"store file bytes, seed {100 + round_number}: {result}", file=sys.stderr, flush=True)
        bytes_row.update({"inputs": result["tried"], "opened": result.get("opened", 0),
                          "refused": result.get("refused", 0)})
        bytes_row["peak_rss_mb"] = max(bytes_row["peak_rss_mb"], result["peak_rss_mb"])
    rows.append({"campaign": f"store file (bit flips, truncation; peak RSS {bytes_row['peak_rss_mb']} MB)",
                 "inputs": bytes_row["inputs"], "opened": bytes_row["opened"], "refused": bytes_row["refused"],
                 "seconds": time.monotonic() - started})
    return rows, failures


def report(rows: list[dict], failures: list[str], scale: int, seconds: float) -> str:
    lines = "\n".join(
        f"| {row['campaign']} | {row['inputs']} | {'—' if row['opened'] is None else row['opened']} | "
        f"{'—' if row['refused'] is None else row['refused']} | {row['seconds']:.0f} |"
        for row in rows
    )
    total = sum(row["inputs"] for row in rows)
    verdict = "none" if not failures else "; ".join(failures)
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    return f"""## Fuzzing (benchmarks/bench_fuzz.py)

Machine: {machine}; scale {scale}, {seconds:.0f} s.

| campaign | inputs tried | opened and read in full | refused with a one-line error | seconds |
|---|---|---|---|---|
{lines}

**{total} inputs; tracebacks, hangs or crashes: {verdict}.** (The structure, journal and card campaigns
check each input's outcome without tallying it: an input that opens is also written to and reopened.)
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=25, help="times the test suite's examples per campaign")
    parser.add_argument("--byte-rounds", type=int, default=4, help="subprocesses of bit-flipped store files")
    parser.add_argument("--byte-count", type=int, default=1500, help="damaged store files per subprocess")
    parser.add_argument("--no-results", action="store_true", help="do not write benchmarks/results/reliability.md")
    args = parser.parse_args()
    started = time.monotonic()
    rows, failures = run(args.scale, args.byte_rounds, args.byte_count)
    text = report(rows, failures, args.scale, time.monotonic() - started)
    print(text)
    if not args.no_results:
        write_results_section("bench_fuzz", text)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
