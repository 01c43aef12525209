"""``danet-train``: pre-train, fit a variant, evaluate, retrain. Also ``python -m training`` and under torchrun.

The command line only parses: each command's work is a typed call (``fitting.fit_model(FitConfig)``,
``retrain.retrain(RetrainConfig)``, ``crossval.crossval(CrossvalConfig)``...) that scripts may make too.
Every run logs JSON lines (``--log``, events in ``danet_viewer.model.training_log``) that a GUI can follow,
and a progress line on a terminal.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from dataclasses import fields
from pathlib import Path
from typing import TYPE_CHECKING

from danet_viewer.errors import run_reporting_errors
from danet_viewer.model.network import RECORD_REFERENCES
from training.metrics import THRESHOLD_RULES
from training.mitdb import TRAINING_SETS

if TYPE_CHECKING:  # each command imports what it runs only when it runs
    from training.crossval import CrossvalConfig
    from training.engine import TrainConfig
    from training.fitting import FitConfig
    from training.retrain import RetrainConfig

PROG = "danet-train"
SPLITS = ("DS2", "DS1", "validation")


def add_training_settings(parser: argparse.ArgumentParser) -> None:
    """An option for each ``TrainConfig`` field but the variant (``--batch-size N``...), None unless given."""
    from training.engine import TrainConfig

    group = parser.add_argument_group("training settings")
    for field in (f for f in fields(TrainConfig) if f.name != "variant"):
        kinds = {"float": float, "float | None": float, "int": int, "bool": _on_off}
        group.add_argument(f"--{field.name.replace('_', '-')}", type=kinds.get(field.type, str), default=None,
                           dest=field.name, metavar="on|off" if field.type == "bool" else None)


def _on_off(value: str) -> bool:
    if value not in ("on", "off"):
        raise argparse.ArgumentTypeError(f"{value!r}: say on or off")
    return value == "on"


def train_settings(args: argparse.Namespace, **defaults: object) -> TrainConfig:
    """The ``TrainConfig`` of the training settings given on the command line, over ``defaults``."""
    from training.engine import TrainConfig

    given = {f.name: getattr(args, f.name) for f in fields(TrainConfig) if getattr(args, f.name, None) is not None}
    return TrainConfig(**{**defaults, **given})


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description="Train and evaluate DANet models.")
    parser.add_argument("--debug", action="store_true", help="show a traceback on unexpected errors")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    prepare = commands.add_parser("prepare", help="detect, label and cache the MIT-BIH beats (done lazily otherwise)")
    prepare.add_argument("--cache", type=Path, default=Path(".cache/prepared"))

    fit = commands.add_parser("fit", help="train a variant on mitdb DS1 (default), on DS1 + svdb (74 patients) "
                              "or on exported datasets")
    fit.add_argument("--variant", choices=("backbone", "hard", "soft"), default="soft")
    fit.add_argument("--out", type=Path, required=True, help="model folder to write (weights + card)")
    fit.add_argument("--training-set", choices=TRAINING_SETS, default="ds1",
                     help="ds1: mitdb DS1, validated on its records 118 203 220 223; ds1+svdb: DS1 and the 52 svdb "
                          "records (74 patients), validated on a record-wise fold dealt by SVEB count")
    fit.add_argument("--scoring", choices=("raw", *RECORD_REFERENCES),
                     help="set the model's scoring before its thresholds are chosen on the validation records: raw, "
                          "or record-relative against a reference (as calibrate's --reference); default: raw")
    fit.add_argument("--dataset", type=Path, nargs="*", default=[], help="exported HDF5 datasets instead of mitdb")
    fit.add_argument("--val-records", nargs="*", help="validation records (default: mitdb's, or a 20 %% split)")
    fit.add_argument("--pretrained", type=Path, help="a soft WEM from `danet-train pretrain`")
    fit.add_argument("--cache", type=Path, default=Path(".cache/prepared"))
    fit.add_argument("--log", type=Path, help="JSON-lines log file")
    fit.add_argument("--name", default="danet", help="model name in the card")
    add_training_settings(fit)

    pretrain = commands.add_parser("pretrain", help="self-supervised pre-training of the soft WEM on unlabelled ECG")
    pretrain.add_argument("--out", type=Path, required=True)
    pretrain.add_argument("--cache", type=Path, default=Path(".cache/prepared"))
    pretrain.add_argument("--log", type=Path)
    add_training_settings(pretrain)

    evaluate = commands.add_parser("evaluate", help="DS2 SVEB figures of a model folder, per the protocol")
    evaluate.add_argument("model", type=Path)
    evaluate.add_argument("--database", choices=("mitdb", "svdb"), default="mitdb",
                          help="mitdb (its --split) or all records of svdb")
    evaluate.add_argument("--split", choices=SPLITS, default="DS2",
                          help="mitdb's DS2 (the protocol's test set), DS1, or DS1's validation records")
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

    ablation = commands.add_parser("ablation", help="fit each variant over seeds on a training set and evaluate on "
                                   "DS2")
    ablation.add_argument("--variants", nargs="+", default=["backbone", "hard", "soft"])
    ablation.add_argument("--training-set", choices=TRAINING_SETS, default="ds1", help="as fit's --training-set")
    ablation.add_argument("--scoring", choices=("raw", *RECORD_REFERENCES), help="as fit's --scoring")
    ablation.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    ablation.add_argument("--out", type=Path, default=Path("runs/ablation"))
    ablation.add_argument("--cache", type=Path, default=Path(".cache/prepared"))
    add_training_settings(ablation)

    crossval = commands.add_parser("crossval", help="record-wise K-fold cross-validation: every record of the "
                                   "training set scored by a model that never saw it, under one or more scorings")
    crossval.add_argument("--variant", choices=("backbone", "hard", "soft"), default="soft")
    crossval.add_argument("--training-set", choices=TRAINING_SETS, default="ds1",
                          help="ds1: mitdb DS1's 22 records; ds1+svdb: with the 52 svdb records (74 patients)")
    crossval.add_argument("--folds", type=int, default=5)
    crossval.add_argument("--scoring", nargs="+", default=["all"], choices=("raw", *RECORD_REFERENCES),
                          help="raw, or record-relative against a reference (as calibrate's --reference)")
    crossval.add_argument("--threshold-rule", choices=THRESHOLD_RULES, default="f1",
                          help="how each fold's threshold is chosen on its validation fold (as calibrate's); "
                               "the summary is crossval.json for f1, crossval-RULE.json otherwise")
    crossval.add_argument("--out", type=Path, required=True, help="folder of the fold models and crossval.json")
    crossval.add_argument("--cache", type=Path, default=Path(".cache/prepared"))
    crossval.add_argument("--log", type=Path, help="JSON-lines log file")
    add_training_settings(crossval)

    figure = commands.add_parser("figure", help="PNG of a model's attention w(t) on DS2 APCs and normals")
    figure.add_argument("model", type=Path)
    figure.add_argument("--out", type=Path, required=True)
    figure.add_argument("--cache", type=Path, default=Path(".cache/prepared"))

    report = commands.add_parser("report", help="Markdown tables of the ablation and the default model")
    report.add_argument("--runs", type=Path, default=Path("runs/ablation"))
    report.add_argument("--model", type=Path, default=Path("resources/model"))
    report.add_argument("--crossval", type=Path, help="also the table of the `crossval` runs in this folder")
    report.add_argument("--cache", type=Path, default=Path(".cache/prepared"))

    second = commands.add_parser(
        "second-pass", help="fit a model's record-level second pass on mitdb DS1 + svdb, its threshold chosen on "
                            "record-wise folds; prints the out-of-fold table (DS1 and svdb apart, RR rule row)")
    second.add_argument("model", type=Path, help="model folder; second_pass.json is written into it")
    second.add_argument("--folds", type=int, default=5)
    second.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    second.add_argument("--cache", type=Path, default=Path(".cache/prepared"))
    second.add_argument("--network-scores", type=Path,
                        help="a crossval run's out_of_fold folder: fit the pass over out-of-fold network scores "
                             "(the model folder's network trained on the same records) instead of its own")

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
    retrain.add_argument("--log", type=Path)
    add_training_settings(retrain)
    return parser


def fit_config(args: argparse.Namespace) -> FitConfig:
    from training.fitting import FitConfig

    return FitConfig(out=args.out, train=train_settings(args, variant=args.variant), datasets=list(args.dataset),
                     val_records=args.val_records, pretrained=args.pretrained, cache=args.cache, log=args.log,
                     name=args.name, training_set=args.training_set, scoring=args.scoring)


def retrain_config(args: argparse.Namespace) -> RetrainConfig:
    """Fine-tuning runs to its own epoch cap (retrain.RETRAIN_MAX_EPOCHS) unless --stage2-epochs names one."""
    from training.retrain import RETRAIN_MAX_EPOCHS, RetrainConfig

    return RetrainConfig(out=args.out, stores=list(args.store), datasets=list(args.dataset), base=args.base,
                         log=args.log, train=train_settings(args, stage2_epochs=RETRAIN_MAX_EPOCHS))


def crossval_config(args: argparse.Namespace) -> CrossvalConfig:
    from training.crossval import CrossvalConfig

    return CrossvalConfig(out=args.out, train=train_settings(args, variant=args.variant), folds=args.folds,
                          scorings=list(args.scoring), threshold_rule=args.threshold_rule, cache=args.cache,
                          log=args.log, training_set=args.training_set)


def _fit(args: argparse.Namespace) -> int:
    from training.fitting import fit_model

    fit_model(fit_config(args))
    return 0


def _pretrain(args: argparse.Namespace) -> int:
    from training.fitting import PretrainConfig, pretrain

    pretrain(PretrainConfig(out=args.out, train=train_settings(args, variant="soft"), cache=args.cache, log=args.log))
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from training.evaluate import evaluate_model, summary_lines

    summary = evaluate_model(args.model, args.split, args.cache, args.device, args.database)
    print("\n".join(summary_lines(summary, args.split if args.database == "mitdb" else args.database)))
    if args.out:
        args.out.write_text(json.dumps(summary, indent=2) + "\n")
    return 0


def _calibrate(args: argparse.Namespace) -> int:
    """Rewrite a model's card with the chosen scoring and the thresholds that maximise F1 on DS1 validation."""
    from training.finish import calibrate

    card = calibrate(args.model, args.record_relative == "on", args.reference, args.threshold_rule, args.name,
                     args.cache)
    validation = card.metrics["validation"]
    print(f"{card.model_id}: record-relative {args.record_relative} (reference: {args.reference}), "
          f"threshold {card.threshold:.4f} ({args.threshold_rule}), "
          f"validation F1 {validation['f1']:.3f}, AP {validation['average_precision']:.3f}")
    return 0


