"""Patient adaptation: does retraining on a reviewer's first minutes lift the rest of the record?

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

``--aami`` runs the AAMI patient-specific protocol instead (Kiranyaz et al. 2016; Ince et al. 2009): the
first 5 minutes of *every* record of the split reviewed, each record's own retraining, and SVEB counted
on its remaining 25 minutes, pooled over the records, before and after; a record whose first 5 minutes
hold too few APCs to retrain on keeps the default model, as the menu's retraining tells a reviewer. No
per-record forgetting check there: each adapted model serves its own patient only.

Run: .venv/bin/python benchmarks/bench_adaptation.py [--budget 120] [--split validation] [--aami] [RETRAIN OPTIONS]
(needs ../shared/data/mitdb). Writes benchmarks/results/adaptation[-aami][-validation][-OPTIONS].md.
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
from danet_viewer.core.rr_rule import RR_RULE_NAME, rr_rule_calls  # noqa: E402
from danet_viewer.core.store import AnnotationStore  # noqa: E402
from danet_viewer.errors import DanetError  # noqa: E402
from danet_viewer.model.inference import BeatModel, default_model_folder  # noqa: E402
from training.cli import add_training_settings, train_settings  # noqa: E402
from training.data import label_record  # noqa: E402
from training.evaluate import evaluate_model, record_scores  # noqa: E402
from training.metrics import Counts, count  # noqa: E402
from training.mitdb import DS2, mitdb_dir  # noqa: E402
from training.retrain import RETRAIN_MAX_EPOCHS, RetrainConfig, retrain  # noqa: E402

RECORDS = {"DS2": ("222", "232", "202"), "validation": ("118", "220", "223")}
AAMI_RECORDS = {"DS2": tuple(DS2), "validation": ("118", "203", "220", "223")}
REVIEWED_S = {"rich records": 15 * 60, "aami": 5 * 60}
CACHE = REPO / ".cache" / "prepared"


def late_counts(model_folder: Path, name: str, split_s: float):
    """SVEB counts on beats after ``split_s``, at the model's threshold (missed reference beats count as FN)."""
    model = BeatModel(model_folder)
    record = label_record(mitdb_dir() / f"{name}.hea", CACHE)
    late = record.beat_sample >= split_s * record.fs
    late_false = record.false_sample >= split_s * record.fs
    # The whole record scored, as the viewer does, then its last 15 minutes counted.
    scores, false_scores = record_scores(model.network, record)
    scores, false_scores = scores[late], false_scores[late_false]
    missed = int(np.sum(record.missed_sveb_sample >= split_s * record.fs))
    counts = count(record.beats.label[late], scores >= model.threshold, missed)
    return counts + count(np.zeros(len(false_scores), bool), false_scores >= model.threshold)


def late_rr_rule_counts(name: str, split_s: float) -> Counts:
    """The RR rule's SVEB counts on the same beats as ``late_counts`` (detections in time order, after ``split_s``)."""
    record = label_record(mitdb_dir() / f"{name}.hea", CACHE)
    samples = np.concatenate([record.beat_sample, record.false_sample])
    label = np.concatenate([record.beats.label.astype(bool), np.zeros(len(record.false_sample), bool)])
    order = np.argsort(samples, kind="stable")
    late = samples[order] >= split_s * record.fs
    missed = int(np.sum(record.missed_sveb_sample >= split_s * record.fs))
    return count(label[order][late], rr_rule_calls(samples[order])[late], missed)


def adapt(name: str, reviewed_s: float, base: Path, settings, scratch: Path) -> tuple[Path, str, float]:
    """Analyse record ``name`` with ``base``, import its first ``reviewed_s`` of reference labels as a reviewer's,
    and retrain as the menu does: (the model a reviewer would then use, the verdict, retraining seconds)."""
    recording = open_recording(mitdb_dir() / f"{name}.hea")
    store_path = scratch / f"{name}.h5"
    with AnnotationStore.open(store_path, "a") as store:
        analyse_recording(recording, store, who="bench", model=BeatModel(base))
        import_annotations(recording, store, "atr", as_review=True, who="reference reviewer", stop_s=reviewed_s)
    out, log = scratch / f"{name}-adapted", scratch / f"{name}.jsonl"
    started = time.monotonic()
    try:
        verdict = retrain(RetrainConfig(out=out, stores=[store_path], base=base, log=log, train=settings)).verdict
    except DanetError as error:  # too few reviewed APCs: the reviewer is told so and keeps the model
        return base, f"not retrained ({error})", time.monotonic() - started
    return out, verdict, time.monotonic() - started


