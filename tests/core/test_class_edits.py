"""A reviewer's class edits: a split by coupling interval, by shape or at the coupling the tool proposes, a merge,
each kept by the store."""

from __future__ import annotations

import base64
import errno
import json
import os
import subprocess
import sys
import textwrap
import zlib
from dataclasses import replace

import numpy as np
import pytest

from danet_viewer.core import store as store_module
from danet_viewer.core.analysis import register_recording
from danet_viewer.core.beat_classes import beat_class_ids, label_class, update_beat_classes
from danet_viewer.core.beats import DETECTOR
from danet_viewer.core.class_edits import (
    class_source,
    coupling_ratios,
    merge_classes,
    plan_split,
    proposed_coupling_split,
    split_class,
    split_class_at,
)
from danet_viewer.core.store import NOT_A_BEAT, AnnotationStore, BeatClassTable
from danet_viewer.errors import DanetError, StoreWriteError
from tests.conftest import REPO, ArrayRecording
from tests.core.test_beat_classes import APC, FS, NORMAL, VENTRICULAR, three_kinds


def with_class_ids(classes: BeatClassTable, ids: np.ndarray) -> BeatClassTable:
    """``classes`` regrouped as ``ids`` (0..k-1), whatever the clustering made of the beats."""
    k = int(ids.max()) + 1
    return replace(classes.with_members(classes.sample, ids, classes.distance),
                   templates=np.zeros((k, *classes.templates.shape[1:]), np.float32),
                   rr_quartiles=np.zeros((k, 3, 3), np.float32), p_apc=np.full(k, np.nan, np.float32),
                   centroids=np.arange(k, dtype=np.float32)[:, None] * np.ones(classes.centroids.shape[1], np.float32))


@pytest.fixture
def grouped(tmp_path):
    """The three-kind record in a store, its beats grouped by hand: class 0 every beat but the ventricular ones,
    class 1 those. Yields (store, recording, kinds)."""
    signal, beats, kinds = three_kinds(n_beats=150)
    recording = ArrayRecording(signal, FS, "three")
    path = tmp_path / "s.h5"
    with AnnotationStore.open(path, "a") as store:
        register_recording(recording, store, "t")
        store.set_beats(recording.name, beats, detector=DETECTOR, lead="II", who="t")
        classes = update_beat_classes(store, recording, who="t")
        store.set_beat_classes(recording.name, with_class_ids(classes, (kinds == VENTRICULAR).astype(np.int32)),
                               who="t")
        yield store, recording, kinds


def kinds_by_class(store, kinds) -> dict[int, set[str]]:
    ids = beat_class_ids(store, "three")
    return {int(c): set(kinds[ids == c]) for c in np.unique(ids)}


def test_a_split_by_coupling_takes_the_premature_beats_apart(grouped):
    store, recording, kinds = grouped
    new_id = split_class(store, recording, 0, "coupling", who="dr")
    assert new_id == 2
    assert kinds_by_class(store, kinds) == {0: {NORMAL}, 1: {VENTRICULAR}, 2: {APC}}
    classes = store.record("three").classes
    assert classes.counts.tolist() == [np.sum(kinds == kind) for kind in (NORMAL, VENTRICULAR, APC)]
    # The new class's template and intervals are its own: APCs come early.
    assert classes.rr_quartiles[2, 2, 1] < 0.8 * classes.rr_quartiles[0, 2, 1]
    assert np.abs(classes.templates[2]).max() > 0
    split = f"{np.sum(kinds == APC)} of {np.sum(kinds != VENTRICULAR)} beats"
    assert store.audit_log()[-1].action == f"split class 0 by coupling: {split} to class 2"


def test_a_split_by_shape_takes_the_ventricular_beats_apart(grouped):
    store, recording, kinds = grouped
    merge_classes(store, recording, 0, 1, who="dr")
    assert kinds_by_class(store, kinds) == {0: {NORMAL, APC, VENTRICULAR}}
    assert split_class(store, recording, 0, "shape", who="dr") == 1
    assert kinds_by_class(store, kinds) == {0: {NORMAL, APC}, 1: {VENTRICULAR}}


def test_a_merge_renumbers_the_classes_after_the_merged_one_and_persists(grouped, tmp_path):
    store, recording, kinds = grouped
    split_class(store, recording, 0, "coupling", who="dr")  # 0 sinus, 1 ventricular, 2 APC
    assert merge_classes(store, recording, 2, 1, who="dr") == 1  # the APCs take the ventricular beats: now 1
    assert kinds_by_class(store, kinds) == {0: {NORMAL}, 1: {APC, VENTRICULAR}}
    assert store.audit_log()[-1].action == "merge class 1 into class 2"
    store.close()
    with AnnotationStore.open(tmp_path / "s.h5") as reopened:
        assert kinds_by_class(reopened, kinds) == {0: {NORMAL}, 1: {APC, VENTRICULAR}}


