"""``danet-train``: pre-train, fit a variant, evaluate, retrain. Also ``python -m training`` and under torchrun.

Every run logs JSON lines (``--log``) that a GUI can follow, and a progress line on a terminal.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from dataclasses import asdict, fields
from pathlib import Path

import numpy as np
import torch

from danet_viewer.errors import DanetError, run_reporting_errors
from danet_viewer.model.network import RECORD_REFERENCES
from training.metrics import THRESHOLD_RULES

PROG = "danet-train"
SPLITS = ("DS2", "DS1", "validation")


def _config_arguments(parser: argparse.ArgumentParser) -> None:
    from training.engine import TrainConfig

    group = parser.add_argument_group("training settings")
    for field in fields(TrainConfig):
        if field.name in ("variant",):
            continue
        kinds = {"float": float, "float | None": float, "int": int, "bool": _on_off}
        group.add_argument(f"--{field.name.replace('_', '-')}", type=kinds.get(field.type, str), default=None,
                           dest=field.name, metavar="on|off" if field.type == "bool" else None)  # fmt: skip


def _on_off(value: str) -> bool:
    if value not in ("on", "off"):
        raise argparse.ArgumentTypeError(f"{value!r}: say on or off")
    return value == "on"


def _train_config(args: argparse.Namespace, **overrides: object):
    from training.engine import TrainConfig

    values = {f.name: getattr(args, f.name) for f in fields(TrainConfig) if getattr(args, f.name, None) is not None}
    return TrainConfig(**{**values, **overrides})


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description="Train and evaluate DANet models.")
    parser.add_argument("--debug", action="store_true", help="show a traceback on unexpected errors")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    prepare = commands.add_parser("prepare", help="detect, label and cache the MIT-BIH beats (done lazily otherwise)")
    prepare.add_argument("--cache", type=Path, default=Path(".cache/prepared"))

    fit = commands.add_parser("fit", help="train a variant on mitdb DS1 (default) or on exported datasets")
    fit.add_argument("--variant", choices=("backbone", "hard", "soft"), default="soft")
    fit.add_argument("--out", type=Path, required=True, help="model folder to write (weights + card)")
    fit.add_argument("--dataset", type=Path, nargs="*", default=[], help="exported HDF5 datasets instead of mitdb")
    fit.add_argument("--val-records", nargs="*", help="validation records (default: mitdb's, or a 20 %% split)")
    fit.add_argument("--pretrained", type=Path, help="a soft WEM from `danet-train pretrain`")
    fit.add_argument("--cache", type=Path, default=Path(".cache/prepared"))
    fit.add_argument("--log", help="JSON-lines log file")
    fit.add_argument("--name", default="danet", help="model name in the card")
    _config_arguments(fit)

    pretrain = commands.add_parser("pretrain", help="self-supervised pre-training of the soft WEM on unlabelled ECG")
    pretrain.add_argument("--out", type=Path, required=True)
    pretrain.add_argument("--cache", type=Path, default=Path(".cache/prepared"))
    pretrain.add_argument("--log")
    _config_arguments(pretrain)

    evaluate = commands.add_parser("evaluate", help="DS2 SVEB figures of a model folder, per the protocol")
    evaluate.add_argument("model", type=Path)
    evaluate.add_argument("--split", choices=SPLITS, default="DS2",
                          help="DS2 (the protocol's test set), DS1, or DS1's validation records")  # fmt: skip
    evaluate.add_argument("--out", type=Path, help="write the results as JSON")
    evaluate.add_argument("--cache", type=Path, default=Path(".cache/prepared"))
    evaluate.add_argument("--device", default="cpu")

    calibrate = commands.add_parser(
        "calibrate", help="set a model's scoring (record-relative or not) and choose its threshold on DS1 validation"
    )
    calibrate.add_argument("model", type=Path, help="model folder; its card is rewritten, its weights kept")
    calibrate.add_argument("--record-relative", choices=("on", "off"), required=True,
                           help="score each beat against its own record's median (network.record_relative)")
    calibrate.add_argument("--reference", choices=RECORD_REFERENCES, default="all",
                           help="the record's beats whose median is the reference: all; those on time by the "
                                "record's sinus reference; or by rhythm, on time in a regular rhythm and the "
                                "rhythm's own beats in an irregular one (network.record_reference)")
    calibrate.add_argument("--threshold-rule", choices=THRESHOLD_RULES, default="f1",
                           help="f1: the F1-optimal threshold; false-alarm: the one calling 1 %% of the "
                                "validation beats that are not SVEB")
    calibrate.add_argument("--name", help="a new name for the card: a new scoring deserves a new model id")
    calibrate.add_argument("--cache", type=Path, default=Path(".cache/prepared"))

    ablation = commands.add_parser("ablation", help="fit each variant over seeds on DS1 and evaluate on DS2")
    ablation.add_argument("--variants", nargs="+", default=["backbone", "hard", "soft"])
    ablation.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    ablation.add_argument("--out", type=Path, default=Path("runs/ablation"))
    ablation.add_argument("--cache", type=Path, default=Path(".cache/prepared"))

    crossval = commands.add_parser("crossval", help="record-wise K-fold cross-validation: every DS1 record scored "
                                   "by a model that never saw it, under one or more scorings")
    crossval.add_argument("--variant", choices=("backbone", "hard", "soft"), default="soft")
    crossval.add_argument("--folds", type=int, default=5)
    crossval.add_argument("--scoring", nargs="+", default=["all"], choices=("raw", *RECORD_REFERENCES),
                          help="raw, or record-relative against a reference (as calibrate's --reference)")
    crossval.add_argument("--threshold-rule", choices=THRESHOLD_RULES, default="f1",
                          help="how each fold's threshold is chosen on its validation fold (as calibrate's); "
                               "the summary is crossval.json for f1, crossval-RULE.json otherwise")
    crossval.add_argument("--out", type=Path, required=True, help="folder of the fold models and crossval.json")
    crossval.add_argument("--cache", type=Path, default=Path(".cache/prepared"))
    crossval.add_argument("--log", help="JSON-lines log file")
    _config_arguments(crossval)

    figure = commands.add_parser("figure", help="PNG of a model's attention w(t) on DS2 APCs and normals")
    figure.add_argument("model", type=Path)
    figure.add_argument("--out", type=Path, required=True)
    figure.add_argument("--cache", type=Path, default=Path(".cache/prepared"))

    report = commands.add_parser("report", help="Markdown tables of the ablation and the default model")
    report.add_argument("--runs", type=Path, default=Path("runs/ablation"))
    report.add_argument("--model", type=Path, default=Path("resources/model"))
    report.add_argument("--crossval", type=Path, help="also the table of the `crossval` runs in this folder")
    report.add_argument("--cache", type=Path, default=Path(".cache/prepared"))

    veto = commands.add_parser("rhythm-veto", help="choose the rhythm veto on DS1's atrial fibrillation annotations")
    veto.add_argument("--cache", type=Path, default=Path(".cache/prepared"))

    replay = commands.add_parser("replay", help="add the fine-tuning replay sample to a model trained on mitdb")
    replay.add_argument("model", type=Path)
    replay.add_argument("--cache", type=Path, default=Path(".cache/prepared"))

    retrain = commands.add_parser("retrain", help="fine-tune a model on reviewed beats of annotation stores")
    retrain.add_argument("--store", type=Path, action="append", default=[], help="annotation store (repeatable)")
    retrain.add_argument("--dataset", type=Path, action="append", default=[], help="exported dataset (repeatable)")
    retrain.add_argument("--base", type=Path, help="model to start from (default: the active model)")
    retrain.add_argument("--out", type=Path, required=True)
    retrain.add_argument("--log")
    _config_arguments(retrain)
    return parser


def _mitdb_split(cache: Path):
    from training.data import BeatSet, label_record
    from training.mitdb import DS1, VALIDATION, mitdb_dir

    folder = mitdb_dir()
    records = [label_record(folder / f"{name}.hea", cache) for name in DS1]
    train = BeatSet.concatenate([r.beats for r in records if r.name not in VALIDATION])
    val = BeatSet.concatenate([r.beats for r in records if r.name in VALIDATION])
    unlabelled = BeatSet.concatenate([r.beats for r in records] + [r.false_detections for r in records])
    return train, val, unlabelled, {"source": "mitdb DS1", "train_records": sorted(set(train.record)),
                                    "validation_records": list(VALIDATION)}  # fmt: skip


# Validation blocks within a record: runs of consecutive beats (about a minute each), every
# VALIDATION_BLOCK_EVERY-th of them held out, so validation spans the whole reviewed stretch (its
# rhythms change over a recording) and never shares a minute with training. Which of the
# VALIDATION_BLOCK_EVERY phases is held out follows the APCs: a reviewer's APCs often come in a few
# bursts, and a fixed phase can hold out none of them (mitdb 202: 16 APCs in three blocks), which
# leaves nothing to stop on or to judge the new model by.
VALIDATION_BLOCK_BEATS = 60
VALIDATION_BLOCK_EVERY = 5
# Below this many APCs among the held-out reviewed beats, F1 moves by a third with one beat:
# too few to recommend a new model over its base.
MIN_HELD_OUT_APCS = 5


def _held_out_phase(phase: np.ndarray, label: np.ndarray) -> int:
    """The block phase whose APC count is nearest a fair share of the record's (a 1/VALIDATION_BLOCK_EVERY
    share, and at least MIN_HELD_OUT_APCS where the record has them); the last phase on a tie."""
    apcs = np.bincount(phase[label.astype(bool)], minlength=VALIDATION_BLOCK_EVERY)
    target = max(apcs.sum() / VALIDATION_BLOCK_EVERY, min(MIN_HELD_OUT_APCS, apcs.max()))
    distance = np.abs(apcs - target)
    return int(np.flatnonzero(distance == distance.min())[-1])


def split_by_record(beats, val_records: list[str] | None, fraction: float = 0.2):
    """Validation by whole records; with fewer than 3 records, by interleaved blocks of beats, never by beat."""
    names = sorted(set(beats.record))
    if val_records:
        chosen = list(val_records)
    elif len(names) >= 3:
        chosen = names[-max(1, round(fraction * len(names))) :]
    else:
        chosen = []
    if chosen:
        is_val = np.isin(beats.record, chosen)
        return beats.subset(np.flatnonzero(~is_val)), beats.subset(np.flatnonzero(is_val)), chosen
    # Beats are in time order within each record.
    is_val = np.zeros(len(beats), bool)
    for name in names:
        rows = np.flatnonzero(beats.record == name)
        # A short reviewed stretch still gets two validation blocks, of fewer beats.
        block_beats = max(1, min(VALIDATION_BLOCK_BEATS, len(rows) // (2 * VALIDATION_BLOCK_EVERY)))
        phase = np.arange(len(rows)) // block_beats % VALIDATION_BLOCK_EVERY
        is_val[rows] = phase == _held_out_phase(phase, beats.label[rows])
    description = f"every {VALIDATION_BLOCK_EVERY}th block of up to {VALIDATION_BLOCK_BEATS} consecutive beats"
    return beats.subset(np.flatnonzero(~is_val)), beats.subset(np.flatnonzero(is_val)), [description]


def _dataset_split(paths: list[Path], val_records: list[str] | None):
    from training.data import BeatSet, load_dataset_file

    beats = BeatSet.concatenate([load_dataset_file(path) for path in paths])
    train, val, chosen = split_by_record(beats, val_records)
    return train, val, beats, {"source": [str(p) for p in paths], "train_records": sorted(set(train.record)),
                               "validation_records": chosen}  # fmt: skip


def _validation_figures(model, val, device: str, threshold: float | None = None, raw_threshold: float | None = None,
                        rule: str = "f1") -> tuple[float, float | None, dict]:  # fmt: skip
    """(threshold, raw_threshold, the card's validation metrics) of ``model`` on ``val``: a threshold not
    given is chosen there by ``rule`` (metrics.THRESHOLD_RULES), and a record-relative model's raw
    threshold too."""
    from training.engine import predict
    from training.metrics import average_precision, choose_threshold, count

    def chosen(scores):
        if rule == "f1" and val.label.sum() < MIN_HELD_OUT_APCS:
            return 0.5
        return choose_threshold(val.label, scores, rule)

    scores = predict(model, val.inputs, device, val.record)
    threshold = chosen(scores) if threshold is None else threshold
    if model.config.record_relative and raw_threshold is None:
        raw_threshold = chosen(predict(model, val.inputs, device, raw=True))
    metrics = {**count(val.label, scores >= threshold).as_dict(), "beats": len(val), "apcs": int(val.label.sum()),
               "average_precision": average_precision(val.label, scores), "threshold_rule": rule}  # fmt: skip
    return threshold, raw_threshold if model.config.record_relative else None, metrics


def _finish_model(model, config, train, val, description: dict, name: str, out: Path, seconds: float, log,
                  base_card=None, threshold: float | None = None, raw_threshold: float | None = None) -> dict:  # fmt: skip
    """Save the model with its card; ``threshold`` (and a record-relative model's ``raw_threshold``),
    when given, are kept instead of chosen on ``val``."""
    from danet_viewer.core.store import utc_now
    from danet_viewer.model.card import ModelCard, save_model

    threshold, raw_threshold, validation = _validation_figures(model, val, config.device, threshold, raw_threshold)
    card = ModelCard(
        name=name,
        network={},
        threshold=threshold,
        raw_threshold=raw_threshold,
        training={**description, "variant": model.config.variant, "config": asdict(config),
                  "train_beats": len(train), "train_apcs": int(train.label.sum()), "seconds": round(seconds, 1),
                  "base_model": base_card.model_id if base_card else None},  # fmt: skip
        metrics={"validation": validation},
        created_at=utc_now(),
    )
    card = save_model(model, card, out)
    log("saved", folder=str(out), model_id=card.model_id, threshold=threshold, val_f1=validation["f1"])
    return asdict(card)


def _fit(args: argparse.Namespace) -> int:
    from training.engine import Logger, distributed_from_environment, fit, rank
    from training.replay import sample_replay, save_replay

    distributed = distributed_from_environment()
    config = _train_config(args, variant=args.variant)
    torch.set_num_threads(max(1, torch.get_num_threads() // (2 if distributed else 1)))
    log = Logger(args.log if rank() == 0 else None, quiet=rank() != 0)
    try:
        if args.dataset:
            train, val, unlabelled, description = _dataset_split(args.dataset, args.val_records)
        else:
            train, val, unlabelled, description = _mitdb_split(args.cache)
        start = _with_pretrained_wem(args.pretrained, config) if args.pretrained else None
        started = time.monotonic()
        model = fit(train, val, config, log, unlabelled=unlabelled.inputs, start=start,
                    checkpoint=_checkpoint_writer(args.out))  # fmt: skip
        if rank() == 0:
            if not args.dataset:  # a mitdb model ships a sample of its training beats for fine-tuning
                args.out.mkdir(parents=True, exist_ok=True)
                description["replay"] = save_replay(sample_replay(train, config.seed), args.out)
            _finish_model(model, config, train, val, description, args.name, args.out, time.monotonic() - started, log)
    finally:
        log.close()
        if distributed:
            torch.distributed.destroy_process_group()
    return 0


def _checkpoint_writer(folder: Path):
    """Saves the best weights so far as ``checkpoint.safetensors``: a killed run keeps its progress."""
    from safetensors.torch import save_file

    from danet_viewer.core.atomic import atomic_output

    def write(model) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        with atomic_output(folder / "checkpoint.safetensors") as temporary:
            save_file({k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}, str(temporary))

    return write


def _with_pretrained_wem(folder: Path, config):
    from safetensors.torch import load_file

    from danet_viewer.model.network import DANet

    model = DANet(config.network_config(variant="soft"))
    model.wem.load_state_dict(load_file(str(folder / "wem.safetensors")))
    return model


def _pretrain(args: argparse.Namespace) -> int:
    from safetensors.torch import save_file

    from danet_viewer.model.network import DANet
    from training.engine import Logger, pretrain_wem, seed_everything

    config = _train_config(args, variant="soft")
    log = Logger(args.log)
    _, _, unlabelled, _ = _mitdb_split(args.cache)
    model = DANet(config.network_config())
    pretrain_wem(model, unlabelled.inputs, config, log, seed_everything(config.seed))
    args.out.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in model.wem.state_dict().items()}, str(args.out / "wem.safetensors"))
    log.close()
    return 0


def evaluate_model(folder: Path, split: str, cache: Path, device: str = "cpu") -> dict:
    """Protocol figures of a model folder on mitdb DS1 or DS2 at the card's threshold."""
    from danet_viewer.model.card import load_model
    from training.data import label_record
    from training.evaluate import evaluate_records, record_scores, summarise
    from training.mitdb import DS1, DS2, VALIDATION, mitdb_dir

    model, card = load_model(folder, device)
    names = {"DS1": DS1, "DS2": DS2, "validation": VALIDATION}[split]
    records = [label_record(mitdb_dir() / f"{name}.hea", cache) for name in names]
    started = time.monotonic()
    scores = {r.name: record_scores(model, r, device) for r in records}
    seconds = time.monotonic() - started
    summary = summarise(evaluate_records(records, scores, card.threshold))
    summary.update(model=card.model_id, split=split, threshold=card.threshold,
                   validation=card.metrics.get("validation", {}),
                   scoring_x_realtime=sum(r.duration_s for r in records) / seconds)  # fmt: skip
    return summary


def _evaluate(args: argparse.Namespace) -> int:
    summary = evaluate_model(args.model, args.split, args.cache, args.device)
    for key in ("all", "without_232"):
        row = summary[key]
        print(f"{args.split} {key}: Se {100 * row['se']:.1f} %  +P {100 * row['ppv']:.1f} %  F1 {row['f1']:.3f}")
    strips = summary["strips"]
    print(f"10 s strips: accuracy {100 * strips['accuracy']:.1f} %  Se {100 * strips['se']:.1f} %  "
          f"Sp {100 * strips['specificity']:.1f} %")  # fmt: skip
    if args.out:
        args.out.write_text(json.dumps(summary, indent=2) + "\n")
    return 0


def _calibrate(args: argparse.Namespace) -> int:
    """Rewrite a model's card with the chosen scoring and the thresholds that maximise F1 on DS1 validation."""
    from dataclasses import replace

    from danet_viewer.model.card import load_model, write_card

    model, card = load_model(args.model)
    _, val, _, _ = _mitdb_split(args.cache)
    model.config = replace(model.config, record_relative=args.record_relative == "on", record_reference=args.reference)
    card.threshold, card.raw_threshold, card.metrics["validation"] = _validation_figures(
        model, val, "cpu", rule=args.threshold_rule)
    card.network, card.name = model.config.to_dict(), args.name or card.name
    write_card(card, args.model)
    validation = card.metrics["validation"]
    print(f"{card.model_id}: record-relative {args.record_relative} (reference: {args.reference}), "
          f"threshold {card.threshold:.4f} ({args.threshold_rule}), "
          f"validation F1 {validation['f1']:.3f}, AP {validation['average_precision']:.3f}")
    return 0


def _ablation(args: argparse.Namespace) -> int:
    """Fit every variant over several seeds on DS1, evaluate each on DS2, write a JSON per run."""
    args.out.mkdir(parents=True, exist_ok=True)
    for variant in args.variants:
        for seed in args.seeds:
            run = args.out / f"{variant}-s{seed}"
            if not (run / "ds2.json").exists():
                fit_args = build_parser().parse_args(
                    ["fit", "--variant", variant, "--seed", str(seed), "--out", str(run), "--cache", str(args.cache),
                     "--log", str(run.with_suffix(".jsonl")), "--name", f"danet-{variant}"]  # fmt: skip
                )
                _fit(fit_args)
                (run / "ds2.json").write_text(json.dumps(evaluate_model(run, "DS2", args.cache), indent=2) + "\n")
            f1 = json.loads((run / "ds2.json").read_text())["all"]["f1"]
            print(f"{variant} seed {seed}: DS2 F1 {f1:.3f}")
    return 0


def _crossval(args: argparse.Namespace) -> int:
    from training.crossval import SET_ASIDE, cross_validate
    from training.data import label_record
    from training.engine import Logger
    from training.mitdb import DS1, mitdb_dir

    records = [label_record(mitdb_dir() / f"{name}.hea", args.cache) for name in DS1]
    log = Logger(args.log)
    try:
        summary = cross_validate(records, _train_config(args, variant=args.variant), args.folds, args.out,
                                 args.scoring, log, args.threshold_rule)  # fmt: skip
    finally:
        log.close()
    print(f"DS1 out of fold, {args.folds} folds: {' | '.join(' '.join(fold) for fold in summary['folds'])}")
    for scoring, row in summary["scorings"].items():
        every, rest = row["all"], row[f"without_{SET_ASIDE}"]
        print(f"{scoring}: Se {100 * every['se']:.1f} %  +P {100 * every['ppv']:.1f} %  F1 {every['f1']:.3f}  "
              f"F1 without {SET_ASIDE} {rest['f1']:.3f}  AP {row['average_precision']:.3f}")  # fmt: skip
    return 0


def _figure(args: argparse.Namespace) -> int:
    from training.figures import attention_figure

    print(attention_figure(args.model, args.out, args.cache))
    return 0


def _report(args: argparse.Namespace) -> int:
    """Print the ablation and default-model tables; write the model's MODEL_CARD.md and ds2.json beside it."""
    from training.report import ablation_table, crossval_table, literature_table, model_card_markdown, per_record_table

    ds2 = evaluate_model(args.model, "DS2", args.cache)
    (args.model / "ds2.json").write_text(json.dumps(ds2, indent=2) + "\n")
    card = json.loads((args.model / "model.json").read_text())
    (args.model / "MODEL_CARD.md").write_text(model_card_markdown(card, ds2))
    print("\n".join(["## Ablation (DS1 -> DS2, mean ± sd over seeds)", "", *ablation_table(args.runs), "",
                     "## Default model, DS2 per record", "", *per_record_table(ds2), "",
                     "## Beside the literature (DS2 SVEB)", "", *literature_table(ds2, card["name"]), "",
                     f"Network scoring speed on prepared beats (CPU): {ds2['scoring_x_realtime']:.0f}x real time."]))  # fmt: skip
    if args.crossval:
        print("\n".join(["", "## DS1 out of fold (crossval), mean ± sd over seeds", "", *crossval_table(args.crossval)]))
    return 0


def _replay(args: argparse.Namespace) -> int:
    """The sample ``fit`` writes, rebuilt for a model trained before replay existed, from its card's records."""
    from danet_viewer.model.card import read_card, write_card
    from training.data import BeatSet, label_record
    from training.mitdb import mitdb_dir
    from training.replay import sample_replay, save_replay

    card = read_card(args.model)
    if card.training.get("source") != "mitdb DS1":
        raise DanetError(f"{args.model}: not trained on mitdb DS1; its replay sample is written when it is trained")
    train = BeatSet.concatenate([label_record(mitdb_dir() / f"{name}.hea", args.cache).beats
                                 for name in card.training["train_records"]])  # fmt: skip
    card.training["replay"] = save_replay(sample_replay(train, card.training["config"]["seed"]), args.model)
    write_card(card, args.model)
    entry = card.training["replay"]
    print(f"{args.model}: replay sample of {entry['beats']} beats ({entry['apcs']} APCs) "
          f"from {len(entry['records'])} records")  # fmt: skip
    return 0


def _retrain(args: argparse.Namespace) -> int:
    from training.retrain import retrain

    return retrain(args)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler = {"prepare": _prepare, "fit": _fit, "pretrain": _pretrain, "evaluate": _evaluate,
               "ablation": _ablation, "figure": _figure, "report": _report, "retrain": _retrain,
               "rhythm-veto": _rhythm_veto, "replay": _replay, "calibrate": _calibrate,
               "crossval": _crossval}  # fmt: skip
    return run_reporting_errors(PROG, lambda: handler[args.command](args), debug=args.debug)


def _rhythm_veto(args: argparse.Namespace) -> int:
    from training.rhythm import choose_rhythm_veto

    chosen, table = choose_rhythm_veto(args.cache)
    print("| regularity below | AF/flutter beats vetoed % | other beats vetoed % | balanced accuracy "
          "| DS1 SVEB vetoed |")
    print("|---|---|---|---|---|")
    for row in table:
        mark = "**" if row.threshold == chosen else ""
        print(f"| {mark}{row.threshold:.2f}{mark} | {100 * row.fibrillation_recall:.1f} | {100 * row.other_vetoed:.1f} "
              f"| {row.balanced_accuracy:.3f} | {row.sveb_vetoed} of {row.sveb} |")
    print(f"chosen: --rhythm-veto {chosen:.2f}")
    return 0


def _prepare(args: argparse.Namespace) -> int:
    from training.data import label_record
    from training.mitdb import DS1, DS2, mitdb_dir

    folder = mitdb_dir()
    for name in DS1 + DS2:
        record = label_record(folder / f"{name}.hea", args.cache)
        print(f"{name}: {len(record.beats)} beats, {int(record.beats.label.sum())} SVEB")
    return 0
