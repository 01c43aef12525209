"""Training end to end on synthetic beats, the CLI's model folder, and a 2-process DDP run."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from danet_viewer.core.analysis import import_annotations
from danet_viewer.core.dataset import export_dataset
from danet_viewer.core.features import prepare_beats
from danet_viewer.core.readers import open_recording
from danet_viewer.core.store import AnnotationStore
from danet_viewer.errors import DanetError
from danet_viewer.model.card import load_model
from danet_viewer.model.training_log import Epoch, PretrainEpoch, StageDone
from tests.conftest import REPO, ArrayRecording, synthetic_ecg, write_wfdb_record
from training.data import BeatSet
from training.engine import TrainConfig, fit, predict
from training.metrics import average_precision, best_threshold

TINY = dict(batch_size=64, stage1_epochs=4, stage2_epochs=1, pretrain_epochs=1, pretrain_beats=500,
            negatives_per_epoch=600, synthetic_per_epoch=64, patience=10, learning_rate=3e-3)


def _synthetic_beats(seed: int, name: str) -> BeatSet:
    rng = np.random.default_rng(seed)
    premature = set(rng.choice(np.arange(5, 700), 70, replace=False).tolist())
    signal, beats = synthetic_ecg(250, 480, premature=premature, seed=seed, ectopic_p=-0.1)
    inputs = prepare_beats(ArrayRecording(signal, 250, name), 0, beats)
    label = np.array([i in premature for i in range(len(beats))], np.int8)
    return BeatSet(inputs, label, np.full(len(beats), name, object))


@pytest.mark.slow
@pytest.mark.parametrize("options", [{}, {"record_relative": True}, {"frequent_sinus": True}],
                         ids=["plain", "record-relative", "frequent-sinus"])
def test_tiny_training_learns_to_separate_synthetic_apcs(options):
    """Also when the loss takes each beat against its record's median logit, as record-relative
    scoring does, and when sinus beats set among frequent APCs join the synthetic ones."""
    train, val = _synthetic_beats(1, "a"), _synthetic_beats(2, "b")
    config = TrainConfig(variant="hard", seed=0, **TINY, **options)
    model = fit(train, val, config, lambda *a, **k: None)
    assert model.config.record_relative == options.get("record_relative", False)
    scores = predict(model, val.inputs)
    assert average_precision(val.label, scores) > 0.9
    assert best_threshold(val.label, scores)[1] > 0.9  # F1 on a record it never saw


@pytest.mark.slow
def test_soft_variant_pretrains_and_runs_both_stages():
    events = []
    train, val = _synthetic_beats(3, "a"), _synthetic_beats(4, "b")
    fit(train, val, TrainConfig(variant="soft", seed=0, **TINY), events.append)
    assert any(isinstance(event, PretrainEpoch) for event in events)
    assert [event.stage for event in events if isinstance(event, StageDone)] == [1, 2]


def _dataset(tmp_path) -> str:
    premature = set(range(4, 400, 6))
    signal, beats = synthetic_ecg(360, 300, premature=premature, ectopic_p=-0.1)
    symbols = ["A" if i in premature else "N" for i in range(len(beats))]
    header = write_wfdb_record(tmp_path, "synthetic", signal, 360, beats, symbols)
    with AnnotationStore.open(tmp_path / "s.h5", "a") as store:
        import_annotations(open_recording(header), store, "atr", as_review=True, who="dr")
        export_dataset(store, tmp_path / "d.h5", reviewed_only=True)
    return str(tmp_path / "d.h5")


def _cli_options(out) -> list[str]:
    return ["fit", "--variant", "hard", "--out", str(out), "--batch-size", "64", "--stage1-epochs", "1",
            "--negatives-per-epoch", "200", "--synthetic-per-epoch", "32"]


@pytest.mark.slow
@pytest.mark.parametrize("record_relative", ["off", "on"])
def test_cli_fit_on_an_exported_dataset_writes_a_loadable_model(tmp_path, record_relative):
    from training.cli import main

    dataset = _dataset(tmp_path)
    log = tmp_path / "log.jsonl"
    assert main([*_cli_options(tmp_path / "model"), "--dataset", dataset, "--log", str(log),
                 "--record-relative", record_relative]) == 0
    model, card = load_model(tmp_path / "model")
    assert model.config.record_relative == (record_relative == "on")
    assert (card.raw_threshold is not None) == (record_relative == "on")  # kept for a retrained model
    assert card.training["validation_records"] == ["every 5th block of up to 60 consecutive beats"]
    assert 0 < card.threshold < 1 and card.metrics["validation"]["apcs"] > 0
    events = {line.split('"event": "')[1].split('"')[0] for line in log.read_text().splitlines()}
    assert {"start", "epoch", "saved"} <= events


def test_single_record_validation_is_interleaved_blocks_across_the_stretch():
    from training.splits import split_by_record

    n = 1000
    beats = BeatSet(None, np.zeros(n, np.int8), np.full(n, "r", object))
    beats.subset = lambda rows: rows  # the split's rows are what this test looks at
    train, val, chosen = split_by_record(beats, None)
    assert len(np.intersect1d(train, val)) == 0 and len(train) + len(val) == n
    assert 0.15 < len(val) / n < 0.25 and val.min() < n / 3 and val.max() > 2 * n / 3  # spread over the record
    runs = np.split(val, np.flatnonzero(np.diff(val) > 1) + 1)
    assert len(runs) >= 3 and min(len(run) for run in runs) == 60  # whole blocks of consecutive beats
    short = BeatSet(None, np.zeros(120, np.int8), np.full(120, "r", object))
    short.subset = lambda rows: rows
    assert len(split_by_record(short, None)[1]) > 0  # a short stretch still holds some out


def test_validation_blocks_hold_out_some_of_a_few_bursts_of_apcs():
    """202's reviewed APCs sit in three blocks of 60 beats; the held-out phase must catch enough to judge by."""
    from training.splits import MIN_HELD_OUT_APCS, split_by_record

    label = np.zeros(833, np.int8)
    label[[*range(300, 301), *range(660, 669), *range(720, 726)]] = 1  # 1, 9 and 6 APCs in blocks 5, 11 and 12
    beats = BeatSet(None, label, np.full(len(label), "r", object))
    beats.subset = lambda rows: rows
    train, val, _ = split_by_record(beats, None)
    assert label[val].sum() >= MIN_HELD_OUT_APCS and label[train].sum() > 0
    runs = np.split(val, np.flatnonzero(np.diff(val) > 1) + 1)
    assert min(len(run) for run in runs[:-1]) == 60 and len(runs) >= 3  # still whole interleaved blocks


