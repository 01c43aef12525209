"""Record-wise cross-validation: folds by record with a fair share of APCs, every record scored out of fold."""

from __future__ import annotations

import json

import numpy as np
import pytest

from danet_viewer.errors import DanetError
from tests.training.test_training import TINY, _synthetic_beats
from training.crossval import OUT_OF_FOLD_FOLDER, Patient, cross_validate, record_folds
from training.data import ReferenceRecord
from training.engine import TrainConfig


def test_folds_are_disjoint_cover_every_record_and_share_the_apcs():
    sveb = {"209": 383, "207": 107, "118": 96, "220": 94, "201": 82, "223": 73, "124": 31, "114": 12,
            **{name: 2 for name in ("101", "108", "112", "203", "205", "208", "215")},
            **{name: 0 for name in ("106", "109", "115", "116", "119", "122", "230")}}
    folds = record_folds(sveb, 5)
    assert sorted(name for fold in folds for name in fold) == sorted(sveb)
    assert [len(fold) for fold in folds] == [5, 5, 4, 4, 4]
    shares = [sum(sveb[name] for name in fold) for fold in folds]
    assert max(shares) - 383 < 100  # apart from 209's fold, no fold hoards APCs
    assert folds == record_folds(dict(reversed(list(sveb.items()))), 5)  # order of the input does not matter
    with pytest.raises(DanetError, match="folds 2"):  # bad input, reported in one line
        record_folds(sveb, 2)


def _record(seed: int, name: str) -> ReferenceRecord:
    beats = _synthetic_beats(seed, name)
    n = len(beats)
    none = beats.subset(np.arange(0))
    return ReferenceRecord(name, 250.0, 480.0, beats, np.arange(n) * 200, none, np.arange(0), np.arange(0), 0)


