"""Fitting the record-level second pass (``danet_viewer.model.second_pass``) on the 74 training patients.

The patients are mitdb DS1 and the 52 svdb records; DS2 is refused. Record-wise folds (dealt by SVEB
count as ``crossval.record_folds`` deals them, with a seeded jitter so several seeds deal differently)
give every record an out-of-fold score: fold k is scored by a pass fitted on the other folds at the
threshold that maximises F1 over *their* inner out-of-fold scores, so no record picks its own
threshold. The shipped pass is fitted on all 74, at the F1-optimal threshold of the pooled
out-of-fold scores of the first seed. DS1 and svdb are reported apart, with the RR rule and the
network's own scoring beside them, scored on the same detected beats.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

from danet_viewer.core.atomic import atomic_output
from danet_viewer.core.rr_rule import rr_rule_calls
from danet_viewer.errors import DanetError
from danet_viewer.model.card import load_model
from danet_viewer.model.second_pass import SecondPass, second_pass_features
from training.data import BeatSet, label_record
from training.engine import predict
from training.metrics import Counts, count
from training.rhythm import atrial_fibrillation_beats
from training.splits import TrainingRecord, refuse_test_records, training_records

REGULARISATION = 1.0  # scikit-learn's C: the default, not tuned
# Beats inside the training records' atrial fibrillation/flutter marks weigh this much in the fit: only 2 of
# the 74 patients (mitdb 201, 203) carry AF marks, svdb none, and an early beat in AF is no APC. Chosen on
# the folds (docs/model.md): 5 cut the out-of-fold false APCs in AF by 40-45 % for about 0.01 of F1.
AF_WEIGHT = 5.0
INNER_FOLDS = 4
SECOND_PASS_FOLDS_FILE = "second_pass_folds.json"  # the out-of-fold figures, beside the pass, for the card


@dataclass
class PassRecord:
    """One training record's detected beats in time order: second-pass features and what they are scored against."""

    name: str
    database: str
    features: np.ndarray
    label: np.ndarray  # bool: SVEB
    missed_sveb: int  # reference SVEB beats no detection matched
    rr_rule: np.ndarray  # bool: the RR rule's calls
    network: np.ndarray  # bool: the network's own scoring at its card threshold
    in_af: np.ndarray  # bool: inside an atrial fibrillation or flutter episode of the record's rhythm marks


def prepare(model_folder: Path, records: list[TrainingRecord], cache: Path | None,
            network_scores: Path | None = None) -> list[PassRecord]:
    """Each record's pass features over the network's raw scores: the model folder's own, or, with
    ``network_scores`` (a ``crossval`` run's out-of-fold folder), scores from fold models that never saw the record,
    so the pass learns how far to trust the network on a new patient rather than on its training beats. There a
    record the network neither trained nor validated on (by its card) keeps the network's own scores, already out of
    sample (svdb for a network trained on DS1); a card that does not list its records needs every record's."""
    refuse_test_records(records)
    network, card = load_model(model_folder)
    network.second_pass = None  # the pass is fitted over the network's own scores
    listed = card.training.get("train_records")
    seen = None if listed is None else set(listed) | set(card.training.get("validation_records") or [])
    prepared = []
    for database, header in records:
        record = label_record(header, cache)
        together = BeatSet.concatenate([record.beats, record.false_detections])
        samples = np.concatenate([record.beat_sample, record.false_sample])
        order = np.argsort(samples, kind="stable")
        inputs = together.inputs.subset(order)
        if network_scores is None or (seen is not None and record.name not in seen):
            raw = predict(network, inputs, raw=True)
            calls = predict(network, inputs) >= card.threshold
        else:
            scoring = network.config.record_reference if network.config.record_relative else "raw"
            raw, calls = out_of_fold_network(network_scores, record.name, samples[order], scoring)
        prepared.append(PassRecord(record.name, database, second_pass_features(inputs, raw),
                                   together.label[order].astype(bool), record.missed_sveb,
                                   rr_rule_calls(samples[order]), calls,
                                   atrial_fibrillation_beats(header, samples[order])))
    return prepared


def out_of_fold_network(folder: Path, name: str, samples: np.ndarray, scoring: str) -> tuple[np.ndarray, np.ndarray]:
    """A record's out-of-fold raw p(APC) and its fold model's calls under ``scoring`` at that fold's threshold, from
    ``crossval``'s per-record file; refused unless the file holds the same detections in the same order."""
    path = folder / f"{name}.npz"
    if not path.exists():
        raise DanetError(f"{path}: no out-of-fold scores for record {name}; run crossval over the same training set")
    with np.load(path) as saved:
        if not np.array_equal(saved["sample"], samples):
            raise DanetError(f"{path}: its detections differ from record {name}'s; rerun crossval with the same cache")
        if f"p_{scoring}" not in saved:
            raise DanetError(f"{path}: no scores under the model's scoring {scoring!r}; rerun crossval with it")
        return saved["p_raw"].astype(np.float32), saved[f"p_{scoring}"] >= float(saved[f"threshold_{scoring}"])


def deal(records: list[PassRecord], folds: int, seed: int) -> list[list[str]]:
    """Records into ``folds`` folds in snake order of SVEB count; seed > 0 jitters the counts so folds differ."""
    rng = np.random.default_rng(seed)
    sveb = {r.name: int(r.label.sum()) + (30 * rng.random() if seed else 0.0) for r in records}
    dealt: list[list[str]] = [[] for _ in range(folds)]
    for position, name in enumerate(sorted(sveb, key=lambda name: (-sveb[name], name))):
        lap, seat = divmod(position, folds)
        dealt[seat if lap % 2 == 0 else folds - 1 - seat].append(name)
    return dealt


