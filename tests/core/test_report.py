"""What the report holds: the automatic strips' times and each strip's signal and labels."""

from __future__ import annotations

import numpy as np
import pytest

from danet_viewer.core.analysis import analyse_recording, import_annotations
from danet_viewer.core.readers import open_recording
from danet_viewer.core.report import (
    MAX_NOTES_CHARS,
    MAX_REPORT_STRETCH_S,
    STRIP_S,
    auto_strip_times,
    build_report,
    header_identification,
)
from danet_viewer.core.store import AnnotationStore
from danet_viewer.core.summary import summarise
from danet_viewer.errors import DanetError
from tests.conftest import synthetic_ecg, write_wfdb_record
from tests.core.test_summary import two_hour_record

FS = 360


def record_with_run_and_pause(folder, name: str = "runpause"):
    """150 s at 75 bpm: a run of four APCs (beats 20-23), one isolated (60), and beats 90-91 gone (a 2.4 s pause)."""
    premature = {20, 21, 22, 23, 60}
    signal, beats = synthetic_ecg(FS, 150, rr_s=0.8, premature=premature, seed=3)
    gone = [90, 91]
    signal[beats[90] - int(0.3 * FS) : beats[91] + int(0.45 * FS)] = 0.0
    symbols = ["A" if i in premature else "N" for i in range(len(beats))]
    keep = [i for i in range(len(beats)) if i not in gone]
    header = write_wfdb_record(folder, name, signal, FS, beats[keep], [symbols[i] for i in keep])
    return header, beats[keep]


def test_auto_strips_in_order_at_their_events():
    record, _ = two_hour_record()
    summary = summarise(record, excluded=np.array([[4000 * 250, 4100 * 250]]))
    titles, starts = zip(*auto_strip_times(summary), strict=True)
    assert [title.split(" ")[:3] for title in titles] == [
        ["Heart", "rate", "max"], ["Heart", "rate", "min"], ["Longest", "pause", "3.00"],
        ["Longest", "SVEB", "run:"], ["First", "SVEB", "(APC)"]]
    # Heart-rate strips and a pause that fits are centred on them; a run starts 1.5 s before its first SVEB.
    assert starts[0] == 630 - STRIP_S / 2 and starts[1] == 1230 - STRIP_S / 2
    assert starts[2] == pytest.approx(1801.5 - STRIP_S / 2)
    assert starts[3] == pytest.approx(300.5 - 1.5) and starts[4] == pytest.approx(300.5 - STRIP_S / 2)
    # Without the exclusion the 101 s gap is the longest pause, too long for a strip: shown from 1.5 s before it.
    title, start = auto_strip_times(summarise(record))[2]
    assert title == "Longest pause 101.00 s" and start == pytest.approx(3999 - 1.5)


def test_strips_hold_the_lead_and_the_beats_labels(tmp_path):
    header, beats = record_with_run_and_pause(tmp_path)
    recording = open_recording(header)
    with AnnotationStore.open(tmp_path / "s.h5", "a") as store:
        analyse_recording(recording, store, who="t")
        import_annotations(recording, store, "atr", as_review=True, who="dr_test")
        store.set_bookmark("runpause", 100 * FS, "odd T wave", "dr_test")
        store.set_bookmark("runpause", 10, "", "dr_test")
        record = store.record("runpause")
    content = build_report(record, recording)
    assert content.summary.beats == len(beats) and content.beats_reviewed == len(beats)
    titles = [strip.title for strip in content.strips]
    assert titles[2].startswith("Longest pause 2.") and titles[3].startswith("Longest SVEB run: 4 beats")
    assert titles[4:] == ["First SVEB (APC)", "Bookmark: no comment (dr_test)", "Bookmark: odd T wave (dr_test)"]
    # A bookmark's strip is centred on it, but never starts before the record does.
    assert [strip.start_s for strip in content.strips[5:]] == [0.0, 100 - STRIP_S / 2]
    run = content.strips[3]
    assert run.lead == "MLII" and len(run.signal_mv) == STRIP_S * FS
    assert run.beat_reviewed.all() and list(run.beat_label).count("A") == 4
    assert np.all((run.beat_s >= run.start_s) & (run.beat_s < run.start_s + STRIP_S))


