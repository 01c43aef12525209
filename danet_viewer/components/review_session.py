"""One reviewer's work on one record: labels written through the store at once, with undo and redo.

Qt-free on purpose (the window only forwards keys here), so the review rules
are testable without a GUI. Undo writes the previous label back through the
store (``set_label``, or ``clear_label`` where there was none), so the audit log
holds every step, undos included. Bookmarks share the same history: undo puts
back the bookmark that was there before (or removes the new one). A class
labelled at once is one step of it too (``label_beats``): one journalled store
edit, undone as one, which puts back each beat's own review as it was; so are the
classes' proposals accepted (``label_each``: each beat its class's label). So is a
split or merge of the classes (``change_classes``): undo stores the classes as
they were before it, exactly (members, ids, templates), and no beat's label.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import IntEnum

import numpy as np

from danet_viewer.core.aami import SVEB_SYMBOLS
from danet_viewer.core.class_edits import ClassEdit, check_unchanged, put_classes
from danet_viewer.core.store import AnnotationStore, BeatClassTable, BeatTable, Bookmark, Review, utc_now

APC = "A"
NORMAL = "N"


@dataclass(frozen=True)
class LabelEdit:
    """One label change of one beat; "" stands for unreviewed."""

    sample: int
    before: str
    after: str


@dataclass(frozen=True)
class BookmarkEdit:
    """One bookmark change on one sample; None stands for no bookmark there."""

    sample: int
    before: Bookmark | None
    after: Bookmark | None


@dataclass(frozen=True)
class BatchLabelEdit:
    """Many beats labelled in one step (a class labelled, the classes' proposals accepted): each beat's review before
    it, and its label after."""

    samples: tuple[int, ...]
    before: tuple[Review | None, ...]
    after: tuple[str, ...]
    action: str  # what the audit log calls it, "label_class 3"

    @property
    def sample(self) -> int:
        """The beat an undo or redo selects: the class's first."""
        return self.samples[0]


# One step of the undo history.
Edit = LabelEdit | BookmarkEdit | BatchLabelEdit | ClassEdit


def _touched(edit: Edit) -> int | None:
    """The beat an undo or redo of ``edit`` selects; None for a split or merge, which leaves the selection."""
    return None if isinstance(edit, ClassEdit) else edit.sample


class BeatState(IntEnum):
    """How a beat is drawn: what the model said and what the reviewer did about it."""

    MODEL_APC = 0  # the model says APC, nobody has looked yet
    CONFIRMED_APC = 1  # reviewed as APC where the model said APC
    CORRECTED = 2  # reviewed against the model's verdict
    NORMAL = 3  # not an APC by the model, and not contradicted
    ADDED = 4  # a beat the detector missed, added by a reviewer
    DELETED = 5  # a detection a reviewer marked not-a-beat


def reviewed_as_apc(table: BeatTable) -> np.ndarray:
    """Beats a reviewer labelled supraventricular premature (A, a, J, S...)."""
    # Looked up among the reviewed beats only: a set lookup over 100 000 strings costs a tenth of a second,
    # and on a record under review most beats are not reviewed yet.
    reviewed = np.flatnonzero(table.reviewed)
    mask = np.zeros(len(table), bool)
    mask[reviewed] = np.isin(table.review_symbol[reviewed], list(SVEB_SYMBOLS))
    return mask


def beat_states(table: BeatTable) -> np.ndarray:
    """int8 ``BeatState`` of every beat of ``table``."""
    reviewed_apc = reviewed_as_apc(table)
    model_apc = table.model_apc == 1
    states = np.full(len(table), BeatState.NORMAL, np.int8)
    states[model_apc & ~table.reviewed] = BeatState.MODEL_APC
    states[table.reviewed & (reviewed_apc != model_apc)] = BeatState.CORRECTED
    states[model_apc & reviewed_apc] = BeatState.CONFIRMED_APC
    states[table.added] = BeatState.ADDED
    states[table.deleted] = BeatState.DELETED
    return states


class ReviewSession:
    """Labels, navigation and the edit history of one record in an open store."""

    def __init__(self, store: AnnotationStore, record: str, reviewer: str) -> None:
        self.store = store
        self.record = record
        self.reviewer = reviewer
        self.table: BeatTable = store.beat_table(record)
        model = store.record(record).model
        self.threshold = model.threshold if model else float("nan")
        self.model_id = model.model_id if model else ""
        self._undo: list[Edit] = []
        self._redo: list[Edit] = []

    # --- what the beats are --------------------------------------------------------------------

    @property
    def reviewed_apc(self) -> np.ndarray:
        return reviewed_as_apc(self.table)

    @property
    def candidates(self) -> np.ndarray:
        """Rows a reviewer must look at: the model's APCs and beats reviewed as APC, never deleted ones."""
        return np.flatnonzero(((self.table.model_apc == 1) | self.reviewed_apc) & ~self.table.deleted)

    def row_of(self, sample: int) -> int | None:
        row = int(np.searchsorted(self.table.sample, sample))
        return row if row < len(self.table) and self.table.sample[row] == sample else None

    def nearest_row(self, sample: float) -> int | None:
        if not len(self.table):
            return None
        row = int(np.searchsorted(self.table.sample, sample))
        neighbours = [r for r in (row - 1, row) if 0 <= r < len(self.table)]
        return min(neighbours, key=lambda r: abs(self.table.sample[r] - sample))

    def model_symbol(self, row: int) -> str:
        return APC if self.table.model_apc[row] == 1 else NORMAL

    # --- navigation ----------------------------------------------------------------------------

    def step(self, rows: np.ndarray, current: int | None, forward: bool) -> int | None:
        """The next (or previous) of ``rows`` after ``current``; from the start (or end) with no current row."""
        if not len(rows):
            return None
        if current is None:
            return int(rows[0] if forward else rows[-1])
        at = np.searchsorted(rows, current, side="right" if forward else "left")
        at = at if forward else at - 1
        return int(rows[at]) if 0 <= at < len(rows) else None

    def unreviewed_candidates(self) -> np.ndarray:
        candidates = self.candidates
        return candidates[~self.table.reviewed[candidates]]

    # --- editing -------------------------------------------------------------------------------

    def label(self, sample: int, symbol: str) -> None:
        """Give the beat at ``sample`` (detected or new) the label ``symbol``, saved before this returns."""
        row = self.row_of(sample)
        before = self.table.review_symbol[row] if row is not None else ""
        if before == symbol:
            return
        self._write(sample, symbol)
        self._undo.append(LabelEdit(int(sample), before, symbol))
        self._redo.clear()

    def label_beats(self, samples: np.ndarray, symbol: str, *, overwrite: bool, action: str,
                    restore_deleted: bool = False) -> BatchLabelEdit | None:
        """Give the beats at ``samples`` the label ``symbol`` as one step, saved before this returns; None when no
        beat needed it.

        Beats a reviewer labelled keep their label unless ``overwrite``; beats not
        in the table are left out, and so are deleted detections unless
        ``restore_deleted`` (beats the reviewer chose one by one, as a beat key on
        one deleted detection restores it; a class labelled leaves them deleted).
        """
        table, samples = self.table, np.asarray(samples, np.int64)
        if not len(table):
            return None
        rows = np.minimum(np.searchsorted(table.sample, samples), len(table) - 1)
        rows = rows[table.sample[rows] == samples]
        if not restore_deleted:
            rows = rows[~table.deleted[rows]]
        if not overwrite:
            rows = rows[~table.reviewed[rows]]
        rows = rows[table.review_symbol[rows] != symbol]
        return self._label_rows(rows, np.full(len(rows), symbol, object), action)

    def label_each(self, samples: np.ndarray, symbols: np.ndarray, *, action: str) -> BatchLabelEdit | None:
        """Give each beat at ``samples`` its own label of ``symbols`` as one step (the classes' proposals accepted),
        saved before this returns; None when no beat needed it. Beats a reviewer labelled keep their label; deleted
        detections and beats not in the table are left out."""
        table, samples, symbols = self.table, np.asarray(samples, np.int64), np.asarray(symbols, object)
        if not len(table) or not len(samples):
            return None
        rows = np.minimum(np.searchsorted(table.sample, samples), len(table) - 1)
        keep = (table.sample[rows] == samples) & ~table.deleted[rows] & ~table.reviewed[rows]
        return self._label_rows(rows[keep], symbols[keep], action)

    def _label_rows(self, rows: np.ndarray, symbols: np.ndarray, action: str) -> BatchLabelEdit | None:
        if not len(rows):
            return None
        reviews = self.store.record(self.record).reviews
        chosen = tuple(int(sample) for sample in self.table.sample[rows])
        after = tuple(str(symbol) for symbol in symbols)
        edit = BatchLabelEdit(chosen, tuple(reviews.get(sample) for sample in chosen), after, action)
        self._write_batch(edit.samples, self._reviews(after), action)
        self._undo.append(edit)
        self._redo.clear()
        return edit

    def _reviews(self, symbols: tuple[str, ...]) -> tuple[Review, ...]:
        """This reviewer's reviews with ``symbols``, made now (one Review per label, shared by its beats)."""
        now = utc_now()
        made = {symbol: Review(symbol, self.reviewer, now) for symbol in set(symbols)}
        return tuple(made[symbol] for symbol in symbols)

    def change_classes(self, edit: ClassEdit) -> None:
        """Store a split or merge of the record's classes (``class_edits``) as one step, saved before this returns;
        DanetError where the store refuses it, or the classes are no longer those it was worked out from."""
        check_unchanged(self.store, edit)
        put_classes(self.store, self.record, edit.before, edit.after, who=self.reviewer, action=edit.action)
        self._undo.append(edit)
        self._redo.clear()

    def undo(self) -> int | None:
        """Put back the label (or the classes) before the last edit; returns the beat's sample (a class's first),
        None with nothing to undo or for a split or merge."""
        if not self._undo:
            return None
        # The step leaves the history only once its write is saved: a refused write keeps it.
        edit = self._undo[-1]
        self._put_back(edit, edit.before)
        self._redo.append(self._undo.pop())
        return _touched(edit)

    def redo(self) -> int | None:
        if not self._redo:
            return None
        edit = self._redo[-1]
        self._put_back(edit, edit.after)
        self._undo.append(self._redo.pop())
        return _touched(edit)

    def bookmark(self, sample: int, comment: str, span_s: float = 0.0) -> Bookmark:
        """Bookmark ``sample`` (a stretch of ``span_s`` from it, for a report strip), saved before this returns."""
        before = self.store.record(self.record).bookmarks.get(int(sample))
        after = self.store.set_bookmark(self.record, sample, comment, self.reviewer, span_s=span_s)
        self._undo.append(BookmarkEdit(int(sample), before, after))
        self._redo.clear()
        return after

    def remove_bookmark(self, sample: int) -> None:
        """Remove the bookmark on ``sample`` (undo puts it back)."""
        before = self.store.record(self.record).bookmarks.get(int(sample))
        if before is None:
            return
        self.store.remove_bookmark(self.record, sample, self.reviewer)
        self._undo.append(BookmarkEdit(int(sample), before, None))
        self._redo.clear()

    def _put_back(self, edit: Edit, state: str | Bookmark | tuple[Review | None, ...] | BeatClassTable | None
                  ) -> None:
        if isinstance(edit, ClassEdit):
            undoing = state is edit.before
            # Only over the same beats as the step left (or its undo put back): beats added or deleted since, and
            # not put back by undoing their own step, would be lost.
            put_classes(self.store, self.record, edit.after if undoing else edit.before, state, who=self.reviewer,
                        action=f"{'undo' if undoing else 'redo'} {edit.action}")
        elif isinstance(edit, BatchLabelEdit):
            undoing = state is edit.before
            reviews = edit.before if undoing else self._reviews(edit.after)
            self._write_batch(edit.samples, reviews, f"{'undo' if undoing else 'redo'} {edit.action}")
        elif not isinstance(edit, BookmarkEdit):
            self._write(edit.sample, state)
        elif state is None:
            self.store.remove_bookmark(self.record, edit.sample, self.reviewer)
        else:
            self.store.set_bookmark(self.record, edit.sample, state.comment, self.reviewer, span_s=state.span_s)

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    def _write(self, sample: int, symbol: str) -> None:
        if symbol:
            self.store.set_label(self.record, sample, symbol, self.reviewer)
        else:
            self.store.clear_label(self.record, sample, self.reviewer)
        review = self.store.record(self.record).reviews.get(int(sample))
        self.table = self.table.with_review(int(sample), review) or self.store.beat_table(self.record)

    def _write_batch(self, samples: tuple[int, ...], reviews: tuple[Review | None, ...], action: str) -> None:
        self.store.set_labels(self.record, dict(zip(samples, reviews, strict=True)), who=self.reviewer,
                              action=action)
        # The beats are the table's already (a batch never adds one): only their review columns change.
        rows = np.searchsorted(self.table.sample, np.asarray(samples, np.int64))
        columns = {name: getattr(self.table, name).copy() for name in ("review_symbol", "reviewer", "reviewed_at")}
        for column, field in zip(columns.values(), ("symbol", "reviewer", "time"), strict=True):
            column[rows] = [getattr(review, field) if review else "" for review in reviews]
        self.table = replace(self.table, **columns)
