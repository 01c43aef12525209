"""Record-wise cross-validation over a training set (mitdb DS1, or DS1 + svdb: the 74 patients): every record
scored by a model that never saw it.

Four fixed validation records predicted DS2 only roughly (danet.md, "Known so far"), so a change
is better judged on all of the training patients, out of fold. The records are dealt into folds by SVEB
count (each database in turn), so no fold is left with most of the APCs (209 holds 383 of DS1's 940); fold
k is scored by a model trained on the other folds except fold k+1, which chooses its early stopping and its
threshold, so no record ever picks the threshold it is scored at. One set of fold models serves several
scorings (raw, and record-relative against each reference), chosen after training as `danet-train
calibrate` chooses a model's, each with its own thresholds. Every table carries the RR rule, scored by the
same code on the same beats, each database apart, and the false APCs called inside atrial fibrillation or
flutter (the records' rhythm marks). Each record's out-of-fold scores are saved (``OUT_OF_FOLD_FOLDER``) so
a record-level pass can be fitted on them rather than on a network that saw the record.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from danet_viewer.core.atomic import atomic_output
from danet_viewer.errors import DanetError
from danet_viewer.model.card import load_model
from danet_viewer.model.network import RECORD_REFERENCES
from danet_viewer.model.training_log import Fold
from training.data import BeatSet, ReferenceRecord
from training.databases import MITDB
from training.engine import Logger, TrainConfig, fit
from training.evaluate import RecordResult, evaluate_records, record_scores, rr_rule_scores, summarise
from training.finish import finish_model, validation_figures
from training.fitting import DEFAULT_CACHE, scored_as
from training.metrics import Counts, average_precision, choose_threshold
from training.rhythm import atrial_fibrillation_beats
from training.splits import labelled_records, record_folds, sveb_count, training_records

SCORINGS = ("raw", *RECORD_REFERENCES)
# DS1's dominant SVEB record, reported apart as DS2 reports 232: it holds 41 % of DS1's APCs.
SET_ASIDE = "209"
OUT_OF_FOLD_FOLDER = "out_of_fold"  # one npz per record: its detections' out-of-fold scores and fold thresholds


@dataclass
class Patient:
    """What cross-validation reports of a record beside its beats: its database, and which of its detections
    (matched beats, then false detections) lie inside atrial fibrillation or flutter by its rhythm marks."""

    database: str
    fibrillation: tuple[np.ndarray, np.ndarray]


@dataclass
class CrossvalConfig:
    """``folds``-fold cross-validation of one variant over a training set (``splits.TRAINING_SETS``: mitdb DS1,
    or DS1 + svdb), its fold models and summary in ``out``."""

    out: Path
    train: TrainConfig = field(default_factory=TrainConfig)  # its variant is the folds' models'
    folds: int = 5
    scorings: list[str] = field(default_factory=lambda: ["all"])
    threshold_rule: str = "f1"
    cache: Path = DEFAULT_CACHE
    log: Path | None = None
    training_set: str = "ds1"


def crossval(config: CrossvalConfig) -> dict:
    """``cross_validate`` on the training set's records (prepared into ``config.cache``; a DS2 record is
    refused), logging to ``config.log``."""
    chosen = training_records(config.training_set)
    records = labelled_records(chosen, config.cache)
    patients = {record.name: Patient(r.database, _fibrillation(r.header, record))
                for record, r in zip(records, chosen, strict=True)}
    log = Logger(config.log)
    try:
        return cross_validate(records, config.train, config.folds, config.out, config.scorings, log,
                              config.threshold_rule, patients, config.training_set)
    finally:
        log.close()


def _fibrillation(header: Path, record: ReferenceRecord) -> tuple[np.ndarray, np.ndarray]:
    return (atrial_fibrillation_beats(header, record.beat_sample),
            atrial_fibrillation_beats(header, record.false_sample))


def summary_name(threshold_rule: str) -> str:
    return "crossval.json" if threshold_rule == "f1" else f"crossval-{threshold_rule}.json"


def out_of_fold_folder(threshold_rule: str) -> str:
    """Where each record's out-of-fold scores go: one folder per threshold rule, as the summaries, because the
    files carry the fold thresholds that rule chose."""
    return OUT_OF_FOLD_FOLDER if threshold_rule == "f1" else f"{OUT_OF_FOLD_FOLDER}-{threshold_rule}"


def false_calls_in_fibrillation(records: list[ReferenceRecord], scores: dict[str, tuple[np.ndarray, np.ndarray]],
                                threshold: float, patients: dict[str, Patient]) -> dict[str, int]:
    """Per record, the detections called APC at ``threshold`` that are not SVEB and lie inside atrial
    fibrillation or flutter: where an early beat means nothing, the false alarms a reviewer dreads most."""
    counted = {}
    for record in records:
        beat_score, false_score = scores[record.name]
        in_beats, in_false = patients[record.name].fibrillation
        counted[record.name] = int(np.sum((beat_score >= threshold) & (record.beats.label == 0) & in_beats)
                                   + np.sum((false_score >= threshold) & in_false))
    return counted


def groups(patients: dict[str, Patient]) -> dict[str, list[str]]:
    """The records reported together: all, each database apart, and mitdb without ``SET_ASIDE``."""
    mitdb = sorted(name for name, p in patients.items() if p.database == MITDB.name)
    named = {"all": sorted(patients), "mitdb DS1": mitdb, f"DS1 without {SET_ASIDE}": [n for n in mitdb
                                                                                         if n != SET_ASIDE]}
    for database in sorted({p.database for p in patients.values()} - {MITDB.name}):
        named[database] = sorted(name for name, p in patients.items() if p.database == database)
    return {name: members for name, members in named.items() if members}


def grouped_rows(results: list[RecordResult], fibrillation_fp: dict[str, int],
                 patients: dict[str, Patient]) -> dict[str, dict]:
    """Beat counts (Se, +P, F1) and false APCs in AF/flutter beats over each of ``groups``."""
    by_name = {r.name: r for r in results}
    rows = {}
    for group, members in groups(patients).items():
        total = Counts(0, 0, 0, 0)
        for name in members:
            total = total + by_name[name].beats
        rows[group] = {**total.as_dict(), "false_in_fibrillation": sum(fibrillation_fp[n] for n in members)}
    return rows


def _at_other_folds_threshold(records: list[ReferenceRecord], assignment: list[list[str]],
                              scores: dict[str, tuple[np.ndarray, np.ndarray]], rule: str,
                              patients: dict[str, Patient]) -> dict:
    """Each fold called at the threshold ``rule`` chooses on the *other* folds' pooled out-of-fold scores (as the
    second pass chooses its own): many patients rather than one validation fold's, and still none of the fold's
    own. Their scores come from models that may have trained on the fold, but its labels choose nothing."""
    by_name = {r.name: r for r in records}
    thresholds, results, in_fibrillation = [], [], {}
    for k, fold in enumerate(assignment):
        others = [by_name[name] for j, other in enumerate(assignment) if j != k for name in other]
        label = np.concatenate([np.concatenate([r.beats.label, np.zeros(len(r.false_detections))]) for r in others])
        threshold = choose_threshold(label, np.concatenate([np.concatenate(scores[r.name]) for r in others]), rule)
        tested = [by_name[name] for name in fold]
        thresholds.append(threshold)
        results += evaluate_records(tested, scores, threshold)
        in_fibrillation.update(false_calls_in_fibrillation(tested, scores, threshold, patients))
    return {"thresholds": thresholds, **summarise(results, set_aside=SET_ASIDE),
            "groups": grouped_rows(results, in_fibrillation, patients)}


def save_out_of_fold(folder: Path, record: ReferenceRecord, fold: int, scores: dict[str, tuple],
                     thresholds: dict[str, float], patient: Patient) -> None:
    """One record's detections in time order with their out-of-fold p(APC) under each scoring (``p_raw``: the
    network's own score, from which its logit follows) and the fold's thresholds, for a later record-level pass."""
    samples = np.concatenate([record.beat_sample, record.false_sample])
    order = np.argsort(samples, kind="stable")
    matched = np.arange(len(samples)) < len(record.beat_sample)
    label = np.concatenate([record.beats.label, np.zeros(len(record.false_sample), np.int8)])
    arrays = {f"p_{scoring}": np.concatenate(pair)[order].astype(np.float32) for scoring, pair in scores.items()}
    arrays.update({f"threshold_{scoring}": np.float64(value) for scoring, value in thresholds.items()})
    folder.mkdir(parents=True, exist_ok=True)
    with atomic_output(folder / f"{record.name}.npz") as temporary, open(temporary, "wb") as file:
        np.savez(file, sample=samples[order], label=label[order], matched=matched[order], fold=np.int64(fold),
                 database=np.str_(patient.database), missed_sveb=np.int64(record.missed_sveb),
                 fibrillation=np.concatenate(patient.fibrillation)[order], **arrays)


def cross_validate(records: list[ReferenceRecord], config: TrainConfig, folds: int, out: Path,
                   scorings: Sequence[str] = ("all",), log: Callable = lambda event: None,
                   threshold_rule: str = "f1", patients: dict[str, Patient] | None = None,
                   training_set: str = "ds1") -> dict:
    """Fit one model per fold into ``out/fold-K`` (a fold already there is reused, so a stopped run
    resumes and a new scoring or threshold rule costs no training) and score every record out of
    fold under each of ``scorings``, at thresholds chosen by ``threshold_rule``. Writes and returns
    the summary (``out/crossval.json``, ``out/crossval-RULE.json`` for another rule than f1), and each
    record's out-of-fold scores into ``out/out_of_fold_folder(threshold_rule)``. ``patients`` (by record name; default:
    all mitdb, no AF marks) deals the folds database by database and groups the figures."""
    unknown = [s for s in scorings if s not in SCORINGS]
    if unknown:
        raise ValueError(f"unknown scoring {', '.join(unknown)}; known: {', '.join(SCORINGS)}")
    by_name = {r.name: r for r in records}
    patients = patients or {r.name: Patient(MITDB.name, (np.zeros(len(r.beats), bool),
                                                         np.zeros(len(r.false_detections), bool))) for r in records}
    database = {name: p.database for name, p in patients.items()}
    assignment = record_folds({r.name: sveb_count(r) for r in records}, folds, database)
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
            model, card = load_model(folder, config.device)
            # A fold model trained on another deal (another training set) has seen this fold's records.
            if card.training.get("test_records") != test:
                raise DanetError(f"{folder}: a fold model for test records {card.training.get('test_records')}, "
                                 f"not {test}: another training set or deal; use another --out")
        else:
            seen = [by_name[name] for name in train_names + val_names]
            unlabelled = BeatSet.concatenate([r.beats for r in seen] + [r.false_detections for r in seen])
            log(Fold(fold=k, test_records=test, validation_records=val_names))
            started = time.monotonic()
            model = fit(train, val, config, log, unlabelled=unlabelled.inputs)
            description = {"source": f"{training_set}, cross-validation", "train_records": sorted(train_names),
                           "validation_records": val_names, "test_records": test}
            finish_model(model, config, train, val, description, f"danet-{config.variant}-fold{k}", folder,
                          time.monotonic() - started, log)
        fold_thresholds: dict[str, float] = {}
        for scoring in scorings:
            threshold, raw_threshold, _ = validation_figures(scored_as(model, scoring), val, config.device,
                                                             rule=threshold_rule)
            fold_scores = {name: record_scores(model, by_name[name], config.device) for name in test}
            fold_thresholds[scoring] = threshold
            if raw_threshold is not None:
                fold_thresholds.setdefault("raw", raw_threshold)
            thresholds[scoring].append(threshold)
            scores[scoring].update(fold_scores)
            results[scoring] += evaluate_records([by_name[name] for name in test], fold_scores, threshold)
        if "raw" not in scorings:  # the network's own scores, saved whatever the scorings: a pass is fitted on them
            scored_as(model, "raw")
            scores.setdefault("raw", {}).update({name: record_scores(model, by_name[name], config.device)
                                                 for name in test})
        for name in test:
            save_out_of_fold(out / out_of_fold_folder(threshold_rule), by_name[name], k,
                             {scoring: scores[scoring][name] for scoring in fold_thresholds}, fold_thresholds,
                             patients[name])
    summary = {"training_set": training_set, "records": database, "folds": assignment, "config": asdict(config),
               "threshold_rule": threshold_rule, "scorings": {}}
    for scoring in scorings:
        label = np.concatenate([np.concatenate([by_name[n].beats.label, np.zeros(len(by_name[n].false_detections))])
                                for n in scores[scoring]])
        pooled = np.concatenate([np.concatenate(scores[scoring][n]) for n in scores[scoring]])
        in_fibrillation = {}
        for k, fold in enumerate(assignment):
            in_fibrillation.update(false_calls_in_fibrillation([by_name[n] for n in fold], scores[scoring],
                                                               thresholds[scoring][k], patients))
        summary["scorings"][scoring] = {"thresholds": thresholds[scoring],
                                        "average_precision": average_precision(label, pooled),
                                        **summarise(results[scoring], set_aside=SET_ASIDE),
                                        "groups": grouped_rows(results[scoring], in_fibrillation, patients),
                                        "other_folds": _at_other_folds_threshold(records, assignment,
                                                                                 scores[scoring], threshold_rule,
                                                                                 patients)}
    # The floor on the same records and beats: the rule learns nothing, so every record is out of fold.
    rule_scores = {record.name: rr_rule_scores(record) for record in records}
    rule_results = evaluate_records(records, rule_scores, 0.5)
    summary["rr_rule"] = {**summarise(rule_results, set_aside=SET_ASIDE),
                          "groups": grouped_rows(rule_results,
                                                 false_calls_in_fibrillation(records, rule_scores, 0.5, patients),
                                                 patients)}
    out.mkdir(parents=True, exist_ok=True)
    (out / summary_name(threshold_rule)).write_text(json.dumps(summary, indent=2) + "\n")
    return summary
