"""The Templates view: a record's beat classes as tiles, each labelled at once with one key (template review).

Each tile draws its class's template (the median beat on the analysis lead) on
ECG paper over the spread of its beats (the 10th to 90th percentile band), with
its size, share of the record, median coupling interval, APC score and state;
``components.class_review`` says what they are and in which order (the classes
the model is least sure of first). The tiles are a small pool, reused page by
page: a page redraws at most ``TILES_PER_PAGE`` templates of a few hundred
points each, whatever the record's length.

While the view has the keyboard, the beat keys of ``SHORTCUTS`` label the
current class (Space: its proposal), Left and Right page through
its beats in the main view and the superimposed beats, Up and Down move to the
previous or next class, PgUp and PgDown to the previous or next page of
tiles. Ctrl+click marks a second tile, to merge it into the current one;
splitting and merging are on the buttons and on a tile's context menu. A split
or merge is worked out off the GUI thread (``BackgroundRunner``), with a progress
bar and Cancel; meanwhile the view labels, splits and merges nothing. Each is one
step of the window's undo history (Ctrl+Z), as a class label is.

Holter-style exceptions: where the early half of the current class's coupling
histogram has two modes, "Split: early beats" (E, a row of ``SHORTCUTS`` bound
through ``TEMPLATE_ACTIONS``) splits its early beats into a class of their own
and makes it current, for one key to label them; "By prematurity" pages through
a class the earliest beat first.

Each tile shows its class's proposal (the model's call on most of its beats,
``beat_classes.class_proposals``); the reader labels the classes it gets wrong,
then "Accept proposals…" (Ctrl+Return) labels every class's unreviewed beats
with its proposal in one undoable step, once a question says exactly what will
be labelled ("Label 9 unreviewed classes as proposed: 8 as N (2 104 beats), 1
as A (33 beats)").
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QPoint, Qt, Signal
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QMenu,
    QMessageBox,
    QProgressBar,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from danet_viewer._qt.background_runner import BackgroundRunner
from danet_viewer._qt.ecg_paper import STANDARD_GAIN_MM_MV, STANDARD_SPEED_MM_S, EcgGrid
from danet_viewer._qt.review_dock import ReviewDock, after_showing, view_button
from danet_viewer._qt.shortcuts import SHORTCUTS
from danet_viewer.components.class_review import PAGING, ClassReview, ClassState, ClassSummary, TemplateBand
from danet_viewer.core.beat_classes import ProposalPlan
from danet_viewer.core.class_edits import SPLIT_BY

TILES_PER_PAGE = 16  # a record has 15 classes or fewer as computed: one page
TILE_WIDTH_PX = 200  # the narrowest a tile is laid out; the view fits as many columns as its width takes
TILE_PLOT_HEIGHT_PX = 120
# The pixels-per-second to pixels-per-mV ratio of ECG paper (square 1 mm boxes of 0.04 s by 0.1 mV).
PAPER_ASPECT = STANDARD_SPEED_MM_S / STANDARD_GAIN_MM_MV
STATE_COLOURS = {ClassState.UNREVIEWED: "#b45309", ClassState.MIXED: "#1d4ed8", ClassState.LABELLED: "#15803d"}
CURRENT_BORDER = "#ff8c00"
MARKED_BORDER = "#1d4ed8"
BAND_BRUSH = (90, 110, 160, 110)
PROPOSAL_COLOUR = "#6b7280"
# The symbol keys (and Space, the model's verdict) of the key table, by the key text a key press makes.
LABEL_KEYS: dict[str, str | None] = {
    QKeySequence(key).toString(): shortcut.argument
    for shortcut in SHORTCUTS if shortcut.handler in ("set_symbol", "confirm_model") for key in shortcut.keys
}
SYMBOLS = tuple((shortcut.action, shortcut.key_text, shortcut.argument)
                for shortcut in SHORTCUTS if shortcut.handler == "set_symbol")
NAVIGATION_KEYS = (Qt.Key.Key_Left, Qt.Key.Key_Right, Qt.Key.Key_Up, Qt.Key.Key_Down, Qt.Key.Key_PageUp,
                   Qt.Key.Key_PageDown)


def key_text(event) -> str:
    """The key table's text of a key press ("A", "Shift+J", "Space"), keypad or not."""
    combination = event.keyCombination()
    modifiers = combination.keyboardModifiers() & ~Qt.KeyboardModifier.KeypadModifier
    return QKeySequence(combination.key().value | modifiers.value).toString()


