"""The events dock (SVEB runs, pauses, heart-rate extremes, bookmarks, each at its clock time; a click jumps
there) and the bookmark keys: one bookmarks the selected beat or the view with a comment, one adds the view
to the report as a strip. The list itself is ``components.event_list``; edits go through the review model,
so they are journalled and undone like labels.

The dock is also where the window follows the record's clock: when another record opens, every clock axis
(main view, tachogram, overview) is set to its start (``axes.show_clock``).
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDockWidget,
    QHeaderView,
    QInputDialog,
    QLabel,
    QMainWindow,
    QMenu,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from danet_viewer._qt.axes import show_clock
from danet_viewer.components.event_list import RecordEvent, record_events
from danet_viewer.components.review_model import ReviewModel
from danet_viewer.core.clock import duration_text
from danet_viewer.core.report import MAX_REPORT_STRETCH_S

# Label edits come in bursts (Space, Right, Space...): the list is rebuilt once the burst pauses.
REFRESH_DELAY_MS = 300
COLUMNS = ("time", "event", "detail")


class EventsDock(QDockWidget):
    """The record's events in time order; a click on one shows it in the main view."""

    jumpRequested = Signal(object)  # RecordEvent
    removeRequested = Signal(int)  # a bookmark's sample

    def __init__(self, review: ReviewModel, parent: QWidget | None = None) -> None:
        super().__init__("Events", parent)
        self.setObjectName("events")
        self.review = review
        self.events: list[RecordEvent] = []
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the review keys stay with the window
        self.table.verticalHeader().setDefaultSectionSize(20)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.table.cellClicked.connect(lambda row, _column: self.jumpRequested.emit(self.events[row]))
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._context_menu)
        self.note = QLabel("no record")
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.note)
        layout.addWidget(self.table)
        self.setWidget(body)
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(REFRESH_DELAY_MS)
        self.timer.timeout.connect(self.refresh)
        self.visibilityChanged.connect(lambda visible: visible and self.timer.start())

    def refresh(self) -> None:
        """Rebuild the list from the store (only while the dock shows: the summary reads every beat)."""
        review = self.review
        if review.session is None:
            self.events = []
        elif self.isVisible():
            self.events = record_events(review.store.record(review.recording.name), table=review.session.table)
        else:
            return
        clock = review.clock
        self.table.setHorizontalHeaderLabels((clock.kind, *COLUMNS[1:]))
        self.table.setRowCount(len(self.events))
        for row, event in enumerate(self.events):
            when = clock.text(event.start_s)
            if event.stop_s - event.start_s >= 1:
                when += f" ({duration_text(event.stop_s - event.start_s)})"
            for column, text in enumerate((when, event.kind, event.detail)):
                self.table.setItem(row, column, QTableWidgetItem(text))
        self.note.setText("no record" if review.session is None else
                          f"{len(self.events)} events; B bookmarks the selected beat or the view, "
                          "Shift+B adds the view to the report")


    def _context_menu(self, position) -> None:
        """A bookmark's row offers to remove it (undone with Ctrl+Z like any edit)."""
        row = self.table.rowAt(position.y())
        if row < 0 or self.events[row].bookmark_sample is None:
            return
        menu = QMenu(self)
        menu.addAction("Remove bookmark", lambda: self.removeRequested.emit(self.events[row].bookmark_sample))
        menu.popup(self.table.viewport().mapToGlobal(position))


def jump_to(review: ReviewModel, event: RecordEvent) -> None:
    """Show ``event``: whole where it fits the span, else from just before its start; select its first beat."""
    span = review.viewport.span_s
    length = event.stop_s - event.start_s
    review.centre_on(event.middle_s if length <= span else event.start_s + 0.4 * span)
    review.select_near(event.start_s)


def attach_events_dock(window: QMainWindow) -> EventsDock:
    """The events dock beside the review list, following the review model; the window's clock axes with it."""
    review = window.review
    dock = EventsDock(review, window)
    window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
    window.tabifyDockWidget(window.review_list, dock)
    window.review_list.raise_()
    dock.jumpRequested.connect(lambda event: jump_to(review, event))
    dock.removeRequested.connect(lambda sample: window._editable() and review.remove_bookmark(sample))
    shown = [review.clock]

    def follow() -> None:
        if review.clock != shown[0]:
            shown[0] = review.clock
            show_clock(window, review.clock)
        dock.timer.start()

    review.events.beats.connect(follow)
    window.events_dock = dock
    return dock


def _comment(window: QMainWindow, title: str, where: str) -> str | None:
    comment, ok = QInputDialog.getText(window, title, f"{where}\nComment (shown in the events list and the report):")
    return comment.strip() if ok else None


def bookmark_view(window: QMainWindow) -> None:
    """Bookmark the selected beat where it is in view, else the view's centre, with a comment asked for."""
    review = window.review
    if not window._editable():
        return
    sample = review.bookmark_at()
    comment = _comment(window, "Bookmark", f"Bookmark at {review.clock.text(sample / review.recording.fs)}")
    if comment is not None:
        review.bookmark(sample, comment)


def add_view_to_report(window: QMainWindow) -> None:
    """The stretch on screen (at most MAX_REPORT_STRETCH_S from its start) as a strip of the report."""
    review = window.review
    if not window._editable():
        return
    viewport = review.viewport
    span_s = min(viewport.stop_s, review.recording.duration_s) - max(0.0, viewport.start_s)
    span_s = min(span_s, MAX_REPORT_STRETCH_S)
    sample = review.bookmark_at(span_s)
    start = review.clock.text(sample / review.recording.fs)
    comment = _comment(window, "Add view to report", f"Report strip from {start}, {span_s:.1f} s"
                       + (f" (the first {MAX_REPORT_STRETCH_S:g} s of the view)" if span_s == MAX_REPORT_STRETCH_S
                          else ""))
    if comment is not None:
        review.bookmark(sample, comment, span_s)


# Handlers of SHORTCUTS rows that live here (menus.py binds them to the window).
EVENT_ACTIONS = {"bookmark_view": bookmark_view, "add_view_to_report": add_view_to_report}
