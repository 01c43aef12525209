"""The beat gallery without Qt: pages and sections in doubt order, the cursor and its bounds, a label through the
review model (journalled, one undo step), a page that does not reshuffle after a label, and a reviewer's label
replaced only out loud."""

from __future__ import annotations

import numpy as np
import pytest

from danet_viewer.components.beat_gallery import (
    GALLERY_COLUMNS,
    STRIP_AFTER_S,
    STRIP_BEFORE_S,
    WHOLE_RECORD,
    BeatGallery,
    RecordSnapshot,
)
from danet_viewer.components.class_review import ClassReview
from danet_viewer.components.review_model import ReviewModel
from danet_viewer.components.review_session import BeatState
from danet_viewer.core.beat_classes import GALLERY_PAGE_BEATS, beat_doubt, gallery_sections
from danet_viewer.core.beats import rr_features
from danet_viewer.core.readers import open_recording
from danet_viewer.core.store import NOT_A_BEAT
from danet_viewer.errors import DanetError, StoreWriteError
from tests.components.test_class_review import ECTOPIC_A, ECTOPIC_V, SINUS, three_kinds_record
from tests.core.test_beat_classes import APC, FS


@pytest.fixture
def reviewing(tmp_path):
    """The three-kind record (150 beats: sinus, APCs, ventricular) with the model's p(APC) and classes by kind,
    under review; yields (review, gallery, kinds)."""
    header, kinds = three_kinds_record(tmp_path)
    recording = open_recording(header)
    review = ReviewModel()
    review.open(recording)
    review.start_session(0, recording.read(0), "dr test")
    gallery = BeatGallery(review)
    yield review, gallery, kinds
    review.close()