def test_split_classes_stay_while_beats_are_added_and_deleted(grouped):
    store, recording, kinds = grouped
    split_class(store, recording, 0, "coupling", who="dr")
    beats = store.record("three").beats
    store.set_label("three", int(beats[60]), NOT_A_BEAT, "dr")
    store.set_label("three", int(beats[61] + 40), "N", "dr")  # an added beat, between two
    update_beat_classes(store, recording, who="dr")
    classes = store.record("three").classes
    assert classes.n_classes == 3 and len(classes.sample) == len(beats)
    ids = beat_class_ids(store, "three")
    table = store.beat_table("three")
    assert ids[table.sample == beats[60]].tolist() == [-1] and ids[table.added].item() >= 0


def test_what_cannot_be_split_or_merged_is_refused(grouped):
    store, recording, _ = grouped
    with pytest.raises(DanetError, match="has no class 5"):
        split_class(store, recording, 5, "shape", who="dr")
    with pytest.raises(DanetError, match="with itself"):
        merge_classes(store, recording, 1, 1, who="dr")
    with pytest.raises(ValueError, match="choose from"):
        split_class(store, recording, 0, "colour", who="dr")
    classes = store.record("three").classes
    one = np.zeros(len(classes.sample), np.int32)
    one[0] = 1
    store.set_beat_classes("three", with_class_ids(classes, one), who="t")
    with pytest.raises(DanetError, match="it has 1 beat"):
        split_class(store, recording, 1, "coupling", who="dr")


def test_the_tool_proposes_a_coupling_split_where_a_class_s_prematurity_histogram_has_two_modes(grouped):
    store, recording, kinds = grouped
    classes = store.record("three").classes
    coupling = coupling_ratios(classes.sample, recording.fs)[:, 1]
    proposal = proposed_coupling_split(classes, 0, recording.fs)
    # Class 0 holds the sinus beats and the APCs, 30 % early: the threshold lies between the two groups.
    apcs, sinus = coupling[kinds == APC], coupling[kinds == NORMAL]
    assert proposal is not None and apcs.max() < proposal.threshold < sinus[sinus > apcs.max()].min()
    members = np.sum(kinds != VENTRICULAR)
    assert (proposal.class_id, proposal.early, proposal.members) == (0, np.sum(kinds == APC), members)
    # The ventricular class's beats all come early after a sinus beat: one group, nothing to propose.
    assert proposed_coupling_split(classes, 1, recording.fs) is None


def test_a_split_at_the_proposed_coupling_is_one_stored_step_and_takes_the_early_beats_apart(grouped, tmp_path):
    store, recording, kinds = grouped
    proposal = proposed_coupling_split(store.record("three").classes, 0, recording.fs)
    entries = len(store.audit_log())
    new_id = split_class_at(store, recording, 0, proposal.threshold, who="dr")
    assert new_id == 2 and kinds_by_class(store, kinds) == {0: {NORMAL}, 1: {VENTRICULAR}, 2: {APC}}
    log = store.audit_log()
    assert len(log) == entries + 1
    assert log[-1].action == (f"split class 0 at coupling {100 * proposal.threshold:.0f} %: {proposal.early} of "
                              f"{proposal.members} beats to class 2")
    # The early part labelled at once: one label of the new class, the sinus beats untouched.
    assert label_class(store, "three", new_id, APC, reviewer="dr") == np.sum(kinds == APC)
    assert {review.symbol for review in store.record("three").reviews.values()} == {APC}
    with pytest.raises(DanetError, match="none of its"):
        split_class_at(store, recording, 0, 0.1, who="dr")
    with pytest.raises(DanetError, match="all of its"):
        split_class_at(store, recording, 0, 10.0, who="dr")


# A writer that labels a beat, then splits class 0 by coupling (each one journal line) and dies at ``argv[2]``:
# "writing" (half the split's line written), "saved" (the split reported saved, before any compaction), or
# "compacting" (the close's rewrite of the store written, not yet renamed over it). It reports what it saved.
KILLED_SPLITTER = textwrap.dedent("""
    import json, os, sys
    from danet_viewer.core import atomic
    from danet_viewer.core.class_edits import class_source, plan_split, put_classes
    from danet_viewer.core.store import AnnotationStore
    from tests.conftest import ArrayRecording
    from tests.core.test_beat_classes import FS, three_kinds

    path, moment = sys.argv[1], sys.argv[2]
    recording = ArrayRecording(three_kinds(n_beats=150)[0], FS, "three")
    store = AnnotationStore.open(path, "a")
    sample = int(store.record("three").beats[5])
    store.set_label("three", sample, "V", "dr")
    print(json.dumps({"label": sample}), flush=True)
    edit = plan_split(class_source(store, recording), 0, "coupling")

    class HalfAWrite:  # the kill lands halfway through the split's journal line
        def __init__(self, journal):
            self.journal = journal

        def __getattr__(self, name):
            return getattr(self.journal, name)

        def write(self, data):
            self.journal.write(bytes(data)[: len(data) // 2])
            os._exit(9)

    if moment == "writing":
        store._journal = HalfAWrite(store._journal)
    put_classes(store, "three", edit.before, edit.after, who="dr", action=edit.action)
    print("saved", flush=True)
    if moment == "compacting":
        atomic.os.replace = lambda *args: os._exit(9)
        store.close()
    os._exit(9)
""")


