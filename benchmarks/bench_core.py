"""Core benchmark: beat-detector accuracy on all 48 mitdb records, annotate speed and memory.

Run: .venv/bin/python benchmarks/bench_core.py   (needs ../shared/data/mitdb; ~2 min on 2 cores)

- Detector Se/PPV: sleepecg on the analysis lead vs the reference beats (150 ms matching).
- Annotate throughput as multiples of real time and peak RSS, each in a fresh process,
  on a 30 min record (mitdb 100) and on a 24 h, 2-lead record made by joining all 48.
- ``render`` of a 10 s stretch of each, with no store (so it analyses what it needs), each in a fresh process:
  a stretch of the 24 h record should take about what one of the 30 min record does.
Prints a Markdown table and writes it to benchmarks/results/core.md.
``bench_core.py render`` runs the render case alone and only prints its table.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import wfdb

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from danet_viewer.core.aami import is_beat  # noqa: E402
from danet_viewer.core.beats import detect_beats, score_detection  # noqa: E402
from danet_viewer.core.readers import open_recording  # noqa: E402
from training.mitdb import ALL_RECORDS, mitdb_dir  # noqa: E402

RESULTS = REPO / "benchmarks" / "results"


def detector_accuracy(folder: Path) -> tuple[list[str], dict]:
    rows, totals = [], np.zeros(3, int)
    for name in ALL_RECORDS:
        recording = open_recording(folder / name)
        lead = recording.preferred_lead()
        detected = detect_beats(recording.read(lead), recording.fs)
        annotation = wfdb.rdann(str(folder / name), "atr")
        reference = np.array([s for s, sym in zip(annotation.sample, annotation.symbol, strict=True) if is_beat(sym)])
        score = score_detection(reference, detected, recording.fs)
        totals += (score.true_positives, score.false_negatives, score.false_positives)
        rows.append(f"| {name} | {recording.lead_names[lead]} | {len(reference)} | "
                    f"{100 * score.sensitivity:.2f} | {100 * score.positive_predictivity:.2f} |")
    tp, fn, fp = totals
    return rows, {"se": tp / (tp + fn), "ppv": tp / (tp + fp), "tp": int(tp), "fn": int(fn), "fp": int(fp)}


def join_all_records(folder: Path, out: Path) -> Path:
    """All 48 records end to end as one 2-lead format-16 record (~24 h): a Holter-sized input."""
    header = out / "mitdb_24h.hea"
    if header.exists():
        return header
    with open(out / "mitdb_24h.dat", "wb") as dat:
        total = 0
        for name in ALL_RECORDS:
            record = wfdb.rdrecord(str(folder / name))
            digital = np.round(record.p_signal * 200).clip(-32767, 32767).astype("<i2")
            dat.write(digital.tobytes())
            total += len(digital)
    header.write_text(f"mitdb_24h 2 360 {total}\n"
                      "mitdb_24h.dat 16 200/mV 16 0 0 0 0 MLII\n"
                      "mitdb_24h.dat 16 200/mV 16 0 0 0 0 V\n")
    return header


MEASURE = """
import json, resource, sys, time
from danet_viewer.cli import main
started = time.perf_counter()
code = main(["annotate", sys.argv[1], "--store", sys.argv[2]])
wall = time.perf_counter() - started
peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"code": code, "wall_s": wall, "peak_rss_mb": peak_rss_mb}))
"""


RENDER = """
import json, resource, sys, time
from danet_viewer.cli import main
started = time.perf_counter()
code = main(["render", sys.argv[1], "--start", sys.argv[2], "--span", "10", "--out", sys.argv[3],
             "--store", sys.argv[4]])
wall = time.perf_counter() - started
peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"code": code, "wall_s": wall, "peak_rss_mb": peak_rss_mb}))
"""


def render_speed(header: Path, start_s: float, scratch: Path) -> dict:
    """``render`` of 10 s from ``start_s``, store-less (a store that does not exist), in a fresh process."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    result = subprocess.run([sys.executable, "-c", RENDER, str(header), str(start_s), str(scratch / "stretch.png"),
                             str(scratch / "no-store.h5")], capture_output=True, text=True, cwd=REPO, check=True,
                            env=env)
    measured = json.loads(result.stdout.strip().splitlines()[-1])
    measured["note"] = result.stdout.strip().splitlines()[1].strip()
    return measured


def render_table(folder: Path, scratch: Path) -> list[str]:
    renders = {"30 min (mitdb 100), from 15 min": render_speed(folder / "100.hea", 900.0, scratch),
               "24 h (48 records joined), from 12 h": render_speed(join_all_records(folder, scratch), 43200.0,
                                                                     scratch)}
    short, long = (v["wall_s"] for v in renders.values())
    return [
        "| render of 10 s, no store | wall time | peak RSS | scored against |",
        "|---|---|---|---|",
        *[f"| {k} | {v['wall_s']:.2f} s | {v['peak_rss_mb']:.0f} MB | {v['note']} |" for k, v in renders.items()],
        "",
        f"A 10 s stretch of 24 h renders in {long / short:.2f}× the time of one of 30 min.",
    ]


def annotate_speed(header: Path, scratch: Path) -> dict:
    store = scratch / f"{header.stem}.h5"
    result = subprocess.run([sys.executable, "-c", MEASURE, str(header), str(store)], capture_output=True,
                            text=True, cwd=REPO, check=True)
    measured = json.loads(result.stdout.strip().splitlines()[-1])
    duration = open_recording(header).duration_s
    measured.update(duration_h=duration / 3600, realtime=duration / measured["wall_s"],
                    summary=result.stdout.strip().splitlines()[0])
    return measured


def machine() -> str:
    processor = platform.processor() or platform.machine()
    return f"{processor}, {os.cpu_count()} cores, Python {platform.python_version()}"


def main() -> None:
    folder = mitdb_dir()
    if sys.argv[1:] == ["render"]:
        with tempfile.TemporaryDirectory() as scratch:
            print("\n".join([f"Machine: {machine()}.", "", *render_table(folder, Path(scratch))]))
        return
    rows, total = detector_accuracy(folder)
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        speeds = {"30 min (mitdb 100)": annotate_speed(folder / "100.hea", scratch),
                  "24 h (48 records joined)": annotate_speed(join_all_records(folder, scratch), scratch)}
        renders = render_table(folder, scratch)
    lines = [
        f"Machine: {machine()}.",
        "",
        "| annotate input | duration | wall time | × real time | peak RSS |",
        "|---|---|---|---|---|",
        *[f"| {k} | {v['duration_h']:.2f} h | {v['wall_s']:.2f} s | {v['realtime']:.0f}× | {v['peak_rss_mb']:.0f} MB |"
          for k, v in speeds.items()],
        "",
        *renders,
        "",
        f"Detector on all 48 records: Se {100 * total['se']:.2f} %, PPV {100 * total['ppv']:.2f} % "
        f"(TP {total['tp']}, FN {total['fn']}, FP {total['fp']}; 150 ms matching, analysis lead).",
        "",
        "| record | lead | reference beats | Se % | PPV % |",
        "|---|---|---|---|---|",
        *rows,
    ]
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "core.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
