"""Import, annotate and the three exports, end to end on synthetic records."""

from __future__ import annotations

import csv
import datetime

import h5py
import numpy as np
import pytest
import wfdb

from danet_viewer.core.analysis import analyse_recording, import_annotations
from danet_viewer.core.beat_classes import beat_class_ids
from danet_viewer.core.conditioning import WINDOW_LENGTH
from danet_viewer.core.dataset import ReviewedCount, count_reviewed, export_dataset, read_labelled_beats
from danet_viewer.core.export import CSV_COLUMNS, export_csv, export_store, export_wfdb
from danet_viewer.core.features import RHYTHM_FEATURES
from danet_viewer.core.readers import open_recording
from danet_viewer.core.store import NOT_A_BEAT, AnnotationStore
from danet_viewer.errors import DanetError
from tests.conftest import synthetic_ecg, write_wfdb_record


def test_import_as_review_then_wfdb_export_round_trips(synthetic_record, tmp_path):
    header, beats, symbols = synthetic_record
    recording = open_recording(header)
    with AnnotationStore.open(tmp_path / "s.h5", "a") as store:
        result = import_annotations(recording, store, "atr", as_review=True, who="dr_ref")
        assert result.matched == len(beats) and result.added == 0 and result.not_a_beat == 0
        written = export_wfdb(store, tmp_path / "out")
    annotation = wfdb.rdann(str(tmp_path / "out" / "synth"), "rev")
    # The review sits on the detected beat (within 150 ms of the reference), one per reference beat.
    assert len(annotation.sample) == len(beats)
    assert np.abs(annotation.sample - beats).max() <= 0.15 * 360
    assert annotation.symbol == symbols
    assert written == [tmp_path / "out" / "synth.rev"]


