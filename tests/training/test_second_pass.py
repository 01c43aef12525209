"""Fitting the second pass: folds never split a record, a DS2 record is refused, and a fit on synthetic mitdb- and
svdb-shaped records writes a pass that the model folder then scores with (no ../shared needed)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import wfdb

from danet_viewer.core.rr_rule import RR_RULE_NAME
from danet_viewer.errors import DanetError
from danet_viewer.model.card import ModelCard, load_model, save_model
from danet_viewer.model.network import DANet, NetworkConfig
from danet_viewer.model.second_pass import SECOND_PASS_FEATURES, SECOND_PASS_FILE
from tests.conftest import synthetic_ecg, write_wfdb_record
from training.report import second_pass_lines
from training.second_pass import (
    SECOND_PASS_FOLDS_FILE,
    PassRecord,
    deal,
    false_apcs_in_af,
    fit_pass,
    fit_second_pass,
    prepare,
)
from training.splits import TrainingRecord


def _record(name: str, sveb: int) -> PassRecord:
    label = np.zeros(50, bool)
    label[:sveb] = True
    return PassRecord(name, "svdb", np.zeros((50, 3), np.float32), label, 0, label, label, np.zeros(50, bool))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_folds_never_split_a_record_and_cover_every_one(seed):
    records = [_record(f"r{i}", i % 7) for i in range(23)]
    folds = deal(records, 5, seed)
    names = [name for fold in folds for name in fold]
    assert sorted(names) == sorted(r.name for r in records)  # each record in exactly one fold, whole
    assert all(len(fold) in (4, 5) for fold in folds)


def _early_beats(in_af: bool) -> PassRecord:
    # One feature, earliness: APCs are early, sinus beats are not, and half the early beats are AF's, not APCs.
    rng = np.random.default_rng(0)
    label = np.r_[np.ones(100, bool), np.zeros(400, bool)]
    early = np.r_[np.ones(100), np.zeros(300), np.ones(100)] + rng.normal(0, 0.3, 500)
    af = np.r_[np.zeros(400, bool), np.full(100, in_af)]
    return PassRecord("r", "mitdb", early[:, None].astype(np.float32), label, 0, label, label, af)


def test_the_fit_weighs_beats_in_atrial_fibrillation_and_counts_their_false_alarms():
    unmarked, marked = fit_pass([_early_beats(False)]), fit_pass([_early_beats(True)])
    early_beat = np.array([[1.0]], np.float32)
    assert marked.p_apc(early_beat)[0] < unmarked.p_apc(early_beat)[0] - 0.05  # AF's early beats weigh more
    record = _early_beats(True)
    calls = {"r": np.r_[np.ones(100, bool), np.zeros(390, bool), np.ones(10, bool)]}
    assert false_apcs_in_af([record], calls) == 10


def test_a_ds2_record_in_the_training_set_is_refused(tmp_path):
    with pytest.raises(DanetError, match="DS2 record.*232"):
        fit_second_pass(tmp_path, None, records=[TrainingRecord("mitdb", tmp_path / name) for name in ("101.hea",
                                                                                                   "232.hea")])


def _write(folder, name, fs, seed):
    premature = set(range(3 + seed % 3, 70, 5 + seed % 2))
    signal, beats = synthetic_ecg(fs, 50, premature=premature)
    if fs == 128:  # svdb: two unnamed leads, every supraventricular ectopic beat 'S'
        wfdb.wrsamp(name, fs=fs, units=["mV", "mV"], sig_name=["ECG1", "ECG2"], fmt=["212", "212"],
                    p_signal=np.stack([signal, 0.6 * signal], axis=1), adc_gain=[200.0, 200.0], baseline=[0, 0],
                    write_dir=str(folder))
        wfdb.wrann(name, "atr", beats, symbol=["S" if i in premature else "N" for i in range(len(beats))], fs=fs,
                   write_dir=str(folder))
        return folder / f"{name}.hea"
    symbols = ["A" if i in premature else "N" for i in range(len(beats))]  # mitdb's APC symbol
    return write_wfdb_record(folder, name, signal, fs, beats, symbols)


def test_a_fit_on_both_databases_writes_a_pass_the_model_scores_with(tmp_path):
    torch.manual_seed(0)
    model_folder = tmp_path / "model"
    save_model(DANet(NetworkConfig(variant="backbone", record_relative=True)),
               ModelCard(name="t", network={}, threshold=0.5, raw_threshold=0.5), model_folder)
    records = [TrainingRecord("mitdb", _write(tmp_path, name, 360, i)) for i, name in enumerate(["101", "106", "108"])]
    records += [TrainingRecord("svdb", _write(tmp_path, name, 128, i)) for i, name in enumerate(["800", "803", "804"])]
    fitted, summary = fit_second_pass(model_folder, None, folds=3, seeds=(0,), records=records)
    assert (model_folder / SECOND_PASS_FILE).exists() and 0 < fitted.threshold < 1
    assert set(summary["rows"]) == {"RR rule", "network", "second pass, seed 0"}
    assert set(summary["rows"]["RR rule"]) == {"all", "mitdb DS1", "DS1 without 209", "svdb"}
    assert set(summary["false_apcs_in_af"]) == set(summary["rows"])
    network, _ = load_model(model_folder)
    assert network.second_pass is not None and network.second_pass.threshold == fitted.threshold
    # The card names both databases, the threshold and how it was chosen, and shows the RR rule's row.
    card_lines = "\n".join(second_pass_lines(*(json.loads((model_folder / name).read_text())
                                                for name in (SECOND_PASS_FILE, SECOND_PASS_FOLDS_FILE))))
    assert "mitdb DS1 (3 records) and svdb (3 records)" in card_lines and f"{fitted.threshold:.4f}" in card_lines
    assert f"| {RR_RULE_NAME} |" in card_lines


def test_the_pass_can_be_fitted_over_out_of_fold_network_scores_of_the_same_detections(tmp_path):
    from training.data import label_record

    torch.manual_seed(0)
    model_folder = tmp_path / "model"
    save_model(DANet(NetworkConfig(variant="backbone", record_relative=True)),
               ModelCard(name="t", network={}, threshold=0.5, raw_threshold=0.5), model_folder)
    records = [TrainingRecord("mitdb", _write(tmp_path, name, 360, i)) for i, name in enumerate(["101", "106"])]
    scores = tmp_path / "crossval" / "out_of_fold"
    scores.mkdir(parents=True)
    for _, header in records:
        record = label_record(header, None)
        samples = np.sort(np.concatenate([record.beat_sample, record.false_sample]))
        p_raw = np.linspace(0.1, 0.9, len(samples)).astype(np.float32)  # scores this network could not give
        np.savez(scores / f"{record.name}.npz", sample=samples, p_raw=p_raw, p_all=p_raw, threshold_all=0.5)
    prepared = prepare(model_folder, records, None, network_scores=scores)
    logit = SECOND_PASS_FEATURES.index("network logit")
    for record in prepared:
        p_raw = np.linspace(0.1, 0.9, len(record.label))
        assert np.allclose(record.features[:, logit], np.log(p_raw / (1 - p_raw)), atol=1e-4)
        assert np.array_equal(record.network, p_raw.astype(np.float32) >= 0.5)
    # Scores of other detections (another detector or cache) are refused, not silently misaligned.
    with np.load(scores / "106.npz") as saved:
        np.savez(scores / "106.npz", **{**saved, "sample": saved["sample"] + 1})
    with pytest.raises(DanetError, match="106.npz: its detections differ"):
        prepare(model_folder, records, None, network_scores=scores)
    # A network whose card says it trained on 101 alone scores 106 itself (out of sample), and needs 101's file.
    network, card = load_model(model_folder)
    card.training = {"train_records": ["101"], "validation_records": []}
    save_model(network, card, model_folder)
    (scores / "106.npz").unlink()
    out_of_fold, own = prepare(model_folder, records, None, network_scores=scores)
    for record, from_file in ((out_of_fold, True), (own, False)):
        p_raw = np.linspace(0.1, 0.9, len(record.label))
        assert np.allclose(record.features[:, logit], np.log(p_raw / (1 - p_raw)), atol=1e-4) == from_file
    (scores / "101.npz").unlink()
    with pytest.raises(DanetError, match="no out-of-fold scores for record 101"):
        prepare(model_folder, records, None, network_scores=scores)
