"""Review effort with beat classes against beat-by-beat review, a reviewer played on every DS2 record.

Run: nice -n 10 .venv/bin/python benchmarks/bench_review_effort.py [--set {ds1,svdb}] [--fresh] [--skip-24h]
(needs ../shared/data/mitdb; about 5 min on 2 cores, analysed stores cached under .cache/review-effort).

Per record, through the real store and commands: ``analyse_recording`` (beat detection, the
bundled model, the beat classes) and ``import_annotations`` (the reference, kept apart from
reviews) fill a store; the reviewer knows the reference (.atr) label of every detected beat
(matched within 150 ms; a detection with no reference beat is not-a-beat) and plays two ways:

- Classes, as a Holter reader works (sessions 12 and 13): each tile shows the tool's proposed label
  (``class_proposals``: the model's call on most of the class's beats). The reader goes through
  the classes in the tool's order (``class_review_order``: where the model's verdicts disagree
  with the class's timing first) and labels only those whose majority reference label differs
  from the proposal on what the goal counts (SVEB or not), one action each (``label_class``).
  Where the tool proposes a coupling split of a class (``proposed_coupling_split``: the early
  half of its prematurity histogram has two modes), the reader sees the early beats, and where
  labelling them apart helps the record, splits there (one action, ``split_class_at``) and
  labels each part whose majority differs from its proposal (a split proposal left costs
  nothing more). Then the reader accepts the proposals for every class still unreviewed
  (one action, ``accept_proposals``) where that raises the record's SVEB F1. Then the
  exceptions in the beat gallery (session 13, ``gallery_sections``): class by class (the classes
  by their summed doubt, each class's beats the most doubtful first, the doubt the model's, the
  distance from the class centroid and the beat's prematurity), ``GALLERY_PAGE_BEATS`` (24)
  beats a page; one action to look at a page and one per beat on it corrected with its reference
  label; the reader leaves a class after ``GALLERY_PATIENCE`` page with nothing to correct, and
  ends with the whole record's pages by doubt (``review_order``). Both stop as soon as the
  record's SVEB F1 is >= 0.95, as the beat-by-beat reviewer does; a record where the model
  already meets the goal needs no action either way and has no ratio. A page counts as one
  action as a Tab to the next beat does; the beats it shows are counted beside.
- What the classes add (same run): no class labelled, the gallery's last section (the whole
  record by doubt) paged from the start, one action a page and one a correction.
- Session 12's Holter reader, kept for comparison (same run): the same class phase, then the
  exceptions one beat at a time, one action per beat visited, in the same order (``class_pages``),
  leaving a class after ``PATIENCE`` beats in a row that needed no correction, then the beats
  left in ``review_order``.
- The floor for the exceptions: after the class labels and splits, the fewest beats whose
  correction takes the record to the goal; no order of exceptions, one beat or a page at a time,
  does better.
- Beat by beat, today's review queue: the model's APC candidates in time order (Tab), one
  action each; then, where the model missed APCs, the other beats by falling p(APC) (a generous
  reviewer: today's tool gives no order beyond time), until SVEB F1 >= 0.95.
- The quality of the classes on their own: SVEB F1 once every class carries its majority
  reference label (on a copy of the store), whatever the goal.

SVEB F1 counts detected beats: a beat is called SVEB by its reviewed label where it has one,
else by the model's verdict; missed reference beats are out of both sides. A record with no
SVEB beat and none called scores 1. Labels go through ``ReviewSession.label`` (journalled
edits) and ``label_class``; each figure is checked against the store's own beat table.

The class features and parameters were chosen on MIT-BIH DS1 and svdb (``--set ds1``, ``--set
svdb``), the review orders on svdb (which the bundled model never saw), the Holter reader's
prematurity weight, paging and patience on svdb and DS1; DS2 is reported here, run once they were
fixed. Earlier sessions' DS2 runs (other classes, orders and readers) are in git history.
Also measured: beat classes of a 24 h record (all 48 mitdb records joined, ~110 000 beats), wall
and CPU time, with the load average at the time.

The AAMI patient-specific protocol (the first 5 minutes of every DS2 record reviewed, retraining
through the menu's code path, SVEB F1 on the rest) is ``benchmarks/bench_adaptation.py --aami``'s.
Writes benchmarks/results/review-effort.md (DS2 only).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from danet_viewer.components.review_session import ReviewSession  # noqa: E402
from danet_viewer.core.aami import SVEB_SYMBOLS, aami_class  # noqa: E402
from danet_viewer.core.analysis import analyse_recording, import_annotations  # noqa: E402
from danet_viewer.core.beat_classes import (  # noqa: E402
    GALLERY_PAGE_BEATS,
    PROPOSED_APC,
    accept_proposals,
    beat_class_ids,
    class_pages,
    class_proposals,
    class_review_order,
    compute_beat_classes,
    gallery_sections,
    label_class,
    proposal_plan,
    qrs_unlike_reference,
    review_order,
    update_beat_classes,
)
from danet_viewer.core.beats import MATCH_TOLERANCE_S, match_beats  # noqa: E402
from danet_viewer.core.class_edits import coupling_ratios, proposed_coupling_split, split_class_at  # noqa: E402
from danet_viewer.core.readers import open_recording  # noqa: E402
from danet_viewer.core.store import NOT_A_BEAT, AnnotationStore, BeatClassTable  # noqa: E402
from training.mitdb import DS1, DS2, mitdb_dir  # noqa: E402

RESULTS = REPO / "benchmarks" / "results"
CACHE = REPO / ".cache" / "review-effort"
GOAL_F1 = 0.95
REVIEWER = "bench"
# The Holter reader leaves a class's exceptions after this many beats in a row that needed no correction (chosen on
# svdb and DS1 with the prematurity's weight: 5, 10 and 15 tried).
PATIENCE = 10
# The gallery reader leaves a class after this many pages in a row with nothing to correct (chosen on svdb and DS1:
# 1, 2 and every page tried; 1 took the fewest actions on both).
GALLERY_PATIENCE = 1


def sveb_counts(truth: np.ndarray, called: np.ndarray) -> np.ndarray:
    return np.array([np.sum(truth & called), np.sum(~truth & called), np.sum(truth & ~called)])


def f1(counts: np.ndarray) -> float:
    tp, fp, fn = counts
    return 1.0 if tp + fp + fn == 0 else 2 * tp / (2 * tp + fp + fn)


def called_sveb(session: ReviewSession) -> np.ndarray:
    table = session.table
    return np.where(table.reviewed, np.isin(table.review_symbol, list(SVEB_SYMBOLS)), table.model_apc == 1)


class Player:
    """A reviewer who knows each beat's reference label and counts what they do."""

    def __init__(self, store: AnnotationStore, record: str, fs: float) -> None:
        self.session = ReviewSession(store, record, REVIEWER)
        stored = store.record(record)
        table = self.session.table
        self.truth_symbol = np.full(len(table), NOT_A_BEAT, object)
        ref, det = match_beats(stored.reference_sample, table.sample, round(MATCH_TOLERANCE_S * fs))
        self.truth_symbol[det] = stored.reference_symbol[ref]
        self.truth = np.isin(self.truth_symbol, list(SVEB_SYMBOLS))
        self.called = called_sveb(self.session)
        self.counts = sveb_counts(self.truth, self.called)
        self.actions = 0
        self.pages = 0  # gallery pages looked at (each one action)
        self.shown = 0  # beats on them

    @property
    def f1(self) -> float:
        return f1(self.counts)

    def label(self, row: int, symbol: str) -> None:
        """One action: the beat at ``row`` gets ``symbol``; F1 follows at once."""
        self.session.label(int(self.session.table.sample[row]), symbol)
        self._set_called(np.array([row]), symbol in SVEB_SYMBOLS)
        self.actions += 1

    def _set_called(self, rows: np.ndarray, sveb: bool) -> None:
        before = sveb_counts(self.truth[rows], self.called[rows])
        self.called[rows] = sveb
        self.counts += sveb_counts(self.truth[rows], self.called[rows]) - before

    def majority(self, rows: np.ndarray) -> str:
        """The most common reference symbol of the commonest AAMI class among ``rows`` (what the reviewer types)."""
        symbols = self.truth_symbol[rows]
        classes = np.array([aami_class(s) if s != NOT_A_BEAT else NOT_A_BEAT for s in symbols], dtype=object)
        values, counts = np.unique(classes, return_counts=True)
        majority = values[np.argmax(counts)]
        chosen = symbols[classes == majority]
        names, frequency = np.unique(chosen, return_counts=True)
        return str(names[np.argmax(frequency)])

    def label_class(self, class_id: int, ids: np.ndarray, symbol: str | None = None) -> None:
        """One action: the class's unreviewed beats get ``symbol`` (by default its majority reference label)."""
        members = np.flatnonzero(ids == class_id)
        symbol = self.majority(members) if symbol is None else symbol
        store, record = self.session.store, self.session.record
        unreviewed = members[~self.session.table.reviewed[members]]
        label_class(store, record, class_id, symbol, reviewer=REVIEWER)
        self.session.table = store.beat_table(record)
        self._set_called(unreviewed, symbol in SVEB_SYMBOLS)
        self.actions += 1

    def differs(self, rows: np.ndarray, proposal: str) -> bool:
        """Whether the reader labels ``rows`` (a class) rather than leave it to the accepted proposals: where the
        majority reference label and the tool's ``proposal`` disagree on what the goal counts, SVEB or not; where
        the class has no proposal (its QRS unlike the record's), where its majority label would set right more of
        its beats' calls than it sets wrong (the model's false APCs among ventricular or noise beats)."""
        if not proposal:
            unreviewed = rows[~self.session.table.reviewed[rows]]
            truth, sveb = self.truth[unreviewed], self.majority(rows) in SVEB_SYMBOLS
            return int(np.sum(truth == sveb)) > int(np.sum(truth == self.called[unreviewed]))
        return (self.majority(rows) in SVEB_SYMBOLS) != (proposal == PROPOSED_APC)

    def proposals(self):
        """What accepting the proposals would label now (``proposal_plan``)."""
        store, record, table = self.session.store, self.session.record, self.session.table
        classes = store.record(record).classes
        return proposal_plan(beat_class_ids(store, record), table.model_apc, table.reviewed,
                             qrs_unlike_reference(classes))

    def f1_if_labelled(self, rows: np.ndarray, symbol: str) -> float:
        """The record's SVEB F1 were the unreviewed beats of ``rows`` labelled ``symbol``."""
        called = self.called.copy()
        called[rows[~self.session.table.reviewed[rows]]] = symbol in SVEB_SYMBOLS
        return f1(sveb_counts(self.truth, called))

    def f1_if_accepted(self) -> float:
        plan, called = self.proposals(), self.called.copy()
        called[plan.rows] = plan.symbols == PROPOSED_APC
        return f1(sveb_counts(self.truth, called))

    def accept(self) -> int:
        """One action: every unreviewed beat of a class gets its class's proposal; returns how many beats."""
        store, record = self.session.store, self.session.record
        plan = accept_proposals(store, record, reviewer=REVIEWER)
        self.session.table = store.beat_table(record)
        rows = plan.rows
        before = sveb_counts(self.truth[rows], self.called[rows])
        self.called[rows] = plan.symbols == PROPOSED_APC
        self.counts += sveb_counts(self.truth[rows], self.called[rows]) - before
        self.actions += 1
        return len(rows)

    def f1_if(self, parts: list[np.ndarray]) -> float:
        """The record's SVEB F1 were each of ``parts`` (rows) labelled with its majority (its unreviewed beats)."""
        called = self.called.copy()
        for rows in parts:
            rows = rows[~self.session.table.reviewed[rows]]
            called[rows] = self.majority(rows) in SVEB_SYMBOLS if len(rows) else called[rows]
        return f1(sveb_counts(self.truth, called))

    def split(self, recording, class_id: int, threshold: float) -> int:
        """One action: split the class at the coupling ``threshold`` (``split_class_at``); returns the new class."""
        new_id = split_class_at(self.session.store, recording, class_id, threshold, who=REVIEWER)
        self.actions += 1
        return new_id

    def check(self) -> None:
        """The counts kept along the way are the store's: recomputed from its beat table."""
        stored = sveb_counts(self.truth, called_sveb(self.session))
        assert np.array_equal(stored, self.counts), (stored, self.counts)

    def review(self, rows: np.ndarray, patience: int | None = None) -> np.ndarray:
        """Visit ``rows`` in order, one action each, until F1 reaches the goal, or (with ``patience``) until that many
        in a row needed no correction; returns the rows visited."""
        quiet = 0
        for at, row in enumerate(rows):
            if self.f1 >= GOAL_F1 or (patience is not None and quiet >= patience):
                return rows[:at]
            wrong = self.called[row] != self.truth[row]
            self.label(row, str(self.truth_symbol[row]))
            quiet = 0 if wrong else quiet + 1
        return rows

    def review_pages(self, rows: np.ndarray, patience: int | None = None) -> None:
        """Page through ``rows`` in the gallery, ``GALLERY_PAGE_BEATS`` a page: one action to look at a page, one per
        beat on it corrected (with its reference label), until F1 reaches the goal, or (with ``patience``) until that
        many pages in a row needed no correction."""
        quiet = 0
        for start in range(0, len(rows), GALLERY_PAGE_BEATS):
            if self.f1 >= GOAL_F1 or (patience is not None and quiet >= patience):
                return
            page = rows[start : start + GALLERY_PAGE_BEATS]
            wrong = page[self.called[page] != self.truth[page]]
            self.actions += 1
            self.pages += 1
            self.shown += len(page)
            for row in wrong:
                if self.f1 >= GOAL_F1:
                    return
                self.label(row, str(self.truth_symbol[row]))
            quiet = 0 if len(wrong) else quiet + 1


