"""Where a record's reviews go: beside it, else (read-only folder, bundled sample) under the one per-user
data root that also holds the models and the settings."""

from __future__ import annotations

import pytest

from danet_viewer.core.store import AnnotationStore
from danet_viewer.core.store_location import (
    default_store_path,
    open_review_store,
    settings_path,
    store_path_for,
    user_data_dir,
)
from danet_viewer.model.registry import ModelRegistry
from tests.conftest import SAMPLE


@pytest.fixture
def data_root(tmp_path, monkeypatch):
    root = tmp_path / "user data"
    monkeypatch.setenv("DANET_REVIEW_DATA", str(root))
    return root


def test_stores_models_and_settings_share_one_data_root(data_root):
    assert user_data_dir() == data_root
    assert settings_path().parent == data_root and ModelRegistry().root == data_root


def test_a_writable_record_folder_keeps_the_store_beside_the_record(data_root, tmp_path):
    record = tmp_path / "rec.hea"
    assert store_path_for(record) == (default_store_path(record), "") == (tmp_path / "rec.danet.h5", "")


def test_a_read_only_record_folder_puts_the_store_under_the_data_root(data_root, tmp_path, monkeypatch):
    monkeypatch.setattr("danet_viewer.core.store_location.os.access", lambda path, mode: False)
    store, note = open_review_store(tmp_path / "rec.hea")
    with store:
        assert store.path == data_root / "stores" / "rec.danet.h5" and store.writable
    assert note == f"record folder is read-only: reviews go to {store.path}"
    assert not default_store_path(tmp_path / "rec.hea").exists()


def test_the_bundled_sample_is_reviewed_into_the_data_root_not_the_application(data_root):
    path, note = store_path_for(SAMPLE)
    assert path == data_root / "stores" / "209_excerpt.danet.h5" and "bundled" in note
    store, _ = open_review_store(SAMPLE)
    store.close()
    assert path.exists()


def test_a_store_another_writer_holds_opens_read_only_with_a_note(data_root, tmp_path):
    record = tmp_path / "rec.hea"
    with AnnotationStore.open(default_store_path(record), "a"):
        store, note = open_review_store(record)
        with store:
            assert not store.writable and note.startswith("another window or process is writing to it")
