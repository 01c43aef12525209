"""The review list: every APC candidate (model APC or reviewed APC), by time or by model uncertainty.

"Most uncertain first" puts on top the beats where the model's verdict
disagrees with a label the record already has (a reviewer's, else the
imported reference's), reference APCs the model missed included, then the
rest by how close p(APC) is to the threshold.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt, Signal
from PySide6.QtWidgets import QComboBox, QDockWidget, QHeaderView, QLabel, QTableView, QVBoxLayout, QWidget

from danet_viewer.components.beat_details import apc_score, review_progress
from danet_viewer.components.review_session import ReviewSession
from danet_viewer.core.aami import is_sveb
from danet_viewer.core.beats import match_reference
from danet_viewer.core.clock import ELAPSED, RecordClock

COLUMNS = ("time", "APC score", "model", "review", "reviewer")
SORT_ORDERS = ("by time", "most uncertain first")


class CandidateModel(QAbstractTableModel):
    """A read-only table over the session's candidate rows; data is looked up per visible cell only."""

    def __init__(self) -> None:
        super().__init__()
        self.session: ReviewSession | None = None
        self.fs = 1.0
        self.clock = ELAPSED
        self.rows = np.empty(0, np.int64)  # beat-table rows, in display order
        # The reference matched to the beats, kept while neither changes: matching is too slow for every keypress.
        self._matched: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    def reset(self, session: ReviewSession | None, fs: float, by_uncertainty: bool,
              clock: RecordClock = ELAPSED) -> None:
        self.beginResetModel()
        self.session, self.fs, self.clock = session, fs, clock
        rows = session.candidates if session else np.empty(0, np.int64)
        if session is not None and by_uncertainty:
            disagrees = self.disagreements(session)
            rows = np.union1d(rows, np.flatnonzero(disagrees & ~session.table.deleted))
            # Closest to the threshold first: where the model is least sure, a reviewer matters most.
            margin = np.nan_to_num(np.abs(session.table.p_apc[rows] - session.threshold), nan=np.inf)
            rows = rows[np.lexsort((margin, ~disagrees[rows]))]
        self.rows = rows
        self.endResetModel()

    def reference_symbols(self, session: ReviewSession) -> np.ndarray:
        """The imported reference's symbol of every beat (matched within 150 ms), "" where there is none."""
        record = session.store.record(session.record)
        table = session.table
        cached = self._matched
        if cached is not None and cached[0] is record.reference_sample and np.array_equal(cached[1], table.sample):
            return cached[2]
        symbols = np.full(len(table), "", object)
        if len(record.reference_sample):
            reference, beat = match_reference(record.reference_sample, table.sample, record.fs)
            symbols[beat] = record.reference_symbol[reference]
        self._matched = (record.reference_sample, table.sample, symbols)
        return symbols

    def disagreements(self, session: ReviewSession) -> np.ndarray:
        """Scored beats whose label (the reviewer's, else the reference's) and the model's verdict differ on APC."""
        table = session.table
        labels = np.where(table.reviewed, table.review_symbol, self.reference_symbols(session))
        labelled = (labels != "") & ~table.deleted & (table.model_apc >= 0)
        disagrees = np.zeros(len(table), bool)
        rows = np.flatnonzero(labelled)
        disagrees[rows] = is_sveb(labels[rows]) != (table.model_apc[rows] == 1)
        return disagrees

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self.clock.kind if section == 0 else COLUMNS[section]
        return None

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if role != Qt.ItemDataRole.DisplayRole or self.session is None:
            return None
        table, row = self.session.table, int(self.rows[index.row()])
        score = float(apc_score(table.p_apc[row], self.session.threshold))
        return (
            self.clock.text(table.sample[row] / self.fs, 3),
            "" if np.isnan(score) else f"{score:.0f}",
            {1: "APC", 0: "N"}.get(int(table.model_apc[row]), ""),
            table.review_symbol[row],
            table.reviewer[row],
        )[index.column()]


class ReviewListDock(QDockWidget):
    """APC candidates with counts reviewed / remaining; double-click jumps to the beat."""

    jumpRequested = Signal(int)  # beat sample

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("APC candidates", parent)
        self.setObjectName("review_list")
        self.order = QComboBox()
        self.order.addItems(SORT_ORDERS)
        self.counts = QLabel("no record")
        self.model = CandidateModel()
        self.view = QTableView()
        self.view.setModel(self.model)
        self.view.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QTableView.SelectionMode.SingleSelection)
        self.view.verticalHeader().hide()
        header = self.view.horizontalHeader()
        # Columns as wide as their text ("03:11:55.123", the reviewer's name), measured on the first rows only so a
        # Holter's thousands of candidates cost nothing.
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setResizeContentsPrecision(100)
        header.setStretchLastSection(True)
        self.view.verticalHeader().setDefaultSectionSize(20)
        # The review keys (Space, Tab, Delete...) belong to the window, not to this list.
        self.view.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.order.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.view.doubleClicked.connect(self._jump)
        self.order.currentIndexChanged.connect(
            lambda _: self.update_from(self.model.session, self.model.fs, self.model.clock))
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.order)
        layout.addWidget(self.counts)
        layout.addWidget(self.view)
        self.setWidget(body)
        self.setMinimumWidth(340)

    def update_from(self, session: ReviewSession | None, fs: float,
                    clock: RecordClock = ELAPSED) -> None:
        self.model.reset(session, fs, by_uncertainty=self.order.currentIndex() == 1, clock=clock)
        if session is None:
            self.counts.setText("no record")
            return
        # The candidates, with the disagreements the uncertainty order brings in; and every beat of the record.
        self.counts.setText(review_progress(session.table, self.model.rows))

    def _jump(self, index: QModelIndex) -> None:
        row = int(self.model.rows[index.row()])
        self.jumpRequested.emit(int(self.model.session.table.sample[row]))
