"""File ▸ Export: a CSV beat table, WFDB annotation files or an HDF5 training dataset, off the GUI thread.

The export thread opens the store itself, read-only, by path: the window keeps
its own writable handle for labelling meanwhile (a store object is not
thread-safe), and a read-only open replays the journal, so the export holds
every label saved so far. The dataset schema is in ``danet_viewer.core.dataset``
and, for users, in ``docs/dataset.md``.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QThread, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from danet_viewer.core.export import EXPORT_FORMATS, export_store
from danet_viewer.core.store import AnnotationStore
from danet_viewer.errors import describe_failure


def run_export(store_path: Path, fmt: str, out: Path, *, reviewed_only: bool, records: list[str] | None,
               progress=None) -> str:
    """One export of ``records`` (None: every record) of the store at ``store_path``; a one-line summary."""
    # Opened read-only by path: the window keeps its own writable handle meanwhile.
    with AnnotationStore.open(store_path, "r") as store:
        return export_store(store, fmt, out, reviewed_only=reviewed_only, records=records, progress=progress)


class ExportWorker(QThread):
    progressed = Signal(int, int)  # records done, records in all
    succeeded = Signal(str)  # the one-line summary
    failed = Signal(str)  # one line for the user

    def __init__(self, store_path: Path, fmt: str, out: Path, reviewed_only: bool, records: list[str] | None):
        super().__init__()
        self.store_path, self.fmt, self.out = store_path, fmt, out
        self.reviewed_only, self.records = reviewed_only, records

    def run(self) -> None:
        try:
            self.succeeded.emit(run_export(self.store_path, self.fmt, self.out, reviewed_only=self.reviewed_only,
                                           records=self.records, progress=self.progressed.emit))
        except Exception as error:  # noqa: BLE001 - a worker must report, never die silently
            self.failed.emit(describe_failure(error, self.out))


class ExportDialog(QDialog):
    """Export the store at ``store_path``; ``record`` is the one on screen (the "current record" scope)."""

    def __init__(self, store_path: Path, record: str | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export")
        self.resize(620, 240)
        self.store_path, self.record = Path(store_path), record
        self.worker: ExportWorker | None = None
        self.format_box = QComboBox()
        for key, export_format in EXPORT_FORMATS.items():
            self.format_box.addItem(export_format.description, key)
        self.format_box.currentIndexChanged.connect(self._suggest_path)
        self.current_scope = QRadioButton(f"current record ({record})" if record else "current record")
        self.current_scope.setEnabled(record is not None)
        self.store_scope = QRadioButton("every record in the store")
        scopes = QButtonGroup(self)
        scopes.addButton(self.current_scope)
        scopes.addButton(self.store_scope)
        (self.current_scope if record else self.store_scope).setChecked(True)
        self.reviewed_only = QCheckBox("reviewed beats only")
        self.path_edit = QLineEdit()
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        self.progress = QProgressBar()
        self.progress.hide()
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.export_button = QPushButton("Export")
        self.export_button.setDefault(True)
        self.export_button.clicked.connect(self.start)
        self.close_button = QPushButton("Close")
        self.close_button.clicked.connect(self.reject)

        scope_row = QHBoxLayout()
        scope_row.addWidget(self.current_scope)
        scope_row.addWidget(self.store_scope)
        path_row = QHBoxLayout()
        path_row.addWidget(self.path_edit)
        path_row.addWidget(browse)
        form = QFormLayout()
        form.addRow("Store", QLabel(str(self.store_path)))
        form.addRow("Format", self.format_box)
        form.addRow("Scope", scope_row)
        form.addRow("", self.reviewed_only)
        form.addRow("Output", path_row)
        buttons = QHBoxLayout()
        buttons.addStretch()
        buttons.addWidget(self.export_button)
        buttons.addWidget(self.close_button)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.progress)
        layout.addWidget(self.summary)
        layout.addLayout(buttons)
        self._suggest_path()

    @property
    def format(self) -> str:
        return self.format_box.currentData()

    def set_format(self, fmt: str) -> None:
        self.format_box.setCurrentIndex(self.format_box.findData(fmt))

    def _suggest_path(self) -> None:
        """Beside the store, named after it, until the user picks a path of their own."""
        stem = self.store_path.name.removesuffix(".h5").removesuffix(".danet")
        self.path_edit.setText(str(self.store_path.with_name(stem + EXPORT_FORMATS[self.format].default_suffix)))

    def _browse(self) -> None:
        file_filter = EXPORT_FORMATS[self.format].file_filter
        if file_filter is None:
            path = QFileDialog.getExistingDirectory(self, "Folder for the annotation files", self.path_edit.text())
        else:
            path, _ = QFileDialog.getSaveFileName(self, "Export to", self.path_edit.text(), file_filter)
        if path:
            self.path_edit.setText(path)

    def start(self) -> None:
        text = self.path_edit.text().strip()
        if not text:
            QMessageBox.warning(self, "Export", "Choose where to write the export.")
            return
        records = [self.record] if self.current_scope.isChecked() else None
        self.worker = ExportWorker(self.store_path, self.format, Path(text), self.reviewed_only.isChecked(),
                                   records)
        self.worker.progressed.connect(self._progressed)
        self.worker.succeeded.connect(self._succeeded)
        self.worker.failed.connect(self._failed)
        # Only the dataset reports per record; the others show a busy bar until they finish.
        self.progress.setRange(0, 0)
        self.progress.show()
        self.summary.setText("Exporting…")
        self.export_button.setEnabled(False)
        self.close_button.setEnabled(False)
        self.worker.start()

    @property
    def exporting(self) -> bool:
        return self.worker is not None

    def _progressed(self, done: int, total: int) -> None:
        self.progress.setRange(0, total)
        self.progress.setValue(done)

    def _succeeded(self, summary: str) -> None:
        self._finish()
        self.summary.setText(f"Exported {summary}")

    def _failed(self, message: str) -> None:
        self._finish()
        self.summary.setText("Export failed.")
        QMessageBox.warning(self, "Export failed", message)

    def _finish(self) -> None:
        self.worker.wait()  # run() has returned once it signalled; this only joins the thread
        self.worker.deleteLater()
        self.worker = None
        self.progress.hide()
        self.export_button.setEnabled(True)
        self.close_button.setEnabled(True)

    def reject(self) -> None:
        if self.worker is None:  # an export runs to its end: its output is written atomically
            super().reject()

    def closeEvent(self, event) -> None:
        if self.worker is not None:
            event.ignore()
            return
        super().closeEvent(event)
