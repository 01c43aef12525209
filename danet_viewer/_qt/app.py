"""Start the Qt application and its main window."""

from __future__ import annotations

import sys

from PySide6.QtWidgets import QApplication

from danet_viewer import __version__
from danet_viewer._qt.main_window import MainWindow


def run_app(record: str | None = None) -> int:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("DANet Review")
    app.setOrganizationName("DANet Review")
    app.setApplicationVersion(__version__)
    window = MainWindow()
    window.show()
    if record:
        window.open_record(record)
    return app.exec()