def test_import_range_adds_missed_and_deletes_false_beats(synthetic_record, tmp_path):
    header, beats, symbols = synthetic_record
    recording = open_recording(header)
    fake = int((beats[10] + beats[11]) // 2)
    with AnnotationStore.open(tmp_path / "s.h5", "a") as store:
        analyse_recording(recording, store, who="t")
        record = store.record("synth")
        detected = record.beats
        # Pretend the detector missed beat 5 and found a false beat between 10 and 11.
        edited = np.sort(np.append(np.delete(detected, 5), fake))
        store.set_beats("synth", edited, detector="test", lead="MLII", who="t")
        result = import_annotations(recording, store, "atr", as_review=True, who="dr_ref", start_s=0, stop_s=20)
        in_range = int(np.sum(beats < 20 * 360))
        assert (result.annotations, result.added, result.not_a_beat) == (in_range, 1, 1)
        table = store.beat_table("synth")
        assert table.review_symbol[table.sample == fake].tolist() == [NOT_A_BEAT]
        assert table.added[table.sample == beats[5]].tolist() == [True]
        assert np.all(table.review_symbol[table.sample >= 20 * 360] == "")
        with pytest.raises(DanetError, match="already reviewed"):
            import_annotations(recording, store, "atr", as_review=True, who="dr_2", start_s=0, stop_s=20)
        import_annotations(recording, store, "atr", as_review=True, who="dr_2", start_s=0, stop_s=20,
                           replace_reviews=True)
        assert set(store.beat_table("synth").reviewer[table.reviewed]) == {"dr_2"}


def test_import_as_reference_keeps_labels_apart(synthetic_record, tmp_path):
    header, beats, _ = synthetic_record
    with AnnotationStore.open(tmp_path / "s.h5", "a") as store:
        import_annotations(open_recording(header), store, "atr", as_review=False, who="t")
        assert len(store.record("synth").reference_sample) == len(beats)
        assert not store.beat_table("synth").reviewed.any()


def test_csv_export_columns_and_reviewed_only(synthetic_record, tmp_path):
    header, beats, symbols = synthetic_record
    with AnnotationStore.open(tmp_path / "s.h5", "a") as store:
        analyse_recording(open_recording(header), store, who="t")
        first = int(store.record("synth").beats[3])
        store.set_label("synth", first, "A", "dr_a")
        store.set_model_output("synth", store.record("synth").beats, np.linspace(0, 1, len(beats)),
                               threshold=0.5, model_id="m", who="t")
        assert export_csv(store, tmp_path / "all.csv") == len(beats)
        assert export_csv(store, tmp_path / "rev.csv", reviewed_only=True) == 1
    assert tuple(next(csv.reader((tmp_path / "all.csv").open()))) == CSV_COLUMNS
    rows = list(csv.DictReader((tmp_path / "all.csv").read_text().splitlines()))
    assert (rows[3]["record"], rows[3]["sample"], rows[3]["review_symbol"], rows[3]["reviewer"]) == (
        "synth", str(first), "A", "dr_a")
    assert rows[0]["model_apc"] == "0" and rows[-1]["model_apc"] == "1"
    assert {row["model_rule"] for row in rows} == {""}, "the network made every call"
    reviewed = list(csv.DictReader((tmp_path / "rev.csv").read_text().splitlines()))
    assert [(r["sample"], r["review_symbol"]) for r in reviewed] == [(str(first), "A")]


def test_csv_export_says_which_calls_the_model_s_record_rule_made_and_overruled(synthetic_record, tmp_path):
    header, beats, _ = synthetic_record
    with AnnotationStore.open(tmp_path / "s.h5", "a") as store:
        analyse_recording(open_recording(header), store, who="t")
        detected = store.record("synth").beats
        row = np.arange(len(detected))
        called, overruled = row % 7 == 3, row % 7 == 5
        # The network calls every other beat; the rule adds some, and overrules some of the network's calls.
        p_apc = np.where(row % 2 == 1, 0.9, 0.1)
        store.set_model_output("synth", detected, p_apc, threshold=0.5, model_id="m", who="t", record_calls=called,
                               record_vetoes=overruled, record_rule="premature-classes-af-veto")
        export_csv(store, tmp_path / "all.csv")
    rows = list(csv.DictReader((tmp_path / "all.csv").read_text().splitlines()))
    decided = called | (overruled & (p_apc >= 0.5))
    assert [r["model_rule"] == "premature-classes-af-veto" for r in rows] == decided.tolist()
    assert [r["model_apc"] == "1" for r in rows] == ((called | (p_apc >= 0.5)) & ~overruled).tolist()


def test_dataset_export_is_self_contained(synthetic_record, tmp_path):
    header, beats, symbols = synthetic_record
    with AnnotationStore.open(tmp_path / "s.h5", "a") as store:
        import_annotations(open_recording(header), store, "atr", as_review=True, who="dr", stop_s=30)
        n_all = export_dataset(store, tmp_path / "all.h5")
        n_reviewed = export_dataset(store, tmp_path / "rev.h5", reviewed_only=True)
        reviewed = count_reviewed(store)
    assert n_all == len(beats) and n_reviewed == int(np.sum(beats < 30 * 360))
    with h5py.File(tmp_path / "rev.h5") as data:
        assert data.attrs["schema"] == "danet-review-dataset"
        assert data["windows"].shape == (n_reviewed, WINDOW_LENGTH)
        assert data["rr"].shape == (n_reviewed, len(RHYTHM_FEATURES))
        expected = [1 if s == "A" else 0 for s in symbols[:n_reviewed]]
        assert data["sveb"][()].tolist() == expected
        assert reviewed == ReviewedCount(n_reviewed, sum(expected))  # the count is what the export holds
        # An APC comes early: its pre-RR is shorter than the local median.
        rr = data["rr"][()]
        assert np.all(rr[np.array(expected) == 1, 0] < 0.8 * rr[np.array(expected) == 1, 2])
    with h5py.File(tmp_path / "all.h5") as data:
        assert set(data["label_source"][()].tolist()) == {0, 2}
        assert data["sveb"][()].min() == -1
    labelled = read_labelled_beats(tmp_path / "all.h5")  # the reader takes the labelled rows only
    assert labelled.label.tolist() == expected and set(labelled.record) == {header.stem}
    assert labelled.inputs.windows.shape == (n_reviewed, WINDOW_LENGTH)


def test_the_csv_and_the_dataset_carry_each_beat_s_class(synthetic_record, tmp_path):
    header, beats, _ = synthetic_record
    with AnnotationStore.open(tmp_path / "s.h5", "a") as store:
        analyse_recording(open_recording(header), store, who="t")  # grouped into classes on the way
        deleted = int(store.record("synth").beats[7])
        store.set_label("synth", deleted, NOT_A_BEAT, "dr")
        ids = beat_class_ids(store, "synth")
        export_csv(store, tmp_path / "beats.csv")
        export_dataset(store, tmp_path / "d.h5")
        table = store.beat_table("synth")
    assert ids[table.sample == deleted].tolist() == [-1] and np.all(ids[~table.deleted] >= 0)
    rows = list(csv.DictReader((tmp_path / "beats.csv").read_text().splitlines()))
    assert [row["class"] for row in rows] == [str(i) if i >= 0 else "" for i in ids]
    with h5py.File(tmp_path / "d.h5") as data:  # deleted detections are not in the dataset
        assert data["class"][()].tolist() == ids[~table.deleted].tolist()
        assert data["sample"][()].tolist() == table.sample[~table.deleted].tolist()


def test_dataset_export_refuses_a_changed_source(synthetic_record, tmp_path):
    header, _, _ = synthetic_record
    with AnnotationStore.open(tmp_path / "s.h5", "a") as store:
        analyse_recording(open_recording(header), store, who="t")
        dat = header.with_suffix(".dat")
        dat.write_bytes(bytes(reversed(dat.read_bytes())))
        with pytest.raises(DanetError, match="changed since it was annotated"):
            export_dataset(store, tmp_path / "d.h5")
        assert not (tmp_path / "d.h5").exists()


def test_an_unknown_export_format_is_named_with_the_choices(synthetic_record, tmp_path):
    with AnnotationStore.open(tmp_path / "s.h5", "a") as store, pytest.raises(
            DanetError, match=r"unknown export format 'xls' \(choose from csv, wfdb, hdf5\)"):
        export_store(store, "xls", tmp_path / "out.xls")
    assert not (tmp_path / "out.xls").exists()


def test_exports_carry_the_recordings_clock_time(tmp_path):
    """The CSV's time_iso and the dataset's record_start: from the WFDB base date and time, "" without one."""
    signal, beats = synthetic_ecg(360, 30)
    wfdb.wrsamp("based", fs=360, units=["mV"], sig_name=["MLII"], p_signal=signal[:, None].astype(np.float64),
                fmt=["212"], adc_gain=[200.0], baseline=[0], write_dir=str(tmp_path),
                base_time=datetime.time(23, 59, 50), base_date=datetime.date(2026, 3, 1))
    wfdb.wrann("based", "atr", beats, symbol=["N"] * len(beats), fs=360, write_dir=str(tmp_path))
    plain = write_wfdb_record(tmp_path, "plain", signal, 360, beats, ["N"] * len(beats))
    with AnnotationStore.open(tmp_path / "s.h5", "a") as store:
        for header in (tmp_path / "based.hea", plain):
            import_annotations(open_recording(header), store, "atr", as_review=True, who="dr")
        assert store.record("based").start == "2026-03-01T23:59:50.000" and store.record("plain").start == ""
        export_csv(store, tmp_path / "beats.csv")
        export_dataset(store, tmp_path / "d.h5", records=["based", "plain"])
    rows = list(csv.DictReader((tmp_path / "beats.csv").open()))
    based = [row for row in rows if row["record"] == "based"]
    first = datetime.datetime(2026, 3, 1, 23, 59, 50) + datetime.timedelta(seconds=float(based[0]["time_s"]))
    assert based[0]["time_iso"] == first.isoformat(timespec="milliseconds")
    assert based[-1]["time_iso"].startswith("2026-03-02T00:00:")  # the next day, after midnight
    assert all(row["time_iso"] == "" for row in rows if row["record"] == "plain")
    with h5py.File(tmp_path / "d.h5") as data:
        assert data["record_start"].asstr()[()].tolist() == ["2026-03-01T23:59:50.000", ""]
