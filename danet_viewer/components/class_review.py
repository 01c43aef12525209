"""Template review without Qt: a record's beat classes as the reviewer meets them, most in need of a look first.

A class (``danet_viewer.core.beat_classes``) is shown with its size, its share
of the record, its median coupling interval (the RR before its beats), its
p(APC) on the APC score scale, and its state: unreviewed (no beat of it has a
reviewer's label), labelled (every beat has one) or mixed. Classes come in
``beat_classes.classes_in_need_order``, the order the review-effort benchmark
measures: those where the model's verdicts disagree with the class's timing
first, then the larger; fully reviewed classes last.

One class is current: selecting it selects its first beat in the review model,
and ``step`` pages through its beats (the main view and the superimposed beats
follow the selected beat), in time or, as a Holter reader pages for exceptions,
the most premature first (``paging``). Where the early half of a class's
coupling histogram has two modes the tool proposes a split there
(``proposed_split``): one action splits the early beats into a class of their
own, which one key then labels. Labelling, splitting and merging go through the
review model (one undoable step each) and ``danet_viewer.core.class_edits``.

Each class has a proposed label (``beat_classes.class_proposals``: the model's call on most of its beats), which
Space gives it and ``accept_proposals`` gives the unreviewed beats of every class at once: one undoable, journalled
step (``proposal_plan`` says what it will label), refused while a split or merge is worked out.

A split or merge is worked out by ``runner`` (``components.background``): here at once (``RunAtOnce``); the
window runs it off its GUI thread, since on a 24 h Holter one takes a second or
two, and stores the outcome back on the GUI thread (``BackgroundRunner``). While
one is worked out (``working`` says which) no other class edit starts.

Events (``ClassReview.events``): ``current()`` when the current class changes;
``working()`` when a split or merge starts being worked out or is done. The
class list changes with the review model's ``beats`` and ``classes`` events.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from danet_viewer.components.background import RunAtOnce, Running
from danet_viewer.components.beat_details import apc_score
from danet_viewer.components.events import EmitterGroup
from danet_viewer.components.review_model import ReviewModel
from danet_viewer.core.beat_classes import (
    ProposalPlan,
    class_proposals,
    classes_in_need_order,
    proposal_plan,
    qrs_unlike_reference,
)
from danet_viewer.core.class_edits import (
    ClassEdit,
    ClassSource,
    CouplingSplit,
    Progress,
    class_source,
    coupling_ratios,
    plan_merge,
    plan_split,
    plan_split_at,
    proposed_coupling_split,
)
from danet_viewer.core.store import BeatClassTable
from danet_viewer.errors import DanetError

# A template is drawn from R minus this to R plus that, over the spread of up to TEMPLATE_BAND_BEATS of its beats
# (spread evenly over the record), between the TEMPLATE_BAND_PERCENTILES of their samples.
TEMPLATE_BEFORE_S = 0.25
TEMPLATE_AFTER_S = 0.45
TEMPLATE_BAND_BEATS = 200
TEMPLATE_BAND_PERCENTILES = (10, 50, 90)
# How the current class's beats are paged through: in time, or the earliest (against the local median RR) first.
PAGING = ("time", "prematurity")


# What a split or merge came to (``background.Outcome``): the edit, the one-line refusal, or None where the reviewer
# cancelled it.
ClassOutcome = ClassEdit | DanetError | None


class ClassState(StrEnum):
    UNREVIEWED = "unreviewed"  # no beat of the class has a reviewer's label
    LABELLED = "labelled"  # every beat has one
    MIXED = "mixed"  # some have


@dataclass(frozen=True)
class ClassSummary:
    """One class as its tile shows it."""

    class_id: int
    count: int
    share: float  # of the record's classified beats
    coupling_rr_s: float  # median interval before its beats
    coupling: float  # median of that interval over the patient's underlying cycle (0.7: 30 % early)
    apc_score: float  # the class's p(APC) on the APC score scale (50: the model's threshold); NaN without a model
    model_apc_share: float  # its beats the model calls APC; NaN without a model
    proposal: str  # its proposed label (``beat_classes.class_proposals``): A, N, or "" (none, or no model)
    qrs_unlike: bool  # its QRS is unlike the record's beat (``beat_classes.qrs_unlike_reference``): no proposal
    reviewed: int
    labels: tuple[tuple[str, int], ...]  # reviewers' labels among its beats, the most common first
    state: ClassState

    @property
    def label(self) -> str:
        """The most common reviewer's label of the class ("" when none)."""
        return self.labels[0][0] if self.labels else ""

    def state_text(self) -> str:
        """'unreviewed', 'labelled A', 'labelled A (3 N)', 'mixed: 40 of 120 reviewed (A 38, N 2)'."""
        if self.state is ClassState.UNREVIEWED:
            return "unreviewed"
        others = ", ".join(f"{count} {symbol}" for symbol, count in self.labels[1:])
        if self.state is ClassState.LABELLED:
            return f"labelled {self.label}" + (f" ({others})" if others else "")
        counts = ", ".join(f"{symbol} {count}" for symbol, count in self.labels)
        return f"mixed: {self.reviewed} of {self.count} reviewed ({counts})"


