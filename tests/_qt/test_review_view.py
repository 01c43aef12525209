"""The review view's drawing caches: what a pan leaves in place must still match the screen after pans,
zooms, label edits, a lead change and a new piece of enhanced trace; and a pan paints once.

A bare ReviewView on a synthetic two-lead record (no model): beats every 0.8 s.
"""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QObject, QPointF
from PySide6.QtGui import QColor, QImage

from danet_viewer._qt.ecg_paper import LARGE_BOX_MM, LARGE_LINE_COLOUR
from danet_viewer._qt.review_view import (
    BAND_COLUMNS,
    LABEL_LIFT_PX,
    MAX_SHADED_BEATS,
    STATE_STYLE,
    UNANALYSABLE_COLOUR,
    ReviewView,
    label_text,
)
from danet_viewer.components.review_session import BeatState
from danet_viewer.model.trace import SHOWN_REGIONS, EnhancedTrace
from tests.conftest import synthetic_ecg

FS = 360.0
DURATION_S = 240.0


@pytest.fixture
def leads():
    first, peaks = synthetic_ecg(FS, DURATION_S)
    second = -0.5 * first + 0.2  # another lead: the beats elsewhere on screen
    return first.astype(np.float32), second.astype(np.float32), peaks


@pytest.fixture
def view(qtbot, leads):
    first, _, peaks = leads
    view = ReviewView()
    qtbot.addWidget(view)
    view.resize(1200, 700)
    view.show()
    qtbot.waitExposed(view)
    view.set_signal(first, FS, "I", "mV")
    view.set_beats(peaks, np.full(len(peaks), BeatState.NORMAL, np.int8), np.linspace(0, 100, len(peaks)),
                   np.full(len(peaks), "", object))
    view.set_gain(10.0)
    return view


def grabbed(view) -> QImage:
    return view.grab().toImage()


def on_screen(view, time_s: float, value: float) -> tuple[int, int]:
    """The widget pixel where the raw plot shows the data point (time_s, value)."""
    point = view.mapFromScene(view.raw_plot.vb.mapViewToScene(QPointF(time_s, value)))
    return point.x(), point.y()


def rgb(image: QImage, x: int, y: int) -> tuple[int, int, int]:
    colour = image.pixelColor(x, y)
    return colour.red(), colour.green(), colour.blue()


def coloured_pixels(image: QImage, box: tuple[int, int, int, int], colour: QColor, tolerance: int = 40) -> int:
    x0, y0, x1, y1 = box
    target = np.array([colour.red(), colour.green(), colour.blue()])
    return sum(np.abs(np.array(rgb(image, x, y)) - target).sum() <= tolerance
               for x in range(x0, x1) for y in range(y0, y1))


def test_a_label_edit_recolours_the_mark_and_relabels_the_beat_without_a_pan(view, leads):
    first, _, peaks = leads
    view.show_span(20.0, 6.0)
    row = int(np.searchsorted(peaks / FS, 23.0))
    x, y = on_screen(view, peaks[row] / FS, first[peaks[row]])
    label_box = (x - 30, y - 30, x + 30, y - 6)
    before = grabbed(view)
    assert rgb(before, x, y) == STATE_STYLE[BeatState.NORMAL][0]
    normal_label = QColor(*STATE_STYLE[BeatState.NORMAL][0]).darker(130)
    assert coloured_pixels(before, label_box, normal_label) > 0

    states = np.full(len(peaks), BeatState.NORMAL, np.int8)
    states[row] = BeatState.CONFIRMED_APC
    symbols = np.full(len(peaks), "", object)
    symbols[row] = "A"
    view.set_beats(peaks, states, view.labels.scores, symbols)
    after = grabbed(view)
    assert rgb(after, x, y) == STATE_STYLE[BeatState.CONFIRMED_APC][0]
    assert coloured_pixels(after, label_box, QColor(*STATE_STYLE[BeatState.CONFIRMED_APC][0]).darker(130)) > 0
    assert coloured_pixels(after, label_box, normal_label) == 0
    assert row in view.labels.visible_rows()
    assert label_text(view.labels.scores[row], view.labels.symbols[row]).endswith(" A")