def aami(split: str, budget: float, retrain_options: list[str]) -> None:
    """The AAMI patient-specific protocol over every record of ``split``: pooled SVEB on the records' rest."""
    options = argparse.ArgumentParser(prog="retrain options")
    add_training_settings(options)
    settings = train_settings(options.parse_args(retrain_options), stage2_epochs=RETRAIN_MAX_EPOCHS,
                              max_seconds=budget)
    torch.set_num_threads(2)
    base, reviewed_s = default_model_folder(), REVIEWED_S["aami"]
    rows, totals = [], {"default": Counts(0, 0, 0, 0), "retrained": Counts(0, 0, 0, 0), "kept": Counts(0, 0, 0, 0)}
    rr_rule = Counts(0, 0, 0, 0)
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as scratch:
        for name in AAMI_RECORDS[split]:
            out, verdict, seconds = adapt(name, reviewed_s, base, settings, Path(scratch))
            before = late_counts(base, name, reviewed_s)
            after = late_counts(out, name, reviewed_s) if out != base else before
            kept = after if verdict == "better" else before
            for key, counts in zip(totals, (before, after, kept), strict=True):
                totals[key] = totals[key] + counts
            rr_rule = rr_rule + late_rr_rule_counts(name, reviewed_s)
            rows.append((name, before, after, kept, verdict, seconds))
            print(json.dumps({"record": name, "before": before.as_dict(), "after": after.as_dict(), "verdict": verdict,
                              "retrain_s": round(seconds, 1)}), flush=True)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    def cells(c: Counts) -> str:
        rates = f"{100 * c.sensitivity:.1f} / {100 * c.positive_predictivity:.1f} / {c.f1:.3f}"
        return f"{c.tp} / {c.fn} / {c.fp} | {rates}"

    lines = [
        f"AAMI patient-specific protocol on {split}: the first {reviewed_s // 60:.0f} minutes of each of its "
        f"{len(rows)} records reviewed (reference labels imported as a reviewer's), retrained from the default model "
        f"through the menu's code path (budget {budget:.0f} s per record, 2 CPU cores, retrain options: "
        f"{' '.join(retrain_options) or 'none'}), SVEB counted on the rest of each record (missed reference beats "
        f"are false negatives). Run took {time.monotonic() - started:.0f} s; peak RSS {peak:.0f} MB.",
        "",
        "| pooled over the records' rest | TP / FN / FP | Se / +P / F1 |",
        "|---|---|---|",
        f"| {RR_RULE_NAME} (needs no review) | {cells(rr_rule)} |",
        f"| default model | {cells(totals['default'])} |",
        f"| every record retrained where it could be | {cells(totals['retrained'])} |",
        f"| the model the verdict keeps (retrained only where judged better) | {cells(totals['kept'])} |",
        "",
        "| record | default: TP / FN / FP | Se / +P / F1 | retrained: TP / FN / FP | Se / +P / F1 | verdict | "
        "retrain s |",
        "|---|---|---|---|---|---|---|",
        *[f"| {n} | {cells(b)} | {cells(a)} | {v} | {s:.0f} |" for n, b, a, _, v, s in rows],
    ]
    parts = ["aami"] + ([split] if split != "DS2" else []) + [option.lstrip("-") for option in retrain_options]
    (REPO / "benchmarks" / "results").mkdir(exist_ok=True)
    (REPO / "benchmarks" / "results" / f"adaptation-{'-'.join(parts)}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--budget", type=float, default=120.0, help="retraining seconds per record")
    parser.add_argument("--split", choices=tuple(RECORDS), default="DS2")
    parser.add_argument("--aami", action="store_true", help="the first 5 minutes of every record reviewed")
    args, retrain_options = parser.parse_known_args()
    if args.aami:
        aami(args.split, args.budget, retrain_options)
        return
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
            out, verdict, seconds = adapt(name, REVIEWED_S["rich records"], base, settings, scratch)
            before, after = (late_counts(model, name, REVIEWED_S["rich records"]) for model in (base, out))
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
