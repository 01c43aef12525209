"""Replay: the sample of a model's training beats that fine-tuning mixes in, and what retraining keeps."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from danet_viewer.errors import DanetError
from danet_viewer.model.card import REPLAY_FILE, ModelCard, read_card
from danet_viewer.model.inference import default_model_folder
from danet_viewer.model.network import DANet, NetworkConfig
from danet_viewer.model.registry import ModelRegistry
from tests.training.test_training import TINY, _synthetic_beats
from training import engine
from training.cli import main as train_main
from training.data import BeatSet
from training.engine import SYNTHETIC_MAX_SHARE, TrainConfig, _synthetic_count, fit, predict
from training.replay import (
    REPLAY_OTHER_PER_RECORD,
    REPLAY_SVEB_PER_RECORD,
    carry_replay,
    load_replay,
    sample_replay,
    save_replay,
)


def _two_records() -> BeatSet:
    return BeatSet.concatenate([_synthetic_beats(5, "a"), _synthetic_beats(6, "b")])


def test_sample_caps_each_records_sveb_and_other_beats():
    beats = _two_records()
    rows = beats.subset(np.arange(len(beats)))
    rows.label[rows.record == "a"] = 1  # record a all SVEB: the cap, not its size, decides
    sample = sample_replay(rows, seed=0)
    for name in ("a", "b"):
        mine = sample.record == name
        expected_sveb = min(REPLAY_SVEB_PER_RECORD, int(rows.label[rows.record == name].sum()))
        expected_other = min(REPLAY_OTHER_PER_RECORD, int((rows.label[rows.record == name] == 0).sum()))
        assert int(sample.label[mine].sum()) == expected_sveb
        assert int((sample.label[mine] == 0).sum()) == expected_other
    assert np.array_equal(sample_replay(rows, seed=0).inputs.windows, sample.inputs.windows)


def test_saved_sample_loads_back_and_a_changed_file_is_refused(tmp_path):
    sample = sample_replay(_two_records(), seed=0)
    card = ModelCard(name="m", network={}, threshold=0.5, training={"replay": save_replay(sample, tmp_path)})
    loaded = load_replay(tmp_path, card)
    assert np.array_equal(loaded.label, sample.label) and list(loaded.record) == list(sample.record)
    assert np.allclose(loaded.inputs.windows, sample.inputs.windows, atol=2e-3)  # float16 on disk
    assert np.array_equal(loaded.inputs.rr, sample.inputs.rr)
    assert load_replay(tmp_path, ModelCard(name="m", network={}, threshold=0.5)) is None  # a model without one
    damaged = bytearray((tmp_path / REPLAY_FILE).read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF
    (tmp_path / REPLAY_FILE).write_bytes(bytes(damaged))
    with pytest.raises(DanetError, match="does not match the hash"):
        load_replay(tmp_path, card)
    (tmp_path / REPLAY_FILE).unlink()
    with pytest.raises(DanetError, match="missing"):
        load_replay(tmp_path, card)


def test_synthetic_apcs_stay_a_quarter_of_a_small_epoch():
    config = TrainConfig()
    assert _synthetic_count(12_633, config) == config.synthetic_per_epoch  # DS1 training is unchanged
    assert _synthetic_count(900, config) == round(SYNTHETIC_MAX_SHARE * 900)


def test_fine_tuning_learns_the_replay_beats_labels(monkeypatch):
    """The replay beats are trained on, with their own labels: the same fine-tune with the sample
    relabelled as all APCs scores that sample's normal beats far higher than with its true labels."""
    # Every epoch counts as an improvement, so early stopping keeps the last weights in both runs.
    epochs = iter(range(1000))
    monkeypatch.setattr(engine, "_validation_score", lambda *args: float(next(epochs)))
    others, patient = _synthetic_beats(1, "a"), _synthetic_beats(7, "p")
    config = TrainConfig(variant="hard", seed=0, **{**TINY, "stage2_epochs": 3, "patience": 10})
    torch.manual_seed(0)
    start = DANet(NetworkConfig(variant="hard"))
    sample = sample_replay(others, seed=0)
    all_apcs = BeatSet(sample.inputs, np.ones(len(sample), np.int8), sample.record)
    normals = sample.subset(np.flatnonzero(sample.label == 0)).inputs
    truthful = fit(patient, patient, config, lambda *a, **k: None, start=start, fine_tune=True, replay=sample)
    mislabelled = fit(patient, patient, config, lambda *a, **k: None, start=start, fine_tune=True, replay=all_apcs)
    assert predict(truthful, normals).mean() < predict(mislabelled, normals).mean() - 0.2


