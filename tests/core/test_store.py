"""The annotation store: layout, labels apart from model output, audit, schema, lock, crash safety."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
import zlib
from pathlib import Path

import h5py
import numpy as np
import pytest

from danet_viewer.core import store as store_module
from danet_viewer.core.store import NOT_A_BEAT, SCHEMA_VERSION, AnnotationStore, Review
from danet_viewer.errors import StoreError

REPO = Path(__file__).resolve().parents[2]


def _new_store(path: Path, beats=(100, 460, 820, 1180)) -> AnnotationStore:
    store = AnnotationStore.open(path, "a")
    store.put_recording(name="rec", source_path="/data/rec.hea", content_hash="abc", fs=360.0,
                        lead_names=["MLII"], units=["mV"], n_samples=3600, who="tester")
    store.set_beats("rec", np.array(beats), detector="test", lead="MLII", who="tester")
    return store


def test_labels_survive_reopen_and_are_audited(tmp_path):
    path = tmp_path / "s.h5"
    with _new_store(path) as store:
        store.set_label("rec", 460, "A", "dr_a")
        store.set_label("rec", 460, "N", "dr_b")
        store.set_label("rec", 2000, "A", "dr_a")  # an added beat
        store.set_label("rec", 820, NOT_A_BEAT, "dr_a")
    with AnnotationStore.open(path) as store:
        table = store.beat_table("rec")
        assert table.sample.tolist() == [100, 460, 820, 1180, 2000]
        assert table.review_symbol.tolist() == ["", "N", NOT_A_BEAT, "", "A"]
        assert table.reviewer.tolist()[1] == "dr_b"
        assert table.added.tolist() == [False, False, False, False, True]
        assert table.deleted.tolist() == [False, False, True, False, False]
        label_changes = [(a.who, a.sample, a.before, a.after) for a in store.audit_log() if a.sample >= 0]
        assert label_changes == [("dr_a", 460, "", "A"), ("dr_b", 460, "A", "N"), ("dr_a", 2000, "", "A"),
                                 ("dr_a", 820, "", NOT_A_BEAT)]
        assert [a.action for a in store.audit_log()][:2] == ["add_recording", "set_beats"]


def test_model_rerun_never_touches_labels(tmp_path):
    path = tmp_path / "s.h5"
    with _new_store(path) as store:
        store.set_label("rec", 460, "A", "dr_a")
        store.set_model_output("rec", np.array([100, 460, 820, 1180]), np.array([0.1, 0.2, 0.9, 0.4]),
                               threshold=0.5, model_id="m1", who="tester")
        store.set_model_output("rec", np.array([100, 460, 820, 1180]), np.array([0.9, 0.1, 0.1, 0.6]),
                               threshold=0.5, model_id="m2", who="tester")
    with AnnotationStore.open(path) as store:
        table = store.beat_table("rec")
        assert table.model_apc.tolist() == [1, 0, 0, 1]
        assert table.review_symbol.tolist() == ["", "A", "", ""]
        assert store.record("rec").model.model_id == "m2"


def test_a_beat_table_takes_some_of_its_rows_as_a_table_of_their_own(tmp_path):
    with _new_store(tmp_path / "s.h5") as store:
        store.set_model_output("rec", np.array([100, 460, 820, 1180]), np.array([0.1, 0.2, 0.9, 0.4]),
                               threshold=0.5, model_id="m1", who="tester")
        store.set_label("rec", 820, "A", "dr_a")
        store.set_label("rec", 1180, NOT_A_BEAT, "dr_a")
        table = store.beat_table("rec")
    page = table.take(np.array([3, 2]))
    assert page.sample.tolist() == [1180, 820] and page.model_apc.tolist() == [0, 1]
    assert page.reviewed.tolist() == [True, True] and page.deleted.tolist() == [True, False]
    assert page.reviewer.tolist() == ["dr_a", "dr_a"] and len(page) == 2 and len(table) == 4


def test_redetection_keeps_reviews_of_vanished_beats(tmp_path):
    with _new_store(tmp_path / "s.h5") as store:
        store.set_label("rec", 460, "A", "dr_a")
        store.set_beats("rec", np.array([100, 820]), detector="other", lead="MLII", who="tester")
        table = store.beat_table("rec")
        assert table.sample.tolist() == [100, 460, 820]
        assert table.review_symbol.tolist() == ["", "A", ""]


def test_clear_label_and_bad_symbols(tmp_path):
    with _new_store(tmp_path / "s.h5") as store:
        store.set_label("rec", 460, "V", "dr_a")
        store.clear_label("rec", 460, "dr_a")
        assert store.beat_table("rec").review_symbol.tolist() == ["", "", "", ""]
        with pytest.raises(StoreError, match="not a beat symbol"):
            store.set_label("rec", 460, "+", "dr_a")
        with pytest.raises(StoreError, match="outside record"):
            store.set_label("rec", 10_000, "N", "dr_a")
        with pytest.raises(StoreError, match="reviewer"):
            store.set_label("rec", 460, "N", " ")


def test_different_recording_under_same_name_is_refused(tmp_path):
    with _new_store(tmp_path / "s.h5") as store, pytest.raises(StoreError, match="different recording"):
        store.put_recording(name="rec", source_path="/x.hea", content_hash="other", fs=360.0,
                            lead_names=["MLII"], units=["mV"], n_samples=3600, who="t")


def test_read_only_store_refuses_writes_and_missing_store(tmp_path):
    path = tmp_path / "s.h5"
    _new_store(path).close()
    with AnnotationStore.open(path) as store, pytest.raises(StoreError, match="read-only"):
        store.set_label("rec", 460, "A", "dr_a")
    with pytest.raises(StoreError, match="no such annotation store"):
        AnnotationStore.open(tmp_path / "missing.h5")


def test_schema_checks(tmp_path):
    path = tmp_path / "s.h5"
    _new_store(path).close()
    with h5py.File(path, "a") as handle:
        handle.attrs["schema_version"] = SCHEMA_VERSION + 1
    with pytest.raises(StoreError, match="newer DANet Review"):
        AnnotationStore.open(path)
    foreign = tmp_path / "foreign.h5"
    with h5py.File(foreign, "w") as handle:
        handle.create_dataset("x", data=[1, 2])
    with pytest.raises(StoreError, match="not a DANet Review annotation store"):
        AnnotationStore.open(foreign, "a")
    garbage = tmp_path / "garbage.h5"
    garbage.write_bytes(b"not hdf5 at all" * 10)
    with pytest.raises(StoreError, match="not an HDF5 file"):
        AnnotationStore.open(garbage)


def test_second_writer_is_refused_and_lock_is_released(tmp_path):
    path = tmp_path / "s.h5"
    first = _new_store(path)
    holder = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(f"""
            from danet_viewer.core.store import AnnotationStore
            from danet_viewer.errors import StoreLockedError
            try:
                AnnotationStore.open({str(path)!r}, "a")
            except StoreLockedError as error:
                print("refused:", error)
            """)],
        capture_output=True, text=True, cwd=REPO, check=True,
    )
    assert "refused:" in holder.stdout and "already open for writing" in holder.stdout
    with AnnotationStore.open(path) as reader:  # readers need no lock
        assert reader.records() == ["rec"]
    first.close()
    AnnotationStore.open(path, "a").close()


def test_torn_last_journal_line_is_dropped(tmp_path):
    path = tmp_path / "s.h5"
    store = _new_store(path)
    store.set_label("rec", 100, "A", "dr_a")
    store.set_label("rec", 460, "A", "dr_a")
    store._journal.write(b"0badc0de {\"half\": ")  # what a kill mid-append leaves
    store._journal.flush()
    store._lock.release()  # simulate the process dying without close()
    store._lock = None
    store._journal = None
    reopened = AnnotationStore.open(path, "a")
    assert reopened.beat_table("rec").review_symbol.tolist() == ["A", "A", "", ""]
    reopened.set_label("rec", 820, "N", "dr_a")
    reopened._lock.release()  # and this writer dies too, before any close()
    reopened._lock = None
    reopened._journal = None
    with AnnotationStore.open(path) as again:
        assert again.beat_table("rec").review_symbol.tolist() == ["A", "A", "N", ""]


def test_failed_journal_write_changes_nothing(tmp_path, monkeypatch):
    with _new_store(tmp_path / "s.h5") as store:
        def disk_full(_fd):
            raise OSError(28, "No space left on device")

        monkeypatch.setattr(store_module.os, "fsync", disk_full)
        with pytest.raises(StoreError, match="cannot save the edit: No space left"):
            store.set_label("rec", 460, "A", "dr_a")
        monkeypatch.undo()
        assert store.beat_table("rec").review_symbol.tolist() == ["", "", "", ""]
        store.set_label("rec", 460, "A", "dr_a")  # the retry succeeds
        assert store.beat_table("rec").review_symbol.tolist() == ["", "A", "", ""]


def test_journal_compacts_into_hdf5(tmp_path, monkeypatch):
    monkeypatch.setattr(store_module, "COMPACT_AFTER_EDITS", 3)
    path = tmp_path / "s.h5"
    with _new_store(path) as store:
        for sample in (100, 460, 820):
            store.set_label("rec", sample, "A", "dr_a")
        assert store.journal_path.stat().st_size == 0
        store.set_label("rec", 1180, "V", "dr_a")
        assert store.journal_path.stat().st_size > 0
    with h5py.File(path) as handle:
        assert handle["records/rec/reviews/symbol"].asstr()[()].tolist() == ["A", "A", "A", "V"]
        assert len(handle["audit/seq"]) == 6


def _die(store: AnnotationStore) -> None:
    """What a killed writer leaves: its journal and lock dropped without a close (so without a compaction)."""
    store._lock.release()
    store._lock = None
    store._journal = None


def test_many_labels_are_one_journal_line_and_one_audit_entry(tmp_path):
    path = tmp_path / "s.h5"
    store = _new_store(path)
    store.set_label("rec", 820, "V", "dr_b")
    store.set_labels("rec", {100: Review("A", "dr_a", "t1"), 460: Review("A", "dr_a", "t1"),
                             820: Review("A", "dr_a", "t1")}, who="dr_a", action="label_class 2")
    assert len(store.journal_path.read_bytes().splitlines()) == 2  # the single label, then the class
    entry = store.audit_log()[-1]
    assert (entry.who, entry.action, entry.sample, entry.before, entry.after) == (
        "dr_a", "label_class 2", 100, "2 unreviewed, 1 V", "3 A")
    _die(store)
    store = AnnotationStore.open(path, "a")  # replayed from the journal
    assert store.beat_table("rec").review_symbol.tolist() == ["A", "A", "A", ""]
    # Undone: each beat's review as it was, the reviewer's own V with its reviewer and time.
    before_v = store.record("rec").reviews[820]
    store.set_labels("rec", {100: None, 460: None, 820: Review("V", "dr_b", "t0")}, who="dr_a", action="undo")
    assert store.beat_table("rec").review_symbol.tolist() == ["", "", "V", ""]
    assert store.record("rec").reviews[820] == Review("V", "dr_b", "t0") != before_v
    store.close()
    with AnnotationStore.open(path) as reopened:
        assert reopened.beat_table("rec").review_symbol.tolist() == ["", "", "V", ""]


def test_a_kill_mid_class_label_keeps_all_of_it_or_none(tmp_path):
    path = tmp_path / "s.h5"
    store = _new_store(path)
    store.set_labels("rec", {100: Review("N", "dr", "t"), 460: Review("N", "dr", "t")}, who="dr", action="c")
    line = store.journal_path.read_bytes()
    store.set_labels("rec", {820: Review("A", "dr", "t"), 1180: Review("A", "dr", "t")}, who="dr", action="c")
    journal = store.journal_path.read_bytes()
    _die(store)
    store.journal_path.write_bytes(journal[: len(line) + (len(journal) - len(line)) // 2])  # cut mid-line
    with AnnotationStore.open(path) as reopened:
        assert reopened.beat_table("rec").review_symbol.tolist() == ["N", "N", "", ""]


@pytest.mark.parametrize("rows", [[[460, "Z", "dr", "t"]], [[460, "A", "dr"]], [[99999, "A", "dr", "t"]], [],
                                  "460 A"])
def test_a_journalled_class_label_no_writer_wrote_is_refused(tmp_path, rows):
    path = tmp_path / "s.h5"
    store = _new_store(path)
    store_id = store.store_id
    store.close()
    body = json.dumps({"store_id": store_id, "seq": 99, "op": "reviews",
                       "args": {"record": "rec", "sample": 460, "reviews": rows},
                       "audit": {"seq": 99, "time": "t", "who": "dr", "action": "c", "record": "rec", "sample": 460,
                                 "before": "", "after": ""}}).encode()
    store.journal_path.write_bytes(b"%08x %s\n" % (zlib.crc32(body), body))
    with pytest.raises(StoreError, match="journal line 1 is invalid"):
        AnnotationStore.open(path)


def test_a_class_label_counts_its_beats_towards_compaction(tmp_path, monkeypatch):
    monkeypatch.setattr(store_module, "COMPACT_AFTER_EDITS", 3)
    with _new_store(tmp_path / "s.h5") as store:
        store.set_labels("rec", {100: Review("N", "dr", "t"), 460: Review("N", "dr", "t")}, who="dr", action="c")
        assert store.journal_path.stat().st_size > 0
        store.set_labels("rec", {820: Review("N", "dr", "t")}, who="dr", action="c")
        assert store.journal_path.stat().st_size == 0  # three beats' labels: compacted


WRITER = textwrap.dedent("""
    import sys, numpy as np
    from danet_viewer.core.store import AnnotationStore
    path, start = sys.argv[1], int(sys.argv[2])
    store = AnnotationStore.open(path, "a")
    if "rec" not in store:
        store.put_recording(name="rec", source_path="/r.hea", content_hash="h", fs=360.0,
                            lead_names=["MLII"], units=["mV"], n_samples=10**9, who="w")
        store.set_beats("rec", np.arange(0, 10**6, 300), detector="t", lead="MLII", who="w")
    print("ready", flush=True)
    for i in range(start, start + 100000):
        sample = 300 * i
        store.set_label("rec", sample, "AVN"[i % 3], "killer")
        print(sample, "AVN"[i % 3], flush=True)
        if i % 7 == 0:  # bulk rewrites too, so kills also land mid-compaction
            store.set_model_output("rec", np.array([0, 300]), np.array([0.1, 0.9]), threshold=0.5,
                                   model_id=f"m{i}", who="w")