@dataclass
class RecordResult:
    record: str
    beats: int
    sveb: int
    classes: int
    class_counts: np.ndarray  # SVEB TP, FP, FN with one majority label per class
    class_actions: int  # the Holter reader's: class labels, splits at proposed couplings, exceptions
    exceptions: int
    splits: int  # proposed coupling splits taken (each a split and a label)
    declined: int  # proposed coupling splits the reader looked at and left (labelling the early part did not help)
    accepted: int  # beats labelled by accepting the proposals (0: the reader did not accept them)
    pages: int  # gallery pages the reader looked at (one action each)
    shown: int  # beats on them
    fewest_fixes: int  # after the class labels and splits, the fewest beats whose correction reaches the goal
    one_at_a_time_actions: int  # session 12's Holter reader: the same class phase, then exceptions one beat at a time
    pages_only_actions: int  # no class labels: the whole record's gallery pages by doubt from the start
    beat_actions: int
    queue: int  # the model's APC candidates: what today's queue holds before any review
    model_f1: float  # SVEB F1 of the model's verdicts, before any review
    classes_s: float

    @property
    def whole_queue_actions(self) -> int:
        """Beat by beat, for a reviewer who cannot see when the goal is reached: at least every candidate."""
        return max(self.beat_actions, self.queue)

    @property
    def every_class_actions(self) -> int:
        """With classes, for a reviewer who cannot see when the goal is reached: at least every class."""
        return max(self.class_actions, self.classes)


