"""A bar above the trace that stays until its problem is gone (a read-only store, unsaved labels, a failed
analysis), with a Retry button where something can be tried again."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget


class NoticeBar(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("notice")
        self.setStyleSheet("#notice { background: #fff3cd; border-bottom: 1px solid #e0c060; }")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground)
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.retry_button = QPushButton("Retry")
        self.retry_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the review keys stay with the window
        self.retry_button.clicked.connect(self.retry)
        row = QHBoxLayout(self)
        row.setContentsMargins(8, 4, 8, 4)
        row.addWidget(self.label, 1)
        row.addWidget(self.retry_button)
        self._retry_action: Callable[[], None] | None = None
        self.hide()

    def show_notice(self, text: str, retry: Callable[[], None] | None = None) -> None:
        self.label.setText(text)
        self._retry_action = retry
        self.retry_button.setVisible(retry is not None)
        self.show()

    def clear(self) -> None:
        self._retry_action = None
        self.hide()

    def retry(self) -> None:
        """Retry: what it does depends on what went wrong."""
        if self._retry_action is not None:
            self._retry_action()
