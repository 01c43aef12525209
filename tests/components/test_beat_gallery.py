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
)
from danet_viewer.components.class_review import ClassReview
from danet_viewer.components.review_model import ReviewModel
from danet_viewer.components.review_session import BeatState
from danet_viewer.core.beat_classes import GALLERY_PAGE_BEATS, beat_doubt, gallery_sections
from danet_viewer.core.beats import rr_features
from danet_viewer.core.readers import open_recording
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