def analysed_store(name: str, folder: Path, scratch: Path, fresh: bool) -> Path:
    """A copy of the record's analysed store (detection, model, reference): cached, it is built once."""
    from danet_viewer.model.inference import BeatModel

    cached = CACHE / f"{folder.name}-{name}.h5"
    if fresh or not cached.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        for old in CACHE.glob(f"{cached.name}*"):
            old.unlink()
        recording = open_recording(folder / name)
        with AnnotationStore.open(scratch / "building.h5", "a") as store:
            analyse_recording(recording, store, who=REVIEWER, model=BeatModel())
            import_annotations(recording, store, "atr", as_review=False, who=REVIEWER)
        shutil.move(scratch / "building.h5", cached)
    copy = scratch / f"{name}.h5"
    shutil.copy(cached, copy)
    return copy


def play(name: str, folder: Path, scratch: Path, fresh: bool) -> RecordResult:
    path = analysed_store(name, folder, scratch, fresh)
    recording = open_recording(folder / name)
    with AnnotationStore.open(path, "a") as store:
        # Computed afresh (the cache may hold an older version's), and timed: the classes' own cost.
        table = store.beat_table(name)
        lead = recording.lead_index(store.record(name).analysis_lead)
        started = time.perf_counter()
        classes = compute_beat_classes(recording, lead, table.sample[~table.deleted], table)
        classes_s = time.perf_counter() - started
        store.set_beat_classes(name, classes, who=REVIEWER)
        assert update_beat_classes(store, recording, who=REVIEWER) is store.record(name).classes  # current
        fs = store.record(name).fs
        baseline = Player(store, name, fs)
        sveb = int(baseline.truth.sum())
        queue = baseline.session.unreviewed_candidates()
        rest = np.setdiff1d(np.flatnonzero(~baseline.session.table.deleted), queue)
        rest = rest[np.argsort(-np.nan_to_num(baseline.session.table.p_apc[rest], nan=0.0), kind="stable")]
        # Beat by beat and the other readers are measured on copies, so each starts from the same analysed store.
        beat_actions = _beat_by_beat(path, name, fs, queue, rest, scratch)
        class_counts = _every_class_labelled(path, name, fs, classes, scratch)
        one_at_a_time_actions = _one_at_a_time_copy(path, name, fs, classes, recording, scratch)
        pages_only_actions = _pages_only_copy(path, name, fs, classes, scratch)
        player = Player(store, name, fs)
        splits, declined, accepted = _label_and_split_classes(player, recording)
        player.check()
        labelled = player.actions
        fewest = fewest_fixes(*player.counts)
        _gallery_exceptions(player)
        return RecordResult(
            name,
            len(player.truth),
            sveb,
            classes.n_classes,
            class_counts,
            player.actions,
            player.actions - labelled,
            splits,
            declined,
            accepted,
            player.pages,
            player.shown,
            fewest,
            one_at_a_time_actions,
            pages_only_actions,
            beat_actions,
            len(queue),
            baseline.f1,
            classes_s,
        )


