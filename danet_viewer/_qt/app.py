"""Start the Qt application and its main window."""

from __future__ import annotations

import sys

from PySide6.QtCore import QSettings
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from danet_viewer import __version__
from danet_viewer._qt.main_window import MainWindow
from danet_viewer.resources import resource_path


def application() -> QApplication:
    """The process's QApplication, with its name, version and icon (settings and stores: core.store_location)."""
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("DANet Review")
    app.setOrganizationName("DANet Review")
    app.setApplicationVersion(__version__)
    app.setWindowIcon(QIcon(str(resource_path("icons", "danet-viewer.png"))))
    return app


def open_window(record: str | None = None, settings: QSettings | None = None) -> MainWindow:
    """The shown main window, analysing ``record`` (if given) on its worker thread."""
    window = MainWindow(settings)
    window.show()
    if record:
        window.open_record(record)
    return window


def run_app(record: str | None = None) -> int:
    app = application()
    window = open_window(record)  # noqa: F841 - held until the event loop ends
    return app.exec()
