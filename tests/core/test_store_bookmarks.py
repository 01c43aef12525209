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
        (lambda group: (group.__delitem__("span_s"), group.create_dataset("span_s", data=[float("nan")])),
         "not a length of time"),
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


def test_a_stretch_bookmark_keeps_its_length_through_the_journal_and_compaction(tmp_path):
    path = tmp_path / "s.h5"
    store = _new_store(path)
    fs, n_samples = store.record("rec").fs, store.record("rec").n_samples
    store.set_bookmark("rec", 100, "run for the report", "dr_a", span_s=2.5)
    store.set_bookmark("rec", n_samples - 10, "to the end", "dr_a", span_s=60.0)  # cut at the record's end
    with AnnotationStore.open(path) as reader:  # replayed from the journal
        spans = {b.sample: b.span_s for b in reader.bookmarks("rec")}
    assert spans == {100: 2.5, n_samples - 10: pytest.approx(10 / fs)}
    with pytest.raises(StoreError, match="cannot last"):
        store.set_bookmark("rec", 100, "c", "dr_a", span_s=-1.0)
    store.close()
    with AnnotationStore.open(path) as reader:  # compacted
        assert [(b.sample, b.span_s) for b in reader.bookmarks("rec")][0] == (100, 2.5)


def test_version_1_bookmarks_read_as_moments(tmp_path):
    path = tmp_path / "s.h5"
    with _new_store(path) as store:
        store.set_bookmark("rec", 500, "old", "dr_a")
    with h5py.File(path, "a") as handle:  # as a store from before stretches was written
        group = handle["records/rec/bookmarks"]
        del group["span_s"]
        group.attrs.modify("bookmarks_version", 1)
    with AnnotationStore.open(path) as reader:
        assert [(b.sample, b.comment, b.span_s) for b in reader.bookmarks("rec")] == [(500, "old", 0.0)]


def test_a_journal_bookmark_with_a_bad_stretch_is_refused(tmp_path):
    path = tmp_path / "s.h5"
    store = _new_store(path)
    store.set_bookmark("rec", 500, "c", "dr_a", span_s=3.0)
    raw = store.journal_path.read_bytes().replace(b'"span_s":3.0', b'"span_s":"long"')
    store._lock.release()
    store._lock, store._journal = None, None
    body = raw.rstrip(b"\n").split(b" ", 1)[1]
    store.journal_path.write_bytes(b"%08x %s\n" % (zlib.crc32(body), body))
    with pytest.raises(StoreError, match="bookmark fields"):
        AnnotationStore.open(path)


def test_the_recordings_start_is_kept_and_filled_in_for_a_record_stored_before_it(tmp_path):
    path = tmp_path / "s.h5"
    store = _new_store(path)  # registered without a start, as before starts were kept
    record = store.record("rec")
    assert record.start == ""
    again = dict(name="rec", source_path=record.source_path, content_hash=record.content_hash, fs=record.fs,
                 lead_names=record.lead_names, units=record.units, n_samples=record.n_samples, who="t")
    store.put_recording(**again, start="2026-03-01T08:30:00.000")
    store.put_recording(**again, start="2027-01-01T00:00:00.000")  # a start once kept is not replaced
    store.close()
    with AnnotationStore.open(path) as reader:
        assert reader.record("rec").start == "2026-03-01T08:30:00.000"
        assert [a.after for a in reader.audit_log() if a.action == "set_start"] == ["2026-03-01T08:30:00.000"]
