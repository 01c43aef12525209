"""The user's models: every trained model with its card, one of them active.

Layout under the registry root (default: the per-user data folder, or
``$DANET_REVIEW_DATA``)::

    models/<model id>/model.json, weights.safetensors   one folder per model, never changed once added
                     [replay.npz]                       the training sample fine-tuning mixes in, if any
    active.json                                         {"active": id, "history": [ids activated before]}

``active.json`` is replaced atomically, so the active model switches in one
step and a failed or cancelled retraining (which never reaches ``add``) leaves
it as it was. The bundled model is the active one until another is activated.

A model folder appears whole or not at all: ``add`` copies into a hidden
staging folder, checks the copy, then renames it into place; ``delete`` renames
the folder to a hidden name before removing it. Hidden folders a killed process
left behind are never listed.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from danet_viewer.core.atomic import atomic_output, fsync_dir
from danet_viewer.core.store_location import user_data_dir
from danet_viewer.errors import DanetError
from danet_viewer.model.card import CARD_FILE, REPLAY_FILE, WEIGHTS_FILE, ModelCard, load_model, read_card
from danet_viewer.model.inference import default_model_folder

BUNDLED = "bundled"
# Fewer reviewed beats than this cannot teach a model anything reliable, nor show whether it
# improved: the retraining command and the retrain dialog both refuse below it.
MIN_REVIEWED_BEATS = 50
MIN_REVIEWED_APCS = 5


def _is_model_id(text: object) -> bool:
    """A model id names one folder directly under ``models/``: no separators, not hidden."""
    return isinstance(text, str) and bool(text) and not text.startswith(".") and "/" not in text and "\\" not in text


@dataclass(frozen=True)
class RegisteredModel:
    model_id: str
    folder: Path
    card: ModelCard
    active: bool


class ModelRegistry:
    def __init__(self, root: Path | None = None) -> None:
        self.root = Path(root) if root else user_data_dir()
        self.models_dir = self.root / "models"
        self.state_path = self.root / "active.json"

    def _state(self) -> dict:
        try:
            state = json.loads(self.state_path.read_text())
        except FileNotFoundError:
            return {"active": BUNDLED, "history": []}
        except (OSError, ValueError) as error:
            raise DanetError(f"{self.state_path}: unreadable model registry state: {error}") from None
        if not isinstance(state, dict):
            raise DanetError(f"{self.state_path}: unreadable model registry state: not a JSON object")
        active, history = state.get("active", BUNDLED), state.get("history", [])
        if not (isinstance(history, list) and all(_is_model_id(i) for i in [active, *history])):
            raise DanetError(f"{self.state_path}: unreadable model registry state: model ids are not folder names")
        return {"active": active, "history": history}

    def _write_state(self, state: dict) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        with atomic_output(self.state_path) as temporary:
            temporary.write_text(json.dumps(state, indent=2) + "\n")

    def folder(self, model_id: str) -> Path:
        if model_id == BUNDLED:
            return default_model_folder()
        if not _is_model_id(model_id):
            raise DanetError(f"{self.root}: {model_id!r} is not a model id")
        folder = self.models_dir / model_id
        if not (folder / CARD_FILE).is_file():
            raise DanetError(f"{self.root}: no model {model_id!r} in the registry")
        return folder

    def models(self) -> list[RegisteredModel]:
        active = self._state()["active"]
        ids = [BUNDLED] + sorted(p.name for p in self.models_dir.glob("*")
                                 if _is_model_id(p.name) and (p / CARD_FILE).is_file())
        return [RegisteredModel(i, self.folder(i), read_card(self.folder(i)), i == active) for i in ids]

    def active_id(self) -> str:
        return self._state()["active"]

    def active_folder(self) -> Path:
        return self.folder(self.active_id())

    def add(self, folder: Path) -> str:
        """Copy a trained model in (the copy checked to load, its hash matching); returns its id."""
        card = read_card(folder)
        model_id = card.model_id.replace("@", "-")
        if not _is_model_id(model_id):
            raise DanetError(f"{folder}: model name {card.name!r} cannot name a folder")
        target = self.models_dir / model_id
        if not target.exists():
            self.models_dir.mkdir(parents=True, exist_ok=True)
            staging = self.models_dir / f".{model_id}.incoming"
            shutil.rmtree(staging, ignore_errors=True)
            staging.mkdir()
            for name in (CARD_FILE, WEIGHTS_FILE, REPLAY_FILE):
                if name == REPLAY_FILE and not (folder / name).is_file():
                    continue  # older models and from-scratch fits on exported datasets have none
                shutil.copy2(folder / name, staging / name)
                with open(staging / name, "rb") as copied:
                    os.fsync(copied.fileno())
            load_model(staging)  # the copy, not the source, is what the registry will load
            os.replace(staging, target)
            fsync_dir(self.models_dir)
        return model_id

    def activate(self, model_id: str) -> None:
        load_model(self.folder(model_id))  # refuse a damaged model before it becomes active
        state = self._state()
        if state["active"] != model_id:
            self._write_state({"active": model_id, "history": [*state["history"], state["active"]]})

    def rollback(self) -> str:
        """Re-activate the model active before the current one; returns its id."""
        state = self._state()
        history = list(state["history"])
        # Skip models that are gone (a delete killed between its steps by an older version left them).
        while history and history[-1] != BUNDLED and not (self.models_dir / history[-1] / CARD_FILE).is_file():
            history.pop()
        if not history:
            raise DanetError(f"{self.root}: no earlier model to roll back to")
        previous = history.pop()
        self._write_state({"active": previous, "history": history})
        return previous

    def delete(self, model_id: str) -> None:
        if model_id == BUNDLED:
            raise DanetError("the bundled model cannot be deleted")
        state = self._state()
        if model_id == state["active"]:
            raise DanetError(f"model {model_id} is active; activate another before deleting it")
        folder = self.folder(model_id)
        trash = self.models_dir / f".{model_id}.deleting"
        shutil.rmtree(trash, ignore_errors=True)  # what an earlier, killed delete left
        # Out of the rollback history first: killed after this, the model is merely still listed;
        # the other order could leave a history that rolls back to a model that is gone.
        self._write_state({**state, "history": [i for i in state["history"] if i != model_id]})
        os.replace(folder, trash)  # gone from the list in one step, even if killed below
        shutil.rmtree(trash)
