"""Training sets and record-wise splits: the 74 patients (mitdb DS1 + svdb) resolve through one labelling path,
folds over two databases never split a record, and a DS2 record is refused before any training
(synthetic records; no ../shared needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from danet_viewer.errors import DanetError
from tests.training.test_second_pass import _write
from training import splits
from training.databases import MITDB, SVDB, Database
from training.fitting import FitConfig, fit_model
from training.mitdb import DS1
from training.splits import (
    POOLED_VALIDATION_FOLD,
    POOLED_VALIDATION_FOLDS,
    TrainingRecord,
    labelled_records,
    pooled_split,
    record_folds,
    refuse_test_records,
    training_records,
)


def test_folds_over_two_databases_never_split_a_record_and_each_holds_both():
    sveb = {f"{100 + i}": (i * 37) % 90 for i in range(22)} | {f"{800 + i}": (i * 53) % 400 for i in range(52)}
    database = {name: "mitdb" if name < "800" else "svdb" for name in sveb}
    folds = record_folds(sveb, 5, database)
    names = [name for fold in folds for name in fold]
    assert sorted(names) == sorted(sveb)  # every record in exactly one fold, whole
    assert [len(fold) for fold in folds] == [15, 15, 15, 15, 14]
    for fold in folds:  # each database dealt in turn: every fold holds APCs of both
        assert {database[name] for name in fold if sveb[name]} == {"mitdb", "svdb"}
    # Without databases the deal is DS1's as before: snake order of SVEB count alone.
    assert record_folds(sveb, 5) == record_folds(sveb, 5, dict.fromkeys(sveb, "mitdb"))


def test_a_ds2_record_is_refused_in_one_line_before_anything_is_read(tmp_path):
    with pytest.raises(DanetError, match=r"^mitdb DS2 record\(s\) 100, 232 in the training or validation set"):
        labelled_records([TrainingRecord("mitdb", tmp_path / "101.hea"), TrainingRecord("mitdb", tmp_path / "232.hea"),
                          TrainingRecord("mitdb", tmp_path / "100.hea")], None)
    refuse_test_records([TrainingRecord("svdb", tmp_path / "232.hea")])  # a name of svdb's own is no DS2 record
    with pytest.raises(DanetError, match="named twice"):  # one patient twice would sit on both sides of a fold
        labelled_records([TrainingRecord("mitdb", tmp_path / "101.hea"), TrainingRecord("svdb", tmp_path / "101.hea")],
                         None)


def test_the_fit_refuses_a_ds2_record_in_its_training_set(tmp_path, monkeypatch):
    monkeypatch.setattr("training.fitting.training_records",
                        lambda name: [TrainingRecord("mitdb", tmp_path / f"{n}.hea") for n in ("101", "106", "213")])
    with pytest.raises(DanetError, match="213"):
        fit_model(FitConfig(out=tmp_path / "model", training_set="ds1+svdb"))
    assert not (tmp_path / "model").exists()  # nothing half-written


def test_an_unknown_training_set_is_refused():
    with pytest.raises(DanetError, match="'ds2'"):
        training_records("ds2")


def test_ds1_plus_svdb_is_the_22_ds1_records_then_every_svdb_record(tmp_path, monkeypatch):
    (tmp_path / "RECORDS").write_text("800\n801\n802\n")
    monkeypatch.setattr(splits, "SVDB", Database("svdb", tmp_path / "absent.tar.xz", tmp_path, SVDB.citation))
    monkeypatch.setattr(splits, "mitdb_dir", lambda: tmp_path / "mitdb")
    records = training_records("ds1+svdb")
    assert records[:22] == [TrainingRecord("mitdb", tmp_path / "mitdb" / f"{name}.hea") for name in DS1]
    assert records[22:] == [TrainingRecord("svdb", tmp_path / f"{name}.hea") for name in ("800", "801", "802")]
    assert training_records("ds1") == records[:22]


@pytest.fixture
def two_databases(tmp_path) -> list[TrainingRecord]:
    """Three mitdb-shaped (360 Hz, APCs 'A') and three svdb-shaped records (128 Hz, two leads, SVEB 'S')."""
    records = [TrainingRecord("mitdb", _write(tmp_path, name, 360, i)) for i, name in enumerate(["101", "106", "108"])]
    return records + [TrainingRecord("svdb", _write(tmp_path, name, 128, i))
                      for i, name in enumerate(["800", "803", "804", "805", "806"])]


def test_the_pooled_split_labels_svdb_through_the_same_path_and_holds_out_whole_records(two_databases):
    split = pooled_split(two_databases, None)
    labelled = labelled_records(two_databases, None)
    # svdb's S beats are SVEB as mitdb's A beats are, by the one labelling path.
    assert all(record.beats.label.sum() > 5 for record in labelled)
    assert split.train.label.sum() + split.val.label.sum() == sum(int(r.beats.label.sum()) for r in labelled)
    held_out = split.description["validation_records"]
    assert held_out == record_folds({r.name: int(r.beats.label.sum()) + r.missed_sveb for r in labelled},
                                    POOLED_VALIDATION_FOLDS,
                                    {r.header.stem: r.database for r in two_databases})[POOLED_VALIDATION_FOLD]
    assert set(split.val.record) == set(held_out) and not set(split.train.record) & set(held_out)
    description = split.description
    assert description["source"] == "mitdb DS1 + svdb"
    assert description["databases"]["svdb"]["citation"] == SVDB.citation
    assert description["databases"]["mitdb"]["citation"] == MITDB.citation
    assert description["databases"]["svdb"]["records"] == ["800", "803", "804", "805", "806"]
    assert sum(description["validation_apcs"].values()) == int(split.val.label.sum())
    assert len(split.unlabelled) >= len(split.train) + len(split.val)


@pytest.mark.slow
def test_a_fit_on_two_databases_writes_a_card_naming_both_with_their_citations(two_databases, tmp_path,
                                                                                 monkeypatch):
    from danet_viewer.model.card import load_model
    from tests.training.test_training import TINY
    from training.engine import TrainConfig
    from training.report import model_card_markdown

    monkeypatch.setattr("training.fitting.training_records", lambda name: two_databases)
    card = fit_model(FitConfig(out=tmp_path / "model", training_set="ds1+svdb", scoring="all", cache=None,
                               train=TrainConfig(variant="backbone", **TINY)))
    network, _ = load_model(tmp_path / "model")
    assert network.config.record_relative and card["raw_threshold"] is not None  # scored as --scoring asked
    assert card["training"]["seconds"] > 0 and "validation_chosen_by" in card["training"]
    counts = {"se": 0.5, "ppv": 0.5, "f1": 0.5, "accuracy": 0.5, "specificity": 0.5}
    ds2 = {"all": counts, "without_232": counts, "strips": counts,
           "rr_rule": {"all": counts, "without_232": counts, "strips": counts}}
    text = model_card_markdown(card, ds2)
    assert "Trained on mitdb DS1 + svdb: 8 patients (mitdb 3 records, svdb 5 records" in text
    assert SVDB.citation in text and MITDB.citation in text and "Training took" in text
    assert "DS1 validation" not in text  # its thresholds were chosen on the held-out fold of both databases
    assert np.isfinite(card["threshold"])


def test_the_training_set_options_parse_into_the_configs():
    from training.cli import build_parser, crossval_config, fit_config

    args = build_parser().parse_args(["fit", "--out", "m", "--training-set", "ds1+svdb", "--scoring", "all"])
    assert fit_config(args) == FitConfig(out=Path("m"), training_set="ds1+svdb", scoring="all")
    args = build_parser().parse_args(["crossval", "--out", "cv", "--training-set", "ds1+svdb"])
    assert crossval_config(args).training_set == "ds1+svdb"
    assert fit_config(build_parser().parse_args(["fit", "--out", "m"])).training_set == "ds1"  # the default stays
