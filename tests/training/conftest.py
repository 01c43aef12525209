"""Fixtures shared by the training tests."""

from __future__ import annotations

import pytest

from danet_viewer.core.analysis import import_annotations
from danet_viewer.core.readers import open_recording
from danet_viewer.core.store import AnnotationStore
from tests.conftest import SAMPLE


@pytest.fixture
def reviewed_store(tmp_path):
    """A store holding the bundled sample with its reference labels imported as a reviewer's."""
    path = tmp_path / "reviewed.danet.h5"
    with AnnotationStore.open(path, "a") as store:
        import_annotations(open_recording(SAMPLE), store, "atr", as_review=True, who="reference")
    return path
