"""Model ▸ Manage models: the registry's models with their cards; activate, roll back, delete.

The dialog only lists the models and hands back the user's choice as a signal;
the window's ``ModelLibrary`` changes the registry (which switches the active
model atomically and refuses what must not happen, such as deleting the active
model) and the dialog is refreshed after each change.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from danet_viewer.errors import DanetError
from danet_viewer.model.registry import ModelRegistry, RegisteredModel

COLUMNS = ("id", "name", "created", "base model", "validation F1", "active")


def model_row(model: RegisteredModel) -> tuple[str, ...]:
    card = model.card
    f1 = card.metrics.get("validation", {}).get("f1")
    return (model.model_id, card.name, card.created_at or "—", card.training.get("base_model") or "—",
            "—" if f1 is None else f"{f1:.3f}", "yes" if model.active else "")


class ModelManagerDialog(QDialog):
    """Emits the user's choice: ``activateRequested(id)``, ``rollBackRequested()``, ``deleteRequested(id)``."""

    activateRequested = Signal(str)
    rollBackRequested = Signal()
    deleteRequested = Signal(str)

    def __init__(self, registry: ModelRegistry, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Manage models")
        self.resize(900, 360)
        self.registry = registry
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QTableWidget.SelectionMode.SingleSelection)
        self.activate_button = QPushButton("Activate")
        self.activate_button.clicked.connect(self.activate_selected)
        self.rollback_button = QPushButton("Roll back")
        self.rollback_button.setToolTip("re-activate the model that was active before the current one")
        self.rollback_button.clicked.connect(self.roll_back)
        self.delete_button = QPushButton("Delete")
        self.delete_button.clicked.connect(self.delete_selected)
        close_button = QPushButton("Close")
        close_button.clicked.connect(self.accept)
        buttons = QHBoxLayout()
        for button in (self.activate_button, self.rollback_button, self.delete_button):
            buttons.addWidget(button)
        buttons.addStretch()
        buttons.addWidget(close_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addLayout(buttons)
        self.refresh()

    def refresh(self) -> None:
        try:
            models = self.registry.models()
        except DanetError as error:
            QMessageBox.warning(self, "Model registry", str(error))
            models = []
        self.table.setRowCount(len(models))
        for row, model in enumerate(models):
            for column, text in enumerate(model_row(model)):
                self.table.setItem(row, column, QTableWidgetItem(text))

    def select_model(self, model_id: str) -> None:
        rows = [r for r in range(self.table.rowCount()) if self.table.item(r, 0).text() == model_id]
        if rows:
            self.table.selectRow(rows[0])

    def selected_id(self) -> str | None:
        rows = self.table.selectionModel().selectedRows()
        return self.table.item(rows[0].row(), 0).text() if rows else None

    def activate_selected(self) -> None:
        model_id = self.selected_id()
        if model_id is not None:
            self.activateRequested.emit(model_id)

    def roll_back(self) -> None:
        self.rollBackRequested.emit()

    def delete_selected(self) -> None:
        model_id = self.selected_id()
        confirm = QMessageBox.StandardButton.Yes
        if model_id is not None and QMessageBox.question(self, "Delete model", f"Delete {model_id}?") == confirm:
            self.deleteRequested.emit(model_id)