def test_pages_run_through_each_class_by_doubt_then_the_whole_record(reviewing):
    review, gallery, kinds = reviewing
    expected = gallery_sections(review.store, review.recording.name)
    assert [class_id for class_id, _ in gallery.sections] == [class_id for class_id, _ in expected]
    assert gallery.sections[-1][0] == WHOLE_RECORD and len(gallery.sections) == 4
    assert gallery.section == gallery.page == gallery.cursor == 0
    first_class, first_rows = expected[0]
    assert list(gallery.page_rows()) == list(first_rows[:GALLERY_PAGE_BEATS])
    doubt = beat_doubt(review.store, review.recording.name)
    assert np.all(np.diff(doubt[gallery.page_rows()]) <= 0)  # the most doubtful beat on the first tile
    assert gallery.title() == f"Class {first_class}: page 1 of {-(-len(first_rows) // GALLERY_PAGE_BEATS)}"
    # Paging on past a section's last page goes into the next section; back again to its last page.
    visited = []
    while True:
        visited.append((gallery.section, gallery.page, len(gallery.page_rows())))
        before = (gallery.section, gallery.page)
        gallery.next_page()
        if (gallery.section, gallery.page) == before:
            break
    assert [v[:2] for v in visited] == [(s, p) for s, (_, rows) in enumerate(expected)
                                        for p in range(-(-len(rows) // GALLERY_PAGE_BEATS))]
    assert sum(count for _, _, count in visited) == sum(len(rows) for _, rows in expected)
    assert gallery.title() == f"Whole record by doubt: page {gallery.page + 1} of {-(-len(kinds) // 24)}"
    assert gallery.page == gallery.page_count() - 1  # the last page stays the last
    sinus = next(i for i, (class_id, _) in enumerate(gallery.sections) if class_id == SINUS)
    assert gallery.page_count(sinus) == 5  # 118 beats
    gallery.section, gallery.page = sinus + 1, 0
    gallery.previous_page()
    assert (gallery.section, gallery.page) == (sinus, 4)
    gallery.previous_page()
    assert (gallery.section, gallery.page) == (sinus, 3)
    gallery.next_section()
    assert (gallery.section, gallery.page) == (sinus + 1, 0)
    gallery.next_section(), gallery.next_section(), gallery.next_section()
    assert gallery.section == len(gallery.sections) - 1  # the whole record ends it


def test_tiles_show_the_label_prematurity_and_score_and_strips_share_a_scale(reviewing):
    review, gallery, kinds = reviewing
    section = next(i for i, (class_id, _) in enumerate(gallery.sections) if class_id == ECTOPIC_A)
    gallery.section = section
    tiles = gallery.tiles()
    assert len(tiles) == np.sum(kinds == APC)
    for tile in tiles:
        assert kinds[tile.row] == APC and tile.label == "A" and not tile.reviewed  # the model's call, unreviewed
        assert tile.state is BeatState.MODEL_APC
        assert tile.pre_rr_percent == pytest.approx(70, abs=6)  # 30 % early against the local median
        assert tile.apc_score == pytest.approx(55, abs=1)  # p 0.55 against a threshold of 0.5
        assert tile.caption.startswith("A  RR ") and "score 55" in tile.caption
        assert tile.time_text == review.clock.text(tile.sample / FS)
    # As the record's RR features say (``rr_features`` over every beat), worked out from the beat's neighbours only.
    rr = rr_features(review.session.table.sample, FS)
    gallery.section = len(gallery.sections) - 1  # the whole record: every beat, the first ones too
    for page in range(gallery.page_count()):
        gallery.page = page
        for tile in gallery.tiles():
            expected = 100 * rr[tile.row, 0] / rr[tile.row, 2] if tile.row else np.nan
            assert tile.pre_rr_percent == pytest.approx(expected, rel=1e-5, nan_ok=True)
    gallery.section, gallery.page = section, 0
    strips = gallery.strips()
    assert strips.shape == (len(tiles), round(STRIP_BEFORE_S * FS) + round(STRIP_AFTER_S * FS) + 1)
    at_r = round(STRIP_BEFORE_S * FS)
    assert np.all(strips[:, at_r] > 0.8)  # every strip's R (1.2 mV over its baseline) at the same place
    low, high = gallery.scale(strips)
    assert low < np.percentile(strips, 1) and high > np.percentile(strips, 99) and high - low < 3
    gallery.section = next(i for i, (class_id, _) in enumerate(gallery.sections) if class_id == SINUS)
    assert {tile.label for tile in gallery.tiles()} == {"N"}


def test_the_cursor_moves_in_the_grid_and_selects_its_beat(reviewing):
    review, gallery, _ = reviewing
    gallery.section = next(i for i, (class_id, _) in enumerate(gallery.sections) if class_id == SINUS)
    rows = gallery.page_rows()
    assert len(rows) == GALLERY_PAGE_BEATS
    moves = []
    gallery.events.cursor.connect(lambda: moves.append(gallery.cursor))
    gallery.move_cursor(columns=1)
    assert gallery.cursor == 1 and review.selected == rows[1] and moves == [1]
    gallery.move_cursor(rows=1)
    assert gallery.cursor == 1 + GALLERY_COLUMNS and review.selected == rows[1 + GALLERY_COLUMNS]
    gallery.move_cursor(columns=GALLERY_COLUMNS - 2)  # on along the row, then the next row's start
    assert gallery.cursor == 2 * GALLERY_COLUMNS - 1
    gallery.move_cursor(columns=1)
    assert gallery.cursor == 2 * GALLERY_COLUMNS
    gallery.move_cursor(rows=-5)  # no tile above the first row: stays
    assert gallery.cursor == 2 * GALLERY_COLUMNS
    gallery.move_cursor(rows=1), gallery.move_cursor(rows=1), gallery.move_cursor(rows=1)
    assert gallery.cursor == GALLERY_PAGE_BEATS - GALLERY_COLUMNS  # the last row
    gallery.move_cursor(columns=99)
    assert gallery.cursor == GALLERY_PAGE_BEATS - 1 and review.selected == rows[-1]
    gallery.move_cursor(columns=-99)
    assert gallery.cursor == 0 and review.selected == rows[0]
    gallery.set_cursor(5)
    assert gallery.cursor == 5 and review.selected == rows[5]
    gallery.set_cursor(GALLERY_PAGE_BEATS)  # off the page: ignored
    assert gallery.cursor == 5
    gallery.next_page()  # a page starts with the cursor on its first tile, its beat selected
    assert gallery.cursor == 0 and review.selected == gallery.page_rows()[0] != rows[0]
    # A short page bounds the cursor by its tiles.
    gallery.section = next(i for i, (class_id, _) in enumerate(gallery.sections) if class_id == ECTOPIC_V)
    gallery.page, gallery.cursor = 0, 0
    count = len(gallery.page_rows())
    gallery.move_cursor(columns=99)
    assert gallery.cursor == count - 1 < GALLERY_PAGE_BEATS - 1
    gallery.move_cursor(rows=1)
    assert gallery.cursor == count - 1


def test_a_label_is_journalled_undone_and_leaves_the_page_as_it_was(reviewing, tmp_path):
    review, gallery, kinds = reviewing
    gallery.section = next(i for i, (class_id, _) in enumerate(gallery.sections) if class_id == SINUS)
    rows = gallery.page_rows().copy()
    pages = []
    gallery.events.page.connect(lambda: pages.append(gallery.page))
    gallery.set_cursor(3)
    row = int(rows[3])
    gallery.label("A")
    table = review.session.table
    assert table.review_symbol[row] == "A" and table.reviewer[row] == "dr test" and table.reviewed.sum() == 1
    stored = review.store.beat_table(review.recording.name)
    assert stored.review_symbol[row] == "A"  # in the store at once, no Save
    entry = review.store.audit_log()[-1]  # journalled as one label, by the reviewer
    assert (entry.action, entry.sample, entry.before, entry.after, entry.who) == ("label", table.sample[row], "", "A",
                                                                                "dr test")
    assert gallery.tiles()[3].label == "A" and gallery.tiles()[3].reviewed
    assert gallery.tiles()[3].state is BeatState.CORRECTED and gallery.tiles()[2].state is BeatState.NORMAL
    assert list(gallery.page_rows()) == list(rows) and gallery.cursor == 3  # the page stays, redrawn
    assert pages == [0]
    # The new doubt order would put the labelled beat elsewhere; the gallery keeps its order until refreshed.
    assert [list(r) for _, r in gallery_sections(review.store, review.recording.name)] != \
        [list(np.searchsorted(table.sample, s)) for _, s in gallery.sections]
    review.undo()
    assert not review.session.table.reviewed.any() and not review.store.beat_table(review.recording.name).reviewed.any()
    assert gallery.tiles()[3].label == "N" and not review.session.can_undo  # one step
    assert review.store.audit_log()[-1].action == "clear_label"
    assert list(gallery.page_rows()) == list(rows)
    gallery.refresh()
    assert gallery.page == gallery.section == gallery.cursor == 0 and review.selected == gallery.page_rows()[0]


def test_a_reviewers_label_is_replaced_only_out_loud_and_space_keeps_it(reviewing):
    review, gallery, _ = reviewing
    notes = []
    review.events.status.connect(lambda message, _timeout: notes.append(message))
    row = gallery.cursor_row()
    review.session.reviewer = "dr first"
    review.label(int(review.session.table.sample[row]), "N")
    review.session.reviewer = "dr second"
    gallery.confirm_model()  # the model's call would be another label: the reviewer's stays
    assert review.session.table.review_symbol[row] == "N" and "Kept dr first's label N" in notes[-1]
    gallery.label("A")  # typed: replaces it, as in the main view, and says whose it replaced
    assert review.session.table.review_symbol[row] == "A" and review.session.table.reviewer[row] == "dr second"
    assert notes[-1] == "Replaced dr first's label N with A (Ctrl+Z puts it back)"
    review.undo()
    assert review.session.table.review_symbol[row] == "N"
    gallery.label("A"), gallery.label("A")  # the same label again is no edit and no second note
    assert sum(note.startswith("Replaced") for note in notes) == 2


def test_another_record_resets_the_gallery_and_a_closed_one_shows_nothing(reviewing, tmp_path):
    review, gallery, _ = reviewing
    gallery.next_page(), gallery.move_cursor(columns=2)
    assert (gallery.section, gallery.page, gallery.cursor) != (0, 0, 0)
    recording = review.recording
    review.close()
    assert gallery.sections == [] and len(gallery.page_rows()) == 0 and gallery.tiles() == []
    assert gallery.title() == "No record under review"
    gallery.next_page(), gallery.move_cursor(columns=1), gallery.label("A")  # nothing to do: no error
    review.open(recording)
    review.start_session(0, recording.read(0), "dr test")
    assert (gallery.section, gallery.page, gallery.cursor) == (0, 0, 0) and len(gallery.page_rows())


def test_a_merge_or_its_undo_works_the_order_out_again_and_a_deleted_beat_does_not(reviewing):
    review, gallery, kinds = reviewing
    gallery.next_page()
    where = (gallery.section, gallery.page)
    assert where != (0, 0)
    # Marking a beat not-a-beat changes its class's members, not the classes: the reader stays on the page.
    review.select_row(int(np.flatnonzero(kinds == APC)[0]))
    review.mark_not_a_beat()
    assert (gallery.section, gallery.page) == where
    classes = ClassReview(review)
    classes.merge(SINUS, ECTOPIC_V)
    assert len(gallery.sections) == 3 and (gallery.section, gallery.page) == (0, 0)
    assert [c for c, _ in gallery.sections] == [c for c, _ in gallery_sections(review.store, review.recording.name)]
    review.undo()
    assert len(gallery.sections) == 4


def test_the_page_follows_a_beat_selected_elsewhere_or_an_undo_within_its_section(reviewing):
    review, gallery, _ = reviewing
    gallery.section = len(gallery.sections) - 1  # the whole record by doubt: every beat, pages of 24
    gallery.next_page()
    gallery.set_cursor(5)
    row = gallery.cursor_row()
    gallery.label("A")
    gallery.previous_page()
    assert gallery.page == 0
    review.undo()  # the undo selects the beat it touched: the gallery shows it again, the cursor on it
    assert (gallery.page, gallery.cursor_row()) == (1, row) and not review.session.table.reviewed[row]
    last = int(gallery.sections[-1][1].size - 1)
    review.select_row(int(np.searchsorted(review.session.table.sample, gallery.sections[-1][1][last])))
    assert gallery.page == last // GALLERY_PAGE_BEATS and gallery.cursor == last % GALLERY_PAGE_BEATS
    # A class's section does not follow a beat of another class: the reader stays where they page.
    gallery.section, gallery.page, gallery.cursor = 0, 0, 0
    outside = np.setdiff1d(np.arange(len(review.session.table)),
                           np.searchsorted(review.session.table.sample, gallery.sections[0][1]))
    review.select_row(int(outside[0]))
    assert (gallery.section, gallery.page, gallery.cursor) == (0, 0, 0)


def sinus_page(gallery) -> np.ndarray:
    """Go to the sinus class's first page (a full page of 24) and return its rows."""
    gallery.section = next(i for i, (class_id, _) in enumerate(gallery.sections) if class_id == SINUS)
    gallery.page = gallery.cursor = 0
    rows = gallery.page_rows().copy()
    assert len(rows) == GALLERY_PAGE_BEATS
    return rows


def test_tiles_are_toggled_ranged_and_selected_a_page_at_a_time(reviewing):
    review, gallery, _ = reviewing
    rows = sinus_page(gallery)
    changes = []
    gallery.events.selection.connect(lambda: changes.append(gallery.selected_indices()))
    gallery.toggle(2), gallery.toggle(5)  # Ctrl+click: the cursor goes along, its beat selected in the main view
    assert gallery.selected_indices() == [2, 5] and changes == [[2], [2, 5]]
    assert gallery.cursor == 5 and review.selected == rows[5]
    assert list(gallery.selected_rows()) == list(rows[[2, 5]])
    assert gallery.title().endswith("page 1 of 5, 2 selected")
    gallery.toggle(2)  # again: unselected
    assert gallery.selected_indices() == [5]
    gallery.extend_to(8)  # Shift+click: the range from the last tile toggled, besides what was selected then
    assert gallery.selected_indices() == [2, 3, 4, 5, 6, 7, 8] and gallery.cursor == 8
    gallery.extend_to(3)  # the range runs from the same anchor, the other way now
    assert gallery.selected_indices() == [2, 3, 5] and gallery.cursor == 3
    assert gallery.clear_selection() and not gallery.clear_selection()  # Esc: True only with tiles to clear
    assert gallery.selected_indices() == [] and gallery.title().endswith("page 1 of 5")
    # With nothing selected a range runs from the cursor: Shift+Right, Shift+Down.
    gallery.set_cursor(1)
    gallery.extend_cursor(columns=1)
    assert gallery.selected_indices() == [1, 2] and gallery.cursor == 2
    gallery.extend_cursor(rows=1)
    assert gallery.selected_indices() == list(range(1, 3 + GALLERY_COLUMNS)) and gallery.cursor == 2 + GALLERY_COLUMNS
    gallery.extend_cursor(rows=-5)  # no tile up there: the selection stays
    assert len(gallery.selected_indices()) == 2 + GALLERY_COLUMNS
    gallery.move_cursor(columns=1)  # a plain move (an arrow) starts afresh
    assert gallery.selected_indices() == [] and gallery.cursor == 3 + GALLERY_COLUMNS
    gallery.toggle(0)
    gallery.set_cursor(0)  # a plain click, on the cursor's own tile too, drops the selection
    assert gallery.selected_indices() == []
    gallery.select_page()  # Ctrl+A
    assert gallery.selected_indices() == list(range(GALLERY_PAGE_BEATS))
    gallery.toggle(24), gallery.extend_to(-1)  # off the page: ignored
    assert len(gallery.selected_indices()) == GALLERY_PAGE_BEATS


def test_the_selection_belongs_to_the_page(reviewing):
    review, gallery, _ = reviewing
    sinus_page(gallery)
    for leave in (gallery.next_page, gallery.previous_page, gallery.next_section, gallery.previous_section,
                  gallery.refresh):
        gallery.select_page()
        leave()
        assert gallery.selected_indices() == [], leave.__name__
    sinus_page(gallery)
    gallery.toggle(3)
    gallery.previous_page()  # the whole page list holds the same beats again: not selected any more
    gallery.next_page()
    assert gallery.selected_indices() == []
    # A beat selected elsewhere, on another page of the section being paged: the page follows, its selection goes.
    section = len(gallery.sections) - 1
    gallery.section, gallery.page, gallery.cursor = section, 0, 0
    gallery.select_page()
    review.select_row(int(np.searchsorted(review.session.table.sample, gallery.sections[section][1][-1])))
    assert gallery.page == gallery.page_count() - 1 and gallery.selected_indices() == []
    # A selected beat on the same page as the one selected elsewhere: the cursor goes there, the selection stays.
    gallery.toggle(0), gallery.toggle(1)
    review.select_row(int(gallery.page_rows()[2]))
    assert gallery.cursor == 2 and gallery.selected_indices() == [0, 1]
    # Another record: none.
    recording = review.recording
    review.close()
    assert gallery.selected_indices() == []
    review.open(recording)
    review.start_session(0, recording.read(0), "dr test")
    assert gallery.selected_indices() == [] and not len(gallery.selected_rows())


def test_a_beat_key_labels_the_selected_beats_only_as_one_step(reviewing):
    review, gallery, _ = reviewing
    rows = sinus_page(gallery)
    gallery.toggle(1), gallery.toggle(4), gallery.toggle(7)  # the cursor on tile 7, one of them
    gallery.label("A")
    table = review.session.table
    chosen = rows[[1, 4, 7]]
    assert list(table.review_symbol[chosen]) == ["A"] * 3 and table.reviewed.sum() == 3  # those, no other
    assert list(review.store.beat_table(review.recording.name).review_symbol[chosen]) == ["A"] * 3  # stored at once
    entry = review.store.audit_log()[-1]  # one journalled edit, by the reviewer
    assert (entry.action, entry.who, entry.sample) == ("label_selection 3 beats", "dr test", table.sample[chosen[0]])
    assert list(gallery.page_rows()) == list(rows) and gallery.selected_indices() == [1, 4, 7]  # the page stays
    assert [tile.label for tile in gallery.tiles()[:5]] == ["N", "A", "N", "N", "A"]
    review.undo()  # one Ctrl+Z: the whole group
    assert not review.session.table.reviewed.any() and not review.session.can_undo
    assert not review.store.beat_table(review.recording.name).reviewed.any()
    assert review.store.audit_log()[-1].action == "undo label_selection 3 beats"
    review.redo()  # selects the group's first beat: the cursor follows it, the selection stays
    assert review.session.table.reviewed.sum() == 3 and gallery.cursor == 1 and gallery.selected_indices() == [1, 4, 7]
    # Nothing selected: the cursor's beat alone, as before.
    gallery.clear_selection()
    gallery.label("V")
    assert review.session.table.review_symbol[rows[1]] == "V" and review.session.table.reviewed.sum() == 3


def test_a_group_label_replaces_reviewers_labels_out_loud_and_restores_a_deleted_beat(reviewing):
    review, gallery, _ = reviewing
    rows = sinus_page(gallery)
    notes = []
    review.events.status.connect(lambda message, _timeout: notes.append(message))
    samples = review.session.table.sample
    review.session.reviewer = "dr first"
    review.label(int(samples[rows[0]]), "N"), review.label(int(samples[rows[1]]), NOT_A_BEAT)
    review.label(int(samples[rows[2]]), "V")
    review.session.reviewer = "dr second"
    review.label(int(samples[rows[3]]), "V")
    review.session.reviewer = "dr third"
    gallery.set_cursor(0)
    gallery.extend_to(4)
    gallery.label("A")
    table = review.session.table
    assert list(table.review_symbol[rows[:5]]) == ["A"] * 5 and set(table.reviewer[rows[:5]]) == {"dr third"}
    assert not table.deleted[rows[1]]  # a beat key restores a deleted detection, as on one tile
    assert notes[-1] == ("Replaced 4 reviewer labels (dr first's N, dr first's not a beat, dr first's V, dr second's "
                         "V) with A: 5 of 5 beats labelled in one step (Ctrl+Z puts them back)")
    review.undo()
    table = review.session.table
    assert list(table.review_symbol[rows[:5]]) == ["N", NOT_A_BEAT, "V", "V", ""]
    assert list(table.reviewer[rows[:5]]) == ["dr first"] * 3 + ["dr second", ""]
    gallery.set_cursor(5)
    gallery.extend_to(6)
    gallery.label("N")  # none labelled before: no one's label replaced
    assert notes[-1] == "2 of 2 beats labelled N in one step (Ctrl+Z undoes it)"
    gallery.label("N")
    assert notes[-1] == "The 2 beats are labelled N already" and review.store.audit_log()[-1].action.startswith(
        "label_selection")


def test_space_on_a_selection_confirms_the_model_where_no_one_has_labelled(reviewing):
    review, gallery, kinds = reviewing
    gallery.section = next(i for i, (class_id, _) in enumerate(gallery.sections) if class_id == ECTOPIC_A)
    rows = gallery.page_rows().copy()
    notes = []
    review.events.status.connect(lambda message, _timeout: notes.append(message))
    review.session.reviewer = "dr first"
    review.label(int(review.session.table.sample[rows[1]]), "N")
    review.session.reviewer = "dr second"
    gallery.select_page()
    gallery.confirm_model()
    table = review.session.table
    assert table.review_symbol[rows[1]] == "N" and table.reviewer[rows[1]] == "dr first"  # kept
    others = np.delete(rows, 1)
    assert set(table.review_symbol[others]) == {"A"} and set(table.reviewer[others]) == {"dr second"}  # the model's
    assert table.reviewed.sum() == len(rows)  # on the selected beats only
    assert notes[-1].startswith(f"The model's call confirmed on {len(rows) - 1} of {len(rows)} beats; kept dr "
                                "first's N: Space confirms")
    review.undo()  # one step
    assert review.session.table.reviewed.sum() == 1


def test_a_group_label_respects_a_read_only_store_and_labels_not_saved_yet(reviewing, monkeypatch):
    review, gallery, _ = reviewing
    rows = sinus_page(gallery)
    notes, refusals = [], []
    review.events.status.connect(lambda message, _timeout: notes.append(message))
    review.events.refused.connect(refusals.append)
    gallery.toggle(0), gallery.toggle(1)
    review.store.writable, review.store_note = False, "another window or process is writing to it"
    gallery.label("A"), gallery.confirm_model()
    assert not review.session.table.reviewed.any() and not review.session.can_undo
    assert notes[-2:] == ["Store is read-only (another window or process is writing to it); labels cannot be "
                          "saved"] * 2
    review.store.writable = True
    review.unsaved.append((int(review.session.table.sample[rows[5]]), "V"))  # a label the disk refused, kept
    gallery.label("A"), gallery.confirm_model()
    assert not review.session.table.reviewed[rows[:2]].any() and notes[-1] == "1 label(s) are not saved yet: " \
        "Retry first"
    review.unsaved.clear()

    def disk_full(*args, **kwargs):
        raise StoreWriteError(review.store.path, "No space left on device")

    monkeypatch.setattr(review.store, "set_labels", disk_full)  # a batch is not kept in memory: said, not done
    gallery.label("A")
    assert not review.session.table.reviewed.any() and not review.unsaved
    assert refusals[-1].startswith("The 2 beats were not labelled: ") and "No space left" in refusals[-1]


def test_x_on_a_selection_deletes_its_beats_in_one_step_and_their_class_follows(reviewing):
    review, gallery, _ = reviewing
    rows = sinus_page(gallery)
    gallery.toggle(0), gallery.toggle(1)
    chosen = review.session.table.sample[rows[:2]]
    gallery.label(NOT_A_BEAT)
    assert review.session.table.deleted[rows[:2]].all() and review.session.table.reviewed.sum() == 2
    classes = review.store.record(review.recording.name).classes
    assert not np.isin(chosen, classes.sample).any()  # deleted beats leave their class, as one deleted beat does
    review.undo()
    assert not review.session.table.reviewed.any()
    assert np.isin(chosen, review.store.record(review.recording.name).classes.sample).all()


class LaterRunner:
    """Holds the order's work until ``report`` runs it and hands it over, as a worker thread reports later."""

    def __init__(self) -> None:
        self.pending: list = []
        self.stopped = 0

    def run(self, work, finish) -> None:
        self.pending.append((work, finish))

    def stop(self) -> None:
        self.stopped += 1
        self.pending.clear()

    def report(self) -> None:
        work, finish = self.pending.pop(0)
        finish(work(lambda _fraction: None))


def test_an_order_worked_out_later_shows_no_page_until_it_reports(reviewing):
    review, gallery, _ = reviewing
    runner = gallery.runner = LaterRunner()
    events = []
    gallery.events.page.connect(lambda: events.append("page"))
    gallery.events.cursor.connect(lambda: events.append("cursor"))
    gallery.open()  # shown: the order starts being worked out, once however often it is asked for
    assert gallery.ordering and gallery.sections == [] and len(runner.pending) == 1
    assert gallery.title() == "Working out the order of the record's beats…" and not len(gallery.page_rows())
    gallery.next_page(), gallery.label("A"), gallery.select_page()  # no page: nothing to do
    assert not review.session.table.reviewed.any() and len(runner.pending) == 1
    # A label meanwhile changes the store, not the snapshot the order is worked out from.
    expected = gallery_sections(review.store, review.recording.name)
    review.label(int(review.session.table.sample[0]), "V")
    events.clear()
    runner.report()
    assert not gallery.ordering and events == ["page", "cursor"]  # told, its first page shown
    assert [c for c, _ in gallery.sections] == [c for c, _ in expected]
    table = review.store.beat_table(review.recording.name)
    assert [list(s) for _, s in gallery.sections] == [list(table.sample[rows]) for _, rows in expected]
    assert review.selected == gallery.page_rows()[0] and gallery.cursor == 0
    gallery.refresh()  # again, later
    assert gallery.ordering and len(runner.pending) == 1
    gallery.refresh()  # while it is worked out: that one is as fresh
    assert len(runner.pending) == 1
    runner.report()
    assert not gallery.ordering and gallery.sections


def test_a_merge_while_the_order_is_worked_out_works_it_out_again_and_another_record_drops_it(reviewing):
    review, gallery, _ = reviewing
    runner = gallery.runner = LaterRunner()
    gallery.open()
    ClassReview(review).merge(SINUS, ECTOPIC_V)  # the snapshot's classes are gone when it reports
    runner.report()
    assert gallery.ordering and len(runner.pending) == 1  # worked out again, from the merged classes
    runner.report()
    assert len(gallery.sections) == 3
    assert [c for c, _ in gallery.sections] == [c for c, _ in gallery_sections(review.store, review.recording.name)]
    gallery.refresh()
    recording = review.recording
    review.close()  # the record goes while its order is worked out: stopped, never shown
    assert runner.stopped == 1 and not gallery.ordering and gallery.sections == []
    review.open(recording)
    review.start_session(0, recording.read(0), "dr test")
    assert gallery.sections == [] and gallery.ordering  # the new record's, when asked for
    runner.report()
    assert len(gallery.sections) == 3


def test_an_order_the_store_cannot_give_is_said_in_one_line(reviewing, monkeypatch):
    review, gallery, _ = reviewing
    refusals = []
    review.events.refused.connect(refusals.append)

    def broken(self):
        raise DanetError("the classes are unreadable")

    monkeypatch.setattr(RecordSnapshot, "sections", broken)
    assert gallery.sections == [] and not gallery.ordering and gallery.title() == "No beats to page through"
    assert refusals == ["The beat gallery's order was not worked out: the classes are unreadable"]
