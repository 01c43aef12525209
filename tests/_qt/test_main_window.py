"""The main window opens a record, shows its trace and beats, reports bad files, and closes cleanly."""

from __future__ import annotations

from PySide6.QtWidgets import QApplication, QMessageBox

from danet_viewer._qt.main_window import MainWindow
from tests.conftest import SAMPLE


def test_opens_the_sample_and_closes_cleanly(qtbot, tmp_path):
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    assert window.open_record(str(SAMPLE))
    x, y = window.beat_markers.getData()
    assert 300 < len(x) < 400  # the 3 min excerpt holds 341 annotated beats
    assert "209_excerpt" in window.statusBar().currentMessage()
    image = window.grab()
    image.save(str(tmp_path / "main.png"))
    assert image.width() > 0
    window.close()
    assert not [w for w in QApplication.topLevelWidgets() if w.isVisible()]


def test_bad_file_gives_a_message_not_a_crash(qtbot, tmp_path, monkeypatch):
    shown = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text: shown.append(text))
    window = MainWindow()
    qtbot.addWidget(window)
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1\n")
    assert not window.open_record(str(bad))
    assert len(shown) == 1 and "bad.csv" in shown[0]