def _gallery_exceptions(player: Player) -> None:
    """The Holter reader's exceptions in the beat gallery (``gallery_sections``): each class a page at a time, leaving
    it after ``GALLERY_PATIENCE`` pages in a row with nothing to correct, then the whole record's pages by doubt."""
    store, name = player.session.store, player.session.record
    for class_id, rows in gallery_sections(store, name):
        player.review_pages(rows, GALLERY_PATIENCE if class_id >= 0 else None)
    player.check()


def _exceptions(player: Player) -> None:
    """Session 12's exceptions, one beat at a time: class by class (``class_pages``), leaving a class after
    ``PATIENCE`` beats in a row with nothing to correct, then the beats left in ``review_order``."""
    store, name = player.session.store, player.session.record
    visited = [player.review(rows, PATIENCE) for _, rows in class_pages(store, name)]
    rest = review_order(store, name)
    player.review(rest[~np.isin(rest, np.concatenate([np.empty(0, np.int64), *visited]))])
    player.check()


def _label_and_split_classes(player: Player, recording) -> tuple[int, int, int]:
    """The Holter reader's class phase, until the goal: each class in the tool's order, split first where the tool
    proposes a coupling split and labelling its early part apart helps (the reader sees its beats: one action to
    split, one per label), else labelled whole. The reader labels only the classes (and split parts) whose majority
    reference label differs from the tool's proposal (``class_proposals``), then accepts the proposals for the rest
    in one action where that raises the record's F1. Returns the splits taken,
    those looked at and left, and the beats the accepted proposals labelled."""
    store, name, fs = player.session.store, player.session.record, player.session.store.record(player.session.record).fs
    splits = declined = 0

    def label_unless_proposed(class_id: int, ids: np.ndarray) -> None:
        members = np.flatnonzero(ids == class_id)
        proposal = class_proposals(ids, player.session.table.model_apc,
                                   qrs_unlike_reference(store.record(name).classes))
        if player.differs(members, proposal[class_id]):
            player.label_class(class_id, ids)

    coupling = coupling_ratios(store.record(name).classes.sample, fs)
    for class_id in class_review_order(store, name):
        if player.f1 >= GOAL_F1:
            break
        ids = beat_class_ids(store, name)
        proposal = proposed_coupling_split(store.record(name).classes, int(class_id), fs, coupling)
        if proposal is not None:
            members = np.flatnonzero(ids == class_id)
            at = np.searchsorted(store.record(name).classes.sample, player.session.table.sample[members])
            early = coupling[at, 1] < proposal.threshold
            if player.f1_if([members[early], members[~early]]) > player.f1_if([members]):
                new_id = player.split(recording, int(class_id), proposal.threshold)
                ids = beat_class_ids(store, name)
                label_unless_proposed(int(class_id), ids)
                label_unless_proposed(new_id, ids)
                splits += 1
                continue
            declined += 1
        label_unless_proposed(int(class_id), ids)
    accepted = 0
    if player.f1 < GOAL_F1 and player.f1_if_accepted() > player.f1:
        accepted = player.accept()
    else:
        _confirm_classes(player)
    return splits, declined, accepted


