"""The review window's state without Qt: the record, its store, the review session, the selection, the
viewport, and labels the disk refused; the window observes its events and draws.

Every decision goes to the record's annotation store the moment it is made
(there is no Save); undo writes the previous label back the same way. Labels a
full or read-only disk refused are kept in order in memory, drawn as labelled
(reviewed at "not saved"), and written on ``retry_unsaved`` or with the next
label once the disk takes them; undo and redo wait until they are written.

Events (``ReviewModel.events``), each emitted once per change:

- ``beats()``: the beat table or the bookmarks changed, or the record was opened or closed; the selection is
  redrawn with it
- ``selection()``: only the selected beat changed
- ``viewport(start_s, span_s)``: navigation asks the view to show this range
- ``leads()``: which leads are drawn changed (``leads``: the chosen lead, or all leads stacked)
- ``unsaved(count, problem)``: labels kept in memory, and why the disk refused them ("" once all are written)
- ``refused(message)``: an edit the store refused for good (not the disk: it can never be saved)
- ``status(message, timeout_ms)``: a passing note for the status bar
- ``classes()``: the record's beat classes changed (beats added or deleted joined or left theirs; a split, a merge)

A whole class is labelled with ``label_class``: one step of the undo history,
one journalled store edit; so is accepting the classes' proposals (``accept_proposals``), and so are beats the
reviewer selected, labelled (``label_beats``) or given the model's call (``confirm_model_beats``). A split or merge of
the classes (``change_classes``) is one step too, undone by putting the classes before it back. Beats added or
deleted join or leave their class (``update_beat_classes``) as soon as the edit is saved.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from danet_viewer.components.events import EmitterGroup
from danet_viewer.components.lead_stack import LeadStack
from danet_viewer.components.review_session import ReviewSession
from danet_viewer.components.viewport import Viewport
from danet_viewer.core.beat_classes import ProposalPlan, proposals_action, update_beat_classes
from danet_viewer.core.class_edits import ClassEdit
from danet_viewer.core.clock import ELAPSED, RecordClock
from danet_viewer.core.recording import Recording
from danet_viewer.core.store import NOT_A_BEAT, AnnotationStore, BeatTable, Review, locate
from danet_viewer.core.store_location import open_review_store
from danet_viewer.errors import DanetError, StoreWriteError

# An added beat sits on the largest deflection this close to the mouse (either polarity: leads can be inverted).
SNAP_S = 0.08


def labels_by_reviewer(table: BeatTable, rows: np.ndarray) -> str:
    """Whose labels the beats at ``rows`` carry, for the status bar: "dr first's N ×2, dr second's not a beat"."""
    counts: dict[str, int] = {}
    for row in rows:
        symbol = "not a beat" if table.review_symbol[row] == NOT_A_BEAT else table.review_symbol[row]
        key = f"{table.reviewer[row] or 'a reviewer'}'s {symbol}"
        counts[key] = counts.get(key, 0) + 1
    return ", ".join(key if count == 1 else f"{key} ×{count}" for key, count in counts.items())


class ReviewModel:
    def __init__(self) -> None:
        self.events = EmitterGroup("beats", "selection", "viewport", "leads", "unsaved", "refused", "status",
                                   "classes")
        self.recording: Recording | None = None
        self.store: AnnotationStore | None = None
        self.store_note = ""
        self.session: ReviewSession | None = None
        self.lead = 0  # the analysis lead: the model's, whatever lead is on screen
        self.analysis_raw = np.empty(0, np.float32)
        self.selected: int | None = None  # beat-table row
        # Label edits (sample, symbol) the store refused (a full or read-only disk), oldest first.
        self.unsaved: list[tuple[int, str]] = []
        self.viewport = Viewport()
        self.leads = LeadStack()
        self._live_beats = 0  # beats not deleted when the classes last followed them

    # --- the record ------------------------------------------------------------------------------

    def open(self, recording: Recording) -> None:
        """Take ``recording`` and open its store (for writing if it can be); the session follows its analysis."""
        self.store, self.store_note = open_review_store(Path(recording.path))
        self.recording = recording
        self.viewport.duration_s = recording.duration_s

    def start_session(self, lead: int, analysis_raw: np.ndarray, reviewer: str) -> None:
        """The analysis is in the store: review it (made on ``lead``, whose samples are ``analysis_raw``)."""
        self.lead, self.analysis_raw = lead, analysis_raw
        self.session = ReviewSession(self.store, self.recording.name, reviewer)
        self.leads = LeadStack(self.recording.lead_names, lead, lead, self.leads.all_leads)
        self._live_beats = self._count_live()
        self.events.leads.emit()
        self.events.beats.emit()

    def close(self) -> None:
        """Let go of the record and its store (kept labels are dropped: settle them first).

        Raises DanetError if the store could not be closed cleanly; its journal keeps every saved edit.
        """
        store = self.store
        self.store = self.session = self.recording = None
        self.selected, self.store_note = None, ""
        self.unsaved.clear()
        self.analysis_raw = np.empty(0, np.float32)
        self.leads = LeadStack(all_leads=self.leads.all_leads)
        self.events.leads.emit()
        try:
            if store is not None:
                store.close()
        finally:
            self.events.beats.emit()

    @property
    def clock(self) -> RecordClock:
        """Every time shown of the open record: its clock time where its header states a start, else elapsed."""
        return RecordClock(self.recording.start) if self.recording is not None else ELAPSED

    def set_reviewer(self, name: str) -> None:
        if self.session is not None:
            self.session.reviewer = name

    # --- the leads drawn --------------------------------------------------------------------------

    def show_all_leads(self, on: bool) -> None:
        """Every lead stacked (on), or the chosen lead alone; kept for the next record."""
        self.leads = replace(self.leads, all_leads=on)
        self.events.leads.emit()

    def choose_lead(self, lead: int) -> None:
        """The lead drawn alone, or marked (with the beat marks and labels) among all."""
        if self.leads.names and lead != self.leads.chosen:
            self.leads = replace(self.leads, chosen=lead)
            self.events.leads.emit()

    # --- selection -------------------------------------------------------------------------------

    def select_row(self, row: int | None) -> None:
        if row is None:
            self.events.status.emit("No further beat in that direction", 2000)
            return
        self.selected = row
        self.events.selection.emit()

    def select_sample(self, sample: int) -> None:
        if self.session is not None:
            self.select_row(self.session.row_of(sample))

    def select_near(self, time_s: float) -> None:
        if self.session is not None:
            self.select_row(self.session.nearest_row(time_s * self.recording.fs))

    def _step(self, rows: np.ndarray, forward: bool) -> None:
        self.select_row(self.session.step(rows, self.selected, forward))

    def next_unreviewed(self) -> None:
        if self.session is not None:
            self._step(self.session.unreviewed_candidates(), True)

    def previous_unreviewed(self) -> None:
        if self.session is not None:
            self._step(self.session.unreviewed_candidates(), False)

    def next_apc(self) -> None:
        if self.session is not None:
            self._step(self.session.candidates, True)

    def previous_apc(self) -> None:
        if self.session is not None:
            self._step(self.session.candidates, False)

    def next_beat(self) -> None:
        if self.session is not None:
            self._step(np.arange(len(self.session.table)), True)

    def previous_beat(self) -> None:
        if self.session is not None:
            self._step(np.arange(len(self.session.table)), False)

    # --- the viewport ------------------------------------------------------------------------------

    def _show(self, start_s: float, span_s: float) -> None:
        self.events.viewport.emit(start_s, span_s)

    def _navigate(self, target) -> None:
        if self.recording is not None:
            self._show(*target())

    def page_forward(self) -> None:
        self._navigate(lambda: self.viewport.page(1))

    def page_back(self) -> None:
        self._navigate(lambda: self.viewport.page(-1))

    def zoom_in(self) -> None:
        self._navigate(lambda: self.viewport.zoom(0.5))

    def zoom_out(self) -> None:
        self._navigate(lambda: self.viewport.zoom(2.0))

    def go_to_start(self) -> None:
        self._navigate(self.viewport.at_start)

    def go_to_end(self) -> None:
        self._navigate(self.viewport.at_end)

    def centre_on(self, time_s: float) -> None:
        """Keep the span, put ``time_s`` in the middle (the overview strip's click)."""
        self._navigate(lambda: self.viewport.centred_on(time_s))

    def set_span(self, span_s: float) -> None:
        """Show ``span_s`` seconds around the selected beat, else around the centre of the view."""
        centre = (self.viewport.start_s + self.viewport.stop_s) / 2
        if self.selected is not None:
            centre = self.session.table.sample[self.selected] / self.recording.fs
        self._show(max(0.0, centre - span_s / 2), span_s)

    def snap_to_peak(self, time_s: float) -> int:
        """The sample of the largest deflection within ``SNAP_S`` of ``time_s`` on the analysis lead."""
        raw, fs = self.analysis_raw, self.recording.fs  # beats live on the analysis lead, whatever is on screen
        centre = int(round(time_s * fs))
        lo, hi = max(0, centre - int(SNAP_S * fs)), min(len(raw), centre + int(SNAP_S * fs) + 1)
        if hi <= lo:
            return int(np.clip(centre, 0, len(raw) - 1))
        window = raw[lo:hi]
        return lo + int(np.argmax(np.abs(window - np.median(window))))

    def context(self, reviewer: str, model_id: str) -> str:
        """What the review is of and by: record, reviewer, store (with why it is where it is), model."""
        parts = [f"record {self.recording.name}, start {self.clock.start_text()}"] if self.recording is not None else []
        parts.append(f"reviewer {reviewer}")
        if self.store is not None:
            parts.append(f"store {self.store.path}" + (f" ({self.store_note})" if self.store_note else ""))
        if model_id:
            parts.append(f"model {model_id}")
        return "   |   ".join(parts)

    def unanalysable(self) -> np.ndarray:
        """The reviewed record's flat or lead-off stretches ([start, stop) samples), empty with none open."""
        if self.session is None:
            return np.empty((0, 2), np.int64)
        return self.store.record(self.recording.name).unanalysable

    # --- labelling ---------------------------------------------------------------------------------

    def can_edit(self) -> bool:
        """A record is under review and its store takes labels (a status note says why not)."""
        if self.session is None:
            return False
        if not self.store.writable:
            self.events.status.emit(f"Store is read-only ({self.store_note}); labels cannot be saved", 5000)
            return False
        return True

    def label_selected(self, symbol: str) -> None:
        if self.selected is not None:
            self.label(int(self.session.table.sample[self.selected]), symbol)

    def confirm_model(self) -> None:
        """The model's verdict (A or N) as the selected beat's label, where no person has labelled the beat: a
        confirming pass (Space, Right, Space...) over beats a reviewer has already labelled keeps their labels."""
        if self.selected is None:
            return
        table = self.session.table
        if table.reviewed[self.selected]:
            shown = "not a beat" if table.deleted[self.selected] else table.review_symbol[self.selected]
            self.events.status.emit(f"Kept {table.reviewer[self.selected] or 'a reviewer'}'s label {shown}: Space "
                                    "confirms the model only on beats no one has labelled; type a label to change it",
                                    5000)
            return
        self.label_selected(self.session.model_symbol(self.selected))

    def mark_not_a_beat(self) -> None:
        self.label_selected(NOT_A_BEAT)

    def add_beat(self, time_s: float | None) -> None:
        """Add a beat on the peak nearest ``time_s`` (the centre of the view for None), unless one is there."""
        if time_s is None:
            time_s = (self.viewport.start_s + self.viewport.stop_s) / 2
        sample = self.snap_to_peak(time_s)
        if self.session.row_of(sample) is not None:
            self.events.status.emit("A beat is already there", 3000)
            self.select_sample(sample)
            return
        self.label(sample, "N")

    def label(self, sample: int, symbol: str) -> None:
        """Label a beat through the store; if the disk refuses it, keep the label in memory, after any kept before."""
        if self.unsaved:
            self.unsaved.append((sample, symbol))
            self._write_unsaved()
        else:
            try:
                self.session.label(sample, symbol)
            except StoreWriteError as error:
                self.unsaved.append((sample, symbol))
                self._keep_unsaved(error)
            except DanetError as error:
                self.events.refused.emit(str(error))
                return
        self.selected = self.session.nearest_row(sample)
        self._follow_beats()
        self.events.beats.emit()

    def label_class(self, class_id: int, symbol: str, *, overwrite: bool = False) -> int:
        """Label every beat of class ``class_id`` ``symbol`` as one undoable step; returns how many were labelled.

        Beats a reviewer labelled one by one keep their label unless ``overwrite``. Nothing is labelled while
        labels the disk refused wait to be saved (they come first), nor when the store refuses the edit.
        """
        classes = self.store.record(self.recording.name).classes if self.session is not None else None
        if classes is None or not self._nothing_unsaved():
            return 0
        try:
            edit = self.session.label_beats(classes.members(class_id), symbol, overwrite=overwrite,
                                            action=f"label_class {class_id}")
        except DanetError as error:
            self.events.refused.emit(f"Class {class_id} was not labelled: {error}")
            return 0
        members = int(np.count_nonzero(classes.class_id == class_id))
        labelled = len(edit.samples) if edit else 0
        kept = 0 if overwrite else self._kept_in(classes.members(class_id), symbol)
        note = f"Class {class_id}: {labelled} of {members} beats labelled {symbol}"
        if kept:
            note += f"; {kept} keep a reviewer's own label (replace them from the class's menu)"
        self.events.status.emit(note, 5000)
        if edit is not None:  # the beats stay the same rows: the selection stays where the reviewer paged to
            self.events.beats.emit()
        return labelled

    def label_beats(self, samples: np.ndarray, symbol: str, *, action: str) -> int:
        """Label the beats at ``samples`` ``symbol`` as one undoable, journalled step (``action`` in the audit log);
        returns how many were labelled.

        The beats are the reviewer's own choice (the gallery's selection), so, as a
        beat key on one beat does, the label replaces a reviewer's other label and
        restores a deleted detection; the status bar says how many reviewer labels it
        replaced and whose. Nothing is labelled on a read-only store, while labels the
        disk refused wait to be saved (they come first), nor when the store refuses
        the edit.
        """
        if not self.can_edit() or not self._nothing_unsaved():
            return 0
        rows = self._rows_at(samples)
        table = self.session.table
        replaced = rows[table.reviewed[rows] & (table.review_symbol[rows] != symbol)]
        whose = labels_by_reviewer(table, replaced)
        try:
            edit = self.session.label_beats(table.sample[rows], symbol, overwrite=True, restore_deleted=True,
                                            action=action)
        except DanetError as error:
            self.events.refused.emit(f"The {len(rows)} beats were not labelled: {error}")
            return 0
        shown = "not a beat" if symbol == NOT_A_BEAT else symbol
        if edit is None:
            self.events.status.emit(f"The {len(rows)} beats are labelled {shown} already", 3000)
            return 0
        note = f"{len(edit.samples)} of {len(rows)} beats labelled {shown} in one step (Ctrl+Z undoes it)"
        if len(replaced):
            note = (f"Replaced {len(replaced)} reviewer label{'s' if len(replaced) > 1 else ''} ({whose}) with "
                    f"{shown}: {len(edit.samples)} of {len(rows)} beats labelled in one step (Ctrl+Z puts them back)")
        self._follow_beats()  # a detection deleted or restored leaves or joins its class
        self.events.status.emit(note, 5000)
        self.events.beats.emit()
        return len(edit.samples)

    def confirm_model_beats(self, samples: np.ndarray, *, action: str) -> int:
        """The model's call (A or N) as the label of each beat at ``samples`` that no one has labelled, as one
        undoable, journalled step (``action`` in the audit log): reviewers' labels are kept, and the status bar says
        whose (``confirm_model`` for many beats). Returns how many were labelled; refused as ``label_beats`` is."""
        if not self.can_edit() or not self._nothing_unsaved():
            return 0
        rows = self._rows_at(samples)
        session, table = self.session, self.session.table
        symbols = np.array([session.model_symbol(int(row)) for row in rows], object)
        kept = rows[table.reviewed[rows]]
        try:
            edit = session.label_each(table.sample[rows], symbols, action=action)
        except DanetError as error:
            self.events.refused.emit(f"The model's call was not confirmed on the {len(rows)} beats: {error}")
            return 0
        labelled = len(edit.samples) if edit else 0
        note = f"The model's call confirmed on {labelled} of {len(rows)} beats"
        if len(kept):
            note += (f"; kept {labels_by_reviewer(table, kept)}: Space confirms the model only on beats no one has "
                     "labelled; type a label to change them")
        self.events.status.emit(note, 5000)
        if edit is not None:
            self._follow_beats()
            self.events.beats.emit()
        return labelled

    def accept_proposals(self, plan: ProposalPlan) -> int:
        """Label the beats of ``plan`` (rows of the session's table, ``beat_classes.proposal_plan``) each with its
        class's proposal, as one undoable step; returns how many were labelled. A reviewer's own labels stay; nothing
        is labelled while labels the disk refused wait to be saved, nor when the store refuses the edit."""
        if self.session is None or not len(plan.rows) or not self._nothing_unsaved():
            return 0
        try:
            edit = self.session.label_each(self.session.table.sample[plan.rows], plan.symbols,
                                           action=proposals_action(plan))
        except DanetError as error:
            self.events.refused.emit(f"The proposals were not accepted: {error}")
            return 0
        if edit is None:
            return 0
        # What a Holter reader does next: the exceptions, which the gallery pages through.
        self.events.status.emit(f"Proposals accepted for {len(plan.classes)} classes: {plan.text()}; Ctrl+Z undoes "
                                "it; the exceptions: View ▸ Beat gallery", 8000)
        self.events.beats.emit()
        return len(edit.samples)

    def change_classes(self, edit: ClassEdit) -> None:
        """Store a split or merge of the classes (worked out by ``class_edits``) as one undoable step; raises
        DanetError where the store refuses it. Beat labels are not touched, so the selection stays."""
        self.session.change_classes(edit)
        self.events.classes.emit()

    def _kept_in(self, samples: np.ndarray, symbol: str) -> int:
        """How many of the beats at ``samples`` carry a reviewer's label other than ``symbol``."""
        table, rows = self.session.table, self._rows_at(samples)
        other = table.reviewed[rows] & ~table.deleted[rows] & (table.review_symbol[rows] != symbol)
        return int(np.count_nonzero(other))

    def _rows_at(self, samples: np.ndarray) -> np.ndarray:
        """Rows of the session's beat table of the beats at ``samples`` (those no longer in it left out)."""
        rows, found = locate(self.session.table.sample, samples)
        return rows[found]

    def bookmark_at(self, span_s: float = 0.0) -> int:
        """Where a bookmark goes: the selected beat where it is in view (or a stretch is wanted, from the view's
        start), else the view's centre; as a sample of the record."""
        viewport, fs = self.viewport, self.recording.fs
        if span_s:
            return int(round(max(0.0, viewport.start_s) * fs))
        if self.selected is not None:
            sample = int(self.session.table.sample[self.selected])
            if viewport.start_s <= sample / fs <= viewport.stop_s:
                return sample
        return int(round((viewport.start_s + viewport.stop_s) / 2 * fs))

    def bookmark(self, sample: int, comment: str, span_s: float = 0.0) -> None:
        """Bookmark ``sample`` with ``comment`` (a stretch of ``span_s`` from it: a report strip); undoable."""
        sample = int(np.clip(sample, 0, self.recording.n_samples - 1))
        try:
            self.session.bookmark(sample, comment, span_s)
        except DanetError as error:  # a full disk too: a bookmark is typed again, not kept like a keypress
            self.events.refused.emit(f"Bookmark not saved: {error}")
            return
        what = "Report strip" if span_s else "Bookmark"
        self.events.status.emit(f"{what} saved at {self.clock.text(sample / self.recording.fs)}", 4000)
        self.events.beats.emit()

    def remove_bookmark(self, sample: int) -> None:
        try:
            self.session.remove_bookmark(sample)
        except DanetError as error:
            self.events.refused.emit(f"Bookmark not removed: {error}")
            return
        self.events.beats.emit()

    def undo(self) -> None:
        if self._nothing_unsaved():
            self._apply(self.session.undo)

    def redo(self) -> None:
        if self._nothing_unsaved():
            self._apply(self.session.redo)

    def _nothing_unsaved(self) -> bool:
        """Undo and redo walk the saved history: labels still kept in memory must be saved first."""
        if self.unsaved:
            self.events.status.emit(f"{len(self.unsaved)} label(s) are not saved yet: Retry first", 5000)
        return not self.unsaved

    def _apply(self, edit) -> None:
        """Run a session edit (which returns the beat it touched, or None); redraw with that beat selected."""
        classes = self.store.record(self.recording.name).classes
        try:
            touched = edit()
        except DanetError as error:
            self.events.refused.emit(str(error))
            return
        if self.store.record(self.recording.name).classes is not classes:  # a split or merge undone or redone
            self.events.classes.emit()
        if touched is not None:
            # nearest, not exact: undoing an added beat removes it, and its neighbour is then selected.
            self.selected = self.session.nearest_row(touched)
            self._follow_beats()
        self.events.beats.emit()

    def _count_live(self) -> int:
        table = self.session.table
        return len(table) - int(np.count_nonzero(table.deleted))

    def _follow_beats(self) -> None:
        """Beats added or deleted join or leave their classes, once the edit is saved (one edit changes the number
        of beats by one, so the count says whether the beats changed)."""
        live = self._count_live()
        if live == self._live_beats or self.unsaved or self.store.record(self.recording.name).classes is None:
            return
        self._live_beats = live
        try:
            update_beat_classes(self.store, self.recording, who=self.session.reviewer or "unknown")
        except DanetError as error:
            self.events.status.emit(f"Beat classes not updated: {error}", 5000)
            return
        self.events.classes.emit()

    # --- labels the disk refused -------------------------------------------------------------------

    def _write_unsaved(self) -> None:
        """Write the kept labels, oldest first, until the disk refuses one again."""
        # From the stored truth: the table on screen shows the kept labels as if saved.
        self.session.table = self.store.beat_table(self.session.record)
        while self.unsaved:
            sample, symbol = self.unsaved[0]
            try:
                self.session.label(sample, symbol)
            except StoreWriteError as error:
                self._keep_unsaved(error)
                return
            except DanetError as error:  # not the disk: this label can never be saved
                self.events.refused.emit(str(error))
            self.unsaved.pop(0)
        self.events.unsaved.emit(0, "")

    def _keep_unsaved(self, error: StoreWriteError) -> None:
        # Drawn as labelled (reviewed at "not saved"), so the reviewer's work stays in sight.
        record = self.store.record(self.session.record)
        kept = {sample: Review(symbol, self.session.reviewer, "not saved") for sample, symbol in self.unsaved}
        self.session.table = replace(record, reviews={**record.reviews, **kept}).beat_table()
        self.events.unsaved.emit(len(self.unsaved), str(error))

    def retry_unsaved(self) -> None:
        count = len(self.unsaved)
        self._write_unsaved()
        self._follow_beats()
        self.events.beats.emit()
        if not self.unsaved:
            self.events.status.emit(f"{count} kept label(s) saved", 5000)

    def write_unsaved(self) -> bool:
        """Before the record goes: try the kept labels once more; True if none are left."""
        if self.unsaved:
            self._write_unsaved()
        return not self.unsaved