def test_a_lead_change_redraws_the_trace_and_moves_the_marks_onto_it(view, leads):
    _, second, peaks = leads
    view.show_span(30.0, 5.0)
    view.set_signal(second, FS, "II", "mV")
    times, values = view.raw_curve.getData()
    inside = (times >= 30.0) & (times <= 35.0)
    assert np.array_equal(values[inside], second[np.rint(times[inside] * FS).astype(int)])
    mark_times, mark_values = view.markers.getData()
    assert len(mark_times) and np.allclose(mark_values, second[np.rint(mark_times * FS).astype(int)])
    row = int(np.searchsorted(peaks / FS, 32.0))
    x, y = on_screen(view, peaks[row] / FS, second[peaks[row]])
    assert rgb(grabbed(view), x, y) == STATE_STYLE[BeatState.NORMAL][0]


def test_the_enhanced_panel_names_the_analysis_lead_and_labels_clear_the_drawn_qrs(view, leads):
    """Issue 19 item 8: with V1 drawn, the lower panel said "V1 enhanced" over the MLII analysis trace, and the
    labels sat on V1's QRS, which points down where the analysis lead's R peaks."""
    first, _, peaks = leads
    view.set_signal(first, FS, "MLII", "mV", analysis_lead="MLII")
    view.set_signal(-first, FS, "V1", "mV")  # a lead whose QRS points down
    assert "MLII enhanced" in view.enhanced_plot.getAxis("left").labelString()
    assert "V1" in view.raw_plot.getAxis("left").labelString()
    row = int(np.searchsorted(peaks / FS, 32.0))
    around = -first[peaks[row] - 20 : peaks[row] + 21]
    assert view.labels.values[row] == around.max() > -first[peaks[row]]


def test_after_pans_and_zooms_the_content_covers_the_view(view, leads):
    _, _, peaks = leads
    pieces = [enhanced_piece(0.0, 120.0)]
    view.set_traces(pieces)
    for start, span in [(10.0, 5.0), (11.0, 5.0), (13.5, 5.0), (17.0, 5.0), (60.0, 5.0), (58.0, 10.0), (0.0, 120.0),
                        (100.0, 2.0)]:
        view.show_span(start, span)
        stop = start + span
        pixel = 2 * span / view.raw_plot.vb.width()  # zoomed out, drawn as min/max pairs per pixel
        times = view.raw_curve.getData()[0]
        assert times[0] <= start + pixel and times[-1] >= min(stop, DURATION_S) - pixel
        enhanced = view.enhanced_curve.getData()[0]
        assert enhanced[0] <= start + pixel and enhanced[-1] >= min(stop, 120.0) - pixel
        beats_in_view = peaks[(peaks / FS >= start) & (peaks / FS <= stop)] / FS
        assert np.isin(np.round(beats_in_view, 6), np.round(view.markers.getData()[0], 6)).all()
        band = view.band.mapRectToParent(view.band.boundingRect())
        assert band.left() <= start and band.right() >= min(stop, 120.0)
        qrs = pieces[0].regions_s[:, 1]
        qrs_in_view = qrs[(qrs[:, 1] > start) & (qrs[:, 0] < stop), 0]
        shaded = view.regions[(view.enhanced_plot, "qrs")].opts["x0"]
        assert not len(view.regions[(view.raw_plot, "qrs")].opts["x0"])  # off on the raw trace unless asked for
        if len(qrs_in_view) <= MAX_SHADED_BEATS:
            assert np.isin(np.round(qrs_in_view, 6), np.round(shaded, 6)).all()
        else:  # too many to read: none shaded
            assert not len(shaded)


def test_a_new_piece_of_enhanced_trace_is_drawn_without_a_pan(view):
    view.set_traces([])
    view.show_span(70.0, 5.0)
    assert len(view.enhanced_curve.getData()[0] or []) == 0
    view.set_traces([enhanced_piece(60.0, 120.0)])
    times = view.enhanced_curve.getData()[0]
    assert times[0] <= 70.0 and times[-1] >= 75.0
    view.set_regions_visible(False)
    assert not len(view.regions[(view.raw_plot, "qrs")].opts["x0"])