def _confirm_classes(player: Player) -> None:
    """Where accepting every proposal at once would not help (the model's own calls in the classes left are better
    than their proposals: a few true APCs it calls in a class of normal beats), the reader confirms the proposal of
    each class that helps, one action each (Space on its tile), in the tool's order, until the goal."""
    store, name = player.session.store, player.session.record
    for class_id in class_review_order(store, name):
        if player.f1 >= GOAL_F1:
            return
        ids = beat_class_ids(store, name)
        proposal = class_proposals(ids, player.session.table.model_apc,
                                   qrs_unlike_reference(store.record(name).classes))
        members = np.flatnonzero(ids == class_id)
        if proposal[class_id] and player.f1_if_labelled(members, proposal[class_id]) > player.f1:
            player.label_class(int(class_id), ids, proposal[class_id])


@contextmanager
def _player_on_copy(path: Path, name: str, fs: float, classes: BeatClassTable | None, scratch: Path,
                    reader: str) -> Iterator[Player]:
    """A reader on a copy of the analysed store (each reader starts from the same one), given ``classes`` (the copy
    may hold the cache's older ones); its counts are checked against the store's when it is done."""
    copy = scratch / f"{name}-{reader}.h5"
    shutil.copy(path, copy)
    with AnnotationStore.open(copy, "a") as store:
        if classes is not None:
            store.set_beat_classes(name, classes, who=REVIEWER)
        player = Player(store, name, fs)
        yield player
        player.check()


