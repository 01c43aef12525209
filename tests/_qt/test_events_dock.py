"""The events dock and the bookmark keys: B bookmarks the selected beat with a comment, Shift+B adds the view to
the report; both are listed at their clock time, undone with Ctrl+Z, and a click on any event jumps to it."""

from __future__ import annotations

import re

import pypdf
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QInputDialog

from danet_viewer._qt.shortcuts import SHORTCUTS


def comment_dialog(monkeypatch, answers):
    """QInputDialog.getText answering from ``answers`` (None: Cancel), with the prompts it was shown."""
    prompts = []

    def answer(parent, title, label, *args, **kwargs):
        prompts.append((title, label))
        text = answers.pop(0)
        return ("" if text is None else text), text is not None

    monkeypatch.setattr(QInputDialog, "getText", answer)
    return prompts


def rows(dock):
    table = dock.table
    return [tuple(table.item(row, column).text() for column in range(3)) for row in range(table.rowCount())]


def test_the_dock_lists_the_records_events_and_a_click_jumps_to_one(qtbot, analysed):
    dock = analysed.events_dock
    assert "Events" in [action.text() for action in analysed.menuBar().actions()[1].menu().actions()]
    dock.show()
    dock.raise_()
    qtbot.waitUntil(lambda: dock.table.rowCount() > 0)
    listed = rows(dock)
    kinds = {kind for _, kind, _ in listed}
    assert {"HR max", "HR min"} <= kinds  # the sample excerpt's own events, with the model's APC verdicts
    assert dock.table.horizontalHeaderItem(0).text() == "elapsed time"  # the sample's header states no start
    assert all(when.startswith("00:0") for when, _, _ in listed)
    # A click on an event far from the view shows it and selects its first beat.
    review = analysed.review
    review.go_to_end()
    last = max(range(len(dock.events)), key=lambda row: dock.events[row].start_s)
    event = dock.events[last]
    dock.table.cellClicked.emit(last, 0)
    assert review.viewport.start_s <= event.start_s <= review.viewport.stop_s
    selected_s = review.session.table.sample[review.selected] / review.recording.fs
    assert abs(selected_s - event.start_s) < 2.0


def test_bookmark_keys_save_list_undo_and_reach_the_report(qtbot, analysed, tmp_path, monkeypatch):
    assert {"Bookmark", "Add view to report"} <= {shortcut.action for shortcut in SHORTCUTS}  # help lists them
    dock, review = analysed.events_dock, analysed.review
    dock.show()
    dock.raise_()
    review.centre_on(60.0)
    review.select_near(61.0)
    beat = int(review.session.table.sample[review.selected])
    prompts = comment_dialog(monkeypatch, ["odd P wave", None, "a run for the report"])
    qtbot.keyClick(analysed.view, Qt.Key.Key_B)
    store, name = review.store, review.recording.name
    assert store.record(name).bookmarks[beat].comment == "odd P wave"
    assert prompts[0][0] == "Bookmark" and review.clock.text(beat / review.recording.fs) in prompts[0][1]
    qtbot.keyClick(analysed.view, Qt.Key.Key_B)  # Cancel: nothing saved
    assert len(store.record(name).bookmarks) == 1
    qtbot.keyClick(analysed.view, Qt.Key.Key_B, Qt.KeyboardModifier.ShiftModifier)
    strips = [mark for mark in store.record(name).bookmarks.values() if mark.span_s]
    viewport = review.viewport
    assert len(strips) == 1 and strips[0].comment == "a run for the report"
    assert abs(strips[0].span_s - min(viewport.span_s, 42.0)) < 0.01
    assert abs(strips[0].sample / review.recording.fs - viewport.start_s) < 0.01
    qtbot.waitUntil(lambda: {"Bookmark", "Report strip"} <= {kind for _, kind, _ in rows(dock)})
    assert ("odd P wave (dr test)") in [detail for _, _, detail in rows(dock)]

    # The report draws both.
    out = tmp_path / "report.pdf"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *args, **kwargs: (str(out), "PDF (*.pdf)"))
    review_menu = next(a.menu() for a in analysed.menuBar().actions() if a.text() == "&Review")
    next(a for a in review_menu.actions() if a.text() == "&Report…").trigger()
    text = " ".join(" ".join(page.extract_text().split()) for page in pypdf.PdfReader(out).pages)
    assert "Bookmark: odd P wave (dr test)" in text
    assert re.search(r"Report strip( 1/\d)?: a run for the report \(dr test\)", text)

    # Removed from its row, then Ctrl+Z: back it comes; twice more and the strip, then the first bookmark, go.
    row = next(i for i, event in enumerate(dock.events) if event.bookmark_sample == beat)
    dock.removeRequested.emit(dock.events[row].bookmark_sample)
    assert beat not in store.record(name).bookmarks
    qtbot.keyClick(analysed.view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert store.record(name).bookmarks[beat].comment == "odd P wave"
    for _ in range(2):
        qtbot.keyClick(analysed.view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert not store.record(name).bookmarks
    qtbot.waitUntil(lambda: not {"Bookmark", "Report strip"} & {kind for _, kind, _ in rows(dock)})
