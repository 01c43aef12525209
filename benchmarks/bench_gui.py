"""GUI benchmark: the review window on a 24 h, 2-lead, 360 Hz record with ~100 000 beat markers, offscreen.

Run: QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/bench_gui.py   (needs ~/.cache/mitdb or ../shared)

The record is all 48 mitdb records joined (bench_core.join_all_records); it is
annotated once with the bundled model into its store, and both are cached in
``$DANET_BENCH_CACHE`` (default ~/.cache/danet_viewer_bench) between runs: the
analysis takes minutes, the measurements seconds. Each measurement runs in a
fresh process:

- open-to-first-paint: from building the window through ``open_record`` (the
  store already holds the analysis, the model is loaded as at a cold start) to
  the first paint showing the traces and beats;
- repaint after a pan or zoom: set the x-range, process events, force a repaint
  of the review view; the median over 50 steps: 1 s steps at a 10 s span, and
  small pans at the full 24 h span;
- peak RSS of that process.

Prints a Markdown table and writes it to benchmarks/results/gui.md.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.bench_core import join_all_records  # noqa: E402
from training.mitdb import REPO, mitdb_dir  # noqa: E402

RESULTS = REPO / "benchmarks" / "results"
CACHE = Path(os.environ.get("DANET_BENCH_CACHE", Path.home() / ".cache" / "danet_viewer_bench"))
STEPS = 50

MEASURE = r"""
import json, resource, statistics, sys, time
started = time.perf_counter()
import numpy as np
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication
from danet_viewer._qt.main_window import MainWindow

record, settings_path, steps = sys.argv[1], sys.argv[2], int(sys.argv[3])
app = QApplication.instance() or QApplication([])
imported = time.perf_counter()
settings = QSettings(settings_path, QSettings.Format.IniFormat)
settings.setValue("reviewer", "bench")
window = MainWindow(settings)
window.resize(1600, 1000)
window.show()
window.open_record(record)
while window.analysing:
    app.processEvents()
    time.sleep(0.002)
app.processEvents()
window.view.viewport().repaint()
first_paint = time.perf_counter() - imported
assert window.session is not None, "the record did not open"
beats = len(window.session.table)
duration = window.recording.duration_s


def repaint_after(x0, x1):
    # Wall time, and the GUI thread's CPU time: the machine may be busy with other work.
    started, cpu = time.perf_counter(), time.thread_time()
    window.view.raw_plot.setXRange(x0, x1, padding=0)
    app.processEvents()
    window.view.viewport().repaint()
    return time.perf_counter() - started, time.thread_time() - cpu


def median_ms(span, starts):
    repaint_after(starts[0], starts[0] + span)  # settle the span before timing ...
    while window.trace_loader.busy or window.view.raw_pyramid is None:  # ... and the work it set off
        app.processEvents()
        time.sleep(0.01)
    steps = [repaint_after(x, x + span) for x in starts]
    return [1000 * statistics.median(step[k] for step in steps) for k in (0, 1)]


# A pan as a reviewer drags: 1 s steps from a random place (each step also asks for the enhanced trace
# of newly uncovered minutes, computed on its worker thread meanwhile).
start = np.random.default_rng(0).uniform(0, duration - 10.0 - steps)
pan_10s = median_ms(10.0, start + np.arange(steps))
# At the full span each step pans the whole record by 1 % and back.
zoom_full = median_ms(duration, [(-0.01 * duration if k % 2 else 0.0) for k in range(steps)])
print(json.dumps({"first_paint_s": first_paint, "pan_10s_ms": pan_10s, "full_span_ms": zoom_full,
                  "beats": beats, "duration_h": duration / 3600,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
window.close()
"""


def prepared_record() -> Path:
    """The joined 24 h record with its store analysed by the bundled model, cached between runs."""
    CACHE.mkdir(parents=True, exist_ok=True)
    header = join_all_records(mitdb_dir(), CACHE)
    from danet_viewer._qt.analysis_worker import has_results
    from danet_viewer._qt.main_window import default_store_path
    from danet_viewer.core.analysis import analyse_recording
    from danet_viewer.core.readers import open_recording
    from danet_viewer.core.store import AnnotationStore
    from danet_viewer.model.inference import BeatModel

    recording, model = open_recording(header), BeatModel()
    with AnnotationStore.open(default_store_path(header), "a") as store:
        if not has_results(recording, store, model):
            print(f"analysing {header} once into its store (a few minutes)…", flush=True)
            analyse_recording(recording, store, who="bench_gui", model=model)
    return header


def measure(header: Path) -> dict:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    result = subprocess.run([sys.executable, "-c", MEASURE, str(header), str(CACHE / "settings.ini"), str(STEPS)],
                            capture_output=True, text=True, cwd=REPO, env=env, check=True)  # fmt: skip
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    header = prepared_record()
    m = measure(header)
    machine = (f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, offscreen Qt, "
               f"Python {platform.python_version()}, load average {os.getloadavg()[0]:.1f} while measuring")  # fmt: skip
    lines = [
        f"Machine: {machine}. Record: {m['duration_h']:.2f} h, 2 leads, 360 Hz, {m['beats']} beat markers.",
        "",
        "| measurement | wall time | GUI-thread CPU | target |",
        "|---|---|---|---|",
        f"| open to first paint (store already analysed) | {m['first_paint_s']:.2f} s | | ≤ 1 s |",
        (
            f"| repaint after a 1 s pan, 10 s span (median of {STEPS}) | {m['pan_10s_ms'][0]:.1f} ms "
            f"| {m['pan_10s_ms'][1]:.1f} ms | ≤ 16 ms |"
        ),
        (
            f"| repaint after a pan, full 24 h span (median of {STEPS}) | {m['full_span_ms'][0]:.1f} ms "
            f"| {m['full_span_ms'][1]:.1f} ms | ≤ 16 ms |"
        ),
        f"| peak RSS | {m['peak_rss_mb']:.0f} MB | | |",
    ]
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "gui.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
