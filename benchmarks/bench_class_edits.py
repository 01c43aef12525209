"""Class-edit benchmark: a split or merge of beat classes on a 24 h Holter, the part a worker thread works out and
the part the GUI thread stores, with and without every beat labelled.

Run: .venv/bin/python benchmarks/bench_class_edits.py [--record HEADER] [--repeats 3]   (about 2 min on 2 cores)

The record is all 48 mitdb records joined (``bench_core.join_all_records``, 110 374 beats); its store, analysed
by ``bench_gui.prepared_record``, is copied into a scratch folder (classes computed there if the store has none),
never changed in place. Timed, each the median of ``--repeats``, through the review model and the class review as
the window uses them:

- *worked out*: ``plan_split`` (coupling, shape) of the largest class, ``plan_split_at`` where the tool proposes a
  split, ``plan_merge`` of the largest class with the smallest: what ``_qt.background_runner`` runs off the GUI
  thread (a window frozen this long is what the worker removes);
- *stored*: ``ReviewModel.change_classes`` (one journal line, one audit entry) and the Templates
  view's class summaries and template bands afterwards, on the GUI thread; then Ctrl+Z (``ReviewModel.undo``) the
  same way. Once on the store as analysed and once with every beat labelled (110 000 reviews in the store).

Prints a Markdown table and writes it to benchmarks/results/class-edits.md.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from benchmarks.bench_core import join_all_records, machine  # noqa: E402
from benchmarks.bench_gui import CACHE  # noqa: E402
from danet_viewer.components.class_review import ClassReview  # noqa: E402
from danet_viewer.components.review_model import ReviewModel  # noqa: E402
from danet_viewer.core.beat_classes import update_beat_classes  # noqa: E402
from danet_viewer.core.class_edits import class_source, plan_merge, plan_split, plan_split_at  # noqa: E402
from danet_viewer.core.readers import open_recording  # noqa: E402
from danet_viewer.core.store import AnnotationStore, Review, utc_now  # noqa: E402
from danet_viewer.core.store_location import default_store_path  # noqa: E402
from training.mitdb import mitdb_dir  # noqa: E402

RESULTS = REPO / "benchmarks" / "results" / "class-edits.md"


def scratch_copy(header: Path, folder: Path) -> Path:
    """The record (its signal linked) and a copy of its analysed store in ``folder``, with classes."""
    copy = folder / header.name
    shutil.copy(header, copy)
    for data in header.parent.glob(f"{header.stem}.dat"):
        (folder / data.name).symlink_to(data.resolve())
    store = default_store_path(header)
    if not store.exists():
        raise SystemExit(f"{store}: no analysed store; run benchmarks/bench_gui.py once (it analyses the record)")
    shutil.copy(store, default_store_path(copy))
    recording = open_recording(copy)
    with AnnotationStore.open(default_store_path(copy), "a") as opened:
        if opened.record(recording.name).classes is None:
            print("computing the classes once (about 15 s)…", flush=True)
            update_beat_classes(opened, recording, who="bench")
    return copy


def label_every_beat(header: Path) -> None:
    recording = open_recording(header)
    with AnnotationStore.open(default_store_path(header), "a") as store:
        review = Review("N", "bench", utc_now())
        beats = store.record(recording.name).beats
        store.set_labels(recording.name, dict.fromkeys(beats.tolist(), review), who="bench", action="label all")


def timed(action) -> tuple[float, object]:
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


def measure(header: Path, repeats: int) -> dict[str, dict[str, float]]:
    """Seconds (median of ``repeats``) worked out, stored, and undone, of each edit."""
    recording = open_recording(header)
    review = ReviewModel()
    review.open(recording)
    lead = review.store.record(recording.name).analysis_lead
    index = recording.lead_index(lead) if lead else recording.preferred_lead()
    review.start_session(index, recording.read(index), "bench")
    classes = ClassReview(review)
    stored = review.store.record(recording.name).classes
    largest, smallest = int(np.argmax(stored.counts)), int(np.argmin(stored.counts))
    proposed = next((p for c in np.argsort(-stored.counts) if (p := classes.proposed_split(int(c))) is not None), None)
    plans = {
        f"split by coupling (class of {stored.counts[largest]} beats)": lambda s: plan_split(s, largest, "coupling"),
        f"split by shape (class of {stored.counts[largest]} beats)": lambda s: plan_split(s, largest, "shape"),
        f"merge (classes of {stored.counts[largest]} and {stored.counts[smallest]} beats)":
            lambda s: plan_merge(s, largest, smallest),
    }
    if proposed is not None:
        plans[f"split at the proposal ({proposed.early} early of {proposed.members})"] = (
            lambda s: plan_split_at(s, proposed.class_id, proposed.threshold))

    def refreshed() -> None:  # what the Templates view redraws on the GUI thread
        for summary in classes.summaries():
            classes.band(summary.class_id)

    refreshed()
    results = {}
    for name, plan in plans.items():
        times: dict[str, list[float]] = {"worked out": [], "stored": [], "undone": []}
        for _ in range(repeats):
            source = class_source(review.store, recording)
            seconds, edit = timed(lambda: plan(source))  # noqa: B023 - called at once
            times["worked out"].append(seconds)
            times["stored"].append(timed(lambda: (review.change_classes(edit), refreshed()))[0])  # noqa: B023
            times["undone"].append(timed(lambda: (review.undo(), refreshed()))[0])
        results[name] = {key: statistics.median(values) for key, values in times.items()}
        print(name, {key: round(value, 3) for key, value in results[name].items()}, flush=True)
    review.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--record", type=Path, help="an analysed record (default: the 24 h joined mitdb record)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    header = args.record or join_all_records(mitdb_dir(), CACHE)
    with tempfile.TemporaryDirectory() as scratch:
        copy = scratch_copy(header, Path(scratch))
        with AnnotationStore.open(default_store_path(copy)) as store:
            beats = len(store.record(copy.stem).beats)
        as_analysed = measure(copy, args.repeats)
        label_every_beat(copy)
        labelled = measure(copy, args.repeats)
    rows = [f"| {name} | {1000 * times['worked out']:.0f} | {1000 * times['stored']:.0f} | "
            f"{1000 * labelled[name]['stored']:.0f} | {1000 * times['undone']:.0f} | "
            f"{1000 * labelled[name]['undone']:.0f} |" for name, times in as_analysed.items()]
    lines = [
        "# Class edits (benchmarks/bench_class_edits.py)",
        "",
        f"Machine: {machine()}. Record: {header.name}, {beats} beats; medians of {args.repeats}.",
        "",
        "| edit | worked out, worker thread (ms) | stored + redrawn, GUI thread (ms) | the same, every beat labelled "
        "(ms) | undone + redrawn (ms) | undone, every beat labelled (ms) |",
        "|---|---|---|---|---|---|",
        *rows,
    ]
    RESULTS.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
