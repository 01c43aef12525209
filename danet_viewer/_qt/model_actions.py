"""The model dialogs wired to the ``ModelLibrary`` that acts on their choices, with its refusals shown."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtWidgets import QMessageBox, QWidget

from danet_viewer._qt.model_manager import ModelManagerDialog
from danet_viewer._qt.retrain_dialog import RetrainDialog
from danet_viewer.components.model_library import ModelLibrary
from danet_viewer.errors import DanetError


def _change(dialog: QWidget, title: str, change: Callable[[], object]) -> bool:
    """Run a registry change; its refusal is one line in a message box over ``dialog``. True when it succeeded."""
    try:
        change()
    except DanetError as error:
        QMessageBox.warning(dialog, title, str(error))
        return False
    return True


def model_manager(library: ModelLibrary, parent: QWidget | None = None) -> ModelManagerDialog:
    """Model ▸ Manage models, its list refreshed after every change it asked for."""
    dialog = ModelManagerDialog(library.registry, parent)

    def change(title: str, action: Callable[[], object]) -> None:
        _change(dialog, title, action)
        dialog.refresh()

    dialog.activateRequested.connect(lambda model_id: change("Cannot activate", lambda: library.activate(model_id)))
    dialog.rollBackRequested.connect(lambda: change("Cannot roll back", library.roll_back))
    dialog.deleteRequested.connect(lambda model_id: change("Cannot delete", lambda: library.delete(model_id)))
    return dialog


def retrain_dialog(
    library: ModelLibrary, stores: list[Path], parent: QWidget | None = None, training_options: list[str] | None = None
) -> RetrainDialog:
    """Model ▸ Retrain on reviewed labels; the new model, once chosen, is taken into the registry and activated."""
    dialog = RetrainDialog(library.registry, stores, parent, training_options=training_options)

    def take(folder: Path) -> None:
        if _change(dialog, "Cannot activate the new model", lambda: library.adopt(folder)):
            dialog.new_model_taken()

    dialog.newModelChosen.connect(take)
    return dialog
