"""The beat gallery: Holter-style exception review, a page of 24 beats side by side (View ▸ Beat gallery, Ctrl+B).

``components.beat_gallery`` says which beats a page holds and in which order (each class the most doubtful first,
then the whole record by doubt); this view draws the page and forwards the keys. Each tile is the analysis lead
from 1.2 s before its beat's R to 0.4 s after (the beat before it, its P wave and the coupling in sight), all tiles
of a page at one amplitude scale, on ECG paper, with the beat's label, its RR as % of the local median RR, its APC
score and its time. What is drawn is a fixed handful of items whatever the page: one line item for all 24 strips
(NaN between them), one scatter for their R marks (coloured as in the main view), a pool of 24 captions, one
cursor rectangle and one path of all the selected tiles' rectangles (tinted under the strips).

While the gallery has the keyboard: the arrow keys move the cursor (its beat is selected, and the main view, the
superimposed beats and the details follow), the beat keys of ``SHORTCUTS`` label the cursor's beat (one undoable
step each, Ctrl+Z), Space gives it the model's call unless a reviewer labelled it, X / Delete marks it not a beat,
PgDown / PgUp turn the page (on into the next section), Ctrl+PgDown / Ctrl+PgUp go to the next / previous section
(leave a class whose page had nothing to correct), Enter centres the main view on the cursor's beat. A click on a
tile puts the cursor there. Tiles are selected as in a file manager: Ctrl+click toggles one, Shift+click and
Shift+arrows select a range from the cursor, Ctrl+A the whole page, Esc none, a plain click or arrow starts afresh;
a beat key or Space then acts on the selected beats instead of the cursor's, as one step (one Ctrl+Z).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QRectF, Qt, QTimer
from PySide6.QtGui import QFont, QKeySequence, QPainterPath
from PySide6.QtWidgets import QGraphicsPathItem, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from danet_viewer._qt.background_runner import BackgroundRunner
from danet_viewer._qt.beat_docks import HIGHLIGHT
from danet_viewer._qt.ecg_paper import EcgGrid
from danet_viewer._qt.review_dock import ReviewDock, after_showing, view_button
from danet_viewer._qt.review_view import STATE_STYLE
from danet_viewer._qt.shortcuts import SHORTCUTS
from danet_viewer._qt.templates_view import key_text
from danet_viewer.components.beat_gallery import (
    GALLERY_COLUMNS,
    GALLERY_ROWS,
    STRIP_AFTER_S,
    STRIP_BEFORE_S,
    BeatGallery,
    GalleryTile,
)
from danet_viewer.components.review_session import BeatState
from danet_viewer.core.beat_classes import GALLERY_PAGE_BEATS
from danet_viewer.core.store import NOT_A_BEAT

# A cell is its strip and a gap either side, in seconds: a whole number of large boxes (0.2 s), so the paper's
# lines fall alike in every cell.
CELL_GAP_S = 0.2
CELL_WIDTH_S = STRIP_BEFORE_S + STRIP_AFTER_S + CELL_GAP_S
# The top of each cell holds its caption (two lines) and this gap under it, and at most MAX_CAPTION_SHARE of the cell
# (a very short dock overlaps caption and trace rather than flattening the trace).
CAPTION_GAP_PX = 2
TIME_LINE_FROM_PX = 130  # cells at least this high show the beat's time on a second line of the caption
MAX_CAPTION_SHARE = 0.45
MIN_CELL_PX = 80  # a row of cells at least this high: the caption and a trace one can read
# Cell heights are whole large boxes (0.5 mV), so the paper's lines fall alike in every row.
CELL_HEIGHT_STEP = 0.5
CAPTION_POINT_SIZE = 9
LABEL_POINT_SIZE = 11
MARK_SIZE = 8
CAPTION_GREY = "#555555"
CAPTION_TEXT = (25, 25, 25)
CAPTION_FILL = (255, 255, 255, 210)  # over the paper's lines, legible
CELL_BORDER = (150, 150, 150)
# Selected tiles: a blue tint under the strips (it reads on the pink paper and is not the cursor's orange), edged.
SELECTION_FILL = (40, 110, 230, 60)
SELECTION_EDGE = (40, 110, 230)
SELECTION_INSET_S = 0.03  # the tint stays inside the cell's grey outline, which marks where one beat ends
DOCK_SHARE = 0.5  # of the window's height, when the gallery opens docked: four rows of legible beats
BESIDE_SHARE = 0.15
# The keys a gallery takes from the window while it has the keyboard: labels by the key table's symbol keys (and
# Space for the model's call, X / Delete for not a beat), the rest by Qt key.
_KEY_SYMBOLS = {"confirm_model": None, "mark_not_a_beat": NOT_A_BEAT}
LABEL_KEYS: dict[str, str | None] = {
    QKeySequence(key).toString(): _KEY_SYMBOLS.get(shortcut.handler, shortcut.argument)
    for shortcut in SHORTCUTS if shortcut.handler in ("set_symbol", *_KEY_SYMBOLS)
    for key in shortcut.keys if key not in ("Return", "Enter")  # Enter shows the beat in the main view here
}
CURSOR_KEYS = {Qt.Key.Key_Left: (0, -1), Qt.Key.Key_Right: (0, 1), Qt.Key.Key_Up: (-1, 0), Qt.Key.Key_Down: (1, 0)}
SELECT_PAGE_KEY = "Ctrl+A"
PAGE_KEYS = (Qt.Key.Key_PageDown, Qt.Key.Key_PageUp)
SHOW_KEYS = (Qt.Key.Key_Return, Qt.Key.Key_Enter)


def cell_origin(index: int, cell_height: float) -> tuple[float, float]:
    """The top-left corner (seconds, amplitude) of tile ``index``'s cell: rows go down from 0."""
    return (index % GALLERY_COLUMNS) * CELL_WIDTH_S, -(index // GALLERY_COLUMNS) * cell_height


def cell_height_of(low: float, high: float, cell_px: float, caption_px: float) -> tuple[float, float]:
    """A cell's height, in whole ``CELL_HEIGHT_STEP``s, for a page whose strips span ``low``..``high`` in cells
    ``cell_px`` pixels high under captions ``caption_px`` high, and the height its caption takes of it: the strip
    fits below the caption."""
    share = min((caption_px + CAPTION_GAP_PX) / cell_px, MAX_CAPTION_SHARE) if cell_px > 0 else MAX_CAPTION_SHARE
    height = float(np.ceil((high - low) / (1 - share) / CELL_HEIGHT_STEP) * CELL_HEIGHT_STEP)
    return height, share * height


def caption_html(tile: GalleryTile, colour: tuple[int, int, int], with_time: bool) -> str:
    """The label (in the beat's colour; bold where a reviewer gave it, else marked the model's), RR and score; the
    time under them ``with_time``."""
    label, *rest = tile.caption.split("  ")
    weight, who = ("bold", "") if tile.reviewed else ("normal", " <span style='color:#888'>model</span>")
    time = f"<br><span style='color:{CAPTION_GREY}'>{tile.time_text}</span>" if with_time else ""
    return (f"<span style='color:rgb{colour}; font-weight:{weight}; font-size:{LABEL_POINT_SIZE}pt'>{label}</span>"
            f"{who} &nbsp;{' · '.join(rest)}{time}")


class GalleryView(QWidget):
    """A page of beats drawn by one plot, with the page's title and buttons; the keys go to ``gallery``."""

    def __init__(self, gallery: BeatGallery, can_edit: Callable[[], bool], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.gallery = gallery
        self.can_edit = can_edit
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.title = QLabel()
        font = self.title.font()
        font.setBold(True)
        self.title.setFont(font)
        self.hint = QLabel("arrows: cursor · beat keys: label it, or the selected tiles · Ctrl+click, Shift+click or "
                           "Shift+arrows, Ctrl+A: select · Esc: none · PgDown/PgUp: page · Ctrl+PgDown: next section · "
                           "Enter: main view")
        self.hint.setStyleSheet(f"color: {CAPTION_GREY}")
        self.hint.setWordWrap(True)  # a narrow dock wraps the line rather than being held wide by it
        self.buttons = {
            "previous": view_button("◀ page", "previous page (PgUp)", gallery.previous_page),
            "next": view_button("page ▶", "next page, on into the next section (PgDown)", gallery.next_page),
            "section": view_button("Next section ▶▶", "leave this class: the next section's first page "
                                    "(Ctrl+PgDown)", gallery.next_section),
            "refresh": view_button("Refresh order", "work the order out again from the labels as they are now, "
                                    "from the first page", gallery.refresh),
        }
        self.plot_widget = pg.PlotWidget(background="w")
        self.plot_widget.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.plot_widget.setMinimumHeight(GALLERY_ROWS * MIN_CELL_PX)
        plot = self.plot_widget.getPlotItem()
        plot.setMenuEnabled(False)
        plot.setMouseEnabled(False, False)
        plot.hideButtons()
        for axis in ("left", "bottom"):
            plot.hideAxis(axis)
        plot.getViewBox().setDefaultPadding(0.0)
        self.grid = EcgGrid()
        plot.addItem(self.grid)
        # Every selected tile's rectangle in one path, over the paper and under the cells and strips.
        self.selection = QGraphicsPathItem()
        edge = pg.mkPen(SELECTION_EDGE, width=1.5)
        edge.setCosmetic(True)
        self.selection.setPen(edge)
        self.selection.setBrush(pg.mkBrush(*SELECTION_FILL))
        plot.addItem(self.selection, ignoreBounds=True)
        # The cells' outlines, one item: where one beat ends and the next begins, at a glance.
        self.cells = plot.plot(pen=pg.mkPen(CELL_BORDER, width=1), connect="finite")
        self.strips = plot.plot(pen=pg.mkPen((20, 20, 20), width=1.2), connect="finite")
        self.marks = pg.ScatterPlotItem(size=MARK_SIZE, pen=None)
        plot.addItem(self.marks)
        caption_font = QFont()
        caption_font.setPointSize(CAPTION_POINT_SIZE)
        self.captions = [pg.TextItem(anchor=(0, 0), color=CAPTION_TEXT, fill=CAPTION_FILL)
                         for _ in range(GALLERY_PAGE_BEATS)]
        for caption in self.captions:
            caption.setFont(caption_font)
            plot.addItem(caption)
        self.cursor = plot.plot(pen=pg.mkPen(HIGHLIGHT, width=2.5))  # a closed outline round the cursor's cell
        self.cursor.setZValue(20)
        self._brushes = {state: pg.mkBrush(*STATE_STYLE[state][0]) for state in BeatState}
        self._pens = [pg.mkPen(None), pg.mkPen("k", width=1.2)]
        self.cell_height = 1.0  # of the page's cells, in the lead's units
        self.caption_height = 0.3  # of a cell, taken by its caption
        self.shown_tiles: list[GalleryTile] = []
        self.plot_widget.scene().sigMouseClicked.connect(self._clicked)
        plot.getViewBox().sigResized.connect(self._redraw_if_shown)  # the captions keep their pixels
        top = QHBoxLayout()
        top.addWidget(self.title)
        top.addStretch(1)
        for button in self.buttons.values():
            top.addWidget(button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(self.hint)
        layout.addWidget(self.plot_widget, 1)
        gallery.events.page.connect(self._redraw_if_shown)
        gallery.events.cursor.connect(lambda: self.isVisible() and self.show_cursor())
        gallery.events.selection.connect(self._selection_changed)

    # --- drawing -------------------------------------------------------------------------------------

    def _redraw_if_shown(self) -> None:
        if self.isVisible():
            self.refresh()

    def refresh(self) -> None:
        """Draw the page: strips, marks, captions, cursor and title (a few items, whatever the record)."""
        gallery = self.gallery
        self.title.setText(gallery.title())
        tiles = gallery.tiles()
        self.shown_tiles = tiles
        strips = gallery.strips()
        low, high = gallery.scale(strips)
        view = self.plot_widget.getPlotItem().getViewBox()
        cell_px = view.height() / GALLERY_ROWS
        caption_px = self._write_captions(tiles, with_time=cell_px >= TIME_LINE_FROM_PX)
        self.cell_height, self.caption_height = cell_height_of(low, high, cell_px, caption_px)
        height, caption = self.cell_height, self.caption_height
        times = gallery.strip_times() if tiles else np.empty(0)
        xs, ys, mark_x, mark_y = [], [], [], []
        at_r = int(np.argmin(np.abs(times))) if len(times) else 0
        for index, strip in enumerate(strips):
            left, top = cell_origin(index, height)
            x = left + CELL_GAP_S / 2 + STRIP_BEFORE_S + times
            # The strip's top (``high``) sits under the caption; what lies beyond the page's scale is clipped to it.
            y = np.clip(strip, low, high) + (top - caption - high)
            xs += [x, [x[-1]]]
            ys += [y, [np.nan]]
            mark_x.append(x[at_r])
            mark_y.append(y[at_r])
        self.strips.setData(np.concatenate(xs) if xs else [], np.concatenate(ys) if ys else [], connect="finite")
        self._draw_cells(len(tiles), height)
        self._draw_marks(tiles, mark_x, mark_y)
        self._place_captions(len(tiles), height)
        review = gallery.review
        # Paper's boxes are 0.1 mV: a lead in other units (or none) is drawn on plain white.
        self.grid.setVisible(review.recording is not None and review.recording.units[review.lead] == "mV")
        buttons, sections = self.buttons, gallery.sections
        buttons["previous"].setEnabled(bool(sections) and (gallery.section > 0 or gallery.page > 0))
        buttons["next"].setEnabled(bool(sections) and (gallery.section + 1 < len(sections)
                                                       or gallery.page + 1 < gallery.page_count()))
        buttons["section"].setEnabled(gallery.section + 1 < len(sections))
        buttons["refresh"].setEnabled(review.session is not None)
        view.setRange(
            xRange=(0.0, GALLERY_COLUMNS * CELL_WIDTH_S), yRange=(-GALLERY_ROWS * height, 0.0), padding=0.0)
        self.show_cursor()
        self.show_selection()

    def _draw_cells(self, count: int, height: float) -> None:
        """Each tile's outline, as one line item (NaN between the rectangles)."""
        xs, ys = [], []
        for index in range(count):
            left, top = cell_origin(index, height)
            right, bottom = left + CELL_WIDTH_S, top - height
            xs += [left, right, right, left, left, left]
            ys += [top, top, bottom, bottom, top, np.nan]
        self.cells.setData(xs, ys, connect="finite")

    def _draw_marks(self, tiles: list[GalleryTile], xs: list[float], ys: list[float]) -> None:
        """The R marks, coloured by the beat's state as the main view colours it (outlined once reviewed)."""
        if not tiles:
            self.marks.setData([], [])
            return
        self.marks.setData(x=xs, y=ys, brush=[self._brushes[tile.state] for tile in tiles],
                           pen=[self._pens[int(tile.reviewed)] for tile in tiles],
                           symbol=["x" if tile.state == BeatState.DELETED else "o" for tile in tiles])

    def _write_captions(self, tiles: list[GalleryTile], with_time: bool) -> float:
        """Each tile's caption text (the pool's spare captions hidden); returns the tallest one's height in pixels."""
        tallest = 0.0
        for index, caption in enumerate(self.captions):
            if index >= len(tiles):
                caption.hide()
                continue
            tile = tiles[index]
            caption.setHtml(caption_html(tile, STATE_STYLE[tile.state][0], with_time))
            caption.show()
            tallest = max(tallest, caption.textItem.boundingRect().height())
        return tallest

    def _place_captions(self, count: int, height: float) -> None:
        for index, caption in enumerate(self.captions[:count]):
            left, top = cell_origin(index, height)
            caption.setPos(left + 0.02, top)

    def _selection_changed(self) -> None:
        if self.isVisible():
            self.title.setText(self.gallery.title())
            self.show_selection()

    def show_selection(self) -> None:
        """Tint the selected tiles: their rectangles, one path."""
        path, height = QPainterPath(), self.cell_height
        for index in self.gallery.selected_indices():
            if index < len(self.shown_tiles):
                left, top = cell_origin(index, height)
                inset = SELECTION_INSET_S
                path.addRect(QRectF(left + inset, top - height, CELL_WIDTH_S - 2 * inset, height))
        self.selection.setPath(path)

    def show_cursor(self) -> None:
        index = self.gallery.cursor
        if index >= len(self.shown_tiles):
            self.cursor.hide()
            return
        left, top = cell_origin(index, self.cell_height)
        right, bottom = left + CELL_WIDTH_S, top - self.cell_height
        self.cursor.setData([left, right, right, left, left], [top, top, bottom, bottom, top])
        self.cursor.show()

    def tile_at(self, x: float, y: float) -> int | None:
        """The tile whose cell holds the point (seconds, amplitude) of the plot; None off the page's tiles."""
        column, row = int(np.floor(x / CELL_WIDTH_S)), int(np.floor(-y / self.cell_height))
        index = row * GALLERY_COLUMNS + column
        inside = 0 <= column < GALLERY_COLUMNS and 0 <= row < GALLERY_ROWS and index < len(self.shown_tiles)
        return index if inside else None

    def _clicked(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return
        self.setFocus()
        where = self.plot_widget.getPlotItem().getViewBox().mapSceneToView(event.scenePos())
        index = self.tile_at(where.x(), where.y())
        if index is None:
            return
        modifiers = event.modifiers()
        if modifiers & Qt.KeyboardModifier.ControlModifier:
            self.gallery.toggle(index)
        elif modifiers & Qt.KeyboardModifier.ShiftModifier:
            self.gallery.extend_to(index)
        else:
            self.gallery.set_cursor(index)

    # --- keys ----------------------------------------------------------------------------------------

    def event(self, event) -> bool:
        # A key the gallery handles must not trigger the window's shortcut for it (a label of the main view's
        # selection, a page of the trace).
        if event.type() == QEvent.Type.ShortcutOverride and self._handles(event):
            event.accept()
            return True
        return super().event(event)

    def _handles(self, event) -> bool:
        key, modifiers = event.key(), event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        if key_text(event) in (*LABEL_KEYS, SELECT_PAGE_KEY):
            return True
        if key in PAGE_KEYS:
            return modifiers in (Qt.KeyboardModifier.NoModifier, Qt.KeyboardModifier.ControlModifier)
        if key in CURSOR_KEYS:
            return modifiers in (Qt.KeyboardModifier.NoModifier, Qt.KeyboardModifier.ShiftModifier)
        if key == Qt.Key.Key_Escape:  # with tiles to clear; else Esc is the window's
            return modifiers == Qt.KeyboardModifier.NoModifier and bool(self.gallery.selected_indices())
        return key in SHOW_KEYS and modifiers == Qt.KeyboardModifier.NoModifier

    def keyPressEvent(self, event) -> None:
        if not self._handles(event):
            super().keyPressEvent(event)
            return
        gallery, key = self.gallery, event.key()
        text = key_text(event)
        if text in LABEL_KEYS:
            self.label(LABEL_KEYS[text])
        elif text == SELECT_PAGE_KEY:
            gallery.select_page()
        elif key == Qt.Key.Key_Escape:
            gallery.clear_selection()
        elif key in CURSOR_KEYS:
            shifted = event.modifiers() & Qt.KeyboardModifier.ShiftModifier
            (gallery.extend_cursor if shifted else gallery.move_cursor)(*CURSOR_KEYS[key])
        elif key in SHOW_KEYS:
            gallery.show_in_main_view()
        elif event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            (gallery.next_section if key == Qt.Key.Key_PageDown else gallery.previous_section)()
        else:
            (gallery.next_page if key == Qt.Key.Key_PageDown else gallery.previous_page)()

    def label(self, symbol: str | None) -> None:
        """Label the cursor's beat ``symbol`` (the selected tiles' beats, where some are); None: the model's call,
        unless a reviewer labelled it."""
        if self.gallery.cursor_row() is None or not self.can_edit():
            return
        if symbol is None:
            self.gallery.confirm_model()
        else:
            self.gallery.label(symbol)


# Rows of SHORTCUTS whose handler is the gallery's (menus binds them as it binds the Templates view's): Ctrl+PgDown
# and Ctrl+PgUp, the next and previous section, the gallery shown first.
GALLERY_ACTIONS = {
    "gallery_next_section": after_showing("gallery", lambda dock: dock.gallery.next_section()),
    "gallery_previous_section": after_showing("gallery", lambda dock: dock.gallery.previous_section()),
}


class GalleryDock(ReviewDock):
    """The beat gallery in a dock of the review window (View ▸ Beat gallery), under the main view."""

    def __init__(self, window) -> None:
        gallery = BeatGallery(window.review)
        super().__init__("Beat gallery", "gallery", window, GalleryView(gallery, window._editable))
        self.gallery = gallery
        # The order off the GUI thread (a third of a second on a 24 h Holter), as the class edits run: the runner
        # takes any work that reports progress, and the record's going stops it (``BeatGallery._beats_changed``).
        gallery.runner = BackgroundRunner(self)
        # Placed in the window when first shown: a dock added to the bottom area, even hidden, splits it and leaves
        # the tachogram's row twice as tall and the main view squeezed.
        self.placed = False
        self.hide()

    def set_shown(self, shown: bool) -> None:
        """View ▸ Beat gallery: show the gallery, tall enough for its four rows, with the keys; or hide it."""
        was_shown = self.isVisible()
        if shown and not self.placed:
            self.placed = True
            window = self.main_window
            if not window.restoreDockWidget(self):  # where the reviewer left it last time, else under the main view
                window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self, Qt.Orientation.Vertical)
        super().set_shown(shown)
        if shown and not was_shown and not self.isFloating():  # once laid out: a dock just shown has no size to change
            QTimer.singleShot(0, self._make_room)

    def _make_room(self) -> None:
        """Take ``DOCK_SHARE`` of the window's height from the main view, not from the docks beside the gallery (the
        tachogram and superimposed beats keep ``BESIDE_SHARE``)."""
        window = self.main_window
        beside = [dock for dock in (window.tachogram, window.superimposition) if dock.isVisible() and
                  window.dockWidgetArea(dock) == window.dockWidgetArea(self) and not dock.isFloating()]
        height = window.height()
        window.resizeDocks([*beside, self], [int(BESIDE_SHARE * height)] * len(beside) + [int(DOCK_SHARE * height)],
                           Qt.Orientation.Vertical)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.gallery.open()
