"""The review list: every APC candidate (model APC or reviewed APC), by time or by model uncertainty."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt, Signal
from PySide6.QtWidgets import QComboBox, QDockWidget, QLabel, QTableView, QVBoxLayout, QWidget

from danet_viewer._qt.review_session import ReviewSession

COLUMNS = ("time", "p(APC)", "model", "review", "reviewer")
SORT_ORDERS = ("by time", "most uncertain first")


def format_time(seconds: float) -> str:
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{int(hours)}:{int(minutes):02d}:{secs:06.3f}" if hours else f"{int(minutes)}:{secs:06.3f}"


class CandidateModel(QAbstractTableModel):
    """A read-only table over the session's candidate rows; data is looked up per visible cell only."""

    def __init__(self) -> None:
        super().__init__()
        self.session: ReviewSession | None = None
        self.fs = 1.0
        self.rows = np.empty(0, np.int64)  # beat-table rows, in display order

    def reset(self, session: ReviewSession | None, fs: float, by_uncertainty: bool) -> None:
        self.beginResetModel()
        self.session, self.fs = session, fs
        rows = session.candidates if session else np.empty(0, np.int64)
        if session is not None and by_uncertainty:
            # Closest to the threshold first: where the model is least sure, a reviewer matters most.
            margin = np.abs(session.table.p_apc[rows] - session.threshold)
            rows = rows[np.argsort(np.nan_to_num(margin, nan=np.inf), kind="stable")]
        self.rows = rows
        self.endResetModel()

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section]
        return None

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if role != Qt.ItemDataRole.DisplayRole or self.session is None:
            return None
        table, row = self.session.table, int(self.rows[index.row()])
        p = float(table.p_apc[row])
        return (
            format_time(table.sample[row] / self.fs),
            "" if np.isnan(p) else f"{p:.3f}",
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
        self.view.horizontalHeader().setStretchLastSection(True)
        self.view.horizontalHeader().setDefaultSectionSize(64)
        self.view.verticalHeader().setDefaultSectionSize(20)
        # The review keys (Space, Tab, Delete...) belong to the window, not to this list.
        self.view.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.order.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.view.doubleClicked.connect(self._jump)
        self.order.currentIndexChanged.connect(lambda _: self.update_from(self.model.session, self.model.fs))
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.order)
        layout.addWidget(self.counts)
        layout.addWidget(self.view)
        self.setWidget(body)
        self.setMinimumWidth(340)

    def update_from(self, session: ReviewSession | None, fs: float) -> None:
        self.model.reset(session, fs, by_uncertainty=self.order.currentIndex() == 1)
        if session is None:
            self.counts.setText("no record")
            return
        reviewed = int(session.table.reviewed[session.candidates].sum())
        total = len(session.candidates)
        self.counts.setText(f"{reviewed} reviewed, {total - reviewed} remaining of {total}")

    def _jump(self, index: QModelIndex) -> None:
        row = int(self.model.rows[index.row()])
        self.jumpRequested.emit(int(self.model.session.table.sample[row]))