@pytest.mark.parametrize("moment", ["writing", "saved", "compacting"])
def test_a_kill_mid_split_leaves_the_classes_before_or_after_it_exactly_and_every_saved_label(grouped, tmp_path,
                                                                                             moment):
    store, recording, _ = grouped
    before = store.record("three").classes
    split = plan_split(class_source(store, recording), 0, "coupling").after  # what the writer's split makes
    entries = len(store.audit_log())
    store.close()
    result = subprocess.run([sys.executable, "-c", KILLED_SPLITTER, str(tmp_path / "s.h5"), moment],
                            capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO)}, cwd=REPO)
    lines = result.stdout.splitlines()
    assert result.returncode == 9, result.stderr
    assert lines[1:] == ([] if moment == "writing" else ["saved"])
    with AnnotationStore.open(tmp_path / "s.h5", "a") as reopened:  # a writer: it folds the journal in
        classes = reopened.record("three").classes
        assert reopened.record("three").reviews[json.loads(lines[0])["label"]].symbol == "V"  # saved, so kept
        actions = [entry.action for entry in reopened.audit_log()[entries:]]
        if moment == "writing":  # the torn line was never reported saved: the classes as before, exactly
            assert classes.same_as(before) and actions == ["label"]
        else:  # replayed from the journal: the split whole, exactly, once
            assert classes.same_as(split) and len(actions) == 2 and actions[1].startswith("split class 0 by coupling")
        assert not list(tmp_path.glob(".s.h5.tmp-*"))  # a killed rewrite's leftover is gone
    with AnnotationStore.open(tmp_path / "s.h5") as compacted:  # and the rewrite on that open holds it
        assert compacted.record("three").classes.same_as(before if moment == "writing" else split)


def test_a_split_is_one_journal_line_no_rewrite_of_the_store(grouped):
    store, recording, _ = grouped
    stored = store.path.read_bytes()
    lines = len(store.journal_path.read_bytes().splitlines())
    split_class(store, recording, 0, "coupling", who="dr")
    assert store.path.read_bytes() == stored and len(store.journal_path.read_bytes().splitlines()) == lines + 1
    assert len(store.journal_path.read_bytes()) < 20_000  # its changed columns, compressed


def test_a_split_the_disk_refuses_changes_nothing_and_goes_through_once_it_takes_it(grouped, monkeypatch):
    store, recording, _ = grouped
    store.set_label("three", int(store.record("three").beats[3]), "V", "dr")
    before, reviews = store.record("three").classes, dict(store.record("three").reviews)
    entries, journal = len(store.audit_log()), store.journal_path.read_bytes()

    def full_disk(*args):
        raise OSError(errno.ENOSPC, "No space left on device")

    with monkeypatch.context() as patch:
        patch.setattr(store_module.os, "fsync", full_disk)
        with pytest.raises(StoreWriteError, match="No space left on device"):
            split_class(store, recording, 0, "coupling", who="dr")
        fewer = before.with_members(before.sample[1:], before.class_id[1:], before.distance[1:])
        with pytest.raises(StoreWriteError, match="No space left on device"):  # other beats: a rewrite of the store
            store.set_beat_classes("three", fewer, who="t")
    # Nothing changed: the classes before, the labels, the audit log, the journal.
    assert store.record("three").classes is before and len(store.audit_log()) == entries
    assert store.record("three").reviews == reviews and store.journal_path.read_bytes() == journal
    assert split_class(store, recording, 0, "coupling", who="dr") == 2


def _class_ids_column(ids: np.ndarray) -> list:
    return [ids.dtype.newbyteorder("<").str, list(ids.shape),
            base64.b64encode(zlib.compress(ids.astype("<i4").tobytes())).decode()]


@pytest.mark.parametrize("damage", ["class out of range", "too few beats", "not base64", "not zlib", "sample"])
def test_a_journalled_regrouping_no_writer_wrote_is_refused(grouped, damage):
    store, recording, _ = grouped
    split_class(store, recording, 0, "coupling", who="dr")
    n = len(store.record("three").classes.sample)
    store._lock.release()  # killed: the journal keeps the split's line for the next open to replay
    store._lock = store._journal = None
    line = store.journal_path.read_bytes().splitlines()[-1]
    entry = json.loads(line.split(b" ", 1)[1])
    columns = entry["args"]["columns"]
    if damage == "class out of range":
        columns["class_id"] = _class_ids_column(np.full(n, 7, np.int32))
    elif damage == "too few beats":
        columns["class_id"] = _class_ids_column(np.zeros(n - 1, np.int32))
    elif damage == "not base64":
        columns["p_apc"][2] = "%%%"
    elif damage == "not zlib":
        columns["p_apc"][2] = base64.b64encode(b"plain bytes").decode()
    else:
        entry["args"]["sample"] = 5
    body = json.dumps(entry).encode()
    store.journal_path.write_bytes(b"%08x %s\n" % (zlib.crc32(body), body))
    with pytest.raises(DanetError, match="journal line 1 is invalid"):
        AnnotationStore.open(store.path)