def _ablation(args: argparse.Namespace) -> int:
    """Fit every variant over several seeds on the training set, evaluate each on DS2, write a JSON per run."""
    from training.ablation import AblationConfig, ablation

    config = AblationConfig(args.variants, args.seeds, args.out, args.cache, args.training_set, args.scoring,
                            train_settings(args))
    for variant, seed, f1 in ablation(config):
        print(f"{variant} seed {seed}: DS2 F1 {f1:.3f}")
    return 0


def _crossval(args: argparse.Namespace) -> int:
    from training.crossval import SET_ASIDE, crossval
    from training.report import crossval_groups_table

    summary = crossval(crossval_config(args))
    print(f"{args.training_set} out of fold, {args.folds} folds: "
          f"{' | '.join(' '.join(fold) for fold in summary['folds'])}")
    for scoring, row in summary["scorings"].items():
        every, rest = row["all"], row[f"without_{SET_ASIDE}"]
        print(f"{scoring}: Se {100 * every['se']:.1f} %  +P {100 * every['ppv']:.1f} %  F1 {every['f1']:.3f}  "
              f"F1 without {SET_ASIDE} {rest['f1']:.3f}  AP {row['average_precision']:.3f}")
    print("\n".join(crossval_groups_table(summary)))
    return 0


def _figure(args: argparse.Namespace) -> int:
    from training.figures import attention_figure

    print(attention_figure(args.model, args.out, args.cache))
    return 0