@pytest.mark.parametrize("mostly_apcs", [False, True])
def test_retraining_mixes_in_the_base_sample_carries_it_on_and_keeps_the_threshold(tmp_path, reviewed_store,
                                                                                   monkeypatch, mostly_apcs):
    """The bundled record-relative default keeps its scoring and thresholds, unless the reviewed beats are
    mostly APCs (faked by lowering the limit below the sample's share): then it scores raw at the raw threshold."""
    monkeypatch.setenv("DANET_REVIEW_DATA", str(tmp_path / "registry"))
    monkeypatch.setattr("training.retrain.MAX_RELATIVE_APC_SHARE", 0.0 if mostly_apcs else 0.5)
    base = default_model_folder()
    base_card = read_card(base)
    out, log = tmp_path / "new", tmp_path / "log.jsonl"
    assert train_main(["retrain", "--store", str(reviewed_store), "--base", str(base), "--out", str(out),
                       "--log", str(log), "--stage2-epochs", "1", "--batch-size", "64"]) == 0
    start = next(e for e in map(json.loads, log.read_text().splitlines()) if e["event"] == "start")
    assert start["replay_beats"] == base_card.training["replay"]["beats"] > 0
    card = read_card(out)
    assert card.training["replay"] == base_card.training["replay"]
    assert (out / REPLAY_FILE).read_bytes() == (base / REPLAY_FILE).read_bytes()
    assert base_card.network["record_relative"] and base_card.raw_threshold is not None
    if mostly_apcs:
        assert not card.network["record_relative"] and card.raw_threshold is None
        assert card.threshold == base_card.raw_threshold
    else:
        assert card.network["record_relative"] and card.raw_threshold == base_card.raw_threshold
        assert card.threshold == base_card.threshold
    assert load_replay(out, card) is not None  # a retrained model can itself be retrained
    registered = ModelRegistry().folder(ModelRegistry().add(out))
    assert load_replay(registered, read_card(registered)) is not None  # the registry copies it too


def test_carrying_from_a_model_without_a_sample_does_nothing(tmp_path):
    assert carry_replay(tmp_path, ModelCard(name="m", network={}, threshold=0.5), tmp_path / "out") is None


@pytest.mark.parametrize("repeats", [1, 3])
def test_each_fine_tuning_epoch_takes_the_replay_sample_as_often_as_asked(monkeypatch, repeats):
    seen = []

    def counting(inputs, rows, device, rr_features):
        if inputs is sample.inputs:
            seen.extend(rows.tolist())
        return engine_batch_tensors(inputs, rows, device, rr_features)

    engine_batch_tensors = engine.batch_tensors
    monkeypatch.setattr(engine, "batch_tensors", counting)
    sample = sample_replay(_synthetic_beats(1, "a"), seed=0)
    config = TrainConfig(variant="hard", seed=0, replay_repeats=repeats, **{**TINY, "stage2_epochs": 1})
    fit(_synthetic_beats(7, "p"), _synthetic_beats(8, "p"), config, lambda *a, **k: None,
        start=DANet(NetworkConfig(variant="hard")), fine_tune=True, replay=sample)
    assert np.array_equal(np.bincount(seen, minlength=len(sample)), np.full(len(sample), repeats))