def test_retraining_runs_to_early_stopping_unless_told_its_epochs():
    from training.cli import build_parser, retrain_config
    from training.retrain import RETRAIN_MAX_EPOCHS, RetrainConfig

    command = ["retrain", "--store", "s.h5", "--out", "new"]
    assert retrain_config(build_parser().parse_args(command)) == RetrainConfig(
        out=Path("new"), stores=[Path("s.h5")], train=TrainConfig(stage2_epochs=RETRAIN_MAX_EPOCHS))
    assert RetrainConfig(out=Path("new")).train.stage2_epochs == RETRAIN_MAX_EPOCHS  # the Python call's default too
    told = retrain_config(build_parser().parse_args([*command, "--stage2-epochs", "2", "--base", "m"]))
    assert told.train.stage2_epochs == 2 and told.base == Path("m")


def test_the_fit_command_line_parses_into_the_config_a_script_would_build():
    from training.cli import build_parser, fit_config
    from training.fitting import FitConfig

    argv = ["fit", "--variant", "hard", "--out", "m", "--dataset", "a.h5", "b.h5", "--val-records", "r1",
            "--log", "m.jsonl", "--name", "mine", "--seed", "3", "--record-relative", "on", "--max-seconds", "60"]
    assert fit_config(build_parser().parse_args(argv)) == FitConfig(
        out=Path("m"), train=TrainConfig(variant="hard", seed=3, record_relative=True, max_seconds=60.0),
        datasets=[Path("a.h5"), Path("b.h5")], val_records=["r1"], log=Path("m.jsonl"), name="mine")
    assert fit_config(build_parser().parse_args(["fit", "--out", "m"])) == FitConfig(out=Path("m"))


def test_crossval_command_line_parses_into_its_config():
    from training.cli import build_parser, crossval_config
    from training.crossval import CrossvalConfig

    argv = ["crossval", "--variant", "hard", "--folds", "4", "--scoring", "raw", "all", "--threshold-rule",
            "false-alarm", "--out", "cv", "--patience", "2"]
    assert crossval_config(build_parser().parse_args(argv)) == CrossvalConfig(
        out=Path("cv"), train=TrainConfig(variant="hard", patience=2), folds=4, scorings=["raw", "all"],
        threshold_rule="false-alarm")


def test_ablation_fits_each_run_from_its_config_and_skips_runs_already_done(tmp_path, monkeypatch):
    from training import ablation, evaluate, fitting
    from training.ablation import AblationConfig

    fitted = []
    monkeypatch.setattr(fitting, "fit_model", lambda config: fitted.append(config) or config.out.mkdir())
    monkeypatch.setattr(evaluate, "evaluate_model", lambda folder, split, cache: {"all": {"f1": 0.5}})
    config = AblationConfig(variants=["hard", "soft"], seeds=[1], out=tmp_path, cache=tmp_path / "cache")
    (tmp_path / "soft-s1").mkdir()
    (tmp_path / "soft-s1" / "ds2.json").write_text('{"all": {"f1": 0.25}}')
    assert list(ablation.ablation(config)) == [("hard", 1, 0.5), ("soft", 1, 0.25)]
    assert fitted == [fitting.FitConfig(out=tmp_path / "hard-s1", train=TrainConfig(variant="hard", seed=1),
                                        cache=tmp_path / "cache", log=tmp_path / "hard-s1.jsonl", name="danet-hard")]


