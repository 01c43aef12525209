"""The PDF report, read back as text: record, beat count as the CSV export counts it, pages, strips, sign-off."""

from __future__ import annotations

import csv
from dataclasses import replace

import numpy as np
import pypdf
import pytest
from PySide6.QtCore import Qt

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
    assert "Bookmark: check this T wave (dr_test) · 00:01:56" in texts[3]  # the sixth strip, on page 4
    assert f"Reviewed by dr_test: {reviewed:,} of {beats:,} beats were reviewed by a person" in texts[-1]
    assert all(f"Page {number} of {count}" in page for number, page in enumerate(texts, 1))
    assert "elapsed hh:mm:ss" in text


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


def test_strip_paper_and_trace_are_true_millimetres(reviewed_store, qapp):
    """A strip drawn at 10 pixels a millimetre: 5 mm boxes 50 px apart, the 1 mV pulse 100 px high, 25 mm/s."""
    from PySide6.QtGui import QColor, QImage, QPainter

    from danet_viewer._qt.report_pdf import CAPTION_MM, PULSE_MM, _draw_strip, _Page

    record, recording, _ = reviewed_store
    content = build_report(record, recording)
    image = QImage(2100, 600, QImage.Format.Format_RGB32)
    image.fill(QColor("white"))
    image.setDotsPerMeterX(10_000)
    image.setDotsPerMeterY(10_000)
    painter = QPainter(image)
    _draw_strip(_Page(painter, image), content, content.strips[0], 5.0)
    painter.end()
    pixels = np.frombuffer(image.constBits(), np.uint8).reshape(600, image.bytesPerLine() // 4, 4)
    green = pixels[:, :2100, 1].astype(int)  # BGRA: the grid is pink (low green), the trace black
    paper_top_px = round((5.0 + CAPTION_MM) * 10)
    row = green[paper_top_px + 335]  # 33.5 mm down the paper: below the trace, between two amplitude lines
    large = np.flatnonzero(row < 190)
    centres = [group.mean() for group in np.split(large, np.flatnonzero(np.diff(large) > 1) + 1)]
    assert len(centres) == 37  # 180 mm of paper: 5 mm of pulse and 7 s at 25 mm/s, 36 boxes
    assert np.allclose(np.diff(centres), 50.0, atol=1.0) and abs(centres[-1] - centres[0] - 1800) <= 2
    left_px = centres[0]
    # The calibration pulse: 1 mV up at 1 mm, down at 4 mm; 10 mm/mV makes it 100 px high.
    column = green[:, round(left_px + 25)]
    dark = np.flatnonzero(column[paper_top_px : paper_top_px + 350] < 80)
    baseline_column = green[:, round(left_px + 5)]
    baseline = np.flatnonzero(baseline_column[paper_top_px : paper_top_px + 350] < 80)
    assert abs(np.median(baseline) - np.median(dark) - 100) <= 1
    # 25 mm/s: the last beat's R peak (the trace's highest point near it) is 250 px a second from the trace's start.
    strip = content.strips[0]
    expected_px = left_px + PULSE_MM * 10 + (strip.beat_s[-1] - strip.start_s) * 250
    columns = np.arange(round(expected_px) - 30, round(expected_px) + 31)
    trace = green[paper_top_px + 50 : paper_top_px + 330, columns] < 80
    highest = np.where(trace.any(axis=0), trace.argmax(axis=0), 10**6)
    assert abs(columns[np.argmin(highest)] - expected_px) <= 3


def test_the_review_menu_writes_the_open_records_report(qtbot, analysed, tmp_path, monkeypatch):
    """Review ▸ Report…: the same PDF as `danet-viewer report`, from the window's open store."""
    from PySide6.QtWidgets import QFileDialog

    out = tmp_path / "from-menu.pdf"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *args, **kwargs: (str(out), "PDF (*.pdf)"))
    analysed.review.select_row(3)
    qtbot.keyClick(analysed.view, Qt.Key.Key_V)  # a person's label: the sign-off counts it
    review_menu = next(a.menu() for a in analysed.menuBar().actions() if a.text() == "&Review")
    next(a for a in review_menu.actions() if a.text() == "&Report…").trigger()
    text = " ".join(" ".join(page.extract_text().split()) for page in pypdf.PdfReader(out).pages)
    table = analysed.review.session.table
    assert "record 209_excerpt" in text and f"Total beats {int((~table.deleted).sum()):,}" in text
    assert "Report of 209_excerpt" in analysed.statusBar().currentMessage()


def test_a_long_bookmark_comment_is_cut_in_the_strip_caption_not_wrapped_over_the_paper(reviewed_store, qapp):
    record, recording, folder = reviewed_store
    record.bookmarks[130 * 360] = replace(record.bookmarks[120 * 360], sample=130 * 360, span_s=10.0,
                                          comment="a long comment about the P waves of this run " * 3)
    write_report_pdf(build_report(record, recording), folder / "long.pdf")
    _, texts = pdf_text(folder / "long.pdf")
    strips = " ".join(texts[2:])
    assert "Report strip 1/2: a long comment about" in strips and "Report strip 2/2: a long comment" in strips
    assert "… · 00:02:10 · lead MLII · 25 mm/s, 10 mm/mV" in strips  # cut, the caption's details kept
