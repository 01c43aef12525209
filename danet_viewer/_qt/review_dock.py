"""A dock of the review window that its View menu entry opens (the Templates view, the beat gallery)."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget, QPushButton, QWidget


def view_button(text: str, tip: str, handler: Callable[[], object]) -> QPushButton:
    """A button of a dock's view that leaves the keys with the view (its beat and class keys go on working)."""
    button = QPushButton(text)
    button.setToolTip(tip)
    button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    button.clicked.connect(lambda _=False: handler())
    return button


def after_showing(dock: str, act: Callable[[ReviewDock], object]) -> Callable[[object], None]:
    """A shortcut's handler that shows the window's dock named ``dock`` (an attribute of the window) first, with the
    keys, then acts on it."""

    def handler(window) -> None:
        shown = getattr(window, dock)
        shown.set_shown(True)
        act(shown)

    return handler


class ReviewDock(QDockWidget):
    """A dock titled as its row in the shortcut table: opening it puts it in front with the keys, and its View menu
    entry is checked while it is open (in front of its tab group or not), as Qt's own action is. Its widget has a
    ``refresh()``, called whenever the dock is shown."""

    def __init__(self, title: str, name: str, window, view: QWidget) -> None:
        super().__init__(title, window)
        self.setObjectName(name)
        self.main_window = window
        self.view = view
        self.setWidget(view)
        self.toggleViewAction().toggled.connect(self._sync_action)

    def set_shown(self, shown: bool) -> None:
        """The View menu entry: show the dock in front of its tab group, with the keys; or hide it."""
        self.setVisible(shown)
        if shown:
            self.raise_()
            self.view.setFocus()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.view.refresh()

    def _sync_action(self, shown: bool) -> None:
        action = getattr(self.main_window, "shortcut_actions", {}).get(self.windowTitle())
        if action is not None and action.isChecked() != shown:
            action.setChecked(shown)
