"""The beat gallery without Qt: Holter-style exception review, a page of ``GALLERY_PAGE_BEATS`` beats at a time.

After the classes are labelled (template review), the exceptions are single beats whose label is wrong: an APC in
a class of normal beats. The gallery pages through the record as ``beat_classes.gallery_sections`` orders it: each
class, the most doubtful class first and its beats the most doubtful first, then every beat of the record by doubt.
The reader scans a page of 24 beats (4 rows of 6) side by side and labels only the wrong ones.

The order is worked out once, when the gallery is first shown for a record (``sections``), the reader asks again
(``refresh``) or a split or merge renumbers the classes, never after a label: a page does not reshuffle under the
reader. The sections are kept as beat
samples, so a beat added or deleted elsewhere does not shift the other tiles either. The order is worked out by
``runner`` from a snapshot of the record (``RecordSnapshot``): here at once (``RunAtOnce``); the window runs it off
its GUI thread (a third of a second on a 24 h Holter), and until it reports the gallery has no page (``ordering``).

A cursor sits on one tile of the page; moving it selects its beat in the review model, so the main view, the
superimposed beats and the details follow. The other way too: a beat selected elsewhere (the main view, or an undo
going back to the beat it touched) that the section being paged holds is shown on its page, the cursor on it.

A beat key labels the cursor's beat through the review model's own single-beat path (``ReviewModel.label``:
journalled at once, one step of the undo history). A typed label replaces a reviewer's earlier one as it does in the
main view, but not silently: the status bar says whose label it replaced.

Besides the cursor, tiles of the page can be selected, as on a Holter system's template page: one toggled
(``toggle``, Ctrl+click), a range from the cursor (``extend_to``, Shift+click or Shift+arrows), the whole page
(``select_page``), none (``clear_selection``). A beat key then labels the selected beats, and only them, as one step
(``ReviewModel.label_beats``: one journalled edit, one Ctrl+Z), replacing reviewers' labels out loud; the model's
call (Space) goes to those no one has labelled (``ReviewModel.confirm_model_beats``). The selection belongs to the
page: kept as beat samples, as the sections are, and dropped when the page, its section or the order changes, or a
plain cursor move (arrow, click) starts afresh.

Events (``BeatGallery.events``): ``page()`` when the page (its section, its number, or the order) changes;
``cursor()`` when the cursor moves on the page; ``selection()`` when the selected tiles change.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from danet_viewer.components.background import RunAtOnce, Running
from danet_viewer.components.beat_details import apc_score
from danet_viewer.components.events import EmitterGroup
from danet_viewer.components.review_model import ReviewModel
from danet_viewer.components.review_session import BeatState, beat_states
from danet_viewer.core.beat_classes import GALLERY_PAGE_BEATS, gallery_sections
from danet_viewer.core.beats import LOCAL_RR_BEATS, RR_FEATURES, rr_features
from danet_viewer.core.store import NOT_A_BEAT, AnnotationStore, BeatTable, StoredRecord
from danet_viewer.errors import DanetError

# The grid: GALLERY_COLUMNS tiles a row, GALLERY_ROWS rows a page.
GALLERY_COLUMNS = 6
GALLERY_ROWS = GALLERY_PAGE_BEATS // GALLERY_COLUMNS
# Each tile shows the analysis lead from this long before its R to this long after: the beat before it, the P wave
# and the coupling interval are in sight.
STRIP_BEFORE_S = 1.2
STRIP_AFTER_S = 0.4
# A page's strips share one amplitude scale, from these percentiles of all their samples (a noisy tile does not
# shrink the others); what lies beyond it by more than STRIP_MARGIN of the range is clipped to the tile.
STRIP_PERCENTILES = (0.5, 99.5)
STRIP_MARGIN = 0.15
WHOLE_RECORD = -1  # the section id of every beat of the record by doubt (``gallery_sections``)
_PRE_RR, _LOCAL_RR = RR_FEATURES.index("pre_rr_s"), RR_FEATURES.index("local_rr_s")


# The gallery's order: (class id, beat samples) in paging order, class id -1 the whole record.
Sections = list[tuple[int, np.ndarray]]
# What working the order out came to: the sections, the one-line refusal, or None where it was stopped.
OrderOutcome = Sections | DanetError | None


class RecordSnapshot:
    """One record of a store as it was when taken, read as ``gallery_sections`` reads a store (``record``,
    ``beat_table``): the order is worked out from it off the GUI thread while the store goes on taking labels there.
    The store gives a record new beats, model output and classes, but changes its reviews in place: those are
    copied."""

    def __init__(self, store: AnnotationStore, name: str) -> None:
        record = store.record(name)
        self._record = replace(record, reviews=dict(record.reviews))
        self._table: BeatTable | None = None  # built once, on the thread that works the order out

    def record(self, name: str) -> StoredRecord:
        return self._record

    def beat_table(self, name: str) -> BeatTable:
        if self._table is None:
            self._table = self._record.beat_table()
        return self._table

    @property
    def class_count(self) -> int:
        classes = self._record.classes
        return classes.n_classes if classes is not None else 0

    def sections(self) -> Sections:
        """``gallery_sections`` of the record, each section's rows as beat samples."""
        table = self.beat_table(self._record.name)
        return [(class_id, table.sample[rows].astype(np.int64))
                for class_id, rows in gallery_sections(self, self._record.name)]