def test_ablation_on_74_patients_fits_every_run_on_that_set_with_the_shared_settings(tmp_path, monkeypatch):
    from training import evaluate, fitting
    from training.cli import main

    fitted = []
    monkeypatch.setattr(fitting, "fit_model", lambda config: fitted.append(config) or config.out.mkdir())
    monkeypatch.setattr(evaluate, "evaluate_model", lambda folder, split, cache: {"all": {"f1": 0.5}})
    assert main(["ablation", "--variants", "backbone", "--seeds", "0", "2", "--training-set", "ds1+svdb",
                 "--scoring", "all", "--patience", "5", "--out", str(tmp_path)]) == 0
    assert [(f.train.variant, f.train.seed, f.train.patience) for f in fitted] == [("backbone", 0, 5),
                                                                                   ("backbone", 2, 5)]
    assert {(f.training_set, f.scoring, f.name) for f in fitted} == {("ds1+svdb", "all", "danet-ds1+svdb-backbone")}


def test_verdict_needs_enough_held_out_apcs_and_a_gain():
    from training.metrics import Counts
    from training.retrain import verdict

    assert verdict(Counts(1, 2, 0, 50), Counts(3, 0, 0, 50)).startswith("undecided")
    assert verdict(Counts(5, 5, 5, 50), Counts(8, 2, 1, 50)) == "better"
    assert verdict(Counts(8, 2, 1, 50), Counts(5, 5, 5, 50)).startswith("not better")


def test_datasets_of_another_schema_version_or_kind_are_refused(tmp_path):
    import h5py

    from training.data import load_dataset_file

    dataset = Path(_dataset(tmp_path))
    assert len(load_dataset_file(dataset)) > 0
    with h5py.File(dataset, "r+") as data:
        data.attrs["schema_version"] = 1
    with pytest.raises(DanetError, match="schema version 1.*export it again"):
        load_dataset_file(dataset)
    with h5py.File(dataset, "r+") as data:
        data.attrs["schema"] = "something-else"
    with pytest.raises(DanetError, match="not a DANet Review dataset"):
        load_dataset_file(dataset)


@pytest.mark.slow
def test_two_process_ddp_run_finishes(tmp_path):
    torchrun = shutil.which("torchrun") or os.path.join(os.path.dirname(sys.executable), "torchrun")
    dataset = _dataset(tmp_path)
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    result = subprocess.run(
        [torchrun, "--standalone", "--nproc_per_node", "2", "-m", "training", *_cli_options(tmp_path / "ddp"),
         "--dataset", dataset],
        capture_output=True, text=True, cwd=REPO, env=env, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    load_model(tmp_path / "ddp")


@pytest.mark.slow
@pytest.mark.parametrize(("min_epochs", "planned", "epochs_run", "kept_ap"),
                         [(0, 6, 2, 0.9), (3, 6, 4, 0.4), (5, 2, 2, 0.5)],
                         ids=["any-epoch", "from-the-third", "capped-at-the-planned-epochs"])
def test_early_stopping_neither_stops_nor_keeps_weights_before_min_epochs(monkeypatch, min_epochs, planned,
                                                                            epochs_run, kept_ap):
    """A validation AP that peaks on the first epoch by chance (as one 74-patient fold's did) is kept without
    ``min_epochs``; with it, the stage runs on and keeps the best epoch from ``min_epochs`` on (at most its
    last planned epoch, so a short stage still keeps one)."""
    import training.engine

    scores = iter([0.1, 0.9, 0.5, 0.4, 0.3, 0.2, 0.1])  # the incoming weights', then each epoch's
    monkeypatch.setattr(training.engine, "_validation_score", lambda *args: next(scores))
    events = []
    train, val = _synthetic_beats(1, "a"), _synthetic_beats(2, "b")
    config = TrainConfig(variant="hard", seed=0, **{**TINY, "stage1_epochs": planned, "patience": 1},
                         min_epochs=min_epochs)
    fit(train, val, config, events.append)
    assert [event.epoch for event in events if isinstance(event, Epoch)] == list(range(1, epochs_run + 1))
    assert [event.val_ap for event in events if isinstance(event, StageDone)] == [kept_ap]


def test_min_epochs_is_a_training_setting_off_by_default():
    from training.cli import build_parser, crossval_config

    argv = ["crossval", "--out", "cv", "--min-epochs", "3"]
    assert crossval_config(build_parser().parse_args(argv)).train == TrainConfig(min_epochs=3)
    assert TrainConfig().min_epochs == 0  # the shipped default model was trained keeping any epoch