@pytest.mark.slow
def test_cross_validation_scores_every_record_out_of_fold_and_resumes(tmp_path):
    records = [_record(seed, name) for seed, name in enumerate("abcd", start=1)]
    config = TrainConfig(variant="hard", seed=0, **TINY)
    # Two databases; record a lies wholly inside atrial fibrillation by its rhythm marks.
    patients = {r.name: Patient("mitdb" if r.name in "ab" else "svdb",
                                (np.full(len(r.beats), r.name == "a"), np.zeros(0, bool))) for r in records}
    summary = cross_validate(records, config, 4, tmp_path, ["raw", "all"], patients=patients,
                             training_set="ds1+svdb")
    assert sorted(name for fold in summary["folds"] for name in fold) == list("abcd")
    a_fold = next(k for k, fold in enumerate(summary["folds"]) if "a" in fold)
    for scoring in ("raw", "all"):
        row = summary["scorings"][scoring]
        assert len(row["thresholds"]) == 4 and set(row["per_record"]) == set("abcd")
        assert row["all"]["tp"] + row["all"]["fn"] == sum(int(r.beats.label.sum()) for r in records)
        assert row["average_precision"] > 0.9  # the synthetic APCs are learnt, on records never trained on
        groups = row["groups"]
        assert set(groups) == {"all", "mitdb DS1", "DS1 without 209", "svdb"}
        assert groups["mitdb DS1"]["tp"] + groups["svdb"]["tp"] == groups["all"]["tp"]
        a_called = row["per_record"]["a"]["fp"]  # every false APC of record a lies in its AF marks, no other does
        assert groups["all"]["false_in_fibrillation"] == groups["mitdb DS1"]["false_in_fibrillation"] == a_called
        other_folds = row["other_folds"]  # each fold at the threshold chosen on the other folds' pooled scores
        assert len(other_folds["thresholds"]) == 4 and set(other_folds["groups"]) == set(groups)
        assert other_folds["all"]["tp"] + other_folds["all"]["fn"] == row["all"]["tp"] + row["all"]["fn"]
        saved = np.load(tmp_path / OUT_OF_FOLD_FOLDER / "a.npz")
        assert int(saved["fold"]) == a_fold and float(saved[f"threshold_{scoring}"]) == row["thresholds"][a_fold]
    # The RR rule beside it, on the same records and beats, with the same groups.
    floor = summary["rr_rule"]["all"]
    assert floor["tp"] + floor["fn"] == sum(int(r.beats.label.sum()) for r in records)
    assert summary["rr_rule"]["groups"]["svdb"]["tp"] + summary["rr_rule"]["groups"]["mitdb DS1"]["tp"] == floor["tp"]
    # Every record's out-of-fold scores, in time order, for a record-level pass fitted on them.
    for record in records:
        saved = np.load(tmp_path / OUT_OF_FOLD_FOLDER / f"{record.name}.npz")
        assert np.all(np.diff(saved["sample"]) >= 0) and int(saved["label"].sum()) == int(record.beats.label.sum())
        assert str(saved["database"]) == patients[record.name].database
        assert len(saved["p_raw"]) == len(saved["p_all"]) == len(record.beats) + len(record.false_detections)
        assert not np.array_equal(saved["p_raw"], saved["p_all"])  # the network's own score and the relative one
    for k, fold in enumerate(summary["folds"]):
        card = json.loads((tmp_path / f"fold-{k}" / "model.json").read_text())
        assert card["training"]["test_records"] == fold
        assert not set(fold) & set(card["training"]["train_records"] + card["training"]["validation_records"])
    # A second run reuses the fold models: same scores, no training.
    again = cross_validate(records, config, 4, tmp_path, ["raw"], log=lambda event: pytest.fail(str(event)),
                           patients=patients, training_set="ds1+svdb")
    assert again["scorings"]["raw"] == summary["scorings"]["raw"]
    # Another threshold rule from the same fold models, in a summary of its own.
    by_rate = cross_validate(records, config, 4, tmp_path, ["all"], threshold_rule="false-alarm", patients=patients)
    assert json.loads((tmp_path / "crossval-false-alarm.json").read_text())["threshold_rule"] == "false-alarm"
    saved = np.load(tmp_path / f"{OUT_OF_FOLD_FOLDER}-false-alarm" / "a.npz")  # the f1 rule's files kept apart
    assert float(saved["threshold_all"]) == by_rate["scorings"]["all"]["thresholds"][a_fold]
    assert by_rate["scorings"]["all"]["thresholds"] != summary["scorings"]["all"]["thresholds"]
    # Another deal (here: every record one database) into the same folder would reuse models that saw its records.
    with pytest.raises(DanetError, match="fold model for test records"):
        cross_validate([records[1], records[0], records[3], records[2]][:3], config, 3, tmp_path, ["raw"])
    assert json.loads((tmp_path / "crossval.json").read_text())["threshold_rule"] == "f1"


def test_false_apcs_are_counted_inside_atrial_fibrillation_marks_only():
    from training.crossval import false_calls_in_fibrillation

    record = _record(1, "a")
    label = record.beats.label.astype(bool)
    in_af = np.arange(len(label)) < len(label) // 2  # the first half of the record lies in AF
    score = np.full(len(label), 0.9)  # every beat called
    counted = false_calls_in_fibrillation([record], {"a": (score, np.zeros(0))}, 0.5,
                                          {"a": Patient("mitdb", (in_af, np.zeros(0, bool)))})
    assert counted == {"a": int(np.sum(in_af & ~label))}  # APCs called in AF are no false alarms
    assert false_calls_in_fibrillation([record], {"a": (score, np.zeros(0))}, 0.95,
                                       {"a": Patient("mitdb", (in_af, np.zeros(0, bool)))}) == {"a": 0}


def test_a_log_may_name_a_folder_that_does_not_exist_yet(tmp_path):
    from danet_viewer.model.training_log import Fold
    from training.engine import Logger

    log = Logger(tmp_path / "runs" / "fold.jsonl", quiet=True)
    log(Fold(fold=0, test_records=["a"], validation_records=["b"]))
    log.close()
    assert json.loads((tmp_path / "runs" / "fold.jsonl").read_text())["event"] == "fold"


