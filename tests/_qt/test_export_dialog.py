"""File ▸ Export: each format written off the GUI thread, by record or for the whole store, with one-line errors."""

from __future__ import annotations

import csv

import h5py
import pytest
import wfdb
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from danet_viewer._qt.export_dialog import ExportDialog
from danet_viewer.core.analysis import analyse_recording, import_annotations
from danet_viewer.core.dataset import DATASET_SCHEMA
from danet_viewer.core.export import EXPORT_FORMATS
from danet_viewer.core.readers import open_recording
from danet_viewer.core.store import AnnotationStore

EXPORT_TIMEOUT_MS = 60_000


@pytest.fixture(scope="module")
def store_path(tmp_path_factory, model):
    """The sample analysed by the bundled model, its first minute's reference imported as reviews."""
    from tests.conftest import SAMPLE

    folder = tmp_path_factory.mktemp("export")
    recording = open_recording(SAMPLE)
    path = folder / "sample.danet.h5"
    with AnnotationStore.open(path, "a") as store:
        analyse_recording(recording, store, who="test", model=model)
        import_annotations(recording, store, "atr", as_review=True, who="reference", stop_s=60)
    return path


def export(qtbot, dialog):
    qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    assert dialog.exporting and not dialog.export_button.isEnabled()
    qtbot.waitUntil(lambda: not dialog.exporting, timeout=EXPORT_TIMEOUT_MS)
    return dialog.summary.text()


def test_the_dialog_offers_the_formats_the_command_line_does(qtbot, store_path):
    from danet_viewer.cli import _build_parser

    dialog = ExportDialog(store_path, "209_excerpt")
    qtbot.addWidget(dialog)
    offered = [dialog.format_box.itemData(i) for i in range(dialog.format_box.count())]
    export_command = _build_parser()._subparsers._group_actions[0].choices["export"]
    cli_choices = next(action.choices for action in export_command._actions if action.dest == "format")
    assert offered == list(cli_choices) == list(EXPORT_FORMATS) == ["csv", "wfdb", "hdf5"]


def test_csv_of_the_reviewed_beats_of_the_current_record(qtbot, store_path, tmp_path):
    dialog = ExportDialog(store_path, "209_excerpt")
    qtbot.addWidget(dialog)
    assert dialog.current_scope.isChecked() and dialog.path_edit.text().endswith("sample.csv")
    dialog.reviewed_only.setChecked(True)
    dialog.path_edit.setText(str(tmp_path / "beats.csv"))
    summary = export(qtbot, dialog)
    with open(tmp_path / "beats.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert summary == f"Exported {len(rows)} beats -> {tmp_path / 'beats.csv'}"
    assert 50 < len(rows) < 150 and all(r["review_symbol"] for r in rows)  # the first minute only


def test_wfdb_annotations_of_the_whole_store(qtbot, store_path, tmp_path):
    dialog = ExportDialog(store_path, "209_excerpt")
    qtbot.addWidget(dialog)
    dialog.set_format("wfdb")
    dialog.store_scope.setChecked(True)
    dialog.path_edit.setText(str(tmp_path / "annotations"))
    assert "1 annotation files" in export(qtbot, dialog)
    annotation = wfdb.rdann(str(tmp_path / "annotations" / "209_excerpt"), "rev")
    assert len(annotation.sample) > 300 and "A" in annotation.symbol


def test_hdf5_dataset_with_progress(qtbot, store_path, tmp_path):
    dialog = ExportDialog(store_path, "209_excerpt")
    qtbot.addWidget(dialog)
    dialog.set_format("hdf5")
    assert dialog.path_edit.text().endswith("sample-dataset.h5")
    dialog.reviewed_only.setChecked(True)
    dialog.path_edit.setText(str(tmp_path / "dataset.h5"))
    assert "beats ->" in export(qtbot, dialog)
    assert (dialog.progress.value(), dialog.progress.maximum()) == (1, 1)  # one record of one, reported
    with h5py.File(tmp_path / "dataset.h5", "r") as data:
        assert data.attrs["schema"] == DATASET_SCHEMA and bool(data.attrs["reviewed_only"])
        assert (data["label_source"][()] == 2).all() and len(data["sveb"]) > 50


def test_an_export_error_is_one_line_in_a_message_box(qtbot, store_path, tmp_path, monkeypatch):
    messages = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text: messages.append(text))
    dialog = ExportDialog(store_path, "209_excerpt")
    qtbot.addWidget(dialog)
    dialog.set_format("hdf5")
    dialog.path_edit.setText(str(tmp_path / "missing-folder" / "dataset.h5"))
    assert export(qtbot, dialog) == "Export failed."
    assert len(messages) == 1 and "\n" not in messages[0] and "missing-folder" in messages[0]
