"""Training databases: an svdb-shaped record (128 Hz, leads ECG1/ECG2, SVEB marked 'S') labels through the same
path as mitdb, and a database unpacks its archive once."""

from __future__ import annotations

import tarfile

import numpy as np
import wfdb

from tests.conftest import synthetic_ecg
from training.data import label_record
from training.databases import Database


def _svdb_like_record(folder, name="800"):
    fs = 128
    premature = set(range(4, 80, 6))
    signal, beats = synthetic_ecg(fs, 60, premature=premature)
    two_leads = np.stack([signal, 0.6 * signal], axis=1).astype(np.float64)
    wfdb.wrsamp(name, fs=fs, units=["mV", "mV"], sig_name=["ECG1", "ECG2"], p_signal=two_leads, fmt=["212", "212"],
                adc_gain=[200.0, 200.0], baseline=[0, 0], write_dir=str(folder))
    symbols = ["S" if i in premature else "N" for i in range(len(beats))]
    wfdb.wrann(name, "atr", beats, symbol=symbols, fs=fs, write_dir=str(folder))
    (folder / "RECORDS").write_text(f"{name}\n")
    return folder / f"{name}.hea", beats, np.array([s == "S" for s in symbols])


def test_an_svdb_record_labels_its_s_beats_as_sveb(tmp_path):
    header, beats, sveb = _svdb_like_record(tmp_path)
    record = label_record(header)
    assert record.fs == 128 and record.missed_sveb == 0
    # Every reference beat is detected, and exactly the S beats carry the SVEB label.
    labelled_sveb = record.beat_sample[record.beats.label == 1]
    assert len(record.beat_sample) == len(beats)
    assert np.all(np.abs(labelled_sveb - beats[sveb]) <= 0.15 * 128)
    assert set(record.beats.record) == {"800"}


def test_a_database_unpacks_its_archive_once(tmp_path):
    source = tmp_path / "source"
    source.mkdir()
    _svdb_like_record(source)
    archive = tmp_path / "records.tar.xz"
    with tarfile.open(archive, "w:xz") as packed:
        for path in source.iterdir():
            packed.add(path, arcname=path.name)
    database = Database("svdb", archive, tmp_path / "cache", "citation")
    assert database.records() == ["800"]
    assert database.header("800").is_file()
    archive.unlink()  # unpacked: the archive is not read again
    assert database.records() == ["800"]


def test_evaluate_scores_every_svdb_record_with_the_rr_rule_beside(tmp_path, monkeypatch):
    import torch

    from danet_viewer.model.card import ModelCard, save_model
    from danet_viewer.model.network import DANet, NetworkConfig
    from training import evaluate
    from training.cli import build_parser

    _svdb_like_record(tmp_path)
    monkeypatch.setattr(evaluate, "SVDB", Database("svdb", tmp_path / "absent.tar.xz", tmp_path, "citation"))
    torch.manual_seed(0)
    save_model(DANet(NetworkConfig(variant="backbone")), ModelCard(name="t", network={}, threshold=0.5),
               tmp_path / "model")
    summary = evaluate.evaluate_model(tmp_path / "model", "DS2", None, database="svdb")
    assert summary["split"] == "svdb" and list(summary["per_record"]) == ["800"]
    assert summary["rr_rule"]["all"]["tp"] > 0  # the S beats come 30 % early
    args = build_parser().parse_args(["evaluate", "m", "--database", "svdb"])
    assert args.database == "svdb"
