"""The beat gallery's selected tiles on the bundled sample: Ctrl+click, Shift+click, Shift+arrows and Ctrl+A select,
a beat key labels the selected beats as one step (Ctrl+Z undoes all of them), Esc and a plain click drop the
selection, all drawn as one tinted path whatever is selected."""

from __future__ import annotations

from PySide6.QtCore import QPointF, Qt

from danet_viewer._qt.beat_gallery import CELL_WIDTH_S, cell_origin
from danet_viewer.components.beat_gallery import GALLERY_COLUMNS
from danet_viewer.core.beat_classes import GALLERY_PAGE_BEATS
from tests._qt.test_beat_gallery import open_gallery


def click_tile(qtbot, view, index: int, modifier=Qt.KeyboardModifier.NoModifier) -> None:
    left, top = cell_origin(index, view.cell_height)
    vb = view.plot_widget.getPlotItem().getViewBox()
    scene = vb.mapViewToScene(QPointF(left + CELL_WIDTH_S / 2, top - view.cell_height / 2))
    qtbot.mouseClick(view.plot_widget.viewport(), Qt.MouseButton.LeftButton, modifier,
                     view.plot_widget.mapFromScene(scene))


def tinted(view) -> int:
    """How many tiles the one selection path tints (one closed rectangle each)."""
    return len(view.selection.path().toSubpathPolygons())


def full_page(qtbot, window):
    """The gallery open on a page of 24 (the whole record's first), with its view."""
    dock = open_gallery(qtbot, window)
    gallery = dock.gallery
    while len(gallery.page_rows()) < GALLERY_PAGE_BEATS:
        qtbot.keyClick(dock.view, Qt.Key.Key_PageDown, Qt.KeyboardModifier.ControlModifier)
    return dock


def test_ctrl_click_two_tiles_a_key_labels_both_and_ctrl_z_undoes_both(qtbot, analysed):
    dock = full_page(qtbot, analysed)
    gallery, view, review = dock.gallery, dock.view, analysed.review
    rows = gallery.page_rows().copy()
    items = len(view.plot_widget.getPlotItem().getViewBox().addedItems)
    click_tile(qtbot, view, 1, Qt.KeyboardModifier.ControlModifier)
    click_tile(qtbot, view, 3, Qt.KeyboardModifier.ControlModifier)
    assert gallery.selected_indices() == [1, 3] and gallery.cursor == 3 and review.selected == rows[3]
    assert tinted(view) == 2 and view.title.text().endswith("2 selected")
    qtbot.keyClick(view, Qt.Key.Key_A)
    table = review.session.table
    assert list(table.review_symbol[rows[[1, 3]]]) == ["A", "A"] and table.reviewed.sum() == 2  # those, no other
    assert list(review.store.beat_table(review.recording.name).review_symbol[rows[[1, 3]]]) == ["A", "A"]
    assert "2 of 2 beats labelled A in one step" in analysed.statusBar().currentMessage()
    assert "A" in view.captions[1].toPlainText() and "model" not in view.captions[3].toPlainText()
    assert tinted(view) == 2  # the selection stays on the page, redrawn
    qtbot.keyClick(view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # the window's undo: one step, both
    assert not review.session.table.reviewed.any()
    assert not review.store.beat_table(review.recording.name).reviewed.any()
    qtbot.keyClick(view, Qt.Key.Key_Escape)
    assert gallery.selected_indices() == [] and tinted(view) == 0 and not view.title.text().endswith("selected")
    assert len(view.plot_widget.getPlotItem().getViewBox().addedItems) == items  # the same items, whatever was drawn


def test_ranges_the_page_and_a_plain_click_select_as_a_file_manager_does(qtbot, analysed, tmp_path):
    dock = full_page(qtbot, analysed)
    gallery, view = dock.gallery, dock.view
    dock.setFloating(True)  # large: a picture one can judge the tint on
    dock.resize(1400, 900)
    qtbot.wait(100)
    click_tile(qtbot, view, 2)
    click_tile(qtbot, view, 4, Qt.KeyboardModifier.ShiftModifier)  # from the cursor
    assert gallery.selected_indices() == [2, 3, 4] and gallery.cursor == 4 and tinted(view) == 3
    qtbot.keyClick(view, Qt.Key.Key_Down, Qt.KeyboardModifier.ShiftModifier)
    assert gallery.selected_indices() == list(range(2, 5 + GALLERY_COLUMNS))
    click_tile(qtbot, view, 3, Qt.KeyboardModifier.ControlModifier)  # unselected, the cursor on it
    assert gallery.selected_indices() == [2, *range(4, 5 + GALLERY_COLUMNS)] and gallery.cursor == 3
    assert view.title.text().endswith(", 8 selected")
    qtbot.wait(50)  # the title's label laid out again for its longer text
    assert dock.grab().save(str(tmp_path / "selection.png"))
    qtbot.keyClick(view, Qt.Key.Key_Left)  # a plain arrow starts afresh
    assert gallery.selected_indices() == [] and gallery.cursor == 2
    qtbot.keyClick(view, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    assert gallery.selected_indices() == list(range(GALLERY_PAGE_BEATS)) and tinted(view) == GALLERY_PAGE_BEATS
    assert not analysed.review.session.table.reviewed.any()  # Ctrl+A is no label A
    click_tile(qtbot, view, 5)  # a plain click drops the selection
    assert gallery.selected_indices() == [] and gallery.cursor == 5 and tinted(view) == 0
    qtbot.keyClick(view, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(view, Qt.Key.Key_PageDown)  # the selection belongs to its page
    assert gallery.selected_indices() == [] and tinted(view) == 0