def test_report_refuses_a_signal_that_is_not_the_records(tmp_path):
    header, _ = record_with_run_and_pause(tmp_path)
    with AnnotationStore.open(tmp_path / "s.h5", "a") as store:
        analyse_recording(open_recording(header), store, who="t")
        record = store.record("runpause")
    signal, _ = synthetic_ecg(FS, 150, rr_s=0.9, seed=4)
    (tmp_path / "other").mkdir()
    changed = write_wfdb_record(tmp_path / "other", "runpause", signal, FS)
    with pytest.raises(DanetError, match="is not the recording"):
        build_report(record, open_recording(changed))


def test_header_identification_from_wfdb_comments_and_edf_fields(tmp_path):
    import edfio
    import wfdb

    signal, _ = synthetic_ecg(FS, 10)
    wfdb.wrsamp("noted", fs=FS, units=["mV"], sig_name=["MLII"], p_signal=signal[:, None].astype(float), fmt=["212"],
                comments=["69 M 1085 1629 x1", "Aldomet, Inderal", "x" * 500], write_dir=str(tmp_path))
    (what, notes), = header_identification(open_recording(tmp_path / "noted.hea"))
    assert what == "Header notes" and notes.startswith("69 M 1085 1629 x1; Aldomet, Inderal; xxx")
    assert len(notes) == MAX_NOTES_CHARS and notes.endswith("...")
    assert header_identification(open_recording(write_wfdb_record(tmp_path, "plain", signal, FS))) == ()

    edf = edfio.Edf([edfio.EdfSignal(signal, FS, label="ECG II", physical_dimension="mV", physical_range=(-5, 5))],
                    patient=edfio.Patient(code="MCH-0234567", sex="F", name="Haagse_Harry"))
    edf.write(tmp_path / "patient.edf")
    assert header_identification(open_recording(tmp_path / "patient.edf"))[0] == (
        "Patient (EDF header)", "MCH-0234567 F X Haagse_Harry")
    anonymous = edfio.Edf([edfio.EdfSignal(signal, FS, label="ECG II", physical_dimension="mV",
                                           physical_range=(-5, 5))])
    anonymous.write(tmp_path / "anonymous.edf")
    assert header_identification(open_recording(tmp_path / "anonymous.edf")) == ()


def test_a_stretch_added_to_the_report_is_printed_whole_as_consecutive_strips(tmp_path):
    header, _ = record_with_run_and_pause(tmp_path)
    recording = open_recording(header)
    with AnnotationStore.open(tmp_path / "s.h5", "a") as store:
        analyse_recording(recording, store, who="t")
        store.set_bookmark("runpause", 20 * FS, "the run", "dr_test", span_s=2 * STRIP_S + 1)
        store.set_bookmark("runpause", 60 * FS, "short", "dr_test", span_s=3.0)
        store.set_bookmark("runpause", 80 * FS, "too long", "dr_test", span_s=60.0)
        record = store.record("runpause")
    strips = [strip for strip in build_report(record, recording).strips if strip.title.startswith("Report strip")]
    assert [(strip.title, strip.start_s) for strip in strips[:4]] == [
        ("Report strip 1/3: the run (dr_test)", 20.0),
        ("Report strip 2/3: the run (dr_test)", 20.0 + STRIP_S),
        ("Report strip 3/3: the run (dr_test)", 20.0 + 2 * STRIP_S),
        ("Report strip: short (dr_test)", 60.0)]
    # At most MAX_REPORT_STRETCH_S of a stretch: six strips.
    assert [strip.title for strip in strips[4:]] == [f"Report strip {k}/6: too long (dr_test)" for k in range(1, 7)]
    assert strips[-1].start_s == 80.0 + 5 * STRIP_S and MAX_REPORT_STRETCH_S == 6 * STRIP_S
