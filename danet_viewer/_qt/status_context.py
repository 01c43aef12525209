"""The status bar's context: the record, the reviewer, the store and the model, always in view."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QLabel, QStatusBar

# The context takes at most this share of the status bar: the rest is where a message (a replaced label, a refused
# edit, what was accepted) shows, which a context as wide as its text (a store's whole path) left no room for.
CONTEXT_SHARE = 0.4


class StatusContext(QLabel):
    """A permanent widget of ``bar``: its text elided in the middle to fit its share of the bar, the whole text in
    its tooltip (``text()`` stays whole)."""

    def __init__(self, bar: QStatusBar) -> None:
        super().__init__()
        bar.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Resize:
            self.setMaximumWidth(int(CONTEXT_SHARE * watched.width()))
        return False

    def setText(self, text: str) -> None:
        super().setText(text)
        self.setToolTip(text)

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.setPen(self.palette().color(self.foregroundRole()))
        area = self.contentsRect()
        shown = self.fontMetrics().elidedText(self.text(), Qt.TextElideMode.ElideMiddle, area.width())
        painter.drawText(area, int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter), shown)