def _report(args: argparse.Namespace) -> int:
    from training.report import default_model_report

    print(default_model_report(args.model, args.runs, args.crossval, args.cache))
    return 0


def _replay(args: argparse.Namespace) -> int:
    from training.replay import rebuild_replay

    entry = rebuild_replay(args.model, args.cache)
    print(f"{args.model}: replay sample of {entry['beats']} beats ({entry['apcs']} APCs) "
          f"from {len(entry['records'])} records")
    return 0


def _retrain(args: argparse.Namespace) -> int:
    from training.retrain import retrain

    config = retrain_config(args)
    result = retrain(config)
    print(f"held-out reviewed beats: F1 {result.before.f1:.3f} (base) -> {result.after.f1:.3f} (retrained), "
          f"{result.verdict}; model in {config.out}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler = {"prepare": _prepare, "fit": _fit, "pretrain": _pretrain, "evaluate": _evaluate,
               "ablation": _ablation, "figure": _figure, "report": _report, "retrain": _retrain,
               "rhythm-veto": _rhythm_veto, "replay": _replay, "calibrate": _calibrate,
               "crossval": _crossval, "second-pass": _second_pass}
    return run_reporting_errors(PROG, lambda: handler[args.command](args), debug=args.debug)


def _second_pass(args: argparse.Namespace) -> int:
    from training.second_pass import fit_second_pass

    fitted, summary = fit_second_pass(args.model, args.cache, args.folds, tuple(args.seeds),
                                      network_scores=args.network_scores)
    groups = list(next(iter(summary["rows"].values())))
    print("| out of fold | " + " | ".join(f"{g} F1 (Se / +P)" for g in groups) + " | false APCs in AF beats |")
    print("|---" * (len(groups) + 2) + "|")
    for name, row in summary["rows"].items():
        print(f"| {name} | " + " | ".join(f"{row[g]['f1']:.3f} ({100 * row[g]['se']:.1f} / {100 * row[g]['ppv']:.1f})"
                                        for g in groups) + f" | {summary['false_apcs_in_af'][name]} |")
    print(f"{args.model}: second pass threshold {fitted.threshold:.4f} ({fitted.chosen_by}); {summary['seconds']} s")
    return 0


def _rhythm_veto(args: argparse.Namespace) -> int:
    from training.rhythm import choose_rhythm_veto, veto_table_markdown

    chosen, table = choose_rhythm_veto(args.cache)
    print("\n".join(veto_table_markdown(table, chosen)))
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
