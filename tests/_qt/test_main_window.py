"""The review window with the bundled model: analysis off the GUI thread, every review key saved to the
store, undo/redo through the store, the review list, rendering, and a clean close."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent, QImage
from PySide6.QtWidgets import QApplication, QMessageBox

from danet_viewer._qt.shortcuts import SHORTCUTS
from danet_viewer.cli import main
from danet_viewer.components.beat_details import apc_score
from danet_viewer.components.review_session import BeatState, beat_states
from danet_viewer.core.store import NOT_A_BEAT, AnnotationStore
from danet_viewer.core.store_location import default_store_path
from tests._qt.conftest import ANALYSIS_TIMEOUT_MS


def stored_symbol(window, sample):
    table = window.review.store.beat_table(window.review.recording.name)
    return table.review_symbol[np.searchsorted(table.sample, sample)]


def press(qtbot, window, key, modifier=Qt.KeyboardModifier.NoModifier):
    qtbot.keyClick(window.view, key, modifier)


def test_opening_analyses_off_the_gui_thread_and_closes_cleanly(qtbot, window, record, model):
    progress = []
    assert window.open_record(str(record))
    window.worker.progressed.connect(lambda stage, fraction: progress.append(stage))
    assert window.analysing and window.progress.isVisible()  # open_record returned while the worker runs
    qtbot.waitUntil(lambda: not window.analysing, timeout=ANALYSIS_TIMEOUT_MS)
    assert {"beats", "model"} <= set(progress)
    assert not window.progress.isVisible()
    table = window.review.session.table
    assert 300 < len(table) < 400  # the 3 min excerpt holds 341 annotated beats
    assert (table.model_apc >= 0).all()
    context = window.context.text()
    for part in ("209_excerpt", "dr test", str(default_store_path(record)), model.model_id):
        assert part in context
    window.menuBar().actions()[0].menu().popup(window.pos())  # a menu's status tips clear the bar's message...
    qtbot.wait(50)
    window.menuBar().actions()[0].menu().hide()
    assert window.context.isVisible() and window.context.text() == context  # ...not the context (issue 19 item 9)
    qtbot.waitUntil(lambda: window.trace.ready)  # the enhanced trace of the visible range, computed on demand
    assert window.view.pieces[0].start_s == 0 and len(window.view.enhanced_curve.getData()[0])
    assert str(record.resolve()) in window.recent.files()
    window.close()
    window.deleteLater()
    QApplication.processEvents()
    assert not [w for w in QApplication.topLevelWidgets() if w.isVisible()]
    with AnnotationStore.open(default_store_path(record), "r") as store:
        assert store.record("209_excerpt").model.model_id == model.model_id


def test_cancel_stops_the_analysis(qtbot, window, record):
    assert window.open_record(str(record))
    qtbot.mouseClick(window.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not window.analysing, timeout=ANALYSIS_TIMEOUT_MS)
    assert window.review.session is None and "cancelled" in window.statusBar().currentMessage()
    assert not window.progress.isVisible()


def test_a_dropped_file_opens_and_replaces_a_running_analysis(qtbot, window, record, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    for part in record.parent.glob("209_excerpt.*"):
        shutil.copy(part, other)
    assert window.open_record(str(record))  # still analysing when the next record arrives
    data = QMimeData()
    data.setUrls([QUrl.fromLocalFile(str(other / record.name))])
    drop = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, data, Qt.MouseButton.NoButton,
                      Qt.KeyboardModifier.NoModifier)
    window.dropEvent(drop)
    qtbot.waitUntil(lambda: window.review.session is not None, timeout=ANALYSIS_TIMEOUT_MS)
    assert window.review.store.path == default_store_path(other / record.name)
    assert window.recent.files()[:2] == [str((other / record.name).resolve()), str(record.resolve())]


def test_the_enhanced_trace_follows_deleted_beats(qtbot, analysed):
    qtbot.waitUntil(lambda: analysed.trace.ready)
    sample = int(analysed.review.session.table.sample[7])
    assert sample in analysed.view.pieces[0].beat_sample
    analysed.review.select_row(7)
    press(qtbot, analysed, Qt.Key.Key_X)
    qtbot.waitUntil(lambda: analysed.trace.ready)
    assert sample not in analysed.view.pieces[0].beat_sample  # the model no longer sees it


def test_reopening_reuses_the_stored_analysis(qtbot, analysed, record):
    analysed.open_record(str(record))
    qtbot.waitUntil(lambda: not analysed.analysing, timeout=ANALYSIS_TIMEOUT_MS)
    assert "loaded from the store" in analysed.statusBar().currentMessage()


@pytest.mark.parametrize(
    ("key", "modifier", "expected"),
    [(Qt.Key.Key_A, Qt.KeyboardModifier.NoModifier, "A"), (Qt.Key.Key_N, Qt.KeyboardModifier.NoModifier, "N"),
     (Qt.Key.Key_V, Qt.KeyboardModifier.NoModifier, "V"), (Qt.Key.Key_J, Qt.KeyboardModifier.ShiftModifier, "J"),
     (Qt.Key.Key_Q, Qt.KeyboardModifier.ShiftModifier, "Q"),
     (Qt.Key.Key_Delete, Qt.KeyboardModifier.NoModifier, NOT_A_BEAT),
     (Qt.Key.Key_X, Qt.KeyboardModifier.NoModifier, NOT_A_BEAT)],
)
def test_each_label_key_saves_its_label_at_once(qtbot, analysed, key, modifier, expected):
    analysed.review.select_row(5)
    sample = int(analysed.review.session.table.sample[5])
    press(qtbot, analysed, key, modifier)
    assert stored_symbol(analysed, sample) == expected
    assert analysed.review.session.table.reviewer[5] == "dr test"


@pytest.mark.parametrize("key", [Qt.Key.Key_Space, Qt.Key.Key_Return])
def test_confirm_takes_the_models_verdict(qtbot, analysed, key):
    table = analysed.review.session.table
    apc, normal = int(np.argmax(table.model_apc == 1)), int(np.argmax(table.model_apc == 0))
    assert table.model_apc[apc] == 1 and table.model_apc[normal] == 0
    for row, expected in ((apc, "A"), (normal, "N")):
        analysed.review.select_row(row)
        press(qtbot, analysed, key)
        assert stored_symbol(analysed, table.sample[row]) == expected


def test_tab_n_space_keeps_the_reviewers_n(qtbot, analysed):
    """Issue 19 item 3: Space turned a reviewer's N on a model APC into the model's A."""
    press(qtbot, analysed, Qt.Key.Key_Tab)
    row = analysed.review.selected
    sample = analysed.review.session.table.sample[row]
    press(qtbot, analysed, Qt.Key.Key_N)
    press(qtbot, analysed, Qt.Key.Key_Space)
    assert stored_symbol(analysed, sample) == "N"
    assert "Kept dr test's label N" in analysed.statusBar().currentMessage()


def test_undo_and_redo_write_through_the_store(qtbot, analysed):
    samples = analysed.review.session.table.sample
    analysed.review.select_row(3)
    press(qtbot, analysed, Qt.Key.Key_A)
    press(qtbot, analysed, Qt.Key.Key_V)  # relabel: undo must give back A, not unreviewed
    analysed.review.select_row(4)
    press(qtbot, analysed, Qt.Key.Key_N)
    press(qtbot, analysed, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert stored_symbol(analysed, samples[4]) == ""
    press(qtbot, analysed, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert stored_symbol(analysed, samples[3]) == "A"
    press(qtbot, analysed, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert stored_symbol(analysed, samples[3]) == ""
    press(qtbot, analysed, Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)
    assert stored_symbol(analysed, samples[3]) == "A"
    press(qtbot, analysed, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert stored_symbol(analysed, samples[3]) == "V"
    actions = [entry.action for entry in analysed.review.store.audit_log() if entry.sample in (samples[3], samples[4])]
    assert actions.count("clear_label") == 2  # each undo to unreviewed is in the audit log


def test_add_beat_snaps_to_the_peak_and_undo_removes_it(qtbot, analysed):
    table = analysed.review.session.table
    fs = analysed.review.recording.fs
    peak = int(table.sample[10])
    analysed.review.select_row(10)
    press(qtbot, analysed, Qt.Key.Key_Delete)  # the detection is wrong ...
    analysed.view.cursor_s = (peak + 0.03 * fs) / fs  # ... and the reviewer points next to the real peak
    press(qtbot, analysed, Qt.Key.Key_Insert)
    assert len(analysed.review.session.table) == len(table)  # the point sits on the deleted detection: no new beat
    assert analysed.review.selected == 10
    cursor = (peak + table.sample[11]) // 2
    analysed.view.cursor_s = cursor / fs
    press(qtbot, analysed, Qt.Key.Key_Plus)
    added = analysed.review.session.table
    assert len(added) == len(table) + 1 and added.added.sum() == 1
    new = int(added.sample[added.added][0])
    reach = int(0.08 * fs)  # the snap distance
    around = analysed.view.raw[cursor - reach : cursor + reach + 1]
    assert new == cursor - reach + np.argmax(np.abs(around - np.median(around)))
    assert beat_states(added)[added.added][0] == BeatState.ADDED
    press(qtbot, analysed, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert len(analysed.review.session.table) == len(table)


def test_navigation_keys_and_the_review_list(qtbot, analysed):
    session = analysed.review.session
    candidates = session.candidates
    assert len(candidates) >= 2, "the sample record holds APCs the model finds"
    press(qtbot, analysed, Qt.Key.Key_Tab)
    assert analysed.review.selected == candidates[0]
    press(qtbot, analysed, Qt.Key.Key_Space)  # reviewed: the next Tab skips it
    press(qtbot, analysed, Qt.Key.Key_Tab)
    assert analysed.review.selected == candidates[1]
    press(qtbot, analysed, Qt.Key.Key_BracketLeft)
    assert analysed.review.selected == candidates[1]  # no unreviewed candidate before it any more
    press(qtbot, analysed, Qt.Key.Key_BraceLeft)
    assert analysed.review.selected == candidates[0]
    press(qtbot, analysed, Qt.Key.Key_Right)
    assert analysed.review.selected == candidates[0] + 1
    dock = analysed.review_list
    assert dock.model.rowCount() == len(candidates)
    # The list reads the score against the threshold, as the labels do (issue 19 item 5).
    assert dock.model.headerData(1, Qt.Orientation.Horizontal, Qt.ItemDataRole.DisplayRole) == "APC score"
    first_score = apc_score(session.table.p_apc[dock.model.rows[0]], session.threshold)
    assert dock.model.data(dock.model.index(0, 1)) == f"{first_score:.0f}"
    assert dock.counts.text().startswith(f"1 of {len(candidates)} APC candidates reviewed, {len(candidates) - 1} to go")
    press(qtbot, analysed, Qt.Key.Key_N)  # a beat that is no candidate: counted among all beats (issue 19 item 6)
    assert dock.counts.text().endswith(f"2 of {len(analysed.review.session.table)} beats reviewed in all")
    dock.order.setCurrentIndex(1)  # most uncertain first
    margins = np.abs(session.table.p_apc[dock.model.rows] - session.threshold)
    assert np.all(np.diff(margins) >= 0)
    last = dock.model.index(len(candidates) - 1, 0)
    dock.view.doubleClicked.emit(last)
    assert analysed.review.selected == dock.model.rows[-1]
    assert "p(APC)" in analysed.details.text()


def test_view_toggles_and_help_come_from_the_key_table(qtbot, analysed):
    press(qtbot, analysed, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    assert analysed.view.side_by_side
    press(qtbot, analysed, Qt.Key.Key_H, Qt.KeyboardModifier.ControlModifier)
    assert not analysed.view.band_plot.isVisible()
    dialog = analysed.show_help()
    assert dialog.table.rowCount() == len(SHORTCUTS)
    assert {dialog.table.item(row, 1).text() for row in range(len(SHORTCUTS))} == {s.action for s in SHORTCUTS}
    dialog.close()
    # The menus name the keys as the help does: Shift+Tab, not Qt's "Backtab" (issue 19 item 11).
    menu_texts = [action.text() for menu in analysed.menuBar().actions() for action in menu.menu().actions()]
    assert "Previous candidate\tShift+Tab, [" in menu_texts and not any("Backtab" in text for text in menu_texts)
    analysed.view.show_span(0, 3.0)  # a few beats: their p(APC) labels are drawn
    assert 1 <= len(analysed.view.labels.visible_rows()) <= 6


def test_read_only_record_folder_falls_back_to_a_user_store(qtbot, window, record, monkeypatch):
    monkeypatch.setattr("danet_viewer.core.store_location.os.access", lambda path, mode: False)
    assert window.open_record(str(record))
    qtbot.waitUntil(lambda: not window.analysing, timeout=ANALYSIS_TIMEOUT_MS)
    assert not default_store_path(record).exists()
    assert "record folder is read-only" in window.context.text()
    assert window.review.store.path.exists() and window.review.store.path.parent != record.parent


def test_bad_file_gives_a_message_not_a_crash(qtbot, window, tmp_path, monkeypatch):
    shown = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text: shown.append(text))
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1\n")
    assert not window.open_record(str(bad))
    assert len(shown) == 1 and "bad.csv" in shown[0]


def test_render_draws_the_review_view_to_a_png(record, tmp_path, capsys):
    out = tmp_path / "view.png"
    assert main(["render", str(record), "--start", "20", "--span", "10", "--out", str(out)]) == 0
    image = QImage(str(out))
    assert image.width() >= 1000 and image.height() >= 500
    colours = {image.pixel(x, y) for x in range(0, image.width(), 7) for y in range(0, image.height(), 7)}
    assert len(colours) > 20  # traces, regions, markers and labels, not a blank canvas


def test_render_of_a_start_past_the_end_is_bad_input_in_one_line(record, tmp_path, capsys):
    """Issue 19 item 17: a start past the end ended in 'internal error: ValueError', exit 3."""
    out = tmp_path / "late.png"
    assert main(["render", str(record), "--start", "5000", "--span", "10", "--out", str(out)]) == 1
    error = capsys.readouterr().err.strip()
    assert error.splitlines() == [error] and "--start 5000 s is outside the recording" in error and not out.exists()


def test_render_takes_the_rate_of_a_csv_that_states_none(tmp_path):
    """Issue 19 item 18: render had no --fs, so such a CSV could never be rendered."""
    from tests.conftest import synthetic_ecg

    signal, _ = synthetic_ecg(250, 20)
    csv = tmp_path / "strip.csv"
    csv.write_text("II\n" + "\n".join(f"{value:.4f}" for value in signal) + "\n")
    out = tmp_path / "strip.png"
    assert main(["render", str(csv), "--fs", "250", "--start", "5", "--span", "10", "--out", str(out),
                 "--store", str(tmp_path / "strip.h5")]) == 0
    assert QImage(str(out)).width() >= 1000


def test_a_flat_stretch_is_shaded_and_opening_another_record_clears_it(qtbot, window, record, tmp_path):
    import wfdb

    from tests.conftest import synthetic_ecg, write_wfdb_record

    signal, _ = synthetic_ecg(360, 60)
    signal[20 * 360 : 35 * 360] = 0.0  # 15 s of lead-off
    lead_off = write_wfdb_record(tmp_path, "lead_off", signal, 360)
    assert wfdb.rdheader(str(lead_off.with_suffix(""))).sig_len == len(signal)
    assert window.open_record(str(lead_off))
    qtbot.waitUntil(lambda: not window.analysing, timeout=ANALYSIS_TIMEOUT_MS)
    stretches = window.review.unanalysable()
    assert len(stretches) == 1 and abs(stretches[0, 0] - 20 * 360) < 360 and abs(stretches[0, 1] - 35 * 360) < 360
    assert np.array_equal(window.view._unanalysable, stretches)
    assert window.open_record(str(record))
    qtbot.waitUntil(lambda: not window.analysing, timeout=ANALYSIS_TIMEOUT_MS)
    assert len(window.view._unanalysable) == 0


def test_the_window_reopens_at_the_size_and_layout_it_was_closed_at(qtbot, tmp_path, model):
    """Issue 19 item 15: it reopened at 1400x820 whatever the reviewer had made of it."""
    from PySide6.QtCore import QSettings

    from danet_viewer._qt.main_window import MainWindow

    settings = QSettings(str(tmp_path / "layout.ini"), QSettings.Format.IniFormat)
    settings.setValue("reviewer", "dr test")
    first = MainWindow(settings)
    qtbot.addWidget(first)
    first.show()
    qtbot.waitExposed(first)
    first.resize(760, 560)  # within the offscreen screen, which restoreGeometry fits a window into
    first.superimposition.hide()
    qtbot.wait(50)
    size = first.size()
    first.close()
    second = MainWindow(settings)
    qtbot.addWidget(second)
    second.show()
    qtbot.waitExposed(second)
    assert second.size() == size and not second.superimposition.isVisible()
    second.close()


def test_opening_another_record_leaves_nothing_of_the_last_one(qtbot, analysed, tmp_path):
    """Issue 19 item 4: beat marks, labels, the selected-beat panel and the tachogram dot stayed from the last
    record."""
    from danet_viewer.components.beat_details import NO_BEAT
    from tests.conftest import synthetic_ecg, write_wfdb_record

    analysed.review.select_row(5)
    assert len(analysed.view.labels.times_s) and analysed.details.text() != NO_BEAT
    signal, _ = synthetic_ecg(360, 60)
    other = write_wfdb_record(tmp_path, "other", signal, 360)
    assert analysed.open_record(str(other))
    assert analysed.analysing  # the next record is still loading: the last one's marks are gone already
    dot = analysed.tachogram.current.getData()[0]
    assert not len(analysed.view.labels.times_s) and (dot is None or not len(dot))
    assert analysed.details.text() == NO_BEAT and analysed.review_list.model.rowCount() == 0
    qtbot.waitUntil(lambda: not analysed.analysing, timeout=ANALYSIS_TIMEOUT_MS)