def test_the_ecg_grid_stays_on_its_times_through_pans_and_a_zoom(view):
    view.set_regions_visible(False)
    large_s = LARGE_BOX_MM * view.grid.small_s
    for start, span in [(40.0, 6.0), (40.37, 6.0), (41.9, 6.0), (47.3, 6.0), (47.3, 3.0)]:
        view.show_span(start, span)
        image = grabbed(view)
        inside = (start + 0.05, start + span - 0.05)  # lines on the view's edges may be clipped
        expected = [on_screen(view, t, 0.0)[0]
                    for t in np.arange(np.ceil(inside[0] / large_s), np.floor(inside[1] / large_s) + 1) * large_s]
        # A row between two amplitude lines, near the top: only the time lines cross it.
        top = on_screen(view, 0.0, view.raw_plot.viewRange()[1][1])[1]
        rows = [[rgb(image, x, y) == LARGE_LINE_COLOUR for x in range(expected[0] - 3, expected[-1] + 4)]
                for y in range(top + 2, top + 20)]
        row = min(rows, key=sum)
        found = np.flatnonzero(row) + expected[0] - 3
        assert all(np.abs(found - x).min() <= 1 for x in expected)
        assert all(np.abs(np.array(expected) - x).min() <= 1 for x in found)


def test_a_pan_paints_the_view_once(qtbot, view):
    class PaintCount(QObject):
        count = 0

        def eventFilter(self, watched, event):
            self.count += event.type() == QEvent.Type.Paint
            return False

    view.show_span(50.0, 8.0)
    qtbot.wait(50)
    paints = PaintCount()
    view.viewport().installEventFilter(paints)
    for gain in (10.0, None):  # at a set gain, and with the amplitude axis following the trace
        view.set_gain(gain)
        qtbot.wait(50)
        for start in (51.0, 52.0, 70.0, 50.0):  # pans inside what was cut and beyond it
            paints.count = 0
            view.raw_plot.setXRange(start, start + 8.0, padding=0)
            qtbot.wait(50)
            assert paints.count == 1


def test_unanalysable_stretches_are_shaded_grey_and_only_near_the_screen(view):
    view.set_regions_visible(False)
    # One long stretch, and thousands of short ones further on (a 24 h record's worth of lead-off blips).
    blips = np.arange(130 * FS, 230 * FS, 0.05 * FS).astype(np.int64)
    stretches = np.concatenate([[[50 * FS, 60 * FS]], np.stack([blips, blips + 0.02 * FS], axis=1)]).astype(np.int64)
    view.set_unanalysable(stretches)
    view.show_span(45.0, 10.0)
    grey = QColor(*UNANALYSABLE_COLOUR)
    image = grabbed(view)
    top = on_screen(view, 0.0, view.raw_plot.viewRange()[1][1])[1] + 3
    inside_x, outside_x = on_screen(view, 53.0, 0.0)[0], on_screen(view, 47.0, 0.0)[0]
    # The paper between the grid lines of a 10 x 10 box (the grid is drawn over the band).
    assert coloured_pixels(image, (inside_x - 5, top, inside_x + 5, top + 10), grey, tolerance=6) > 40
    assert coloured_pixels(image, (outside_x - 5, top, outside_x + 5, top + 10), grey, tolerance=6) == 0
    bars = view.unanalysable_bars[view.raw_plot].opts
    assert bars["x0"].tolist() == [50.0] and bars["x1"].tolist() == [60.0]
    view.show_span(0.0, DURATION_S)  # zoomed out: the blips closer than a column are one bar
    bars = view.unanalysable_bars[view.raw_plot].opts
    assert len(bars["x0"]) <= 3 * BAND_COLUMNS and len(bars["x0"]) < len(stretches) / 10
    assert bars["x0"][0] == 50.0 and bars["x1"][-1] == pytest.approx(230.0, abs=0.05)


