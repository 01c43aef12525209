"""GUI benchmark: the review window on a 24 h, 2-lead, 360 Hz record with ~100 000 beat markers, offscreen.

Run: QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/bench_gui.py   (needs ~/.cache/mitdb or ../shared)

The record is all 48 mitdb records joined (bench_core.join_all_records); it is
annotated once with the bundled model into its store, and both are cached in
``$DANET_BENCH_CACHE`` (default ~/.cache/danet_viewer_bench) between runs: the
analysis takes minutes, the measurements seconds. Each measurement runs in a
fresh process:

- open-to-first-paint: from building the window through ``open_record`` (the
  store already holds the analysis, the model is loaded as at a cold start) to
  the end of the first paint of the review view showing the traces and beats;
- repaint after one pan or zoom, as the event loop does it: the clock starts
  before the x-range is set (as a drag or a key sets it) and stops when the
  paints it caused are done: events are delivered one ``processEvents`` turn at
  a time until a turn paints nothing more, and the clock stops after the last
  turn that painted (the review view and the overview strip; the idle turn is
  not counted). Nothing is forced: the paints counted are the ones the window
  made by itself, and their number per step is reported. Between steps, with
  the clock stopped, the enhanced trace of newly uncovered minutes is left to
  arrive (it is computed on a worker thread and repainted when it lands; not
  part of the pan). Medians and 90th percentiles over 50 steps: pans of 1 s at
  a 10 s span and of 1 % at the full 24 h span, and zooms by 2 (the zoom keys)
  in and out, from 10 s and from 24 h;
- peak RSS of that process.

The same steps are timed again with View ▸ All leads on: on the 2-lead 24 h record, and on a 12-lead record
(``twelve_lead_record``: 2 h of mitdb, the two leads and ten mixes of them), so the stacked traces' cost shows.

Prints a Markdown table and writes it to benchmarks/results/gui.md.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from benchmarks.bench_core import join_all_records  # noqa: E402
from training.mitdb import mitdb_dir  # noqa: E402

RESULTS = REPO / "benchmarks" / "results"
CACHE = Path(os.environ.get("DANET_BENCH_CACHE", Path.home() / ".cache" / "danet_viewer_bench"))
STEPS = 50

MEASURE = r"""
import json, resource, sys, time
import numpy as np
from PySide6.QtCore import QEvent, QObject, QSettings
from PySide6.QtWidgets import QApplication
from danet_viewer._qt.main_window import MainWindow

record, settings_path, steps, all_leads = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4] == "all"
app = QApplication.instance() or QApplication([])
imported = time.perf_counter()


class PaintCount(QObject):
    # Paint events of the widgets a pan redraws: the review view, and the overview strip's view region.
    def __init__(self, window):
        super().__init__()
        self.window, self.view, self.overview, self.first_of_record = window, 0, 0, None
        window.view.viewport().installEventFilter(self)
        window.overview.viewport().installEventFilter(self)

    def eventFilter(self, watched, event):
        if event.type() == QEvent.Type.Paint:
            if watched is self.window.view.viewport():
                self.view += 1
                if self.first_of_record is None and self.window.review.session is not None:
                    self.first_of_record = self.view
            else:
                self.overview += 1
        return False


settings = QSettings(settings_path, QSettings.Format.IniFormat)
settings.setValue("reviewer", "bench")
window = MainWindow(settings)
paints = PaintCount(window)
window.resize(1600, 1000)
window.show()
window.open_record(record)
while window.analysing:
    app.processEvents()
    time.sleep(0.002)
while paints.first_of_record is None:  # the paint showing the record starts in a turn; it ends with it
    app.processEvents()
first_paint = time.perf_counter() - imported
assert window.review.session is not None, "the record did not open"
beats = len(window.review.session.table)
duration = window.review.recording.duration_s
if all_leads:  # every lead read and stacked before any step is timed
    window.shortcut_actions["All leads"].setChecked(True)
    while not (window.lead_stack.ready and window.view.stack.active):
        app.processEvents()
        time.sleep(0.005)


