"""The beat gallery on the bundled sample: opened from its key, a page of beats drawn with a few items, the cursor
moved by keys and clicks with the main view following, a beat key labelling the cursor's beat (stored, undone by
Ctrl+Z), pages and sections turned by their keys and not the main view's, and the window torn down with it open."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt

from danet_viewer._qt.beat_gallery import CELL_WIDTH_S, cell_origin
from danet_viewer.components.beat_gallery import GALLERY_COLUMNS, WHOLE_RECORD, RecordSnapshot
from danet_viewer.core.beat_classes import GALLERY_PAGE_BEATS


def open_gallery(qtbot, window):
    qtbot.keyClick(window.view, Qt.Key.Key_B, Qt.KeyboardModifier.ControlModifier)
    dock = window.gallery
    qtbot.waitUntil(dock.isVisible)
    qtbot.waitUntil(dock.view.hasFocus)
    assert window.shortcut_actions["Beat gallery"].isChecked()
    qtbot.waitUntil(lambda: not dock.gallery.ordering)  # the order is worked out off the GUI thread
    return dock


def strip_count(view) -> int:
    """How many strips the one line item holds (NaN between them)."""
    _, y = view.strips.getData()
    return 0 if y is None or not len(y) else int(np.count_nonzero(np.isnan(y)))


def captions_fit(qtbot, view) -> None:
    """Each caption fits in its own cell's caption band, above its strip (legible, no overlap), and the rows are tall
    enough to read: in pixels, once the dock is laid out."""
    qtbot.wait(50)
    pixel_s, pixel_mv = view.plot_widget.getPlotItem().getViewBox().viewPixelSize()
    assert view.cell_height / pixel_mv >= 70
    for index, caption in enumerate(caption for caption in view.captions if caption.isVisible()):
        left, top = cell_origin(index, view.cell_height)
        assert caption.pos().x() >= left and caption.pos().y() == pytest.approx(top)
        size = caption.textItem.boundingRect()
        assert caption.pos().x() + size.width() * pixel_s <= left + CELL_WIDTH_S
        assert size.height() * pixel_mv <= view.caption_height


def test_a_page_of_beats_is_drawn_with_one_item_each_and_the_cursor_selects_its_beat(qtbot, analysed, tmp_path):
    dock = open_gallery(qtbot, analysed)
    gallery, view, review = dock.gallery, dock.view, analysed.review
    assert gallery.sections and gallery.sections[-1][0] == WHOLE_RECORD
    tiles = gallery.tiles()
    assert len(tiles) == min(GALLERY_PAGE_BEATS, len(gallery.sections[0][1]))
    assert view.title.text() == gallery.title() and view.title.text().startswith(f"Class {gallery.sections[0][0]}: ")
    assert strip_count(view) == len(tiles) and len(view.marks.data) == len(tiles)
    assert view.grid.isVisible()  # the sample is in mV: on ECG paper
    shown = [caption for caption in view.captions if caption.isVisible()]
    assert len(shown) == len(tiles) and f"RR {tiles[0].pre_rr_percent:.0f} %" in shown[0].toPlainText()
    assert review.selected == tiles[0].row  # the cursor's beat: the main view shows it
    captions_fit(qtbot, view)
    # Right, Down: the cursor moves in the grid and the review model's selection follows it.
    qtbot.keyClick(view, Qt.Key.Key_Right)
    qtbot.keyClick(view, Qt.Key.Key_Down)
    if len(tiles) > GALLERY_COLUMNS + 1:
        assert gallery.cursor == GALLERY_COLUMNS + 1 and review.selected == tiles[GALLERY_COLUMNS + 1].row
    # A click on a tile puts the cursor there.
    left, top = cell_origin(2, view.cell_height)
    vb = view.plot_widget.getPlotItem().getViewBox()
    scene = vb.mapViewToScene(QPointF(left + CELL_WIDTH_S / 2, top - view.cell_height / 2))
    qtbot.mouseClick(view.plot_widget.viewport(), Qt.MouseButton.LeftButton,
                     pos=view.plot_widget.mapFromScene(scene))
    assert gallery.cursor == 2 and review.selected == tiles[2].row and view.hasFocus()
    x, _ = view.cursor.getData()
    assert min(x) == pytest.approx(2 * CELL_WIDTH_S) and view.cursor.isVisible()
    # Floating and large, the cells have room for each beat's time too.
    dock.setFloating(True)
    dock.resize(1400, 900)
    qtbot.waitUntil(lambda: tiles[0].time_text in view.captions[0].toPlainText())
    captions_fit(qtbot, view)
    assert dock.grab().save(str(tmp_path / "gallery.png"))


def test_a_beat_key_labels_the_cursors_beat_and_ctrl_z_undoes_it(qtbot, analysed):
    dock = open_gallery(qtbot, analysed)
    gallery, view, review = dock.gallery, dock.view, analysed.review
    rows = gallery.page_rows().copy()
    qtbot.keyClick(view, Qt.Key.Key_Right)
    row = int(rows[1])
    symbol = "N" if gallery.tiles()[1].label == "A" else "A"  # against the model's call
    qtbot.keyClick(view, getattr(Qt.Key, f"Key_{symbol}"))
    table = review.session.table
    assert table.review_symbol[row] == symbol and table.reviewed.sum() == 1  # the cursor's beat, no other
    assert review.store.beat_table(review.recording.name).review_symbol[row] == symbol  # stored at once
    assert list(gallery.page_rows()) == list(rows)  # the page stays under the reader
    assert symbol in view.captions[1].toPlainText() and "model" not in view.captions[1].toPlainText()
    qtbot.keyClick(view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # the window's undo, from the gallery
    assert not review.session.table.reviewed.any()
    assert not review.store.beat_table(review.recording.name).reviewed.any()
    assert "model" in view.captions[1].toPlainText()
    # X marks it not a beat; Space then keeps that reviewer's decision.
    qtbot.keyClick(view, Qt.Key.Key_X)
    assert review.session.table.deleted[row]
    qtbot.keyClick(view, Qt.Key.Key_Space)
    assert review.session.table.deleted[row] and "Kept" in analysed.statusBar().currentMessage()


def test_page_keys_turn_the_gallerys_pages_not_the_main_views(qtbot, analysed):
    dock = open_gallery(qtbot, analysed)
    gallery, view, review = dock.gallery, dock.view, analysed.review
    first = gallery.page_rows().copy()
    shown_before = (review.viewport.start_s, review.viewport.stop_s)
    sections = len(gallery.sections)
    qtbot.keyClick(view, Qt.Key.Key_PageDown)
    assert (gallery.section, gallery.page) != (0, 0) and gallery.cursor == 0
    assert not np.array_equal(gallery.page_rows(), first) and view.title.text() == gallery.title()
    assert review.selected == gallery.page_rows()[0]
    qtbot.keyClick(view, Qt.Key.Key_PageUp)
    assert (gallery.section, gallery.page) == (0, 0) and np.array_equal(gallery.page_rows(), first)
    qtbot.keyClick(view, Qt.Key.Key_PageDown, Qt.KeyboardModifier.ControlModifier)  # leave this class
    assert (gallery.section, gallery.page) == (min(1, sections - 1), 0)
    qtbot.keyClick(view, Qt.Key.Key_PageUp, Qt.KeyboardModifier.ControlModifier)
    assert gallery.section == 0
    # Enter centres the main view on the cursor's beat, at its span.
    qtbot.keyClick(view, Qt.Key.Key_Right)
    qtbot.keyClick(view, Qt.Key.Key_Return)  # not the window's Return (confirm the model's call): no label
    assert not review.session.table.reviewed.any()
    beat_s = review.session.table.sample[gallery.cursor_row()] / review.recording.fs
    start_s, stop_s = analysed.view.raw_plot.viewRange()[0]
    assert start_s < beat_s < stop_s
    assert stop_s - start_s == pytest.approx(shown_before[1] - shown_before[0], rel=0.05)
    assert abs((start_s + stop_s) / 2 - beat_s) < 0.1 * (stop_s - start_s) or start_s <= 0.5


def test_closing_the_gallery_and_the_window_with_it_open(qtbot, analysed):
    dock = open_gallery(qtbot, analysed)
    qtbot.keyClick(dock.view, Qt.Key.Key_B, Qt.KeyboardModifier.ControlModifier)  # the same key hides it
    qtbot.waitUntil(lambda: not dock.isVisible())
    assert not analysed.shortcut_actions["Beat gallery"].isChecked()
    dock = open_gallery(qtbot, analysed)
    analysed.close()  # the record goes with the gallery open: it shows nothing of it, with no error
    assert analysed.review.session is None and dock.gallery.sections == []
    assert strip_count(dock.view) == 0 and not any(caption.isVisible() for caption in dock.view.captions)
    assert not dock.view.grid.isVisible() and dock.view.title.text() == "No record under review"


def test_the_order_is_worked_out_off_the_gui_thread_and_dropped_with_the_record(qtbot, analysed, monkeypatch):
    threads = []
    sections = RecordSnapshot.sections

    def slow(self):
        threads.append(threading.current_thread())
        time.sleep(0.3)  # as on a 24 h Holter: the window goes on meanwhile
        return sections(self)

    monkeypatch.setattr(RecordSnapshot, "sections", slow)
    qtbot.keyClick(analysed.view, Qt.Key.Key_B, Qt.KeyboardModifier.ControlModifier)
    dock = analysed.gallery
    qtbot.waitUntil(lambda: bool(threads))
    assert dock.gallery.ordering and dock.view.title.text() == "Working out the order of the record's beats…"
    assert strip_count(dock.view) == 0
    qtbot.waitUntil(lambda: not dock.gallery.ordering)
    assert threads[0] is not threading.main_thread()
    tiles = dock.gallery.tiles()
    assert tiles and strip_count(dock.view) == len(tiles) and dock.view.title.text() == dock.gallery.title()
    assert analysed.review.selected == tiles[0].row  # the first page's cursor, as when worked out at once
    dock.gallery.refresh()
    assert dock.gallery.ordering
    analysed.close()  # the record goes while its order is worked out: the worker is stopped and joined
    assert not dock.gallery.ordering and dock.gallery.sections == [] and dock.gallery.runner.worker is None
    assert dock.view.title.text() == "No record under review"