def enhanced_piece(start_s: float, stop_s: float, fs: float = 250.0) -> EnhancedTrace:
    """A stand-in enhanced trace: a sine, attention rising and falling, and P/QRS/T regions every 0.8 s."""
    t = np.arange(int((stop_s - start_s) * fs)) / fs
    beats = np.arange(np.ceil(start_s / 0.8), np.floor(stop_s / 0.8)) * 0.8
    offsets = np.array([[-0.2, -0.1], [-0.05, 0.05], [0.15, 0.35]])
    regions = beats[:, None, None] + offsets[None, :, :]
    assert regions.shape[1] == len(SHOWN_REGIONS)
    signal = np.sin(2 * np.pi * t).astype(np.float32)
    return EnhancedTrace(fs=fs, start_s=start_s, conditioned=signal, weights=(0.5 + 0.5 * signal).astype(np.float32),
                         enhanced=signal, beat_sample=np.rint(beats * FS).astype(np.int64), regions_s=regions)


@pytest.mark.parametrize("units", ["mV", "uV"])
def test_physical_axes_read_in_the_recordings_own_units(view, leads, units):
    """Issue 19 item 7: pyqtgraph's SI prefix made mV axes '(mmV)' running to ±600 and µV ones '(kuV)'."""
    first, _, _ = leads
    view.set_signal(first * (1000 if units == "uV" else 1), FS, "MLII", units, analysis_lead="MLII")
    view.show_span(0, 10)
    for plot in (view.raw_plot, view.enhanced_plot):
        axis = plot.getAxis("left")
        assert f"({units})" in axis.labelString() and f"(m{units})" not in axis.labelString()
        assert axis.autoSIPrefixScale == 1.0
    view.show_span(0, 4000)  # a long time axis stays in seconds, not '(ks)'
    assert view.raw_plot.getAxis("bottom").autoSIPrefixScale == 1.0


def test_wave_regions_are_a_thin_strip_and_off_on_the_raw_trace_by_default(view):
    """Issue 19 item 12: full-height P/QRS/T bands painted over the ECG paper of both panels."""
    view.set_traces([enhanced_piece(0.0, 120.0)])
    view.show_span(10.0, 5.0)
    raw, enhanced = view.regions[(view.raw_plot, "qrs")], view.regions[(view.enhanced_plot, "qrs")]
    assert not len(raw.opts["x0"]) and len(enhanced.opts["x0"])
    y0, y1 = view.enhanced_plot.viewRange()[1]
    assert enhanced.opts["y0"] == y0 and enhanced.opts["height"] <= 0.1 * (y1 - y0)
    view.set_regions_visible(True)  # Ctrl+R
    assert len(raw.opts["x0"]) and raw.opts["height"] <= 0.1 * np.ptp(view.raw_plot.viewRange()[1])


def test_the_enhanced_trace_and_its_band_say_in_words_what_they_show(view):
    """Issue 19 item 13: "x·(1 + w)" and an unscaled "w(t)" meant nothing to a cardiologist."""
    assert view.enhanced_plot.titleLabel.text.startswith("Where DANet looked")
    assert "none (white) to full (orange)" in view.enhanced_plot.titleLabel.text


def test_beat_labels_lie_inside_the_view_at_the_default_size_and_after_a_resize(qtbot, analysed):
    """Issue 19 item 10: at the default 1400x820, labels of the tallest R peaks were drawn above the raw plot's
    view box, which clipped them. Each label lies wholly inside it, some only because it was pushed in."""
    view, labels = analysed.view, analysed.view.labels
    assert (analysed.width(), analysed.height()) == (1400, 820)
    for size in (None, (1100, 640), (1700, 1000)):
        if size is not None:
            analysed.resize(*size)
            qtbot.waitUntil(lambda s=size: (analysed.width(), analysed.height()) == s)
        qtbot.wait(100)  # laid out and painted: labels are placed at paint time
        box = view.raw_plot.vb.sceneBoundingRect()
        rects = labels.scene_rects()
        assert len(rects) > 5 and all(box.contains(rect) for rect in rects)
        if size is None:  # the case the issue saw: a label put plainly above its beat would cross the top
            to_scene = labels.sceneTransform()
            tops = [to_scene.map(QPointF(labels.times_s[row], labels.values[row])).y() - LABEL_LIFT_PX - rect.height()
                    for row, rect in zip(labels.visible_rows(), rects, strict=True)]
            assert min(tops) < box.top()