class TemplateTile(QFrame):
    """One class: its template over its beats' spread on ECG paper, and what it is, in two lines of text."""

    clicked = Signal(int, bool)  # class id, whether to mark it (Ctrl) rather than make it current
    menuRequested = Signal(int, QPoint)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.class_id = -1
        self.shown_band: TemplateBand | None = None
        self.setFrameShape(QFrame.Shape.Box)
        self.setMinimumWidth(TILE_WIDTH_PX)
        self.setMaximumWidth(2 * TILE_WIDTH_PX)
        self.header = QLabel()
        self.footer = QLabel()
        for label in (self.header, self.footer):
            label.setTextFormat(Qt.TextFormat.RichText)
            label.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.plot_widget = pg.PlotWidget(background="w")
        self.plot_widget.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.plot_widget.setFixedHeight(TILE_PLOT_HEIGHT_PX)
        self.plot_widget.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        plot = self.plot_widget.getPlotItem()
        plot.setMenuEnabled(False)
        plot.setMouseEnabled(False, False)
        plot.hideButtons()
        for axis in ("left", "bottom"):
            plot.hideAxis(axis)
        self.grid = EcgGrid()
        plot.addItem(self.grid)
        # The band's edges are not drawn themselves: the fill between them is the band.
        self.low, self.high = pg.PlotCurveItem(), pg.PlotCurveItem()
        plot.addItem(pg.FillBetweenItem(self.low, self.high, brush=pg.mkBrush(*BAND_BRUSH)))
        self.template = plot.plot(pen=pg.mkPen("k", width=1.8))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 3, 4, 3)
        layout.setSpacing(2)
        for widget in (self.header, self.plot_widget, self.footer):
            layout.addWidget(widget)

    def show_class(self, summary: ClassSummary, band: TemplateBand, on_paper: bool, y_range: tuple[float, float],
                   current: bool, marked: bool) -> None:
        self.class_id = summary.class_id
        if band is not self.shown_band:  # a label changes the text only: the curves stay
            self.shown_band = band
            self.low.setData(band.times_s, band.low)
            self.high.setData(band.times_s, band.high)
            self.template.setData(band.times_s, band.median)
        view = self.plot_widget.getPlotItem().vb
        self.grid.setVisible(on_paper)
        view.setAspectLocked(on_paper, ratio=PAPER_ASPECT if on_paper else None)
        view.setRange(xRange=(band.times_s[0], band.times_s[-1]), yRange=y_range, padding=0.02)
        self.header.setText(f"<b>class {summary.class_id}</b> &nbsp;{summary.count} beats, "
                            f"{100 * summary.share:.1f} %")
        score = "—" if np.isnan(summary.apc_score) else f"{summary.apc_score:.0f}"
        coupling = "—" if np.isnan(summary.coupling) else f"{100 * summary.coupling:.0f} %"
        agreeing = summary.model_apc_share if summary.proposal == "A" else 1 - summary.model_apc_share
        proposed = (f"proposed <b>{summary.proposal}</b> ({100 * agreeing:.0f} %)" if summary.proposal
                    else "no proposal (QRS differs)" if summary.qrs_unlike else "")
        self.footer.setText(
            f"RR {1000 * summary.coupling_rr_s:.0f} ms ({coupling}) &nbsp;APC {score}<br>"
            f"<span style='color:{STATE_COLOURS[summary.state]}'>{summary.state_text()}</span>"
            + (f" &nbsp;<span style='color:{PROPOSAL_COLOUR}'>{proposed}</span>" if proposed else ""))
        self.footer.setToolTip(f"median RR before its beats, and that over the underlying cycle; "
                               f"APC score 0-100, the model's call at 50; {summary.reviewed} beats reviewed; "
                               "proposed: the model's call on most of its beats (the share it calls so), which "
                               "Accept proposals gives its unreviewed beats; none where the class's QRS is unlike "
                               "the record's beat (ventricular-looking), since the model tells only APC or not")
        border = CURRENT_BORDER if current else MARKED_BORDER if marked else "#c8c8c8"
        style = (f"TemplateTile {{ border: {3 if current or marked else 1}px "
                 f"{'dashed' if marked and not current else 'solid'} {border}; background: white; }}")
        if style != self.styleSheet():  # a new style sheet re-polishes the tile: only when it changes
            self.setStyleSheet(style)
        self.show()

    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self.class_id >= 0:
            self.clicked.emit(self.class_id, bool(event.modifiers() & Qt.KeyboardModifier.ControlModifier))
        super().mousePressEvent(event)

    def contextMenuEvent(self, event) -> None:
        if self.class_id >= 0:
            self.menuRequested.emit(self.class_id, event.globalPos())


