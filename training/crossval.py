"""Record-wise cross-validation over DS1: every DS1 record scored by a model that never saw it.

Four fixed validation records predicted DS2 only roughly (danet.md, "Known so far"), so a change
is better judged on all of DS1, out of fold. The records are dealt into folds by SVEB count, so no
fold is left with most of the APCs (209 holds 383 of DS1's 940); fold k is scored by a model trained
on the other folds except fold k+1, which chooses its early stopping and its threshold, so no
record ever picks the threshold it is scored at. One set of fold models serves several scorings
(raw, and record-relative against each reference), chosen after training as `danet-train
calibrate` chooses a model's, each with its own thresholds.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from danet_viewer.errors import DanetError
from danet_viewer.model.card import load_model
from danet_viewer.model.network import RECORD_REFERENCES
from danet_viewer.model.training_log import Fold
from training.data import BeatSet, ReferenceRecord, label_record
from training.engine import Logger, TrainConfig, fit
from training.evaluate import evaluate_records, record_scores, rr_rule_scores, summarise
from training.finish import finish_model, validation_figures
from training.fitting import DEFAULT_CACHE
from training.metrics import average_precision
from training.mitdb import DS1, mitdb_dir

SCORINGS = ("raw", *RECORD_REFERENCES)
# DS1's dominant SVEB record, reported apart as DS2 reports 232: it holds 41 % of DS1's APCs.
SET_ASIDE = "209"


def record_folds(sveb: dict[str, int], folds: int) -> list[list[str]]:
    """Records dealt into ``folds`` folds in snake order of SVEB count (most first, ties by name):
    every fold gets a fair share of the APCs and of the records, the same on every run."""
    if not 3 <= folds <= len(sveb):
        raise DanetError(f"--folds {folds}: need at least 3 (test, validation, training) and at most {len(sveb)}")
    dealt: list[list[str]] = [[] for _ in range(folds)]
    for position, name in enumerate(sorted(sveb, key=lambda name: (-sveb[name], name))):
        lap, seat = divmod(position, folds)
        dealt[seat if lap % 2 == 0 else folds - 1 - seat].append(name)
    return [sorted(fold) for fold in dealt]


@dataclass
class CrossvalConfig:
    """``folds``-fold cross-validation of one variant over mitdb DS1, its fold models and summary in ``out``."""

    out: Path
    train: TrainConfig = field(default_factory=TrainConfig)  # its variant is the folds' models'
    folds: int = 5
    scorings: list[str] = field(default_factory=lambda: ["all"])
    threshold_rule: str = "f1"
    cache: Path = DEFAULT_CACHE
    log: Path | None = None


def crossval(config: CrossvalConfig) -> dict:
    """``cross_validate`` on mitdb DS1 (prepared into ``config.cache``), logging to ``config.log``."""
    records = [label_record(mitdb_dir() / f"{name}.hea", config.cache) for name in DS1]
    log = Logger(config.log)
    try:
        return cross_validate(records, config.train, config.folds, config.out, config.scorings, log,
                              config.threshold_rule)
    finally:
        log.close()


def summary_name(threshold_rule: str) -> str:
    return "crossval.json" if threshold_rule == "f1" else f"crossval-{threshold_rule}.json"


def scored_as(model, scoring: str):
    """``model`` scoring raw, or record-relative against the reference ``scoring`` names."""
    relative = scoring != "raw"
    model.config = replace(model.config, record_relative=relative, record_reference=scoring if relative else "all")
    return model


def cross_validate(records: list[ReferenceRecord], config: TrainConfig, folds: int, out: Path,
                   scorings: Sequence[str] = ("all",), log: Callable = lambda event: None,
                   threshold_rule: str = "f1") -> dict:
    """Fit one model per fold into ``out/fold-K`` (a fold already there is reused, so a stopped run
    resumes and a new scoring or threshold rule costs no training) and score every record out of
    fold under each of ``scorings``, at thresholds chosen by ``threshold_rule``. Writes and returns
    the summary (``out/crossval.json``, ``out/crossval-RULE.json`` for another rule than f1)."""
    unknown = [s for s in scorings if s not in SCORINGS]
    if unknown:
        raise ValueError(f"unknown scoring {', '.join(unknown)}; known: {', '.join(SCORINGS)}")
    by_name = {r.name: r for r in records}
    assignment = record_folds({r.name: int(r.beats.label.sum()) + r.missed_sveb for r in records}, folds)
    scores: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]] = {s: {} for s in scorings}
    thresholds: dict[str, list[float]] = {s: [] for s in scorings}
    results: dict[str, list] = {s: [] for s in scorings}
    for k, test in enumerate(assignment):
        val_names = assignment[(k + 1) % folds]
        train_names = [name for j, fold in enumerate(assignment) if j not in (k, (k + 1) % folds) for name in fold]
        train = BeatSet.concatenate([by_name[name].beats for name in train_names])
        val = BeatSet.concatenate([by_name[name].beats for name in val_names])
        folder = out / f"fold-{k}"
        if (folder / "model.json").exists():
            model, _ = load_model(folder, config.device)
        else:
            seen = [by_name[name] for name in train_names + val_names]
            unlabelled = BeatSet.concatenate([r.beats for r in seen] + [r.false_detections for r in seen])
            log(Fold(fold=k, test_records=test, validation_records=val_names))
            started = time.monotonic()
            model = fit(train, val, config, log, unlabelled=unlabelled.inputs)
            description = {"source": "mitdb DS1, cross-validation", "train_records": sorted(train_names),
                           "validation_records": val_names, "test_records": test}
            finish_model(model, config, train, val, description, f"danet-{config.variant}-fold{k}", folder,
                          time.monotonic() - started, log)
        for scoring in scorings:
            threshold = validation_figures(scored_as(model, scoring), val, config.device, rule=threshold_rule)[0]
            thresholds[scoring].append(threshold)
            fold_scores = {name: record_scores(model, by_name[name], config.device) for name in test}
            scores[scoring].update(fold_scores)
            results[scoring] += evaluate_records([by_name[name] for name in test], fold_scores, threshold)
    summary = {"folds": assignment, "config": asdict(config), "threshold_rule": threshold_rule, "scorings": {}}
    for scoring in scorings:
        label = np.concatenate([np.concatenate([by_name[n].beats.label, np.zeros(len(by_name[n].false_detections))])
                                for n in scores[scoring]])
        pooled = np.concatenate([np.concatenate(scores[scoring][n]) for n in scores[scoring]])
        summary["scorings"][scoring] = {"thresholds": thresholds[scoring],
                                        "average_precision": average_precision(label, pooled),
                                        **summarise(results[scoring], set_aside=SET_ASIDE)}
    # The floor on the same records and beats: the rule learns nothing, so every record is out of fold.
    rule_scores = {record.name: rr_rule_scores(record) for record in records}
    summary["rr_rule"] = summarise(evaluate_records(records, rule_scores, 0.5), set_aside=SET_ASIDE)
    out.mkdir(parents=True, exist_ok=True)
    (out / summary_name(threshold_rule)).write_text(json.dumps(summary, indent=2) + "\n")
    return summary
