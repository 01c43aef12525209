"""The registry changes the window's dialogs ask for: activate, roll back, delete, take in a retrained model.

The dialogs only return the user's choice; this controller changes the
registry and tells its observers which model is active afterwards. Refusals
are the registry's one-line DanetErrors, raised to the caller to show.
"""

from __future__ import annotations

from pathlib import Path

from danet_viewer.components.events import EmitterGroup
from danet_viewer.model.registry import ModelRegistry


class ModelLibrary:
    """Events: ``active_changed(model_id)`` after every change of the active model."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = root
        self.events = EmitterGroup("active_changed")

    @property
    def registry(self) -> ModelRegistry:
        # Looked up at each use: without a root, the registry follows $DANET_REVIEW_DATA as it is now.
        return ModelRegistry(self.root)

    def activate(self, model_id: str) -> None:
        self.registry.activate(model_id)
        self.events.active_changed.emit(model_id)

    def roll_back(self) -> None:
        self.events.active_changed.emit(self.registry.rollback())

    def delete(self, model_id: str) -> None:
        self.registry.delete(model_id)

    def adopt(self, folder: Path) -> str:
        """Copy a newly trained model into the registry and make it the active one; returns its id."""
        registry = self.registry
        model_id = registry.add(folder)
        registry.activate(model_id)
        self.events.active_changed.emit(model_id)
        return model_id
