"""Patient adaptation: does retraining on a reviewer's first 15 minutes lift the rest of the record?

For records rich in APCs that the default model never saw (DS2's 222, 232, 202):
annotate with the default model, import the reference labels of the first 15
minutes as a reviewer's, retrain from the default model within a time budget on
CPU (`danet-train retrain`), and compare SVEB Se/+P/F1 on the last 15 minutes
before and after; also the adapted model's DS2-wide F1 (forgetting check). The
retraining's own verdict (judged on held-out blocks of the reviewed first 15
minutes only) decides which model a reviewer following it would keep. It calls
``training.retrain.retrain`` with a ``RetrainConfig``, as ``danet-train retrain`` does.

``--split validation`` runs the same on DS1's validation records (118, 220, 223; 203
has too few APCs to retrain on), which the default model was never trained on
either, with the validation-wide F1 as the forgetting check: the place to choose
fine-tuning settings without looking at DS2. Other options go on to
``danet-train retrain`` (e.g. ``--replay-repeats 3``).

Run: .venv/bin/python benchmarks/bench_adaptation.py [--budget 120] [--split validation] [RETRAIN OPTIONS]
(needs ../shared/data/mitdb). Writes benchmarks/results/adaptation[-validation][-OPTIONS].md.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from danet_viewer.core.analysis import analyse_recording, import_annotations  # noqa: E402
from danet_viewer.core.readers import open_recording  # noqa: E402
from danet_viewer.core.store import AnnotationStore  # noqa: E402
from danet_viewer.model.inference import BeatModel, default_model_folder  # noqa: E402
from training.cli import add_training_settings, train_settings  # noqa: E402
from training.data import label_record  # noqa: E402
from training.evaluate import evaluate_model, record_scores  # noqa: E402
from training.metrics import count  # noqa: E402
from training.mitdb import mitdb_dir  # noqa: E402
from training.retrain import RETRAIN_MAX_EPOCHS, RetrainConfig, retrain  # noqa: E402

RECORDS = {"DS2": ("222", "232", "202"), "validation": ("118", "220", "223")}
SPLIT_S = 15 * 60
CACHE = REPO / ".cache" / "prepared"


def late_half_counts(model_folder: Path, name: str):
    """SVEB counts on beats after 15 min, at the model's threshold (missed reference beats count as FN)."""
    model = BeatModel(model_folder)
    record = label_record(mitdb_dir() / f"{name}.hea", CACHE)
    late = record.beat_sample >= SPLIT_S * record.fs
    late_false = record.false_sample >= SPLIT_S * record.fs
    # The whole record scored, as the viewer does, then its last 15 minutes counted.
    scores, false_scores = record_scores(model.network, record)
    scores, false_scores = scores[late], false_scores[late_false]
    missed = int(np.sum(record.missed_sveb_sample >= SPLIT_S * record.fs))
    counts = count(record.beats.label[late], scores >= model.threshold, missed)
    return counts + count(np.zeros(len(false_scores), bool), false_scores >= model.threshold)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--budget", type=float, default=120.0, help="retraining seconds per record")
    parser.add_argument("--split", choices=tuple(RECORDS), default="DS2")
    args, retrain_options = parser.parse_known_args()
    options = argparse.ArgumentParser(prog="retrain options")
    add_training_settings(options)
    settings = train_settings(options.parse_args(retrain_options), stage2_epochs=RETRAIN_MAX_EPOCHS,
                              max_seconds=args.budget)
    torch.set_num_threads(2)
    base = default_model_folder()
    base_wide = evaluate_model(base, args.split, CACHE)["all"]["f1"]
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        for name in RECORDS[args.split]:
            recording = open_recording(mitdb_dir() / f"{name}.hea")
            store_path = scratch / f"{name}.h5"
            with AnnotationStore.open(store_path, "a") as store:
                analyse_recording(recording, store, who="bench", model=BeatModel(base))
                import_annotations(recording, store, "atr", as_review=True, who="reference reviewer", stop_s=SPLIT_S)
            out, log = scratch / f"{name}-adapted", scratch / f"{name}.jsonl"
            started = time.monotonic()
            verdict = retrain(RetrainConfig(out=out, stores=[store_path], base=base, log=log, train=settings)).verdict
            seconds = time.monotonic() - started
            before, after = late_half_counts(base, name), late_half_counts(out, name)
            kept = after if verdict == "better" else before
            wide = evaluate_model(out, args.split, CACHE)["all"]["f1"]
            rows.append((name, before, after, seconds, wide, verdict, kept))
            print(json.dumps({"record": name, "before": before.as_dict(), "after": after.as_dict(),
                              "retrain_s": seconds, f"{args.split}_f1": wide, "verdict": verdict}), flush=True)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    lines = [
        f"Default model {args.split} F1 {base_wide:.3f}; retraining budget {args.budget:.0f} s per record on 2 CPU "
        f"cores; retrain options: {' '.join(retrain_options) or 'none'}; peak RSS of the whole run "
        f"{peak:.0f} MB.",
        "",
        "| record | last 15 min: Se / +P / F1 before | after | F1 gain | retrain wall time | "
        f"adapted model's {args.split} F1 "
        "| verdict (first 15 min only) | F1 of the model kept |",
        "|---|---|---|---|---|---|---|---|",
        *[f"| {n} | {100 * b.sensitivity:.1f} / {100 * b.positive_predictivity:.1f} / {b.f1:.3f} | "
          f"{100 * a.sensitivity:.1f} / {100 * a.positive_predictivity:.1f} / {a.f1:.3f} | {a.f1 - b.f1:+.3f} | "
          f"{s:.0f} s | {d:.3f} ({d - base_wide:+.3f}) | {v} | {k.f1:.3f} ({k.f1 - b.f1:+.3f}) |"
          for n, b, a, s, d, v, k in rows],
    ]
    parts = ([args.split] if args.split != "DS2" else []) + [option.lstrip("-") for option in retrain_options]
    suffix = "".join(f"-{part}" for part in parts)
    (REPO / "benchmarks" / "results").mkdir(exist_ok=True)
    (REPO / "benchmarks" / "results" / f"adaptation{suffix}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
