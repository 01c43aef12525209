"""The review window's fixtures: the bundled model (loaded once), a copy of the sample record, windows."""

from __future__ import annotations

import shutil

import pytest
from PySide6.QtCore import QSettings

from danet_viewer._qt.main_window import MainWindow
from danet_viewer.model.inference import BeatModel
from tests.conftest import SAMPLE

ANALYSIS_TIMEOUT_MS = 60_000


@pytest.fixture(scope="session")
def model() -> BeatModel:
    return BeatModel()  # the bundled, trained model


@pytest.fixture
def record(tmp_path):
    for suffix in (".hea", ".dat", ".atr"):  # the record only: never a store a render left beside it
        shutil.copy(SAMPLE.with_suffix(suffix), tmp_path)
    return tmp_path / SAMPLE.name


@pytest.fixture
def window(qtbot, tmp_path, model):
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    settings.setValue("reviewer", "dr test")  # preset: no name dialog
    window = MainWindow(settings)
    window.model = model  # loaded once per test session instead of once per window
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    yield window
    window.close()


@pytest.fixture
def analysed(window, record, qtbot):
    assert window.open_record(str(record))
    qtbot.waitUntil(lambda: not window.analysing, timeout=ANALYSIS_TIMEOUT_MS)
    assert window.review.session is not None
    return window