@dataclass(frozen=True)
class GalleryTile:
    """One beat of the page as its tile shows it."""

    row: int  # of the session's beat table
    sample: int
    time_text: str  # on the record's clock
    label: str  # the reviewer's symbol ("not-a-beat" for a deleted detection), else the model's call A or N
    reviewed: bool
    pre_rr_percent: float  # the interval before the beat, as % of the local median RR (NaN for the first beat)
    apc_score: float  # p(APC) on the APC score scale (50: the model's call); NaN where the model scored none
    state: BeatState  # how the main view draws it (model APC, confirmed, corrected, normal, added, deleted)

    @property
    def caption(self) -> str:
        """'A  RR 72 %  score 81' (the label, the prematurity, the model's score)."""
        label = "✕ not a beat" if self.label == NOT_A_BEAT else self.label
        parts = [label]
        if np.isfinite(self.pre_rr_percent):
            parts.append(f"RR {self.pre_rr_percent:.0f} %")
        if np.isfinite(self.apc_score):
            parts.append(f"score {self.apc_score:.0f}")
        return "  ".join(parts)


class BeatGallery:
    """The pages of beats of the record under review in a ``ReviewModel``, and a cursor on the page shown."""

    def __init__(self, review: ReviewModel) -> None:
        self.review = review
        self.events = EmitterGroup("page", "cursor", "selection")
        self._sections: Sections | None = None  # (class id, beat samples), None: not worked out
        self._sections_class_count = 0  # the record's classes when the sections were worked out
        self.runner: Running = RunAtOnce()
        self.ordering = False  # the order is being worked out (by ``runner``)
        self.section = 0
        self.page = 0
        self.cursor = 0
        self._selected: frozenset[int] = frozenset()  # samples of the selected tiles' beats
        # While tiles are selected, a range (Shift) runs from the anchor, over what was selected when the anchor was
        # set (``_base``); with none, from the cursor.
        self._anchor = 0
        self._base: frozenset[int] = frozenset()
        self._session = review.session
        review.events.beats.connect(self._beats_changed)
        review.events.classes.connect(self._classes_changed)
        review.events.selection.connect(self._follow_selection)

    # --- the order -----------------------------------------------------------------------------------

    @property
    def sections(self) -> Sections:
        """(class id, beat samples) in paging order (``gallery_sections``); class id -1 is the whole record. Worked
        out on first use for the record under review and kept until ``refresh``; none while being worked out."""
        if self._sections is None and not self.ordering and self.review.session is not None:
            self._work_out_order()
        return self._sections or []

    def _work_out_order(self) -> None:
        """Work the order out by ``runner``, from the record as it is now; once it reports, the gallery starts at
        its first page (told as a page change where the runner reported later)."""
        review, session = self.review, self.review.session
        snapshot = RecordSnapshot(review.store, review.recording.name)
        ran = []

        def finish(outcome: OrderOutcome) -> None:
            self.ordering = False
            if review.session is not session or outcome is None:  # the record went, and the work with it
                return
            if isinstance(outcome, DanetError):
                review.events.refused.emit(f"The beat gallery's order was not worked out: {outcome}")
                outcome = []
            elif snapshot.class_count != self._class_count():  # a split or merge meanwhile: its classes are gone
                self._work_out_order()
                return
            self._sections, self._sections_class_count = outcome, snapshot.class_count
            self.section = self.page = self.cursor = 0
            self._drop_selection()
            if ran:
                self._page_changed()

        self.ordering = True
        self.runner.run(lambda _progress: snapshot.sections(), finish)
        ran.append(True)

    def refresh(self) -> None:
        """Work the order out again from the labels as they are now, and start at its first page."""
        if not self.ordering:  # else the order being worked out is as fresh
            self._sections = None
        self._page_changed()

    def open(self) -> None:
        """The gallery is shown: its cursor's beat becomes the selected one, so the main view shows it too."""
        self._select_cursor()
        self.events.cursor.emit()

    def _beats_changed(self) -> None:
        if self.review.session is not self._session:  # another record (or none): its order is worked out when shown
            self._session = self.review.session
            if self.ordering:  # the order of the record that went: dropped with it
                self.runner.stop()
                self.ordering = False
            self._sections = None
            self.section = self.page = self.cursor = 0
            self._drop_selection()
        # Else a label or an added or deleted beat: the same beats on the same page, drawn as they are now; an undo
        # selects the beat it touched, which the page then follows.
        self.events.page.emit()
        self._follow_selection()

    def _follow_selection(self) -> None:
        """The beat selected elsewhere (in the main view, or by an undo that went back to the beat it touched) is
        shown on its page, with the cursor on it, where the section being paged holds it; the section stays."""
        row = self.review.selected
        if self._sections is None or self.review.session is None or row is None or row == self.cursor_row():
            return
        at = np.flatnonzero(self._sections[self.section][1] == self.review.session.table.sample[row])
        if not len(at):
            return
        page = int(at[0]) // GALLERY_PAGE_BEATS
        if page != self.page:
            self.page = page
            self._drop_selection()
            self.events.page.emit()
        self.cursor = int(np.flatnonzero(self.page_rows() == row)[0])
        self.events.cursor.emit()

    def _classes_changed(self) -> None:
        """A split or merge (or its undo) renumbers the classes, and the sections' titles would name classes that are
        gone: the order is worked out again, from its first page. Beats joining or leaving their classes (a beat
        added or deleted) keep the number of classes, and the page stays."""
        if self._sections is None or self.review.session is None:
            return
        if self._class_count() != self._sections_class_count:
            self.refresh()

    def _class_count(self) -> int:
        classes = self.review.store.record(self.review.recording.name).classes
        return classes.n_classes if classes is not None else 0

    # --- where the reader is -------------------------------------------------------------------------

    def page_count(self, section: int | None = None) -> int:
        sections = self.sections
        if not sections:
            return 0
        samples = sections[self.section if section is None else section][1]
        return max(1, -(-len(samples) // GALLERY_PAGE_BEATS))

    def title(self) -> str:
        """'Class 3: page 2 of 5', 'Whole record by doubt: page 1 of 80'; what there is when there is no page."""
        sections = self.sections
        if self.ordering:
            return "Working out the order of the record's beats…"
        if not sections:
            return "No record under review" if self.review.session is None else "No beats to page through"
        class_id = sections[self.section][0]
        name = "Whole record by doubt" if class_id == WHOLE_RECORD else f"Class {class_id}"
        selected = len(self.selected_indices())
        return f"{name}: page {self.page + 1} of {self.page_count()}" + (f", {selected} selected" if selected else "")

    def page_rows(self) -> np.ndarray:
        """Rows of the session's beat table on the page, in tile order (beats no longer in the table left out)."""
        sections, session = self.sections, self.review.session
        if not sections:
            return np.empty(0, np.int64)
        samples = sections[self.section][1][self.page * GALLERY_PAGE_BEATS : (self.page + 1) * GALLERY_PAGE_BEATS]
        table = session.table
        if not len(table):
            return np.empty(0, np.int64)
        rows = np.minimum(np.searchsorted(table.sample, samples), len(table) - 1)
        return rows[table.sample[rows] == samples].astype(np.int64)

    def cursor_row(self) -> int | None:
        rows = self.page_rows()
        return int(rows[self.cursor]) if self.cursor < len(rows) else None

    def tiles(self) -> list[GalleryTile]:
        """What each tile of the page shows, in tile order."""
        review, rows = self.review, self.page_rows()
        if not len(rows):
            return []
        table, session = review.session.table, review.session
        fs = review.recording.fs
        scores = (apc_score(table.p_apc[rows], session.threshold) if np.isfinite(session.threshold)
                  else np.full(len(rows), np.nan))
        pre_rr = self._pre_rr_percent(table.sample[rows])
        page = table.take(rows)  # states and flags of the page's beats, not of the whole record at each redraw
        states, reviewed = beat_states(page), page.reviewed
        return [GalleryTile(
            row=int(row), sample=int(table.sample[row]), time_text=review.clock.text(table.sample[row] / fs),
            label=str(table.review_symbol[row]) if reviewed[i] else session.model_symbol(int(row)),
            reviewed=bool(reviewed[i]), pre_rr_percent=float(pre_rr[i]), apc_score=float(scores[i]),
            state=BeatState(states[i]),
        ) for i, row in enumerate(rows)]

    def _pre_rr_percent(self, samples: np.ndarray) -> np.ndarray:
        """The interval before each beat at ``samples`` as % of the local median RR (``rr_features``: the median of
        the last ``LOCAL_RR_BEATS`` intervals), among the beats not deleted; NaN for a deleted beat and the record's
        first. Worked out from each beat's own neighbours: the whole record's features take a third of a second on a
        24 h Holter, too long after every label."""
        table = self.review.session.table
        live = table.sample[~table.deleted]
        percent = np.full(len(samples), np.nan)
        at = np.searchsorted(live, samples)
        for i, (sample, position) in enumerate(zip(samples, at, strict=True)):
            if 0 < position < len(live) and live[position] == sample:
                # Enough beats before it that its trailing window holds intervals only, as over the whole record.
                first = max(0, position - LOCAL_RR_BEATS - 1)
                rr = rr_features(live[first : position + 1], self.review.recording.fs)[-1]
                percent[i] = 100.0 * rr[_PRE_RR] / max(float(rr[_LOCAL_RR]), 1e-6)
        return percent

    # --- the strips ----------------------------------------------------------------------------------

    def strip_times(self) -> np.ndarray:
        """Seconds from R of each sample of a strip (``STRIP_BEFORE_S`` before to ``STRIP_AFTER_S`` after)."""
        fs = self.review.recording.fs
        return np.arange(-round(STRIP_BEFORE_S * fs), round(STRIP_AFTER_S * fs) + 1) / fs

    def strips(self) -> np.ndarray:
        """float32 (tiles, samples): each tile's stretch of the analysis lead around its R, its median taken off
        (baseline wander apart, so the strips sit in their cells); NaN beyond the record's ends. (0, 0) with no
        tiles."""
        review, rows = self.review, self.page_rows()
        if not len(rows):
            return np.empty((0, 0), np.float32)
        fs, raw = review.recording.fs, review.analysis_raw
        offsets = np.arange(-round(STRIP_BEFORE_S * fs), round(STRIP_AFTER_S * fs) + 1)
        if not len(raw):
            return np.full((len(rows), len(offsets)), np.nan, np.float32)
        at = review.session.table.sample[rows][:, None] + offsets[None, :]
        inside = (at >= 0) & (at < len(raw))
        strips = np.where(inside, raw[np.clip(at, 0, len(raw) - 1)], np.nan).astype(np.float32)
        # Each row holds its own R sample, so no row is all NaN.
        return strips - np.nanmedian(strips, axis=1, keepdims=True)

    @staticmethod
    def scale(strips: np.ndarray) -> tuple[float, float]:
        """The amplitude range the page's strips share (low, high), from ``STRIP_PERCENTILES`` of all their samples,
        widened by ``STRIP_MARGIN`` each way; (-1, 1) with nothing to scale."""
        values = strips[np.isfinite(strips)]
        if not len(values):
            return -1.0, 1.0
        low, high = np.percentile(values, STRIP_PERCENTILES)
        span = max(float(high - low), 1e-6)
        return float(low - STRIP_MARGIN * span), float(high + STRIP_MARGIN * span)

    # --- paging --------------------------------------------------------------------------------------

    def _go(self, section: int, page: int) -> None:
        self.section, self.page, self.cursor = section, page, 0
        self._page_changed()

    def _page_changed(self) -> None:
        self._drop_selection()
        self.events.page.emit()
        self._select_cursor()
        self.events.cursor.emit()

    def next_page(self) -> None:
        """The section's next page; past its last, the next section's first (the whole record's last page ends it)."""
        if not self.sections:
            return
        if self.page + 1 < self.page_count():
            self._go(self.section, self.page + 1)
        elif self.section + 1 < len(self.sections):
            self._go(self.section + 1, 0)
        else:
            self.review.events.status.emit("The last page of the gallery", 3000)

    def previous_page(self) -> None:
        """The section's previous page; before its first, the previous section's last."""
        if not self.sections:
            return
        if self.page > 0:
            self._go(self.section, self.page - 1)
        elif self.section > 0:
            self._go(self.section - 1, self.page_count(self.section - 1) - 1)
        else:
            self.review.events.status.emit("The first page of the gallery", 3000)

    def next_section(self) -> None:
        """Leave this class: the next section's first page (the reader's move when a page had nothing to correct)."""
        if self.section + 1 < len(self.sections):
            self._go(self.section + 1, 0)
        elif self.sections:
            self.review.events.status.emit("The whole record is the gallery's last section", 3000)

    def previous_section(self) -> None:
        if self.section > 0:
            self._go(self.section - 1, 0)

    # --- the cursor ----------------------------------------------------------------------------------

    def move_cursor(self, rows: int = 0, columns: int = 0) -> None:
        """Move the cursor ``rows`` down and ``columns`` right in the grid: left and right go on along the page
        (from a row's end to the next row's start), up and down stay in their column; it stays on the page's tiles."""
        target = self._grid_target(rows, columns)
        if target is not None:
            self.set_cursor(target)

    def _grid_target(self, rows: int, columns: int) -> int | None:
        """The tile ``rows`` down and ``columns`` right of the cursor (``move_cursor``), None where there is none."""
        count = len(self.page_rows())
        if not count:
            return None
        target = self.cursor + rows * GALLERY_COLUMNS + columns
        if rows and not 0 <= target < count:
            return None  # no tile above or below in this column
        return min(max(target, 0), count - 1)

    def set_cursor(self, index: int) -> None:
        """Put the cursor on tile ``index`` of the page (a click) and select its beat; the selected tiles are
        dropped (a plain move starts afresh)."""
        if not 0 <= index < len(self.page_rows()):
            return
        self.clear_selection()
        if index == self.cursor and self.review.selected == self.cursor_row():
            return
        self._put_cursor(index)

    def _put_cursor(self, index: int) -> None:
        self.cursor = index
        self._select_cursor()
        self.events.cursor.emit()

    def _select_cursor(self) -> None:
        row = self.cursor_row()
        if row is not None and row != self.review.selected:
            self.review.select_row(row)

    def show_in_main_view(self) -> None:
        """Select the cursor's beat and centre the main view on it, keeping the main view's span."""
        row = self.cursor_row()
        if row is None:
            return
        self.review.select_row(row)
        self.review.set_span(self.review.viewport.stop_s - self.review.viewport.start_s)

    # --- the selected tiles ----------------------------------------------------------------------------

    def selected_indices(self) -> list[int]:
        """The selected tiles of the page, in tile order."""
        rows = self.page_rows()
        if not self._selected or not len(rows):
            return []
        samples = self.review.session.table.sample[rows]
        return [int(i) for i in np.flatnonzero(np.isin(samples, list(self._selected)))]

    def selected_rows(self) -> np.ndarray:
        """Rows of the session's beat table of the selected tiles, in tile order."""
        return self.page_rows()[self.selected_indices()]

    def toggle(self, index: int) -> None:
        """Select tile ``index``, or unselect it if it was (Ctrl+click); the cursor goes there, and a range goes on
        from it."""
        rows = self.page_rows()
        if not 0 <= index < len(rows):
            return
        sample = int(self.review.session.table.sample[rows[index]])
        self._set_selected(self._selected ^ {sample})
        self._anchor, self._base = index, self._selected
        self._put_cursor(index)

    def extend_to(self, index: int) -> None:
        """Select the tiles from the anchor (the cursor, or the last tile toggled) to ``index``, besides those selected
        when the anchor was set (Shift+click); the cursor goes to ``index``."""
        rows = self.page_rows()
        if not 0 <= index < len(rows):
            return
        anchor, base = (self._anchor, self._base) if self._selected else (self.cursor, frozenset())
        anchor = min(anchor, len(rows) - 1)
        span = rows[min(anchor, index) : max(anchor, index) + 1]
        self._anchor, self._base = anchor, base
        self._set_selected(base | {int(sample) for sample in self.review.session.table.sample[span]})
        self._put_cursor(index)

    def extend_cursor(self, rows: int = 0, columns: int = 0) -> None:
        """Shift+arrow: move the cursor as ``move_cursor`` does, selecting the range from the anchor to it."""
        target = self._grid_target(rows, columns)
        if target is not None:
            self.extend_to(target)

    def select_page(self) -> None:
        """Select every tile of the page (Ctrl+A)."""
        rows = self.page_rows()
        if len(rows):
            self._set_selected(frozenset(int(sample) for sample in self.review.session.table.sample[rows]))
            self._anchor, self._base = self.cursor, self._selected

    def clear_selection(self) -> bool:
        """Select no tile (Esc); True if some were selected."""
        had = bool(self._selected)
        self._set_selected(frozenset())
        return had

    def _set_selected(self, samples: frozenset[int]) -> None:
        if samples != self._selected:
            self._selected = samples
            self.events.selection.emit()

    def _drop_selection(self) -> None:
        """The page changed: its selection goes with it (drawn with the new page)."""
        self._selected = frozenset()

    # --- labelling -----------------------------------------------------------------------------------

    def label(self, symbol: str) -> None:
        """Label the cursor's beat ``symbol`` through the review model, as a beat key does in the main view: saved at
        once, one step of the undo history. Replacing a reviewer's other label says so on the status bar. With tiles
        selected, their beats instead, and no other, as one step (``ReviewModel.label_beats``)."""
        selected = self.selected_rows()
        if len(selected):
            self.review.label_beats(self.review.session.table.sample[selected], symbol,
                                    action=f"label_selection {len(selected)} beats")
            return
        row = self.cursor_row()
        if row is None:
            return
        table = self.review.session.table
        before = str(table.review_symbol[row])
        who = str(table.reviewer[row]) or "a reviewer"
        self.review.select_row(row)
        self.review.label(int(table.sample[row]), symbol)
        after = self.review.session.table
        if before and before != symbol and after.review_symbol[row] == symbol:
            shown = "not a beat" if before == NOT_A_BEAT else before
            self.review.events.status.emit(f"Replaced {who}'s label {shown} with {symbol} (Ctrl+Z puts it back)", 5000)

    def confirm_model(self) -> None:
        """The model's call as the cursor's beat's label, where no one has labelled it (``ReviewModel.confirm_model``:
        a reviewer's label is kept, and the status bar says so). With tiles selected, on their beats no one has
        labelled instead, as one step (``ReviewModel.confirm_model_beats``)."""
        selected = self.selected_rows()
        if len(selected):
            self.review.confirm_model_beats(self.review.session.table.sample[selected],
                                            action=f"confirm_model_selection {len(selected)} beats")
            return
        row = self.cursor_row()
        if row is not None:
            self.review.select_row(row)
            self.review.confirm_model()