def _one_at_a_time_copy(path: Path, name: str, fs: float, classes: BeatClassTable, recording, scratch: Path) -> int:
    """Session 12's Holter reader (the same class phase, then the exceptions one beat at a time); its actions."""
    with _player_on_copy(path, name, fs, classes, scratch, "one-at-a-time") as player:
        _label_and_split_classes(player, recording)
        _exceptions(player)
    return player.actions


def _pages_only_copy(path: Path, name: str, fs: float, classes: BeatClassTable, scratch: Path) -> int:
    """What the classes add to the gallery: no class labelled, the whole record's pages by doubt (the last section of
    ``gallery_sections``) from the first; its actions."""
    with _player_on_copy(path, name, fs, classes, scratch, "pages-only") as player:
        player.review_pages(review_order(player.session.store, name))
    return player.actions


def fewest_fixes(tp: int, fp: int, fn: int) -> int:
    """The fewest single-beat corrections (a missed APC found, a false one cleared) that take F1 to the goal."""
    fixes = 0
    while f1(np.array([tp, fp, fn])) < GOAL_F1:
        if fn and (not fp or f1(np.array([tp + 1, fp, fn - 1])) >= f1(np.array([tp, fp - 1, fn]))):
            tp, fn = tp + 1, fn - 1
        else:
            fp -= 1
        fixes += 1
    return fixes


def _every_class_labelled(path: Path, name: str, fs: float, classes: BeatClassTable, scratch: Path) -> np.ndarray:
    """SVEB TP, FP, FN once every class carries its majority reference label."""
    with _player_on_copy(path, name, fs, classes, scratch, "every-class") as player:
        ids = beat_class_ids(player.session.store, name)
        for class_id in range(classes.n_classes):
            player.label_class(class_id, ids)
    return player.counts.copy()


def _beat_by_beat(path: Path, name: str, fs: float, queue: np.ndarray, rest: np.ndarray, scratch: Path) -> int:
    with _player_on_copy(path, name, fs, None, scratch, "beat-by-beat") as player:
        player.review(np.concatenate([queue, rest]))
    return player.actions