def settle():
    # The work a step set off besides its paint: the enhanced trace of newly uncovered minutes (and, once,
    # the min/max pyramid), computed on worker threads and painted when they land. Not timed.
    while window.trace.loader.busy or window.view.raw_pyramid is None:
        app.processEvents()
        time.sleep(0.005)
    for _ in range(3):
        app.processEvents()


def one_step(change):
    # Wall and GUI-thread CPU time (the machine may be busy with other work) from the range change to the end
    # of the last event-loop turn that painted, and the review view's paints in between.
    view_before = paints.view
    started, cpu = time.perf_counter(), time.thread_time()
    change()
    wall = cpu_used = None
    for _ in range(100):
        painted = paints.view + paints.overview
        app.processEvents()
        if paints.view + paints.overview > painted:
            wall, cpu_used = time.perf_counter() - started, time.thread_time() - cpu
        elif wall is not None:
            break
    assert wall is not None, "the range change painted nothing"
    view_paints = paints.view - view_before
    settle()
    return 1000 * wall, 1000 * cpu_used, view_paints


def series(changes):
    one_step(changes[0])  # the span settled before timing the others
    measured = np.array([one_step(change) for change in changes[1:]])
    wall, cpu, view_paints = measured.T
    return {"wall_ms": float(np.median(wall)), "wall_p90_ms": float(np.percentile(wall, 90)),
            "cpu_ms": float(np.median(cpu)), "view_paints": float(np.median(view_paints))}


def show(x0, x1):
    return lambda: window.view.raw_plot.setXRange(x0, x1, padding=0)


# A pan as a reviewer drags, 1 s steps from a random place; at the full span, 1 % of the record and back.
start = float(np.random.default_rng(0).uniform(0, duration - 10.0 - steps))
pan_10s = series([show(x, x + 10.0) for x in start + np.arange(steps + 1)])
pan_full = series([show(-0.01 * duration if k % 2 else 0.0, (0.99 if k % 2 else 1.0) * duration)
                   for k in range(steps + 1)])