""")


@pytest.mark.slow
def test_writer_killed_at_random_instants_loses_no_saved_label(tmp_path):
    """A writer is SIGKILLed at random times; every label it reported saved must be in the store."""
    path = tmp_path / "s.h5"
    rng = random.Random(1234)
    saved: dict[int, str] = {}
    next_index = 0
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    for _ in range(12):
        writer = subprocess.Popen([sys.executable, "-c", WRITER, str(path), str(next_index)],
                                  stdout=subprocess.PIPE, text=True, env=env)
        assert writer.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.01, 0.4))
        writer.send_signal(signal.SIGKILL)
        output, _ = writer.communicate()
        # Only whole lines are reports: the kill can cut the last one mid-write.
        for line in output.split("\n")[:-1]:
            sample, symbol = line.split()
            saved[int(sample)] = symbol
        next_index = max(saved, default=0) // 300 + 1
    assert len(saved) > 20
    with AnnotationStore.open(path, "a") as store:  # opens, and the killed writer's lock is gone
        reviews = store.record("rec").reviews
        missing = [s for s, symbol in saved.items() if s not in reviews or reviews[s].symbol != symbol]
        assert not missing, f"{len(missing)} saved labels lost"


def test_beat_table_with_one_new_review_matches_a_rebuild(tmp_path):
    with _new_store(tmp_path / "s.h5") as store:
        table = store.beat_table("rec")
        table = table.with_review(460, store.set_label("rec", 460, "A", "dr_a"))
        store.set_label("rec", 100, "V", "dr_a")
        store.clear_label("rec", 100, "dr_a")
        table = table.with_review(100, None)
        rebuilt = store.beat_table("rec")
        for column in ("sample", "review_symbol", "reviewer", "reviewed_at"):
            assert getattr(table, column).tolist() == getattr(rebuilt, column).tolist()
        added = store.set_label("rec", 2000, "N", "dr_a")
        assert table.with_review(2000, added) is None  # a new row: the caller rebuilds
        table = store.beat_table("rec")
        store.clear_label("rec", 2000, "dr_a")
        assert table.with_review(2000, None) is None  # the added beat's row goes


def test_unanalysable_stretches_survive_reopen_and_replace_with_the_beats(tmp_path):
    path = tmp_path / "s.h5"
    stretches = np.array([[0, 50], [1300, 2000], [3500, 3600]])
    with _new_store(path) as store:
        store.set_beats("rec", np.array([100, 460, 820, 1180]), detector="test", lead="MLII", who="tester",
                        unanalysable=stretches)
        assert store.audit_log()[-1].after.endswith(", 850 samples unanalysable")  # 50 + 700 + 100
    with AnnotationStore.open(path, "a") as store:
        np.testing.assert_array_equal(store.record("rec").unanalysable, stretches)
        store.set_beats("rec", np.array([100, 460]), detector="test", lead="MLII", who="tester")
        assert store.record("rec").unanalysable.shape == (0, 2)
    with AnnotationStore.open(path) as store:
        assert store.record("rec").unanalysable.shape == (0, 2)


@pytest.mark.parametrize("stretches", [[[3000, 4000]], [[-1, 10]], [[20, 10]], [[0, 100], [50, 200]], [1, 2]])
def test_unanalysable_stretches_outside_the_record_or_unordered_are_refused(tmp_path, stretches):
    with _new_store(tmp_path / "s.h5") as store, pytest.raises(StoreError, match="unanalysable stretches"):
        store.set_beats("rec", np.array([100]), detector="test", lead="MLII", who="tester",
                        unanalysable=np.array(stretches))


def test_a_store_from_before_unanalysable_stretches_opens_and_damaged_ones_are_refused(tmp_path):
    path = tmp_path / "s.h5"
    with _new_store(path) as store:
        store.set_beats("rec", np.array([100, 460]), detector="test", lead="MLII", who="tester",
                        unanalysable=np.array([[1000, 2000]]))
    with h5py.File(path, "a") as handle:
        assert handle.attrs["schema_version"] == 1  # an optional dataset: the schema version stays
        del handle["records/rec/unanalysable"]  # as every store written before it existed
    with AnnotationStore.open(path, "a") as store:
        assert store.record("rec").unanalysable.shape == (0, 2)
        assert store.record("rec").beats.tolist() == [100, 460]
    with h5py.File(path, "a") as handle:
        handle["records/rec/unanalysable"] = np.array([[2000, 9000]])  # past the record's 3600 samples
    with pytest.raises(StoreError, match="damaged store: unanalysable stretches of record 'rec' lie outside"):
        AnnotationStore.open(path)