@dataclass(frozen=True)
class TemplateBand:
    """A class's template on the analysis lead, in its units, with the spread of its beats around it."""

    times_s: np.ndarray  # from R
    low: np.ndarray
    median: np.ndarray
    high: np.ndarray
    beats: int  # how many beats the band is drawn from


class ClassReview:
    """The record's classes under review in a ``ReviewModel``, and the one the reviewer works on."""

    def __init__(self, review: ReviewModel) -> None:
        self.review = review
        self.events = EmitterGroup("current", "working")
        self.current: int | None = None
        self.paging = PAGING[0]
        self.runner: Running = RunAtOnce()
        self.working = ""  # the split or merge being worked out ("Splitting class 3 by shape"), "" for none
        # Caches, each with the objects it was computed from (compared by identity: a new table or classes object
        # is a change, and holding them keeps their ids from being reused).
        self._ids: tuple[tuple, np.ndarray] = ((None, -1), np.empty(0, np.int32))
        self._coupling: tuple[np.ndarray | None, np.ndarray] = (None, np.empty((0, 2)))
        self._proposals: tuple[BeatClassTable | None, dict[int, CouplingSplit | None]] = (None, {})
        self._summaries: tuple[tuple, list[ClassSummary]] = ((None, None), [])
        self._bands: tuple[tuple, dict[int, TemplateBand]] = ((None, None), {})
        self._session = review.session
        review.events.classes.connect(self._classes_changed)
        review.events.beats.connect(self._beats_changed)

    # --- what the classes are --------------------------------------------------------------------

    @property
    def classes(self) -> BeatClassTable | None:
        review = self.review
        return review.store.record(review.recording.name).classes if review.session is not None else None

    def class_ids(self) -> np.ndarray:
        """int32 class id of every row of the session's beat table, -1 for none (deleted beats, beats without)."""
        classes, session = self.classes, self.review.session
        if classes is None:
            return np.full(len(session.table) if session else 0, -1, np.int32)
        # Ids change with the classes and with the table's rows (an added beat), not with a label.
        table = session.table
        (cached_classes, rows), _ = self._ids
        if cached_classes is not classes or rows != len(table):
            # As ``beat_class_ids`` does for the store's table, but for the session's, which also shows labels the
            # disk refused (an added beat among them), and without building the store's table again.
            ids = np.full(len(table), -1, np.int32)
            if len(table):
                at = np.minimum(np.searchsorted(table.sample, classes.sample), len(table) - 1)
                present = table.sample[at] == classes.sample
                ids[at[present]] = classes.class_id[present]
                ids[table.deleted] = -1
            self._ids = ((classes, len(table)), ids)
        return self._ids[1]

    def class_names(self, table) -> np.ndarray:
        """The class of each row of ``table`` (the session's) as text, "" for none: the superimposition's groups."""
        ids = self.class_ids()
        if len(ids) != len(table):
            return np.full(len(table), "", object)
        return np.where(ids >= 0, ids.astype(str), "").astype(object)

    def _coupling_of(self, classes: BeatClassTable) -> np.ndarray:
        if self._coupling[0] is not classes.sample:
            self._coupling = (classes.sample, coupling_ratios(classes.sample, self.review.recording.fs))
        return self._coupling[1]

    def summaries(self) -> list[ClassSummary]:
        """Every class, the most in need of a look first (``classes_in_need_order``)."""
        classes, session = self.classes, self.review.session
        if classes is None or not classes.n_classes:
            return []
        (cached_classes, table), _ = self._summaries
        if cached_classes is not classes or table is not session.table:
            self._summaries = ((classes, session.table), self._summarise(classes))
        return self._summaries[1]

    def _summarise(self, classes: BeatClassTable) -> list[ClassSummary]:
        table, k = self.review.session.table, classes.n_classes
        ids = self.class_ids()
        counts = classes.counts
        fs = self.review.recording.fs
        pre_rr_s = np.diff(classes.sample, prepend=classes.sample[:1]) / fs
        ratio = self._coupling_of(classes)[:, 0]
        order = np.argsort(classes.class_id, kind="stable")
        bounds = np.searchsorted(classes.class_id[order], np.arange(k + 1))
        in_class = ids >= 0
        scored = in_class & (table.model_apc >= 0)
        model_apc = np.bincount(ids[scored], weights=table.model_apc[scored] == 1, minlength=k)
        model_scored = np.bincount(ids[scored], minlength=k)
        reviewed_rows = np.flatnonzero(in_class & table.reviewed)
        labels: list[dict[str, int]] = [{} for _ in range(k)]
        if len(reviewed_rows):
            pairs, pair_counts = np.unique(np.char.add(ids[reviewed_rows].astype(str),
                                                       "\t" + table.review_symbol[reviewed_rows].astype(str)),
                                           return_counts=True)
            for pair, count in zip(pairs, pair_counts, strict=True):
                class_text, symbol = pair.split("\t")
                labels[int(class_text)][symbol] = int(count)
        unlike = qrs_unlike_reference(classes)
        proposals = class_proposals(ids, table.model_apc, unlike)
        threshold = self.review.session.threshold
        scores = apc_score(classes.p_apc, threshold) if np.isfinite(threshold) else np.full(k, np.nan)
        summaries = []
        for c in range(k):
            members = order[bounds[c] : bounds[c + 1]]
            reviewed = sum(labels[c].values())
            state = (ClassState.UNREVIEWED if not reviewed
                     else ClassState.LABELLED if reviewed >= counts[c] else ClassState.MIXED)
            share = model_apc[c] / model_scored[c] if model_scored[c] else np.nan
            summaries.append(ClassSummary(
                class_id=c, count=int(counts[c]), share=float(counts[c] / max(len(classes.sample), 1)),
                coupling_rr_s=float(np.median(pre_rr_s[members])) if len(members) else np.nan,
                coupling=float(np.median(ratio[members])) if len(members) else np.nan,
                apc_score=float(scores[c]), model_apc_share=float(share), proposal=str(proposals[c]),
                qrs_unlike=bool(unlike[c]), reviewed=reviewed,
                labels=tuple(sorted(labels[c].items(), key=lambda item: (-item[1], item[0]))), state=state,
            ))
        # The order the review-effort benchmark measures, from the session's table (labels the disk refused included).
        order = classes_in_need_order(classes, ids, table.model_apc == 1, table.reviewed)
        return [summaries[c] for c in order]

    def summary(self, class_id: int) -> ClassSummary | None:
        return next((s for s in self.summaries() if s.class_id == class_id), None)

    def member_rows(self, class_id: int) -> np.ndarray:
        """Rows of the session's beat table in class ``class_id``, in time order."""
        return np.flatnonzero(self.class_ids() == class_id)

    def paged_rows(self, class_id: int) -> np.ndarray:
        """The class's rows in the order ``step`` pages through them: in time, or the earliest beat (the shortest
        interval before it over the local median interval) first."""
        rows = self.member_rows(class_id)
        classes = self.classes
        if self.paging == "time" or classes is None or not len(rows):
            return rows
        at = np.searchsorted(classes.sample, self.review.session.table.sample[rows])
        return rows[np.argsort(self._coupling_of(classes)[at, 1], kind="stable")]

    def proposed_split(self, class_id: int) -> CouplingSplit | None:
        """The coupling split the tool proposes for the class (``proposed_coupling_split``), None where none."""
        classes = self.classes
        if classes is None:
            return None
        cached, proposals = self._proposals
        if cached is not classes:
            proposals = {}
            self._proposals = (classes, proposals)
        if class_id not in proposals:
            fs = self.review.recording.fs
            proposals[class_id] = proposed_coupling_split(classes, class_id, fs, self._coupling_of(classes))
        return proposals[class_id]

    def band(self, class_id: int) -> TemplateBand:
        """The class's template (median beat) and spread on the analysis lead, from beats spread over the record."""
        classes, raw = self.classes, self.review.analysis_raw
        (cached_classes, cached_raw), bands = self._bands
        if cached_classes is not classes or cached_raw is not raw:
            bands = {}
            self._bands = ((classes, raw), bands)
        if class_id not in bands:
            bands[class_id] = self._band_of(classes.members(class_id))
        return bands[class_id]

    def _band_of(self, samples: np.ndarray) -> TemplateBand:
        raw, fs = self.review.analysis_raw, self.review.recording.fs
        before, after = int(TEMPLATE_BEFORE_S * fs), int(TEMPLATE_AFTER_S * fs)
        offsets = np.arange(-before, after + 1)
        samples = samples[(samples >= before) & (samples + after < len(raw))]
        if len(samples) > TEMPLATE_BAND_BEATS:
            samples = samples[np.linspace(0, len(samples) - 1, TEMPLATE_BAND_BEATS).round().astype(np.int64)]
        times = offsets / fs
        if not len(samples):
            empty = np.full(len(offsets), np.nan, np.float32)
            return TemplateBand(times, empty, empty, empty, 0)
        beats = raw[samples[:, None] + offsets[None, :]].astype(np.float32)
        beats -= np.median(beats, axis=1, keepdims=True)  # baseline wander apart, as the superimposed beats
        low, median, high = np.percentile(beats, TEMPLATE_BAND_PERCENTILES, axis=0)
        return TemplateBand(times, low, median, high, len(samples))

    # --- the current class -------------------------------------------------------------------------

    def select(self, class_id: int | None) -> None:
        """Make ``class_id`` current and select its first beat (the selected beat where it is one of the class's)."""
        self.current = class_id
        if class_id is not None:
            rows = self.member_rows(class_id)
            selected = self.review.selected
            if len(rows):  # selected again where it is the class's: the views grouping beats by class follow
                self.review.select_row(selected if selected is not None and np.any(rows == selected) else int(rows[0]))
        self.events.current.emit()

    def step(self, forward: bool) -> None:
        """Select the current class's next (or previous) beat after the selected one, in the ``paging`` order."""
        if self.current is None or self.review.session is None:
            return
        rows = self.paged_rows(self.current)
        if self.paging == "time":
            self.review.select_row(self.review.session.step(rows, self.review.selected, forward))
            return
        at = np.flatnonzero(rows == self.review.selected)
        target = (0 if forward else len(rows) - 1) if not len(at) else at[0] + (1 if forward else -1)
        if 0 <= target < len(rows):
            self.review.select_row(int(rows[target]))

    def set_paging(self, paging: str) -> None:
        """Page through the current class in time or by prematurity (``PAGING``), from its first beat in that order."""
        if paging not in PAGING:
            raise ValueError(f"paging {paging!r}: choose from {PAGING}")
        self.paging = paging
        if self.current is not None and self.review.session is not None:
            rows = self.paged_rows(self.current)
            if len(rows):
                self.review.select_row(int(rows[0]))
        self.events.current.emit()

    def position(self) -> tuple[int, int]:
        """Which of the current class's beats is selected (1-based, in the paging order; 0 when another beat is) and
        how many it has."""
        if self.current is None or self.review.selected is None:
            return 0, 0
        rows = self.paged_rows(self.current)
        at = np.flatnonzero(rows == self.review.selected)
        return (int(at[0]) + 1 if len(at) else 0), len(rows)

    # --- editing the classes -----------------------------------------------------------------------

    def label(self, class_id: int, symbol: str, *, overwrite: bool = False) -> int:
        """Label the class ``symbol`` (one undoable step); a reviewer's own beat labels stay unless ``overwrite``."""
        return self.review.label_class(class_id, symbol, overwrite=overwrite)

    def confirm_model(self, class_id: int) -> int:
        """Label the class with its proposal (the model's call on most of its beats), as Space does for one beat."""
        summary = self.summary(class_id)
        if summary is None or not summary.proposal:
            why = ("its QRS differs from the record's beat" if summary is not None and summary.qrs_unlike
                   else "no model has scored it")
            self.review.events.status.emit(f"Class {class_id} has no proposal ({why}): type its label", 4000)
            return 0
        return self.label(class_id, summary.proposal)

    def proposal_plan(self) -> ProposalPlan | None:
        """What accepting the proposals would label now (``beat_classes.proposal_plan`` over the session's table,
        labels the disk refused included); None without classes."""
        classes, session = self.classes, self.review.session
        if classes is None or not classes.n_classes:
            return None
        return proposal_plan(self.class_ids(), session.table.model_apc, session.table.reviewed,
                             qrs_unlike_reference(classes))

    def accept_proposals(self) -> int:
        """Label every unreviewed beat of the classes with its class's proposal, one undoable step; a reviewer's own
        labels stay. Refused while a split or merge is worked out. Returns how many beats were labelled."""
        if self._refused_while_working():
            return 0
        plan = self.proposal_plan()
        if plan is None or not len(plan.rows):
            self.review.events.status.emit("No class has unreviewed beats with a proposal", 4000)
            return 0
        return self.review.accept_proposals(plan)

    def split(self, class_id: int, by: str) -> int | None:
        """Split the class in two (``by`` "coupling" or "shape"), one undoable step; returns the new class's id, None
        if refused or still being worked out (``runner``)."""
        def split_done(edit: ClassEdit) -> None:
            self.review.events.status.emit(f"Class {class_id} split by {by}: class {edit.class_id} holds the smaller "
                                           "part (Ctrl+Z undoes it)", 5000)

        return self._edit(f"Splitting class {class_id} by {by}",
                          lambda source, progress: plan_split(source, class_id, by, progress), split_done)

    def split_at_proposal(self, class_id: int) -> int | None:
        """Split the class at its proposed coupling (``proposed_split``): its early beats become a new class, which
        one key then labels; returns the new class's id, None where nothing is proposed, the store refused, or it
        is still being worked out."""
        review, proposal = self.review, self.proposed_split(class_id)
        if proposal is None:
            review.events.status.emit(f"Class {class_id}: its coupling intervals propose no split", 4000)
            return None

        def split_done(edit: ClassEdit) -> None:
            self.current = edit.class_id
            review.events.status.emit(f"Class {class_id} split at a coupling of {100 * proposal.threshold:.0f} %: "
                                      f"class {edit.class_id} holds its {proposal.early} early beats; a beat key "
                                      "labels them (Ctrl+Z undoes the split)", 6000)
            self.select(edit.class_id)

        return self._edit(f"Splitting off class {class_id}'s early beats",
                          lambda source, progress: plan_split_at(source, class_id, proposal.threshold, progress),
                          split_done)

    def merge(self, keep: int, merged: int) -> int | None:
        """Merge class ``merged`` into ``keep``, one undoable step; returns the merged class's id (ids after
        ``merged`` move down), None if refused or still being worked out."""
        def merge_done(edit: ClassEdit) -> None:
            self.current = edit.class_id
            self.review.events.status.emit(f"Class {merged} merged into class {keep}, now class {edit.class_id} "
                                           "(Ctrl+Z undoes it)", 5000)
            self.events.current.emit()

        return self._edit(f"Merging class {merged} into class {keep}",
                          lambda source, progress: plan_merge(source, keep, merged, progress), merge_done)

    def _edit(self, what: str, plan: Callable[[ClassSource, Progress], ClassEdit],
              done: Callable[[ClassEdit], None]) -> int | None:
        """Work a split or merge out with ``plan`` through ``runner``, from the classes as they are now, then store
        it as one undoable step and let ``done`` tell the reviewer: the one path where a refusal (by the plan, or by
        the store) is told in one line. Returns the class the edit made where the runner worked it out at once."""
        review = self.review
        if self._refused_while_working():
            return None
        try:
            source = class_source(review.store, review.recording)
        except DanetError as error:
            review.events.refused.emit(str(error))
            return None
        session, made = review.session, []

        def finish(outcome: ClassOutcome) -> None:
            self._set_working("")
            if review.session is not session:  # the record went meanwhile, and the edit with it
                return
            if outcome is None:
                review.events.status.emit(f"{what}: cancelled; the classes are as they were", 4000)
                return
            try:
                if isinstance(outcome, DanetError):
                    raise outcome
                review.change_classes(outcome)
            except DanetError as error:
                review.events.refused.emit(str(error))
                return
            made.append(outcome.class_id)
            done(outcome)

        self._set_working(what)
        self.runner.run(lambda progress: plan(source, progress), finish)
        return made[0] if made else None

    def _refused_while_working(self) -> bool:
        """Whether a split or merge is being worked out, which no other class edit may overtake (told in one line)."""
        if self.working:
            self.review.events.status.emit(f"{self.working}: wait for it or cancel it first", 3000)
        return bool(self.working)

    def _set_working(self, what: str) -> None:
        self.working = what
        self.events.working.emit()

    def _beats_changed(self) -> None:
        if self.review.session is not self._session:  # another record (or none): its classes are others
            self._session = self.review.session
            if self.working:  # a split or merge of the record that went: dropped with it
                self.runner.stop()
                self._set_working("")
            if self.current is not None:
                self.current = None
                self.events.current.emit()

    def _classes_changed(self) -> None:
        classes = self.classes
        if self.current is not None and (classes is None or self.current >= classes.n_classes):
            self.current = None
            self.events.current.emit()