def time_24h(scratch: Path) -> str:
    """Beat classes of a 24 h record from its stored beats: wall and CPU seconds, and the load around."""
    from benchmarks.bench_core import join_all_records
    from danet_viewer.core.analysis import register_recording
    from danet_viewer.core.beats import DETECTOR, detect_recording_beats

    recording = open_recording(join_all_records(mitdb_dir(), scratch))
    lead = recording.preferred_lead()
    beats = detect_recording_beats(recording, lead)
    with AnnotationStore.open(scratch / "24h.h5", "a") as store:
        register_recording(recording, store, REVIEWER)
        store.set_beats(recording.name, beats, detector=DETECTOR, lead=recording.lead_names[lead], who=REVIEWER)
        load_before = os.getloadavg()[0]
        wall, cpu = time.perf_counter(), time.process_time()
        classes = update_beat_classes(store, recording, who=REVIEWER)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        again = time.perf_counter()
        update_beat_classes(store, recording, who=REVIEWER)
        again = time.perf_counter() - again
    return (
        f"24 h record ({recording.duration_s / 3600:.1f} h, all 48 mitdb records joined, {len(beats)} beats, "
        f"{classes.n_classes} classes): beat classes (features of both leads, mixture, templates, store write) "
        f"in {wall:.1f} s wall, {cpu:.1f} s CPU, load average {load_before:.1f} before and "
        f"{os.getloadavg()[0]:.1f} after on {os.cpu_count()} cores (other engineers' work); "
        f"with the beats unchanged, updating them again took {again:.3f} s."
    )


def ratio(beat_actions: int, class_actions: int) -> float:
    """Beat-by-beat actions over class actions; NaN where neither needs any (the model already meets the goal)."""
    if class_actions == 0:
        return np.nan if beat_actions == 0 else np.inf
    return beat_actions / class_actions


def table(results: list[RecordResult]) -> list[str]:
    lines = [
        "| record | beats | SVEB | model F1 | classes | every class labelled: F1 | Holter reader's actions (class "
        "labels, splits and the accept + gallery pages and corrections) | splits taken / left | beats accepted | "
        "pages / beats shown | fewest fixes after the classes | beat-by-beat actions | ratio | exceptions one beat at "
        "a time (session 12): actions, ratio | gallery pages without class labels: actions, ratio | candidates | "
        "ratio, whole queue / every class |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r.record} | {r.beats} | {r.sveb} | {r.model_f1:.2f} | {r.classes} | {f1(r.class_counts):.2f} "
            f"| {r.class_actions} ({r.class_actions - r.exceptions} + {r.exceptions}) | {r.splits} / {r.declined} "
            f"| {r.accepted} | {r.pages} / {r.shown} | {r.fewest_fixes} | {r.beat_actions} "
            f"| {ratio(r.beat_actions, r.class_actions):.1f} "
            f"| {r.one_at_a_time_actions}, {ratio(r.beat_actions, r.one_at_a_time_actions):.1f} "
            f"| {r.pages_only_actions}, {ratio(r.beat_actions, r.pages_only_actions):.1f} "
            f"| {r.queue} | {ratio(r.whole_queue_actions, r.every_class_actions):.1f} |"
        )
    return lines