# The zoom keys (by 2, keeping the centre) in and out again, from a 10 s span and from the whole record.
window.view.raw_plot.setXRange(start, start + 10.0, padding=0)
zoom_10s = series([window.review.zoom_in if k % 2 == 0 else window.review.zoom_out for k in range(steps + 1)])
window.view.raw_plot.setXRange(0.0, duration, padding=0)
zoom_full = series([window.review.zoom_in if k % 2 == 0 else window.review.zoom_out for k in range(steps + 1)])
print(json.dumps({"first_paint_s": first_paint, "pan_10s": pan_10s, "pan_full": pan_full, "zoom_10s": zoom_10s,
                  "zoom_full": zoom_full, "beats": beats, "duration_h": duration / 3600,
                  "leads": len(window.review.recording.lead_names), "stacked": window.view.stack.active,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
window.close()
"""


TWELVE_LEAD_RECORDS = 4  # 2 h: the pan and zoom steps' cost is the visible stretch's, not the record's length


def twelve_lead_record(out: Path) -> Path:
    """The first mitdb records joined as a 12-lead, 360 Hz record: MLII, V and ten mixes of the two."""
    import numpy as np
    import wfdb

    from training.mitdb import ALL_RECORDS

    header = out / "mitdb_12lead.hea"
    if header.exists():
        return header
    mixes = np.array([[1, 0], [0, 1], [0.6, 0.4], [-0.5, -0.5], [0.8, -0.3], [0.3, 0.7], [-0.7, 0.2], [0.2, -0.9],
                      [0.5, 0.5], [1.2, 0.2], [0.9, 0.4], [0.4, 0.8]])
    names = ("MLII", "V", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")
    with open(out / "mitdb_12lead.dat", "wb") as dat:
        total = 0
        for name in ALL_RECORDS[:TWELVE_LEAD_RECORDS]:
            two = wfdb.rdrecord(str(mitdb_dir() / name)).p_signal
            dat.write(np.round(two @ mixes.T * 200).clip(-32767, 32767).astype("<i2").tobytes())
            total += len(two)
    header.write_text(f"mitdb_12lead 12 360 {total}\n"
                      + "".join(f"mitdb_12lead.dat 16 200/mV 16 0 0 0 0 {name}\n" for name in names))
    return header


def prepared_record(header: Path | None = None) -> Path:
    """A record (default: the joined 24 h one) with its store analysed by the bundled model, cached between runs."""
    CACHE.mkdir(parents=True, exist_ok=True)
    header = header or join_all_records(mitdb_dir(), CACHE)
    from danet_viewer.core.analysis import analyse_recording
    from danet_viewer.core.readers import open_recording
    from danet_viewer.core.store import AnnotationStore
    from danet_viewer.core.store_location import default_store_path, has_results
    from danet_viewer.model.inference import BeatModel

    recording, model = open_recording(header), BeatModel()
    with AnnotationStore.open(default_store_path(header), "a") as store:
        if not has_results(recording, store, model):
            print(f"analysing {header} once into its store (a few minutes)…", flush=True)
            analyse_recording(recording, store, who="bench_gui", model=model)
    return header


def measure(header: Path, all_leads: bool = False) -> dict:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    result = subprocess.run([sys.executable, "-c", MEASURE, str(header), str(CACHE / "settings.ini"), str(STEPS),
                             "all" if all_leads else "one"],
                            capture_output=True, text=True, cwd=REPO, env=env, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def row(name: str, step: dict) -> str:
    return (f"| {name} | {step['wall_ms']:.1f} ms | {step['wall_p90_ms']:.1f} ms | {step['cpu_ms']:.1f} ms "
            f"| {step['view_paints']:g} | ≤ 16 ms |")


def stacked_row(name: str, m: dict) -> str:
    steps = ("pan_10s", "zoom_10s", "pan_full", "zoom_full")
    wall, cpu = (" / ".join(f"{m[step][key]:.1f}" for step in steps) for key in ("wall_ms", "cpu_ms"))
    record = f"{m['duration_h']:.2f} h, {m['leads']} leads"
    return f"| {name} | {record} | {wall} ms | {cpu} ms | {m['peak_rss_mb']:.0f} MB |"


def main() -> None:
    header, twelve = prepared_record(), prepared_record(twelve_lead_record(CACHE))
    load_before = os.getloadavg()[0]
    m = measure(header)
    stacked = {"one lead (as above)": m, "all leads": measure(header, all_leads=True),
               "all leads, 12-lead record": measure(twelve, all_leads=True)}
    assert all(run["stacked"] for run in list(stacked.values())[1:])
    load = max(load_before, os.getloadavg()[0])
    machine = (f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, offscreen Qt, "
               f"Python {platform.python_version()}, load average up to {load:.1f} while measuring")
    lines = [
        f"Machine: {machine}. Record: {m['duration_h']:.2f} h, 2 leads, 360 Hz, {m['beats']} beat markers.",
        "",
        (
            f"One pan or zoom, timed from the range change to the end of the paints it caused (median and 90th "
            f"percentile of {STEPS} steps; view paints: the review view's, per step; see benchmarks/bench_gui.py)."
        ),
        "",
        "| measurement | wall time (median) | wall time (p90) | GUI-thread CPU (median) | view paints | target |",
        "|---|---|---|---|---|---|",
        f"| open to first paint (store already analysed) | {m['first_paint_s']:.2f} s | | | | ≤ 1 s |",
        row("repaint after a 1 s pan, 10 s span", m["pan_10s"]),
        row("repaint after a zoom in or out by 2, from a 10 s span", m["zoom_10s"]),
        row("repaint after a 1 % pan, full 24 h span", m["pan_full"]),
        row("repaint after a zoom in or out by 2, from the full 24 h span", m["zoom_full"]),
        f"| peak RSS | {m['peak_rss_mb']:.0f} MB | | | | |",
        "",
        "View ▸ All leads: the same steps' medians, 1 s pan / zoom from 10 s / 1 % pan at the full span / "
        "zoom from the full span.",
        "",
        "| traces | record | wall time | GUI-thread CPU | peak RSS |",
        "|---|---|---|---|---|",
        *[stacked_row(name, run) for name, run in stacked.items()],
    ]
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "gui.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
