"""The PDF report, read back as text: record, beat count as the CSV export counts it, pages, strips, sign-off."""

from __future__ import annotations

import csv

import numpy as np
import pypdf
import pytest

from danet_viewer._qt.report_pdf import write_report_pdf
from danet_viewer.core.analysis import analyse_recording, import_annotations
from danet_viewer.core.export import export_csv
from danet_viewer.core.readers import open_recording
from danet_viewer.core.report import build_report
from danet_viewer.core.store import NOT_A_BEAT, AnnotationStore
from danet_viewer.errors import DanetError
from tests.core.test_report import record_with_run_and_pause

A4_POINTS = (595, 842)  # Qt gives A4 in whole points (209.9 x 297.0 mm)


@pytest.fixture
def reviewed_store(tmp_path):
    header, _ = record_with_run_and_pause(tmp_path)
    recording = open_recording(header)
    with AnnotationStore.open(tmp_path / "s.h5", "a") as store:
        analyse_recording(recording, store, who="t")
        beats = store.record("runpause").beats
        store.set_model_output("runpause", beats, np.full(len(beats), 0.1), threshold=0.5, model_id="m1", who="t")
        import_annotations(recording, store, "atr", as_review=True, who="dr_test", stop_s=100)
        store.set_bookmark("runpause", 120 * 360, "check this T wave", "dr_test")
        export_csv(store, tmp_path / "beats.csv")
        record = store.record("runpause")
    return record, recording, tmp_path


def pdf_text(path) -> tuple[int, list[str]]:
    reader = pypdf.PdfReader(path)
    for page in reader.pages:
        assert (page.mediabox.width, page.mediabox.height) == A4_POINTS
    return len(reader.pages), [" ".join(page.extract_text().split()) for page in reader.pages]


def test_report_states_the_record_its_beats_and_who_reviewed_them(reviewed_store, qapp):
    record, recording, folder = reviewed_store
    pages = write_report_pdf(build_report(record, recording), folder / "report.pdf")
    rows = list(csv.DictReader((folder / "beats.csv").read_text().splitlines()))
    beats = sum(row["review_symbol"] != NOT_A_BEAT for row in rows)
    reviewed = sum(row["review_symbol"] not in ("", NOT_A_BEAT) for row in rows)
    assert 0 < reviewed < beats  # reviewed up to 100 s, the model's verdicts after

    count, texts = pdf_text(folder / "report.pdf")
    assert count == pages == 4
    text = " ".join(texts)
    assert "ECG report: record runpause" in texts[0] and f"Total beats {beats:,}" in texts[0]
    assert f"{reviewed:,} by a person, {beats - reviewed:,} by the model's verdict" in texts[0]
    assert "SVEB runs (3 or more) 1" in texts[0] and "Pauses (RR at least 2 s) 1" in texts[0]
    assert "Hour by hour" in texts[1] and "Heart rate (60 s means, bpm)" in texts[1]
    for title in ("Heart rate max", "Heart rate min", "Longest pause 2.", "Longest SVEB run: 4 beats", "First SVEB"):
        assert title in texts[2]
    assert "25 mm/s, 10 mm/mV" in texts[2]
    assert "Bookmark: check this T wave (dr_test) · 0:01:56" in texts[3]  # the sixth strip, on page 4
    assert f"Reviewed by dr_test: {reviewed:,} of {beats:,} beats were reviewed by a person" in texts[-1]
    assert all(f"Page {number} of {count}" in page for number, page in enumerate(texts, 1))
    assert "elapsed h:mm:ss" in text


def test_report_gives_clock_times_from_a_stated_start(reviewed_store, qapp):
    from datetime import datetime

    record, recording, folder = reviewed_store
    content = build_report(record, recording, start=datetime(2026, 3, 1, 23, 59, 30))
    write_report_pdf(content, folder / "clock.pdf")
    _, texts = pdf_text(folder / "clock.pdf")
    assert "Recording start 2026-03-01 23:59:30" in texts[0]
    # The first SVEB run starts about 16 s in: after midnight on the clock.
    assert "00:00:" in texts[0] and "elapsed" not in texts[0]


def test_unwritable_output_is_one_line_and_leaves_nothing(reviewed_store, qapp):
    record, recording, folder = reviewed_store
    with pytest.raises(DanetError, match="no such folder"):
        write_report_pdf(build_report(record, recording), folder / "missing" / "r.pdf")
    assert not list(folder.glob(".*.tmp-*"))
