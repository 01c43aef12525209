"""Bookmarks in the annotation store: journalled like labels, audited, compacted, versioned on their own."""

from __future__ import annotations

import zlib

import h5py
import pytest

from danet_viewer.core.store import BOOKMARKS_VERSION, AnnotationStore
from danet_viewer.errors import StoreError
from tests.core.test_store import _new_store


def test_bookmarks_are_saved_at_once_audited_and_survive_compaction(tmp_path):
    path = tmp_path / "s.h5"
    store = _new_store(path)
    store.set_bookmark("rec", 2000, "odd P wave", "dr_a")
    store.set_bookmark("rec", 500, "artefact?", "dr_a")
    store.set_bookmark("rec", 2000, "ectopic atrial run", "dr_b")  # replaces the one on that sample
    store.set_bookmark("rec", 900, "to remove", "dr_a")
    store.remove_bookmark("rec", 900, "dr_a")
    # Saved before compaction: a reader replays the journal while the writer still holds the store.
    with AnnotationStore.open(path) as reader:
        assert [(b.sample, b.comment, b.who) for b in reader.bookmarks("rec")] == [
            (500, "artefact?", "dr_a"), (2000, "ectopic atrial run", "dr_b")]
    store.close()
    with h5py.File(path) as handle:
        group = handle["records/rec/bookmarks"]
        assert group.attrs["bookmarks_version"] == BOOKMARKS_VERSION
        assert group["comment"].asstr()[()].tolist() == ["artefact?", "ectopic atrial run"]
    with AnnotationStore.open(path) as reader:
        assert [b.sample for b in reader.bookmarks("rec")] == [500, 2000]
        actions = [(a.action, a.sample, a.before, a.after) for a in reader.audit_log() if "bookmark" in a.action]
    assert actions == [("bookmark", 2000, "", "odd P wave"), ("bookmark", 500, "", "artefact?"),
                       ("bookmark", 2000, "odd P wave", "ectopic atrial run"), ("bookmark", 900, "", "to remove"),
                       ("remove_bookmark", 900, "to remove", "")]


def test_a_store_without_bookmarks_opens_and_writes_no_group(tmp_path):
    path = tmp_path / "s.h5"
    _new_store(path).close()
    with h5py.File(path) as handle:
        assert "bookmarks" not in handle["records/rec"]
    with AnnotationStore.open(path, "a") as store:
        assert store.bookmarks("rec") == []
        store.remove_bookmark("rec", 100, "dr_a")  # nothing there: nothing logged
        assert not [a for a in store.audit_log() if "bookmark" in a.action]


def test_bad_bookmarks_are_refused(tmp_path):
    with _new_store(tmp_path / "s.h5") as store:
        with pytest.raises(StoreError, match="outside record"):
            store.set_bookmark("rec", 3600, "past the end", "dr_a")
        with pytest.raises(StoreError, match="needs a reviewer"):
            store.set_bookmark("rec", 100, "who?", " ")
        with pytest.raises(StoreError, match="no record named"):
            store.set_bookmark("nope", 100, "c", "dr_a")
    with AnnotationStore.open(tmp_path / "s.h5") as reader, pytest.raises(StoreError, match="read-only"):
        reader.set_bookmark("rec", 100, "c", "dr_a")


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda group: group.attrs.modify("bookmarks_version", BOOKMARKS_VERSION + 1), "newer DANet Review"),
        (lambda group: group.attrs.__delitem__("bookmarks_version"), "unknown bookmarks version"),
        (lambda group: (group.__delitem__("sample"), group.create_dataset("sample", data=[10**9])), "lie outside"),
        (lambda group: group.__delitem__("who"), "damaged store"),
    ],
)
def test_damaged_or_newer_bookmarks_are_refused(tmp_path, damage, message):
    path = tmp_path / "s.h5"
    with _new_store(path) as store:
        store.set_bookmark("rec", 500, "c", "dr_a")
    with h5py.File(path, "a") as handle:
        damage(handle["records/rec/bookmarks"])
    with pytest.raises(StoreError, match=message):
        AnnotationStore.open(path)


def test_a_damaged_bookmark_journal_line_is_refused(tmp_path):
    path = tmp_path / "s.h5"
    store = _new_store(path)
    store.set_bookmark("rec", 500, "c", "dr_a")
    raw = store.journal_path.read_bytes().replace(b'"comment":"c"', b'"comment":7')
    store._lock.release()  # the writer dies without close()
    store._lock, store._journal = None, None
    body = raw.rstrip(b"\n").split(b" ", 1)[1]  # a good CRC over bad content: corruption, not a torn line
    store.journal_path.write_bytes(b"%08x %s\n" % (zlib.crc32(body), body))
    with pytest.raises(StoreError, match="journal line 1 is invalid: bookmark fields"):
        AnnotationStore.open(path)
