"""The reading tools around the traces: ECG paper and its scale, the lead on screen, the overview strip, the
RR tachogram, the superimposed beats, calipers, paging and zoom keys, and `danet-viewer RECORD`."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from PySide6.QtCore import QPointF, QSettings, Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QGraphicsView, QToolBar

from danet_viewer._qt.app import open_window
from danet_viewer._qt.beat_docks import MAX_SUPERIMPOSED, standing_labels
from danet_viewer._qt.ecg_paper import FALLBACK_DPI, pixels_per_mm
from danet_viewer._qt.shortcuts import SHORTCUTS
from tests._qt.conftest import ANALYSIS_TIMEOUT_MS


def press(qtbot, window, key, modifier=Qt.KeyboardModifier.NoModifier):
    qtbot.keyClick(window.view, key, modifier)


def x_range(window):
    return window.view.raw_plot.viewRange()[0]


def click_at(qtbot, plot_widget, view_box, x, y):
    """A left click on ``plot_widget`` where ``view_box`` shows the data point (x, y)."""
    scene = view_box.mapViewToScene(QPointF(x, y))
    qtbot.mouseClick(plot_widget.viewport(), Qt.MouseButton.LeftButton, pos=plot_widget.mapFromScene(scene))


def test_no_key_is_bound_twice():
    keys = Counter(QKeySequence(key).toString() for shortcut in SHORTCUTS for key in shortcut.keys)
    assert [key for key, count in keys.items() if count > 1] == []


def test_the_ecg_grid_and_the_paper_scale(qtbot, analysed):
    view = analysed.view
    px_per_mm = pixels_per_mm(FALLBACK_DPI)  # offscreen: 96 dpi
    # Opened at 25 mm/s and 10 mm/mV, with 1 mm and 5 mm boxes on screen.
    assert x_range(analysed)[1] - x_range(analysed)[0] == pytest.approx(view.raw_plot.vb.width() / (25 * px_per_mm))
    (y0, y1) = view.raw_plot.viewRange()[1]
    assert y1 - y0 == pytest.approx(view.raw_plot.vb.height() / (10 * px_per_mm), rel=1e-3)
    assert view.grid.isVisible()
    small_times, small_mv = view.grid.visible_lines(1)
    assert np.allclose(np.diff(small_times), 0.04) and np.allclose(np.diff(small_mv), 0.1)
    assert np.allclose(np.diff(view.grid.visible_lines(5)[0]), 0.2)
    analysed.speed_box.activated.emit(analysed.speed_box.findData(50.0))
    x0, x1 = x_range(analysed)
    assert x1 - x0 == pytest.approx(view.raw_plot.vb.width() / (50 * px_per_mm))
    assert np.allclose(np.diff(view.grid.visible_lines(1)[0]), 0.02)  # a box is still 1 mm
    analysed.gain_box.activated.emit(analysed.gain_box.findData(20.0))
    for plot in (view.raw_plot, view.enhanced_plot):  # the enhanced trace at the same gain, read alike
        (y0, y1) = plot.viewRange()[1]
        assert y1 - y0 == pytest.approx(plot.vb.height() / (20 * px_per_mm), rel=1e-3)
    view.show_span(0, 180)  # 3 min: 1 mm boxes would be a wash, and are left out
    assert not len(view.grid.visible_lines(1)[0])
    press(qtbot, analysed, Qt.Key.Key_G, Qt.KeyboardModifier.ControlModifier)
    assert not view.grid.isVisible() and not analysed.shortcut_actions["ECG grid"].isChecked()
    # The toolbar's buttons read their names whole (the menu shows the key after a tab, which a button elided).
    toolbar = analysed.findChild(QToolBar, "display")
    buttons = [toolbar.widgetForAction(analysed.shortcut_actions[name]) for name in ("ECG grid", "Calipers")]
    assert [button.text() for button in buttons] == ["ECG grid", "Calipers"]


def test_another_lead_is_drawn_while_the_model_keeps_its_own(qtbot, analysed):
    recording = analysed.review.recording
    assert analysed.lead_box.count() == len(recording.lead_names) == 2
    other = 1 - analysed.review.lead
    analysed.lead_box.activated.emit(other)
    qtbot.waitUntil(lambda: np.array_equal(analysed.view.raw, recording.read(other)))
    assert recording.lead_names[other] in analysed.view.raw_plot.getAxis("left").labelText
    review = analysed.review
    assert review.lead != other and np.array_equal(review.analysis_raw, recording.read(review.lead))


def test_overview_shows_apc_density_and_heart_rate_and_a_click_jumps(qtbot, analysed):
    overview, table = analysed.overview, analysed.review.session.table
    edges, per_minute = overview.model_curve.getData()
    assert len(edges) == len(per_minute) + 1  # binned, one step item
    assert np.sum(per_minute * np.diff(edges) / 60) == pytest.approx((table.model_apc == 1).sum())
    x0, x1 = x_range(analysed)
    assert overview.view_region.getRegion() == pytest.approx((x0, x1))
    click_at(qtbot, overview, overview.getPlotItem().vb, 120.0, float(np.mean(per_minute)))
    x0, x1 = x_range(analysed)
    assert (x0 + x1) / 2 == pytest.approx(120.0, abs=1.0)
    assert overview.view_region.getRegion() == pytest.approx((x0, x1))
    press(qtbot, analysed, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    rate = overview.model_curve.getData()[1]
    assert 40 < np.median(rate) < 150 and overview.reviewed_curve.getData()[0] is None


def test_a_click_on_the_tachogram_selects_that_beat(qtbot, analysed):
    tachogram = analysed.tachogram
    table = analysed.review.session.table
    assert len(tachogram.points.data) == len(table) - 1  # one scatter item for every RR interval
    row = int(np.argmax(table.model_apc == 1))  # a premature beat stands out below the others
    fs = analysed.review.recording.fs
    rr = (table.sample[row] - table.sample[row - 1]) / fs
    click_at(qtbot, tachogram.plot_widget, tachogram.plot_widget.getPlotItem().vb, table.sample[row] / fs, rr)
    assert analysed.review.selected == row
    assert tachogram.current.data["x"][0] == pytest.approx(table.sample[row] / fs)


def test_superimposition_overlays_the_selected_beats_class(qtbot, analysed):
    table, dock = analysed.review.session.table, analysed.superimposition
    classes = standing_labels(table)
    axis = dock.plot_widget.getPlotItem().getAxis("left")
    relabelled = []
    axis.label.document().contentsChanged.connect(lambda: relabelled.append(axis.labelString()))
    for row in (int(np.argmax(table.model_apc == 1)), int(np.argmax(table.model_apc == 0))):
        analysed.review.select_row(row)
        assert dock.shown_class == classes[row] == ("A" if table.model_apc[row] == 1 else "N")
        assert 0 < dock.shown_count <= min(MAX_SUPERIMPOSED, (classes == classes[row]).sum())
        x, y = dock.overlay.getData()
        assert np.isnan(y).sum() == dock.shown_count  # one line item, beats apart by NaN
        assert len(dock.mean.getData()[0]) == len(x) // dock.shown_count - 1
    # The axis is labelled once for the record's units, not laid out again on every beat.
    assert "amplitude (mV)" in axis.labelString() and sum("amplitude" in text for text in relabelled) == 1
    # Under a real X server (Xvfb, looked at) a minimal update left the label's old pixels: "(mV" drawn twice.
    assert dock.plot_widget.viewportUpdateMode() == QGraphicsView.ViewportUpdateMode.FullViewportUpdate
    analysed.review.select_row(4)
    press(qtbot, analysed, Qt.Key.Key_X)  # not a beat: it has no class
    assert dock.shown_count == 0


def test_calipers_read_interval_rate_and_amplitude(qtbot, analysed):
    calipers = analysed.view.calipers
    press(qtbot, analysed, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
    assert all(line.isVisible() for line in (*calipers.time_lines, *calipers.amplitude_lines))
    x0, x1 = x_range(analysed)
    assert x0 < calipers.time_lines[0].value() < calipers.time_lines[1].value() < x1
    calipers.time_lines[0].setValue(10.0)
    calipers.time_lines[1].setValue(10.8)
    calipers.amplitude_lines[0].setValue(-0.25)
    calipers.amplitude_lines[1].setValue(0.75)
    assert calipers.readout.textItem.toPlainText() == "Δt 800 ms   75 bpm   ΔV 1.00 mV"
    press(qtbot, analysed, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
    assert not calipers.readout.isVisible()


def test_page_and_zoom_keys(qtbot, analysed):
    analysed.view.show_span(20.0, 10.0)
    press(qtbot, analysed, Qt.Key.Key_PageDown)
    assert x_range(analysed) == pytest.approx((30.0, 40.0))
    press(qtbot, analysed, Qt.Key.Key_PageUp)
    press(qtbot, analysed, Qt.Key.Key_PageUp)
    assert x_range(analysed) == pytest.approx((10.0, 20.0))
    press(qtbot, analysed, Qt.Key.Key_Plus, Qt.KeyboardModifier.ControlModifier)
    assert x_range(analysed) == pytest.approx((12.5, 17.5))
    press(qtbot, analysed, Qt.Key.Key_Minus, Qt.KeyboardModifier.ControlModifier)
    assert x_range(analysed) == pytest.approx((10.0, 20.0))
    press(qtbot, analysed, Qt.Key.Key_End)
    assert x_range(analysed)[1] == pytest.approx(analysed.review.recording.duration_s)
    press(qtbot, analysed, Qt.Key.Key_PageDown)  # no paging past the end
    assert x_range(analysed)[1] == pytest.approx(analysed.review.recording.duration_s)
    press(qtbot, analysed, Qt.Key.Key_Home)
    assert x_range(analysed) == pytest.approx((0.0, 10.0))


def test_danet_viewer_record_opens_it(qtbot, record, tmp_path, model):
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    settings.setValue("reviewer", "dr cli")
    window = open_window(str(record), settings)  # what `danet-viewer RECORD` shows before the event loop
    qtbot.addWidget(window)
    assert window.isVisible() and window.review.recording is not None and window.analysing
    qtbot.waitUntil(lambda: not window.analysing, timeout=ANALYSIS_TIMEOUT_MS)
    assert window.review.session is not None and window.windowTitle().endswith(record.stem)
    assert len(window.view.raw_curve.getData()[0]) > 0
    qtbot.waitUntil(lambda: window.view.raw_pyramid is not None)  # built after the first paint, off the GUI thread
    window.close()


def test_the_speed_box_follows_a_zoom(qtbot, analysed):
    """Issue 19 item 11: the box kept "25 mm/s" after zooming to 42 s or 5 s spans."""
    box = analysed.speed_box
    analysed.view.set_speed(25.0)
    qtbot.waitUntil(lambda: box.currentText() == "25 mm/s")
    qtbot.keyClick(analysed.view, Qt.Key.Key_Minus, Qt.KeyboardModifier.ControlModifier)  # zoom out: twice the span
    qtbot.waitUntil(lambda: box.currentText() == "12.5 mm/s")
    analysed.review.set_span(42.0)
    qtbot.waitUntil(lambda: box.currentText().endswith("mm/s (zoomed)"))
    assert abs(box.currentData() - analysed.view.shown_speed_mm_s()) < 1e-6
    analysed.view.set_speed(50.0)
    qtbot.waitUntil(lambda: box.currentText() == "50 mm/s")
    assert box.count() == 3  # the zoomed entry goes once a standard speed is shown again


def test_the_candidate_list_shows_whole_times_and_the_reviewer(qtbot, analysed):
    """Issue 19 item 10: times from 10 min on read "11:55…" and the reviewer column was cut off."""
    dock = analysed.review_list
    analysed.review.select_row(int(analysed.review.session.candidates[0]))
    qtbot.keyClick(analysed.view, Qt.Key.Key_A)  # a reviewer's name in the list
    font = dock.view.font()
    font.setPointSize(14)  # a desktop's font, larger than offscreen Qt's default
    dock.view.setFont(font)
    # The sample is 3 min long: read at a tenth of its rate, its candidates lie up to 30 min in.
    dock.update_from(analysed.review.session, analysed.review.recording.fs / 10)
    assert dock.model.data(dock.model.index(dock.model.rowCount() - 1, 0)).startswith(("00:2", "00:1"))
    metrics = dock.view.fontMetrics()
    qtbot.wait(50)
    for column in range(4):
        widest = max(metrics.horizontalAdvance(str(dock.model.data(dock.model.index(row, column)) or ""))
                     for row in range(dock.model.rowCount()))
        assert dock.view.columnWidth(column) >= widest


def test_side_by_side_keeps_the_selected_beat_in_view(qtbot, analysed):
    """Issue 19 item 11: after Ctrl+L the selected beat sat at the right edge, or past it."""
    analysed.review.set_span(10.0)
    analysed.review.centre_on(60.0)
    row = int(np.searchsorted(analysed.review.session.table.sample, 63.5 * analysed.review.recording.fs))
    analysed.review.select_row(row)  # right of centre
    beat_s = analysed.review.session.table.sample[row] / analysed.review.recording.fs
    x0, x1 = x_range(analysed)
    where = (beat_s - x0) / (x1 - x0)
    qtbot.keyClick(analysed.view, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: x_range(analysed)[1] - x_range(analysed)[0] < 0.8 * (x1 - x0))
    y0, y1 = x_range(analysed)
    assert y0 < beat_s < y1 and abs((beat_s - y0) / (y1 - y0) - where) < 0.02
