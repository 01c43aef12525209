"""Template review without Qt: the classes as tiles summarise them, one undoable label per class, a reviewer's own
labels kept, paging through a class, classes following beats, and everything kept by the store."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from danet_viewer.components.class_review import ClassReview, ClassState
from danet_viewer.components.review_model import ReviewModel
from danet_viewer.core.analysis import register_recording
from danet_viewer.core.beat_classes import beat_class_ids, update_beat_classes
from danet_viewer.core.readers import open_recording
from danet_viewer.core.store import AnnotationStore
from danet_viewer.core.store_location import default_store_path
from danet_viewer.errors import StoreWriteError
from tests.conftest import REPO, write_wfdb_record
from tests.core.test_beat_classes import APC, FS, NORMAL, VENTRICULAR, three_kinds
from tests.core.test_class_edits import with_class_ids

SINUS, ECTOPIC_V, ECTOPIC_A = 0, 1, 2  # the classes the fixture makes


def open_review(header) -> tuple[ReviewModel, ClassReview]:
    recording = open_recording(header)
    review = ReviewModel()
    review.open(recording)
    review.start_session(0, recording.read(0), "dr test")
    return review, ClassReview(review)


def three_kinds_record(tmp_path) -> tuple:
    """The three-kind record on disk with its store: beats, the model's p(APC) (near its threshold on the APCs,
    low elsewhere), and classes by kind: 0 sinus, 1 ventricular, 2 APC. Returns (header, kinds)."""
    signal, beats, kinds = three_kinds(n_beats=150)
    header = write_wfdb_record(tmp_path, "three", signal, FS)
    recording = open_recording(header)
    with AnnotationStore.open(default_store_path(header), "a") as store:
        register_recording(recording, store, "t")
        store.set_beats(recording.name, beats, detector="t", lead="MLII", who="t")
        p_apc = np.select([kinds == APC, kinds == VENTRICULAR], [0.55, 0.02], 0.05)
        store.set_model_output(recording.name, beats, p_apc, threshold=0.5, model_id="m", who="t")
        classes = update_beat_classes(store, recording, who="t")
        ids = np.select([kinds == VENTRICULAR, kinds == APC], [ECTOPIC_V, ECTOPIC_A], SINUS).astype(np.int32)
        store.set_beat_classes(recording.name, with_class_ids(classes, ids), who="t")
        update_beat_classes(store, recording, who="t")  # the class p(APC) of the regrouped classes
    return header, kinds


@pytest.fixture
def record(tmp_path):
    return three_kinds_record(tmp_path)


@pytest.fixture
def reviewing(record):
    review, classes = open_review(record[0])
    yield review, classes, record[1]
    review.close()


def members_labels(review: ReviewModel, classes: ClassReview, class_id: int) -> set[str]:
    return set(review.session.table.review_symbol[classes.member_rows(class_id)])


def test_classes_are_summarised_disagreements_first_and_labelled_ones_last(reviewing):
    review, classes, kinds = reviewing
    summaries = classes.summaries()
    # The APC class first: the model calls its 16 beats APC while its centroid's timing (the clustering's, which the
    # fixture's regrouping keeps) is not early, a disagreement on each; then the larger of the two that agree.
    assert [s.class_id for s in summaries] == [ECTOPIC_A, SINUS, ECTOPIC_V]
    apcs = summaries[0]
    assert apcs.count == np.sum(kinds == APC) and apcs.share == pytest.approx(np.mean(kinds == APC))
    assert apcs.apc_score == pytest.approx(55, abs=1) and apcs.model_apc_share == 1.0
    assert apcs.state is ClassState.UNREVIEWED
    assert apcs.coupling_rr_s == pytest.approx(0.85 * 0.7, rel=0.05)  # 30 % early
    assert summaries[1].coupling == pytest.approx(1.0, abs=0.3) and apcs.coupling < 0.8
    assert sum(s.count for s in summaries) == len(kinds)
    classes.label(ECTOPIC_A, APC)
    assert [s.class_id for s in classes.summaries()] == [SINUS, ECTOPIC_V, ECTOPIC_A]
    assert classes.summary(ECTOPIC_A).state_text() == "labelled A"


def test_a_class_label_is_one_undoable_step_in_the_store_s_journal_and_audit_log(reviewing):
    review, classes, kinds = reviewing
    events = []
    review.events.beats.connect(lambda: events.append("beats"))
    journal_lines = len(review.store.journal_path.read_bytes().splitlines())
    assert classes.label(ECTOPIC_A, APC) == np.sum(kinds == APC)
    assert members_labels(review, classes, ECTOPIC_A) == {APC} and events == ["beats"]
    assert len(review.store.journal_path.read_bytes().splitlines()) == journal_lines + 1
    entry = review.store.audit_log()[-1]
    assert (entry.action, entry.who) == (f"label_class {ECTOPIC_A}", "dr test")
    assert entry.after == f"{np.sum(kinds == APC)} A"
    review.undo()
    assert members_labels(review, classes, ECTOPIC_A) == {""} and not review.session.can_undo
    assert review.store.audit_log()[-1].action == f"undo label_class {ECTOPIC_A}"
    review.redo()
    assert members_labels(review, classes, ECTOPIC_A) == {APC}
    stored = review.store.beat_table("three").review_symbol
    assert set(stored[classes.member_rows(ECTOPIC_A)]) == {APC}  # the store holds what the table shows


def test_a_reviewer_s_own_beat_label_survives_a_class_label_and_is_replaced_only_when_asked(reviewing):
    review, classes, kinds = reviewing
    rows = classes.member_rows(ECTOPIC_A)
    own = int(review.session.table.sample[rows[3]])
    review.set_reviewer("dr own")
    review.label(own, NORMAL)
    review.set_reviewer("dr test")
    notes = []
    review.events.status.connect(lambda message, _timeout: notes.append(message))
    assert classes.label(ECTOPIC_A, APC) == len(rows) - 1
    assert review.store.record("three").reviews[own].symbol == NORMAL
    assert "1 keep a reviewer's own label" in notes[-1]
    assert classes.summary(ECTOPIC_A).state_text() == "labelled A (1 N)"
    assert classes.label(ECTOPIC_A, APC, overwrite=True) == 1
    assert review.store.record("three").reviews[own].symbol == APC
    review.undo()  # the reviewer's own label is back, with its reviewer
    reviewed = review.store.record("three").reviews[own]
    assert (reviewed.symbol, reviewed.reviewer) == (NORMAL, "dr own")


# A class label and accepting the proposals, each with what its refusal says and how its beats look unlabelled.
CLASS_EDITS = {
    "class label": (lambda classes: classes.label(ECTOPIC_A, APC), f"Class {ECTOPIC_A} was not labelled",
                    lambda review, classes: members_labels(review, classes, ECTOPIC_A) == {""}),
    "accept": (lambda classes: classes.accept_proposals(), "The proposals were not accepted",
               lambda review, classes: review.session.table.reviewed.sum() == 1),
}


@pytest.mark.parametrize("edit", CLASS_EDITS)
def test_no_class_edit_while_refused_labels_wait_nor_one_the_disk_refuses(reviewing, monkeypatch, edit):
    review, classes, _ = reviewing
    apply, refusal, none_labelled = CLASS_EDITS[edit]
    first = int(review.session.table.sample[0])

    def disk_full(*args, **kwargs):
        raise StoreWriteError(review.store.journal_path, "cannot save the edit: No space left on device")

    with monkeypatch.context() as patch:
        patch.setattr(review.store, "set_label", disk_full)
        review.label(first, NORMAL)
        assert review.unsaved
        assert apply(classes) == 0  # the kept label is saved first, in order
    review.retry_unsaved()
    assert not review.unsaved and review.store.record("three").reviews[first].symbol == NORMAL
    refused = []
    review.events.refused.connect(refused.append)
    monkeypatch.setattr(review.store, "set_labels", disk_full)
    assert apply(classes) == 0
    assert refused == [f"{refusal}: {review.store.journal_path}: cannot save the edit: No space left on device"]
    assert none_labelled(review, classes)
    review.undo()  # the edit never entered the history: undo takes back the beat label
    assert first not in review.store.record("three").reviews


def test_paging_through_a_class_selects_its_beats_in_turn(reviewing):
    review, classes, _ = reviewing
    current = []
    classes.events.current.connect(lambda: current.append(classes.current))
    rows = classes.member_rows(ECTOPIC_V)
    classes.select(ECTOPIC_V)
    assert current == [ECTOPIC_V] and review.selected == rows[0] and classes.position() == (1, len(rows))
    classes.step(True)
    classes.step(True)
    assert review.selected == rows[2] and classes.position() == (3, len(rows))
    classes.step(False)
    assert review.selected == rows[1]
    review.select_row(int(rows[1] + 1))  # a beat of another class
    assert classes.position() == (0, len(rows))
    names = classes.class_names(review.session.table)
    assert set(names[rows]) == {str(ECTOPIC_V)}
    assert np.array_equal(classes.class_ids(), beat_class_ids(review.store, "three"))  # the store's, row for row
    review.close()  # the record goes, and its current class with it
    assert classes.current is None and current[-1] is None and classes.summaries() == []


def test_classes_follow_beats_added_and_deleted(reviewing):
    review, classes, _ = reviewing
    changed = []
    review.events.classes.connect(lambda: changed.append(True))
    table = review.session.table
    deleted = int(table.sample[50])
    review.select_row(50)
    review.mark_not_a_beat()
    added = int((table.sample[80] + table.sample[81]) // 2)
    review.label(added, NORMAL)  # a beat the detector missed
    assert changed == [True, True]
    ids = classes.class_ids()
    table = review.session.table
    assert ids[table.sample == deleted].tolist() == [-1] and ids[table.sample == added].item() >= 0
    assert sum(s.count for s in classes.summaries()) == np.count_nonzero(~table.deleted)
    review.undo()  # the added beat goes again
    assert changed == [True, True, True] and added not in classes.classes.sample
    review.select_row(10)
    review.label_selected(APC)  # a label is no change of the beats
    assert len(changed) == 3


def test_labels_splits_and_merges_survive_reopening_the_store(record):
    header, kinds = record
    review, classes = open_review(header)
    classes.label(ECTOPIC_V, VENTRICULAR)
    assert classes.split(SINUS, "shape") == 3 and classes.classes.n_classes == 4
    assert classes.merge(SINUS, 3) == SINUS and classes.classes.n_classes == 3 and classes.current == SINUS
    assert classes.split(SINUS, "coupling") == 3
    ids = classes.class_ids().copy()
    review.close()
    review, classes = open_review(header)
    assert np.array_equal(classes.class_ids(), ids)
    assert classes.summary(ECTOPIC_V).state_text() == "labelled V"
    review.close()


def test_a_template_is_the_median_beat_within_its_beats_spread(reviewing):
    review, classes, _ = reviewing
    band = classes.band(ECTOPIC_V)
    assert band.times_s[0] == pytest.approx(-0.25, abs=1 / FS) and band.times_s[-1] == pytest.approx(0.45, abs=1 / FS)
    assert np.all(band.low <= band.median) and np.all(band.median <= band.high)
    assert band.beats == len(classes.member_rows(ECTOPIC_V))
    # The ventricular beats' deep wide QRS (-1.4 mV in the synthetic lead) is their template's.
    assert band.median.min() < -1.0 < classes.band(SINUS).median.min()
    assert classes.band(ECTOPIC_V) is band  # kept while the classes stay


CLASS_LABELLER = textwrap.dedent("""
    import sys
    from danet_viewer.components.class_review import ClassReview
    from danet_viewer.components.review_model import ReviewModel
    from danet_viewer.core.readers import open_recording
    recording = open_recording(sys.argv[1])
    review = ReviewModel()
    review.open(recording)
    review.start_session(0, recording.read(0), "killer")
    classes = ClassReview(review)
    print("ready", flush=True)
    for i in range(int(sys.argv[2]), 10**6):
        class_id, symbol = i % 3, "AVNS"[(i // 3) % 4]
        print("begin", class_id, symbol, flush=True)
        classes.label(class_id, symbol, overwrite=True)
        print("done", class_id, symbol, flush=True)
""")


@pytest.mark.slow
def test_a_kill_during_a_class_label_loses_nothing_reported_saved(record):
    """A labeller is SIGKILLed at random instants while it labels whole classes; after each kill the store opens
    and every class holds one label throughout: the last one reported saved, or the one in flight."""
    header, _ = record
    rng = random.Random(17)
    saved: dict[int, str] = {}
    next_label, kills_in_flight = 0, 0
    for _ in range(6):
        labeller = subprocess.Popen([sys.executable, "-c", CLASS_LABELLER, str(header), str(next_label)],
                                    stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
        assert labeller.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.02, 0.3))
        labeller.send_signal(signal.SIGKILL)
        output, _ = labeller.communicate()
        in_flight = None
        for line in output.split("\n")[:-1]:  # a whole line is a report: the kill can cut the last one
            step, class_id, symbol = line.split()
            if step == "done":
                saved[int(class_id)], in_flight = symbol, None
            else:
                in_flight = (int(class_id), symbol)
            next_label += step == "done"
        kills_in_flight += in_flight is not None
        with AnnotationStore.open(default_store_path(header)) as store:
            classes, reviews = store.record("three").classes, store.record("three").reviews
            for class_id in range(classes.n_classes):
                labels = {reviews[int(s)].symbol if int(s) in reviews else "" for s in classes.members(class_id)}
                allowed = {saved.get(class_id, "")} | ({in_flight[1]} if in_flight and in_flight[0] == class_id
                                                      else set())
                assert len(labels) == 1 and labels <= allowed, (class_id, labels, allowed)
            if in_flight is not None:  # the label in flight may have been saved whole: then it counts as done
                kept = reviews.get(int(classes.members(in_flight[0])[0]))
                if kept is not None and kept.symbol == in_flight[1]:
                    saved[in_flight[0]] = in_flight[1]
                    next_label += 1
    assert len(saved) == 3 and next_label > 6 and kills_in_flight >= 2


def test_early_beats_split_off_at_the_proposed_coupling_and_labelled_with_one_undoable_key(reviewing):
    review, classes, kinds = reviewing
    classes.merge(SINUS, ECTOPIC_A)  # the APCs hidden among the sinus beats: what the exceptions phase meets
    apcs = set(review.session.table.sample[kinds == APC].tolist())
    assert classes.proposed_split(ECTOPIC_V) is None  # all early after a sinus beat: one mode
    proposal = classes.proposed_split(SINUS)
    assert proposal is not None and proposal.early == len(apcs) and proposal.members == np.sum(kinds != VENTRICULAR)
    # A reviewer's own label on one APC, given before: never overwritten by the class key.
    own = int(review.session.table.sample[np.flatnonzero(kinds == APC)[0]])
    review.label(own, "S")
    new_id = classes.split_at_proposal(SINUS)
    assert classes.current == new_id and set(classes.classes.members(new_id).tolist()) == apcs
    assert review.store.audit_log()[-1].action.startswith(f"split class {SINUS} at coupling ")
    assert classes.proposed_split(SINUS) is None  # the early mode is gone
    assert classes.label(new_id, APC) == len(apcs) - 1  # one key, one undoable step
    reviews = review.store.record("three").reviews
    assert reviews[own].symbol == "S" and {reviews[s].symbol for s in apcs - {own}} == {APC}
    review.undo()
    assert set(review.store.record("three").reviews) == {own}
    notes = []
    review.events.status.connect(lambda message, _timeout: notes.append(message))
    assert classes.split_at_proposal(SINUS) is None and "propose no split" in notes[-1]


def test_a_class_is_paged_through_the_earliest_beat_first_by_prematurity(reviewing):
    review, classes, kinds = reviewing
    classes.merge(SINUS, ECTOPIC_A)
    classes.select(SINUS)
    classes.set_paging("prematurity")
    rows = classes.paged_rows(SINUS)
    apc_rows = set(np.flatnonzero(kinds == APC).tolist())
    assert set(rows[: len(apc_rows)].tolist()) == apc_rows  # the early beats first
    assert review.selected == rows[0] and classes.position() == (1, len(rows))
    classes.step(True)
    assert review.selected == rows[1] and classes.position() == (2, len(rows))
    classes.step(False)
    classes.step(False)  # before the first: stays
    assert review.selected == rows[0]
    classes.set_paging("time")
    assert np.array_equal(classes.paged_rows(SINUS), classes.member_rows(SINUS))
    with pytest.raises(ValueError, match="choose from"):
        classes.set_paging("size")


def stored_classes(review: ReviewModel):
    return review.store.record("three").classes


def test_a_split_is_one_undoable_step_that_puts_the_classes_back_exactly_and_no_beat_label(reviewing, record):
    review, classes, kinds = reviewing
    own = int(review.session.table.sample[np.flatnonzero(kinds == APC)[0]])
    review.label(own, "S")  # a reviewer's own beat label, before the split
    before = stored_classes(review)
    changed = []
    review.events.classes.connect(lambda: changed.append(classes.classes.n_classes))
    new_id = classes.split(SINUS, "coupling")
    after = stored_classes(review)
    assert new_id == 3 and after.n_classes == 4 and changed == [4]
    assert after.counts[SINUS] + after.counts[new_id] == before.counts[SINUS]
    classes.select(new_id)
    review.undo()
    # Members, ids, templates, quartiles, p(APC), centroids: the classes before it, and the labels as they were.
    assert stored_classes(review).same_as(before) and changed == [4, 3] and classes.current is None
    assert {sample: r.symbol for sample, r in review.store.record("three").reviews.items()} == {own: "S"}
    assert review.store.audit_log()[-1].action == f"undo split class {SINUS} by coupling: " + after_split_words(after)
    review.undo()  # the next step back is the beat label
    assert review.store.record("three").reviews == {} and not review.session.can_undo
    review.redo()
    review.redo()
    assert stored_classes(review).same_as(after) and review.store.record("three").reviews[own].symbol == "S"
    review.undo()
    review.close()
    review, classes = open_review(record[0])  # the store keeps what the undo put back
    assert stored_classes(review).same_as(before)
    review.close()


def after_split_words(after) -> str:
    """"N of M beats to class K" of the split that made ``after``'s last class."""
    moved = int(after.counts[-1])
    return f"{moved} of {moved + int(after.counts[SINUS])} beats to class {after.n_classes - 1}"


def test_a_merge_is_undone_as_one_step_and_a_class_label_given_before_it_stays(reviewing):
    review, classes, kinds = reviewing
    assert classes.label(ECTOPIC_A, APC) == np.sum(kinds == APC)
    before = stored_classes(review)
    assert classes.merge(SINUS, ECTOPIC_A) == SINUS and stored_classes(review).n_classes == 2
    merged = stored_classes(review)
    review.undo()
    assert stored_classes(review).same_as(before)
    assert members_labels(review, classes, ECTOPIC_A) == {APC} and members_labels(review, classes, SINUS) == {""}
    review.redo()
    assert stored_classes(review).same_as(merged) and members_labels(review, classes, SINUS) == {"", APC}
    review.undo()
    review.undo()  # then the class label
    assert not review.session.table.reviewed.any() and stored_classes(review).same_as(before)


def test_a_split_at_the_proposal_is_undone_and_its_beats_labelled_in_between_keep_their_labels(reviewing):
    review, classes, kinds = reviewing
    classes.merge(SINUS, ECTOPIC_A)
    merged = stored_classes(review)
    new_id = classes.split_at_proposal(SINUS)
    assert classes.label(new_id, APC) == np.sum(kinds == APC)
    review.undo()  # the class label
    review.undo()  # the split
    assert stored_classes(review).same_as(merged) and not review.session.table.reviewed.any()
    review.undo()  # the merge
    assert stored_classes(review).n_classes == 3 and not review.session.can_undo


def test_undoing_a_split_after_a_beat_was_deleted_and_put_back_restores_both(reviewing):
    review, classes, _ = reviewing
    before = stored_classes(review)
    new_id = classes.split(SINUS, "coupling")
    review.select_row(int(classes.member_rows(new_id)[1]))
    review.mark_not_a_beat()  # the beat leaves the new class
    assert len(stored_classes(review).sample) == len(before.sample) - 1
    review.undo()  # back: it rejoins a half of the split (both share their parent's centroid)
    assert np.array_equal(stored_classes(review).sample, before.sample)
    review.undo()
    assert stored_classes(review).same_as(before) and new_id == 3
    assert not review.session.table.reviewed.any()


def test_a_split_is_not_undone_over_beats_added_outside_the_history(reviewing):
    review, classes, _ = reviewing
    classes.split(SINUS, "coupling")
    # An import of the same classes less one beat (beats that went without a step of this history).
    split = stored_classes(review)
    fewer = split.with_members(split.sample[1:], split.class_id[1:], split.distance[1:])
    review.store.set_beat_classes("three", fewer, who="import")
    refused = []
    review.events.refused.connect(refused.append)
    review.undo()
    assert "changed since (beats added or deleted)" in refused[-1] and stored_classes(review) is fewer
    assert review.session.can_undo  # still there to undo once the beats are back


class Deferred:
    """A runner that works a class edit out only when told (as the window's worker thread does, later)."""

    def __init__(self) -> None:
        self.pending = None
        self.stopped = 0

    def run(self, work, finish) -> None:
        self.pending = (work, finish)

    def finish(self, cancel: bool = False) -> None:
        work, finish = self.pending
        self.pending = None
        finish(None if cancel else work(lambda _done: None))

    def stop(self) -> None:
        self.pending = None
        self.stopped += 1


def test_a_split_worked_out_later_is_stored_then_and_no_other_edit_starts_meanwhile(reviewing):
    review, classes, _ = reviewing
    classes.runner = runner = Deferred()
    working, notes = [], []
    classes.events.working.connect(lambda: working.append(classes.working))
    review.events.status.connect(lambda message, _timeout: notes.append(message))
    assert classes.split(SINUS, "coupling") is None and stored_classes(review).n_classes == 3
    assert working == [f"Splitting class {SINUS} by coupling"]
    assert classes.merge(SINUS, ECTOPIC_V) is None and "wait for it" in notes[-1] and runner.pending
    runner.finish()
    assert working[-1] == "" and stored_classes(review).n_classes == 4 and review.session.can_undo
    classes.split(SINUS, "shape")
    runner.finish(cancel=True)
    assert stored_classes(review).n_classes == 4 and "cancelled" in notes[-1]
    # Worked out from classes an undo has changed meanwhile: refused, the undo kept.
    refused = []
    review.events.refused.connect(refused.append)
    classes.merge(SINUS, ECTOPIC_V)
    review.undo()
    runner.finish()
    assert "changed while this was worked out" in refused[-1] and stored_classes(review).n_classes == 3
    # The record goes while one is worked out: dropped with it.
    classes.split(SINUS, "coupling")
    review.close()
    assert runner.stopped == 1 and runner.pending is None and classes.working == ""


def test_each_class_proposes_the_model_s_call_on_most_of_its_beats(reviewing):
    review, classes, _ = reviewing
    # The fixture's model calls every APC (p 0.55 at a threshold of 0.5) and no other beat.
    assert {s.class_id: s.proposal for s in classes.summaries()} == {SINUS: NORMAL, ECTOPIC_V: NORMAL, ECTOPIC_A: APC}
    assert classes.confirm_model(ECTOPIC_A) == len(classes.member_rows(ECTOPIC_A))
    assert members_labels(review, classes, ECTOPIC_A) == {APC}


def test_accepting_the_proposals_is_one_undoable_journalled_step_that_keeps_a_reviewer_s_own_labels(reviewing):
    review, classes, kinds = reviewing
    classes.label(ECTOPIC_V, VENTRICULAR)  # a class the reviewer labelled: left whole
    own = int(review.session.table.sample[classes.member_rows(SINUS)[5]])
    review.label(own, APC)  # a reviewer's own beat label in a class otherwise unreviewed: kept
    plan = classes.proposal_plan()
    sinus, apcs = int(np.sum(kinds == NORMAL)) - 1, int(np.sum(kinds == APC))
    assert plan.classes == (SINUS, ECTOPIC_A)
    assert plan.text() == f"1 as N ({sinus} beats), 1 as A ({apcs} beats)"
    journal_lines = len(review.store.journal_path.read_bytes().splitlines())
    assert classes.accept_proposals() == sinus + apcs
    assert len(review.store.journal_path.read_bytes().splitlines()) == journal_lines + 1
    entry = review.store.audit_log()[-1]
    assert (entry.action, entry.who) == (f"accept_proposals 2 classes, {sinus + apcs} beats", "dr test")
    assert entry.after == f"{sinus} N, {apcs} A"
    reviews = review.store.record("three").reviews
    assert reviews[own].symbol == APC
    assert members_labels(review, classes, SINUS) == {NORMAL, APC}
    assert members_labels(review, classes, ECTOPIC_A) == {APC}
    assert members_labels(review, classes, ECTOPIC_V) == {VENTRICULAR}
    assert {s.state for s in classes.summaries()} == {ClassState.LABELLED}
    assert classes.accept_proposals() == 0  # nothing left to accept
    review.undo()  # one step: every beat it labelled is unreviewed again, the rest as before
    assert members_labels(review, classes, ECTOPIC_A) == {""} and reviews[own].symbol == APC
    assert set(review.store.beat_table("three").review_symbol[classes.member_rows(SINUS)]) == {"", APC}
    assert members_labels(review, classes, ECTOPIC_V) == {VENTRICULAR}
    assert review.store.audit_log()[-1].action == f"undo accept_proposals 2 classes, {sinus + apcs} beats"
    review.redo()
    assert members_labels(review, classes, ECTOPIC_A) == {APC} and reviews[own].symbol == APC


def test_the_proposals_are_not_accepted_while_a_split_is_worked_out(reviewing):
    review, classes, _ = reviewing
    classes.runner = runner = Deferred()
    notes = []
    review.events.status.connect(lambda message, _timeout: notes.append(message))
    classes.split(SINUS, "coupling")
    assert classes.accept_proposals() == 0 and "wait for it" in notes[-1]
    assert not review.session.table.reviewed.any()
    runner.finish()
    assert classes.accept_proposals() == len(review.session.table)


def test_a_class_whose_qrs_differs_has_no_proposal_and_space_says_why(reviewing, monkeypatch):
    from danet_viewer.components import class_review

    review, classes, _ = reviewing
    # The fixture regroups the classes by kind without their centroids: the QRS test (tests/core) is stood in for.
    monkeypatch.setattr(class_review, "qrs_unlike_reference", lambda table: np.arange(table.n_classes) == ECTOPIC_V)
    notes = []
    review.events.status.connect(lambda message, _timeout: notes.append(message))
    ventricular = classes.summary(ECTOPIC_V)
    assert ventricular.qrs_unlike and ventricular.proposal == ""
    assert classes.confirm_model(ECTOPIC_V) == 0
    assert notes[-1] == f"Class {ECTOPIC_V} has no proposal (its QRS differs from the record's beat): type its label"
    assert not review.session.table.reviewed[classes.member_rows(ECTOPIC_V)].any()
    assert classes.summary(ECTOPIC_A).proposal and classes.confirm_model(ECTOPIC_A) > 0