def summary(results: list[RecordResult]) -> list[str]:
    total = sum(r.class_counts for r in results)
    without = sum(r.class_counts for r in results if r.record != "232")
    classes = np.array([r.classes for r in results])
    ratios = np.array([ratio(r.beat_actions, r.class_actions) for r in results])
    one_at_a_time = np.array([ratio(r.beat_actions, r.one_at_a_time_actions) for r in results])
    one_at_a_time_actions = sum(r.one_at_a_time_actions for r in results)
    pages_only = np.array([ratio(r.beat_actions, r.pages_only_actions) for r in results])
    pages_only_actions = sum(r.pages_only_actions for r in results)
    whole = np.array([ratio(r.whole_queue_actions, r.every_class_actions) for r in results])
    needed = ~np.isnan(ratios)
    class_actions = sum(r.class_actions for r in results)
    beat_actions = sum(r.beat_actions for r in results)
    # The best any order of single-beat exceptions could do after the class phase: its actions plus the fewest fixes.
    floor = np.array([ratio(r.beat_actions, r.class_actions - r.exceptions + r.fewest_fixes) for r in results])
    tp, fp, fn = total
    return [
        f"- Every class labelled by its majority reference label: SVEB F1 **{f1(total):.3f}** overall "
        f"(TP {tp}, FP {fp}, FN {fn}), **{f1(without):.3f}** without 232.",
        f"- Classes per record: median **{np.median(classes):g}**, max **{classes.max()}**.",
        f"- Actions to SVEB F1 >= {GOAL_F1} on every record, the Holter reader: {class_actions} with classes, "
        f"{beat_actions} beat by beat ({beat_actions / max(class_actions, 1):.1f}x in total); per record, beat by "
        f"beat over classes, on the {needed.sum()} records where either way needs an action (on the others the model "
        f"already meets the goal): median **{np.median(ratios[needed]):.1f}x** (range {ratios[needed].min():.1f}-"
        f"{ratios[needed].max():.1f}x), {np.sum(ratios[needed] >= 10)} records at 10x or more. Coupling splits "
        f"taken: {sum(r.splits for r in results)}, proposed and left: {sum(r.declined for r in results)}; the "
        f"proposals accepted on {sum(r.accepted > 0 for r in results)} records ({sum(r.accepted for r in results)} "
        "beats).",
        f"- The exceptions in the gallery: {sum(r.pages for r in results)} pages looked at, "
        f"{sum(r.shown for r in results)} beats on them, {sum(r.exceptions - r.pages for r in results)} corrected.",
        f"- Session 12's Holter reader (the same class phase, then the exceptions one beat at a time), same run: "
        f"{one_at_a_time_actions} actions ({beat_actions / max(one_at_a_time_actions, 1):.1f}x in total), median "
        f"{np.median(one_at_a_time[needed]):.1f}x.",
        f"- What the classes add: the gallery's pages without class labels (the whole record by doubt from the "
        f"first page), same run: {pages_only_actions} actions ({beat_actions / max(pages_only_actions, 1):.1f}x in "
        f"total), median {np.median(pages_only[needed]):.1f}x.",
        f"- The floor for the exceptions in any order, one beat or a page at a time (the class phase's actions plus "
        f"the fewest corrections that reach the goal): median {np.median(floor[needed]):.1f}x, "
        f"{beat_actions / max(sum(r.class_actions - r.exceptions + r.fewest_fixes for r in results), 1):.1f}x in "
        "total.",
        f"- For a reviewer who cannot tell when the goal is reached (every candidate of today's queue visited; every "
        f"class labelled): median {np.median(whole[~np.isnan(whole)]):.1f}x, "
        f"{sum(r.whole_queue_actions for r in results) / sum(r.every_class_actions for r in results):.1f}x in total.",
        f"- Beat classes of one 30 min record: median {np.median([r.classes_s for r in results]):.2f} s.",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", choices=("ds2", "ds1", "svdb"), default="ds2", help="svdb: in ~/.cache/svdb")
    parser.add_argument("--fresh", action="store_true", help="re-analyse the records (else the cached stores)")
    parser.add_argument("--skip-24h", action="store_true")
    parser.add_argument("--records", help="only these records of the set, comma-separated (nothing is written)")
    args = parser.parse_args()
    if args.set == "svdb":
        folder = Path.home() / ".cache" / "svdb"
        records = sorted(path.stem for path in folder.glob("*.hea"))
    else:
        folder = mitdb_dir()
        records = DS2 if args.set == "ds2" else DS1
    if args.records:
        records = [name for name in records if name in args.records.split(",")]
    results = []
    with tempfile.TemporaryDirectory() as scratch:
        for name in records:
            results.append(play(name, folder, Path(scratch), args.fresh))
            print(table(results[-1:])[-1], flush=True)
        timing = "" if args.skip_24h else time_24h(Path(scratch))
    lines = [
        f"# Review effort with beat classes, MIT-BIH {args.set.upper()} (`benchmarks/bench_review_effort.py`)",
        "",
        "Class features and parameters were chosen on DS1 and svdb, the review orders on svdb (out of the model's",
        "sample), the Holter reader's prematurity weight, paging and patience on svdb and DS1; DS2 was run once",
        "they were fixed. Detected beats; one action per class label, per split taken, per beat visited after the",
        "classes; every reviewer stops at the goal (see the script's docstring). The AAMI patient-specific",
        "protocol: `benchmarks/bench_adaptation.py --aami` (the first 5 min of every DS2 record).",
        "",
        *summary(results),
        "",
        *([timing, ""] if timing else []),
        *table(results),
    ]
    print("\n".join(lines))
    if args.set == "ds2" and not args.records:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "review-effort.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
