"""Where a record's annotation store lives, where per-user data lives, and when a stored analysis is reused.

Qt-free: the window, ``danet-viewer render`` and the benchmarks all follow
these rules. Stores, models and settings share one per-user data root
(``user_data_dir``), so ``$DANET_REVIEW_DATA`` moves all of them at once.

A record's store sits beside it (``<folder>/<name>.danet.h5``: the reviews
travel with the record), except where that folder is not the user's to write:
a read-only folder (a CD, a shared archive) or the application's own bundled
resources (a frozen bundle unpacks into a temporary folder; a checkout's
sample is not a reviewer's file). Those stores go under the data root.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from danet_viewer.core.recording import Recording
from danet_viewer.core.store import AnnotationStore
from danet_viewer.errors import StoreError, StoreLockedError
from danet_viewer.resources import resource_root

if TYPE_CHECKING:
    from danet_viewer.model.inference import BeatModel

STORE_SUFFIX = ".danet.h5"


def user_data_dir() -> Path:
    """The per-user data root (stores, models, settings): $DANET_REVIEW_DATA, else the platform's usual place."""
    override = os.environ.get("DANET_REVIEW_DATA")
    if override:
        return Path(override)
    if sys.platform == "win32":
        return Path(os.environ.get("APPDATA", Path.home() / "AppData" / "Roaming")) / "DANet Review"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "DANet Review"
    return Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share")) / "danet-review"


def settings_path() -> Path:
    """The window's settings (reviewer name, recent files), an INI file under the data root."""
    return user_data_dir() / "settings.ini"


def default_store_path(record: Path) -> Path:
    """``<record folder>/<record name>.danet.h5``: the reviews travel with the record."""
    return record.parent / f"{record.stem}{STORE_SUFFIX}"


def user_store_path(record: Path) -> Path:
    """The per-user store of a record whose own folder cannot take one."""
    return user_data_dir() / "stores" / f"{record.stem}{STORE_SUFFIX}"


def is_bundled(record: Path) -> bool:
    """True for a record shipped inside the application (the sample), checkout or frozen bundle alike."""
    return Path(record).resolve().is_relative_to(resource_root().resolve())


def store_path_for(record: Path) -> tuple[Path, str]:
    """The store a record's reviews go to, and a note saying why when it is not the one beside the record."""
    path = user_store_path(record)
    if is_bundled(record):
        return path, "a sample bundled with the application: its reviews go to the per-user data folder"
    if not os.access(record.parent, os.W_OK):
        return path, f"record folder is read-only: reviews go to {path}"
    return default_store_path(record), ""


def review_store_path(record: Path) -> tuple[Path, str]:
    """``store_path_for``, with the per-user folder made where the store goes there."""
    path, note = store_path_for(record)
    if note:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise StoreError(path.parent, f"cannot create the folder for reviews: {error.strerror}") from None
    return path, note


def open_review_store(record: Path) -> tuple[AnnotationStore, str]:
    """The record's store for writing, else read-only with a note saying why (another writer, the disk)."""
    path, note = review_store_path(record)
    try:
        return AnnotationStore.open(path, "a"), note
    except StoreLockedError as error:
        return AnnotationStore.open(path, "r"), f"another window or process is writing to it ({error.holder})"
    except StoreError as error:
        if not path.exists():
            raise
        return AnnotationStore.open(path, "r"), f"it cannot be written ({error.problem})"


def stored_analysis_lead(recording: Recording, store: AnnotationStore) -> int:
    """The lead beats were detected on before, else the preferred one."""
    if recording.name in store and store.record(recording.name).analysis_lead in recording.lead_names:
        return recording.lead_index(store.record(recording.name).analysis_lead)
    return recording.preferred_lead()


def has_results(recording: Recording, store: AnnotationStore, model: BeatModel) -> bool:
    """True when the store holds this very recording analysed by this very model."""
    if recording.name not in store:
        return False
    record = store.record(recording.name)
    return (
        record.model is not None
        and record.model.model_id == model.model_id
        and record.content_hash == recording.content_hash()
        # An all-flat record analysed before holds no beats, only its unanalysable stretch.
        and (len(record.beats) > 0 or len(record.unanalysable) > 0)
    )