def test_the_crossval_table_gives_mean_and_sd_over_seeds_per_variant_and_scoring(tmp_path):
    from training.report import crossval_table

    def row(f1: float) -> dict:
        counts = {"tp": 1, "fn": 1, "fp": 1, "tn": 1, "se": 0.5, "ppv": 0.5, "f1": f1}
        return {"all": counts, "without_209": counts, "average_precision": f1 / 2}

    for seed, f1 in enumerate((0.2, 0.4)):
        (tmp_path / f"soft-s{seed}").mkdir()
        (tmp_path / f"soft-s{seed}" / "crossval.json").write_text(json.dumps({"scorings": {"all": row(f1)}}))
    lines = crossval_table(tmp_path)
    assert len(lines) == 3  # header, rule, one row: no other variant or scoring was run
    assert lines[2].startswith(
        "| soft | all | f1 | 2 | 50.0 ± 0.0 | 50.0 ± 0.0 | 0.30 ± 0.14 | 0.30 ± 0.14 | 0.150 ± 0.071 |"
    )


def test_the_crossval_table_shows_the_rr_rule_beneath(tmp_path):
    from danet_viewer.core.rr_rule import RR_RULE_NAME
    from training.report import crossval_table

    counts = {"tp": 1, "fn": 3, "fp": 1, "tn": 1, "se": 0.25, "ppv": 0.5, "f1": 1 / 3}
    run = {"scorings": {"all": {"all": counts, "without_209": counts, "average_precision": 0.2}},
           "rr_rule": {"all": counts, "without_209": counts}}
    (tmp_path / "soft-s0").mkdir()
    (tmp_path / "soft-s0" / "crossval.json").write_text(json.dumps(run))
    lines = crossval_table(tmp_path)
    assert lines[-1].startswith(f"| {RR_RULE_NAME} | – | – | – | 25.0 ± 0.0 | 50.0 ± 0.0 | 0.33 ± 0.00 |")


def test_the_groups_table_shows_each_database_the_af_false_alarms_and_the_rr_rule_beneath():
    from danet_viewer.core.rr_rule import RR_RULE_NAME
    from training.report import crossval_groups_table

    def row(f1: float, in_af: int) -> dict:
        counts = {"tp": 1, "fn": 1, "fp": 1, "tn": 1, "se": 0.5, "ppv": 0.25, "f1": f1}
        return {group: {**counts, "false_in_fibrillation": in_af} for group in ("all", "mitdb DS1", "svdb")}

    summary = {"scorings": {"all": {"groups": row(0.5, 3)}}, "rr_rule": {"groups": row(0.25, 40)}}
    lines = crossval_groups_table(summary)
    assert lines[0] == ("| out of fold | all F1 (Se / +P %) | mitdb DS1 F1 (Se / +P %) | svdb F1 (Se / +P %) "
                        "| FP in AF beats |")
    assert lines[2] == "| network, all | 0.500 (50.0 / 25.0) | 0.500 (50.0 / 25.0) | 0.500 (50.0 / 25.0) | 3 |"
    assert lines[3].startswith(f"| {RR_RULE_NAME} | 0.250 (50.0 / 25.0)") and lines[3].endswith("| 40 |")


def test_the_other_folds_threshold_is_chosen_without_the_folds_own_beats():
    from training.crossval import _at_other_folds_threshold

    records = [_record(seed, name) for seed, name in enumerate("abc", start=1)]
    label = {r.name: r.beats.label.astype(float) for r in records}
    # a alone would be cut anywhere in (0.05, 0.95); b and c only between their negatives 0.7 and positives 0.9.
    scores = {"a": (0.05 + 0.9 * label["a"], np.zeros(0)), "b": (0.7 + 0.2 * label["b"], np.zeros(0)),
              "c": (0.7 + 0.2 * label["c"], np.zeros(0))}
    patients = {r.name: Patient("mitdb", (np.zeros(len(r.beats), bool), np.zeros(0, bool))) for r in records}
    row = _at_other_folds_threshold(records, [["a"], ["b"], ["c"]], scores, "f1", patients)
    assert 0.7 < row["thresholds"][0] < 0.9  # a's, from b and c
    assert row["all"]["fp"] == 0 and row["all"]["fn"] == 0  # and it separates every record