class TemplatesView(QWidget):
    """The tiles of one page and the class's tools; the beat keys label the current class while it has focus."""

    def __init__(self, classes: ClassReview, can_edit: Callable[[], bool], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.classes = classes
        self.can_edit = can_edit
        self.page = 0
        self.marked: int | None = None  # a second class, to merge into the current one
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.summary_label = QLabel()
        self.position_label = QLabel()
        self.previous_beat = view_button("◀ beat", "the class's previous beat (Left)", lambda: classes.step(False))
        self.next_beat = view_button("beat ▶", "the class's next beat (Right)", lambda: classes.step(True))
        self.split_buttons = {by: view_button(f"Split: {by}", f"split the current class in two by {by}",
                                               lambda b=by: self.split(b)) for by in SPLIT_BY}
        self.early_button = view_button("Split: early beats", "split the current class's early beats into a class "
                                         "of their own, at the coupling the tool proposes (E)", self.split_at_proposal)
        self.prematurity_button = view_button("By prematurity", "page through the class the earliest beat first "
                                               "(against the local median RR), not in time",
                                               lambda: self.set_paging(self.prematurity_button.isChecked()))
        self.prematurity_button.setCheckable(True)
        self.merge_button = view_button("Merge", "merge the Ctrl+clicked class into the current one", self.merge)
        self.replace_button = view_button("Replace beat labels", "the next class label also replaces the labels "
                                           "reviewers gave its beats one by one", lambda: None)
        self.replace_button.setCheckable(True)
        self.accept_button = view_button("Accept proposals…", "label every class's unreviewed beats with its "
                                          "proposal, after saying what will happen (Ctrl+Return); beats reviewers "
                                          "labelled keep their labels", self.accept_proposals)
        self.previous_page = view_button("◀", "previous page of classes (PgUp)", lambda: self.turn_page(-1))
        self.next_page = view_button("▶", "next page of classes (PgDown)", lambda: self.turn_page(1))
        self.page_label = QLabel()
        self.summary_label.setWordWrap(True)
        # A split or merge being worked out: what, how far, and Cancel (wired by the dock to its runner).
        self.working_label = QLabel()
        self.working_progress = QProgressBar()
        self.working_progress.setRange(0, 1000)
        self.working_progress.setTextVisible(False)
        self.cancel_button = view_button("Cancel", "stop the split or merge being worked out; the classes stay",
                                          lambda: None)
        working = QHBoxLayout()
        for widget in (self.working_label, self.working_progress, self.cancel_button):
            working.addWidget(widget)
        self.working_row = QWidget()
        self.working_row.setLayout(working)
        working.setContentsMargins(0, 0, 0, 0)
        self.working_row.hide()
        # Two short rows of tools and a scrolled grid: the dock stays narrow enough to share the window's side.
        paging = QHBoxLayout()
        for widget in (self.previous_beat, self.position_label, self.next_beat, self.prematurity_button):
            paging.addWidget(widget)
        paging.addStretch(1)
        for widget in (self.previous_page, self.page_label, self.next_page):
            paging.addWidget(widget)
        editing = QHBoxLayout()
        for widget in (self.early_button, *self.split_buttons.values(), self.merge_button, self.replace_button):
            editing.addWidget(widget)
        editing.addStretch(1)
        self.tiles = [TemplateTile() for _ in range(TILES_PER_PAGE)]
        self.grid = QGridLayout()
        self.grid.setSpacing(6)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.columns = 0
        for tile in self.tiles:
            tile.clicked.connect(self.tile_clicked)
            tile.menuRequested.connect(self.tile_menu)
            tile.hide()
        page = QWidget()
        page_layout = QVBoxLayout(page)
        page_layout.setContentsMargins(0, 0, 0, 0)
        page_layout.addLayout(self.grid)
        page_layout.addStretch(1)
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.scroll.setWidget(page)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        for row in (paging, editing):
            layout.addLayout(row)
        layout.addWidget(self.working_row)
        summary_row = QHBoxLayout()
        summary_row.addWidget(self.summary_label, 1)
        summary_row.addWidget(self.accept_button)
        layout.addLayout(summary_row)
        layout.addWidget(self.scroll, 1)
        self._lay_out_tiles()

    # --- drawing -------------------------------------------------------------------------------------

    def _lay_out_tiles(self) -> None:
        width = self.scroll.viewport().width() - self.scroll.verticalScrollBar().sizeHint().width()
        columns = max(1, min(TILES_PER_PAGE, width // (TILE_WIDTH_PX + self.grid.spacing())))
        if columns == self.columns:
            return
        self.columns = columns
        for index, tile in enumerate(self.tiles):
            self.grid.addWidget(tile, index // columns, index % columns)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._lay_out_tiles()

    def refresh(self) -> None:
        """Draw the page's classes from the class review (a no-op for curves that did not change)."""
        summaries = self.classes.summaries()
        current = self.classes.current
        if self.marked not in {summary.class_id for summary in summaries}:
            self.marked = None
        pages = max(1, -(-len(summaries) // TILES_PER_PAGE))
        self.page = min(self.page, pages - 1)
        shown = summaries[self.page * TILES_PER_PAGE : (self.page + 1) * TILES_PER_PAGE]
        bands = [self.classes.band(summary.class_id) for summary in shown]
        review = self.classes.review
        units = review.recording.units[review.lead] if review.recording is not None else ""
        lows = [np.nanmin(band.low) for band in bands if band.beats]
        highs = [np.nanmax(band.high) for band in bands if band.beats]
        y_range = (min(lows), max(highs)) if lows else (-1.0, 1.0)
        for tile, summary, band in zip(self.tiles, shown, bands, strict=False):
            tile.show_class(summary, band, units == "mV", y_range, summary.class_id == current,
                            summary.class_id == self.marked)
        for tile in self.tiles[len(shown) :]:
            tile.class_id = -1
            tile.hide()
        classes = self.classes.classes
        if classes is None:
            self.summary_label.setText("No beat classes: open a record (its analysis groups the beats)")
        else:
            done = sum(summary.state is ClassState.LABELLED for summary in summaries)
            self.summary_label.setText(f"{len(summaries)} classes of {len(classes.sample)} beats, {done} labelled; "
                                       "the keys of beats label the current class")
        self.page_label.setText(f"page {self.page + 1} of {pages}")
        self.previous_page.setEnabled(self.page > 0)
        self.next_page.setEnabled(self.page < pages - 1)
        self.show_position()
        has_current = current is not None
        for button in (self.previous_beat, self.next_beat, self.prematurity_button):
            button.setEnabled(has_current)
        idle = not self.classes.working  # no edit starts while a split or merge is worked out
        for button in self.split_buttons.values():
            button.setEnabled(has_current and idle)
        proposal = self.classes.proposed_split(current) if has_current else None
        self.early_button.setEnabled(proposal is not None and idle)
        self.early_button.setText("Split: early beats" if proposal is None else
                                  f"Split: {proposal.early} early (< {100 * proposal.threshold:.0f} %)")
        self.merge_button.setEnabled(has_current and self.marked is not None and self.marked != current and idle)
        self.accept_button.setEnabled(idle and any(summary.proposal and summary.state is not ClassState.LABELLED
                                                   for summary in summaries))

    def show_working(self) -> None:
        """A split or merge started (its progress row shown, the edits off) or ended."""
        working = self.classes.working
        self.working_row.setVisible(bool(working))
        self.working_label.setText(f"{working}…")
        self.working_progress.setValue(0)
        self.refresh()

    def show_progress(self, fraction: float) -> None:
        self.working_progress.setValue(round(1000 * fraction))

    def show_position(self) -> None:
        at, count = self.classes.position()
        current = self.classes.current
        self.position_label.setText("no class" if current is None else
                                    f"class {current}: beat {at} of {count}" if at else f"class {current}")

    # --- choosing classes ----------------------------------------------------------------------------

    def tile_clicked(self, class_id: int, mark: bool) -> None:
        self.setFocus()
        if mark and self.classes.current is not None and class_id != self.classes.current:
            self.marked = None if self.marked == class_id else class_id
            self.refresh()
            return
        self.marked = None if self.marked == class_id else self.marked
        self.classes.select(class_id)

    def step_class(self, forward: bool) -> None:
        order = [summary.class_id for summary in self.classes.summaries()]
        if not order:
            return
        at = order.index(self.classes.current) if self.classes.current in order else -1
        target = order[min(at + 1, len(order) - 1)] if forward else order[max(at - 1, 0)]
        self.page = order.index(target) // TILES_PER_PAGE
        self.classes.select(target)

    def turn_page(self, step: int) -> None:
        self.page = max(0, self.page + step)
        self.refresh()

    # --- editing -------------------------------------------------------------------------------------

    def label(self, symbol: str | None, class_id: int | None = None, overwrite: bool | None = None) -> None:
        """Label the class (the current one by default) ``symbol``; None: its proposal."""
        class_id = self.classes.current if class_id is None else class_id
        if class_id is None:
            self.classes.review.events.status.emit("Choose a class first (click its tile)", 3000)
            return
        if not self.can_edit():
            return
        if self.classes.working:  # a merge worked out meanwhile may renumber the classes under the key
            self.classes.review.events.status.emit(f"{self.classes.working}: label the class once it is done", 3000)
            return
        if overwrite is None:
            overwrite = self.replace_button.isChecked()
            self.replace_button.setChecked(False)  # replacing reviewers' labels is asked for each time
        if symbol is None:
            self.classes.confirm_model(class_id)
        else:
            self.classes.label(class_id, symbol, overwrite=overwrite)

    def split(self, by: str, class_id: int | None = None) -> None:
        class_id = self.classes.current if class_id is None else class_id
        if class_id is not None and self.can_edit():
            self.classes.split(class_id, by)

    def split_at_proposal(self) -> None:
        """Split the current class at its proposed coupling; its early beats become the current class (E)."""
        if self.classes.current is None:
            self.classes.review.events.status.emit("Choose a class first (click its tile)", 3000)
        elif self.can_edit():
            self.classes.split_at_proposal(self.classes.current)

    def accept_proposals(self) -> None:
        """Accept the proposals (Ctrl+Return): once the reviewer confirms what exactly will be labelled, every class's
        unreviewed beats get its proposal, one undoable step."""
        classes = self.classes
        if not self.can_edit():
            return
        plan = classes.proposal_plan()
        if classes.working or plan is None or not len(plan.rows):
            classes.accept_proposals()  # refused, in one line: a split or merge runs, or nothing is left to label
            return
        question = proposals_question(plan, classes.summaries())
        answer = QMessageBox.question(self, "Accept proposals", question, QMessageBox.StandardButton.Yes
                                      | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Yes)
        if answer != QMessageBox.StandardButton.Yes:
            return
        if classes.working or proposals_question(classes.proposal_plan(), classes.summaries()) != question:
            # A split or merge finished while the question was open: what was confirmed is not what would be done.
            classes.review.events.status.emit("The classes changed meanwhile: nothing was labelled; accept again",
                                              5000)
            return
        classes.accept_proposals()

    def set_paging(self, by_prematurity: bool) -> None:
        self.prematurity_button.setChecked(by_prematurity)
        self.classes.set_paging(PAGING[1] if by_prematurity else PAGING[0])

    def merge(self, keep: int | None = None, merged: int | None = None) -> None:
        keep = self.classes.current if keep is None else keep
        merged = self.marked if merged is None else merged
        if keep is None or merged is None or keep == merged or not self.can_edit():
            return
        self.marked = None
        self.classes.merge(keep, merged)

    def tile_menu(self, class_id: int, at: QPoint) -> None:
        menu = self.class_menu(class_id)
        menu.exec(at)

    def class_menu(self, class_id: int) -> QMenu:
        """A tile's context menu: label the class (keeping or replacing beat labels), split it, merge."""
        menu = QMenu(self)
        summary = self.classes.summary(class_id)
        proposed = f" ({summary.proposal})" if summary is not None and summary.proposal else ""
        menu.addAction(f"Label with its proposal{proposed}\tSpace", lambda: self.label(None, class_id, False))
        keeping = menu.addMenu("Label (beat labels kept)")
        replacing = menu.addMenu("Label, replacing reviewers' beat labels")
        for action, key, symbol in SYMBOLS:
            keeping.addAction(f"{symbol}: {action}\t{key}", lambda s=symbol: self.label(s, class_id, False))
            replacing.addAction(f"{symbol}: {action}", lambda s=symbol: self.label(s, class_id, True))
        menu.addSeparator()
        proposal = self.classes.proposed_split(class_id)
        if proposal is not None:
            menu.addAction(f"Split off its {proposal.early} early beats (coupling < {100 * proposal.threshold:.0f} %)"
                           "\tE", lambda: self.classes.split_at_proposal(class_id) if self.can_edit() else None)
        for by in SPLIT_BY:
            menu.addAction(f"Split by {by}", lambda b=by: self.split(b, class_id))
        current = self.classes.current
        if current is not None and current != class_id:
            menu.addAction(f"Merge into class {current}", lambda: self.merge(current, class_id))
        return menu

    # --- keys ----------------------------------------------------------------------------------------

    def event(self, event) -> bool:
        # A key the view handles must not trigger the window's shortcut for it (a beat label, a page of the trace).
        if event.type() == QEvent.Type.ShortcutOverride and (
            key_text(event) in LABEL_KEYS or (event.key() in NAVIGATION_KEYS and not event.modifiers())
        ):
            event.accept()
            return True
        return super().event(event)

    def keyPressEvent(self, event) -> None:
        text = key_text(event)
        if text in LABEL_KEYS:
            self.label(LABEL_KEYS[text])
        elif event.modifiers() or event.key() not in NAVIGATION_KEYS:
            super().keyPressEvent(event)
        elif event.key() in (Qt.Key.Key_Left, Qt.Key.Key_Right):
            self.classes.step(event.key() == Qt.Key.Key_Right)
        elif event.key() in (Qt.Key.Key_Up, Qt.Key.Key_Down):
            self.step_class(event.key() == Qt.Key.Key_Down)
        else:
            self.turn_page(1 if event.key() == Qt.Key.Key_PageDown else -1)


def proposals_question(plan: ProposalPlan | None, summaries: list[ClassSummary]) -> str:
    """What accepting ``plan`` will do, in the reviewer's words: 'Label 9 unreviewed classes as proposed: 8 as N
    (2 104 beats), 1 as A (33 beats).', and what stays."""
    if plan is None or not len(plan.rows):
        return ""
    states = {summary.class_id: summary.state for summary in summaries}
    mixed = sum(states.get(class_id) is ClassState.MIXED for class_id in plan.classes)
    count = len(plan.classes)
    classes = f"{count} unreviewed class{'es' * (count != 1)}"
    what = (f"Label {classes}" if not mixed else
            f"Label the unreviewed beats of {count} class{'es' * (count != 1)} ({mixed} partly reviewed)")
    left = sum(summary.qrs_unlike and summary.state is not ClassState.LABELLED for summary in summaries)
    left_text = ("" if not left else f" {left} class{'es' * (left != 1)} whose QRS differs from the record's beat: "
                 "no proposal, left for you to label.")
    return (f"{what} as proposed: {plan.text()}.\n\nBeats a reviewer labelled keep their labels, and classes "
            f"labelled already are left as they are.{left_text} One step: Ctrl+Z undoes it.")


# Rows of SHORTCUTS whose handler is the Templates view's (menus binds them as it binds the events dock's).
# E splits the current class's early beats off at the proposed coupling; Ctrl+Return accepts the classes' proposals,
# once confirmed; each with the Templates view shown first.
TEMPLATE_ACTIONS = {
    "split_at_proposal": after_showing("templates", lambda dock: dock.view.split_at_proposal()),
    "accept_proposals": after_showing("templates", lambda dock: dock.view.accept_proposals()),
}


class TemplatesDock(ReviewDock):
    """The Templates view in a dock of the review window (View ▸ Templates), its classes those of the record."""

    def __init__(self, window) -> None:
        classes = ClassReview(window.review)
        super().__init__("Templates", "templates", window, TemplatesView(classes, window._editable))
        self.classes = classes
        self.classes.runner = self.runner = BackgroundRunner(self)
        self.runner.progressed.connect(self.view.show_progress)
        self.view.cancel_button.clicked.connect(self.runner.cancel)
        self.classes.events.working.connect(self.view.show_working)
        window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self)
        window.tabifyDockWidget(window.review_list, self)
        self.hide()
        review = window.review
        for event in (review.events.beats, review.events.classes, self.classes.events.current):
            event.connect(self._redraw)
        review.events.selection.connect(lambda: self.isVisible() and self.view.show_position())
        # While a class is current, the superimposed beats are its beats.
        window.superimposition.template_classes = self._template_classes

    def _template_classes(self, table) -> np.ndarray | None:
        if self.isVisible() and self.classes.current is not None:
            return self.classes.class_names(table)
        return None

    def _redraw(self) -> None:
        if self.isVisible():
            self.view.refresh()

    def hideEvent(self, event) -> None:
        super().hideEvent(event)
        if self.main_window.review.session is not None:
            self.main_window.review.events.selection.emit()  # the superimposed beats by label again