def fit_pass(records: list[PassRecord], threshold: float = 0.5, chosen_by: str = "") -> SecondPass:
    features = np.concatenate([r.features for r in records]).astype(np.float64)
    label = np.concatenate([r.label for r in records])
    weight = np.concatenate([np.where(r.in_af, AF_WEIGHT, 1.0) for r in records])
    mean, scale = features.mean(axis=0), features.std(axis=0) + 1e-6
    regression = LogisticRegression(C=REGULARISATION, max_iter=3000).fit((features - mean) / scale, label,
                                                                          sample_weight=weight)
    return SecondPass(mean, scale, regression.coef_[0].copy(), float(regression.intercept_[0]), threshold, chosen_by)


def best_threshold(records: list[PassRecord], scores: list[np.ndarray]) -> float:
    """The score threshold of best F1 over these records (missed reference SVEB beats count as false negatives)."""
    label = np.concatenate([r.label for r in records])
    score = np.concatenate(scores)
    order = np.argsort(-score, kind="stable")
    positives = label.sum() + sum(r.missed_sveb for r in records)
    tp, fp = np.cumsum(label[order]), np.cumsum(~label[order])
    return float(score[order][int(np.argmax(2 * tp / (tp + fp + positives)))])


def out_of_fold_scores(records: list[PassRecord], folds: list[list[str]]) -> dict[str, np.ndarray]:
    """Every record's scores from a pass fitted on the other folds."""
    by_name = {r.name: r for r in records}
    scores = {}
    for k, fold in enumerate(folds):
        fitted = fit_pass([by_name[n] for j, other in enumerate(folds) if j != k for n in other])
        scores.update({n: fitted.p_apc(by_name[n].features) for n in fold})
    return scores


def out_of_fold_calls(records: list[PassRecord], folds: list[list[str]]) -> dict[str, np.ndarray]:
    """Every record's calls by a pass fitted on the other folds, at the threshold their inner folds chose."""
    by_name = {r.name: r for r in records}
    calls = {}
    for k, fold in enumerate(folds):
        rest = [other for j, other in enumerate(folds) if j != k]
        train = [by_name[n] for other in rest for n in other]
        inner = out_of_fold_scores(train, deal(train, INNER_FOLDS, 0))
        threshold = best_threshold(train, [inner[r.name] for r in train])
        fitted = fit_pass(train)
        calls.update({n: fitted.p_apc(by_name[n].features) >= threshold for n in fold})
    return calls


def totals(records: list[PassRecord], calls: dict[str, np.ndarray]) -> Counts:
    total = Counts(0, 0, 0, 0)
    for r in records:
        total = total + count(r.label, calls[r.name], r.missed_sveb)
    return total


def false_apcs_in_af(records: list[PassRecord], calls: dict[str, np.ndarray]) -> int:
    """APC calls on beats inside atrial fibrillation or flutter marks: the false alarms a pass that judges
    prematurity alone makes, and that a fold table dominated by svdb (no AF marks) would otherwise hide."""
    return int(sum((calls[r.name] & r.in_af & ~r.label).sum() for r in records))


def groups(records: list[PassRecord]) -> dict[str, list[PassRecord]]:
    """The 74 together, each database apart, and DS1 without 209 (41 % of its APCs)."""
    ds1 = [r for r in records if r.database == "mitdb"]
    return {"all": records, "mitdb DS1": ds1, "DS1 without 209": [r for r in ds1 if r.name != "209"],
            "svdb": [r for r in records if r.database == "svdb"]}


def fit_second_pass(model_folder: Path, cache: Path | None, folds: int = 5, seeds: tuple[int, ...] = (0, 1, 2),
                    records: list[TrainingRecord] | None = None,
                    network_scores: Path | None = None) -> tuple[SecondPass, dict]:
    """Out-of-fold figures over ``seeds``, then the pass on all records: both written into ``model_folder``
    (``second_pass.json``, ``SECOND_PASS_FOLDS_FILE``). ``network_scores``: as ``prepare``."""
    started = time.monotonic()
    prepared = prepare(model_folder, records if records is not None else training_records("ds1+svdb"), cache,
                       network_scores)
    rows: dict[str, dict[str, dict]] = {}
    af_alarms: dict[str, int] = {}
    every_call = {"RR rule": {r.name: r.rr_rule for r in prepared}, "network": {r.name: r.network for r in prepared}}
    every_call.update({f"second pass, seed {seed}": out_of_fold_calls(prepared, deal(prepared, folds, seed))
                       for seed in seeds})
    for name, calls in every_call.items():
        rows[name] = {group: totals(members, calls).as_dict() for group, members in groups(prepared).items()}
        af_alarms[name] = false_apcs_in_af(prepared, calls)
    pooled = out_of_fold_scores(prepared, deal(prepared, folds, seeds[0]))
    threshold = best_threshold(prepared, [pooled[r.name] for r in prepared])
    chosen_by = (f"F1-optimal on the pooled out-of-fold scores of {folds} record-wise folds (seed {seeds[0]}) "
                 f"over the {len(prepared)} training records"
                 + (", the network's scores out of fold too" if network_scores is not None else ""))
    fitted = fit_pass(prepared, threshold, chosen_by)
    fitted.save(model_folder)
    summary = {"records": {r.name: r.database for r in prepared}, "folds": folds, "seeds": list(seeds),
               "threshold": threshold, "rows": rows, "false_apcs_in_af": af_alarms,
               "network_scores": "out of fold" if network_scores is not None else "the model's own",
               "seconds": round(time.monotonic() - started, 1)}
    with atomic_output(model_folder / SECOND_PASS_FOLDS_FILE) as temporary:
        temporary.write_text(json.dumps(summary, indent=2) + "\n")
    return fitted, summary
