"""The Templates view on the bundled sample: tiles of the record's classes, a class labelled with one key and undone,
a reviewer's own label kept, paging a class's beats, split and merge, and the view as a reviewer sees it."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from danet_viewer._qt.templates_view import TILES_PER_PAGE
from danet_viewer.components.class_review import ClassState
from danet_viewer.core.class_edits import coupling_ratios


def open_templates(qtbot, window):
    qtbot.keyClick(window.view, Qt.Key.Key_T, Qt.KeyboardModifier.ControlModifier)
    dock = window.templates
    qtbot.waitUntil(dock.isVisible)
    assert window.shortcut_actions["Templates"].isChecked()
    return dock


def visible_tiles(dock):
    return [tile for tile in dock.view.tiles if tile.isVisible()]


def click_tile(qtbot, dock, tile, modifier=Qt.KeyboardModifier.NoModifier):
    qtbot.mouseClick(tile, Qt.MouseButton.LeftButton, modifier)


def worked_out(qtbot, dock):
    """Wait for the split or merge worked out off the GUI thread to be stored (or refused)."""
    qtbot.waitUntil(lambda: not dock.classes.working, timeout=20_000)


def undo_key(qtbot, dock):
    qtbot.keyClick(dock.view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # the window's undo, from the view


def test_a_class_is_labelled_with_one_key_and_undone_as_one_step(qtbot, analysed, tmp_path):
    dock = open_templates(qtbot, analysed)
    review, classes = analysed.review, dock.classes
    summaries = classes.summaries()
    tiles = visible_tiles(dock)
    assert len(tiles) == min(len(summaries), TILES_PER_PAGE) > 1
    assert [tile.class_id for tile in tiles] == [s.class_id for s in summaries[: len(tiles)]]  # least sure first
    for tile in tiles:  # the template and its band are drawn, on ECG paper (the sample is in mV)
        assert len(tile.template.getData()[0]) > 100 and tile.grid.isVisible()
        pixel_s, pixel_mv = tile.plot_widget.getPlotItem().vb.viewPixelSize()
        assert 0.04 / pixel_s == pytest.approx(0.1 / pixel_mv, rel=0.02)  # square 1 mm boxes: 0.04 s by 0.1 mV
    # The class with the most beats, so paging and the superimposition have something to show.
    tile = max(tiles, key=lambda t: classes.summary(t.class_id).count)
    class_id = tile.class_id
    click_tile(qtbot, dock, tile)
    rows = classes.member_rows(class_id)
    assert classes.current == class_id and review.selected == rows[0] and dock.view.hasFocus()
    assert analysed.superimposition.shown_class == str(class_id)
    assert len(rows) - 2 <= analysed.superimposition.shown_count <= min(len(rows), 200)  # beats at the edges left
    qtbot.keyClick(dock.view, Qt.Key.Key_Right)  # the class's next beat, not the record's
    assert review.selected == rows[1]
    qtbot.keyClick(dock.view, Qt.Key.Key_A)
    table = review.session.table
    assert set(table.review_symbol[rows]) == {"A"} and table.reviewed.sum() == len(rows)
    assert review.selected == rows[1]  # still the beat paged to
    assert classes.summary(class_id).state is ClassState.LABELLED
    # Labelled, it goes to the end of the grid (what needs a look first): its tile now shows another class.
    assert classes.summaries()[-1].class_id == class_id and visible_tiles(dock)[0].class_id != class_id
    dock.view.turn_page(99)  # the last page: clamped
    assert visible_tiles(dock)[-1].class_id == class_id and "labelled A" in visible_tiles(dock)[-1].footer.text()
    review.undo()
    assert not review.session.table.reviewed.any() and not review.session.can_undo  # one step, all of it
    review.redo()
    qtbot.keyClick(dock.view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # the window's undo, from the view
    assert not review.session.table.reviewed.any()
    assert dock.grab().save(str(tmp_path / "templates.png"))
    dock.close()  # the superimposition groups by label again, and the View menu says the view is closed
    assert analysed.superimposition.shown_class in ("A", "N")
    assert not analysed.shortcut_actions["Templates"].isChecked()


def test_a_reviewer_s_own_label_survives_a_class_key_and_is_replaced_only_when_asked(qtbot, analysed):
    dock = open_templates(qtbot, analysed)
    review, classes = analysed.review, dock.classes
    class_id = max(classes.summaries(), key=lambda s: s.count).class_id
    rows = classes.member_rows(class_id)
    review.select_row(int(rows[2]))
    qtbot.keyClick(analysed.view, Qt.Key.Key_V)  # the main view has the keys: one beat
    assert review.session.table.review_symbol[rows[2]] == "V"
    dock.view.setFocus()
    classes.select(class_id)
    qtbot.keyClick(dock.view, Qt.Key.Key_N)
    labels = review.session.table.review_symbol[rows]
    assert labels[2] == "V" and set(np.delete(labels, 2)) == {"N"}
    assert classes.summary(class_id).state_text() == "labelled N (1 V)"
    dock.view.replace_button.setChecked(True)
    qtbot.keyClick(dock.view, Qt.Key.Key_N)
    assert set(review.session.table.review_symbol[rows]) == {"N"}
    assert not dock.view.replace_button.isChecked()  # asked for each time
    menu = dock.view.class_menu(class_id)
    assert [action.text() for action in menu.actions() if action.text()][:3] == [
        f"Label with its proposal ({classes.summary(class_id).proposal})\tSpace", "Label (beat labels kept)",
        "Label, replacing reviewers' beat labels"]
    menu.deleteLater()


def test_split_and_merge_from_the_view_off_the_gui_thread_each_undone_with_ctrl_z(qtbot, analysed):
    dock = open_templates(qtbot, analysed)
    review, classes, view = analysed.review, dock.classes, dock.view
    before = classes.classes
    largest = max(classes.summaries(), key=lambda s: s.count).class_id
    classes.select(largest)
    review.label(int(review.session.table.sample[classes.member_rows(largest)[3]]), "V")  # a reviewer's own label
    labels = review.session.table.review_symbol.copy()
    qtbot.mouseClick(view.split_buttons["shape"], Qt.MouseButton.LeftButton)
    # Worked out on the worker: the view shows it, and labels, splits and merges nothing meanwhile.
    assert classes.working == f"Splitting class {largest} by shape" and view.working_row.isVisible()
    assert not any(button.isEnabled() for button in view.split_buttons.values())
    qtbot.keyClick(view, Qt.Key.Key_N)
    assert np.array_equal(review.session.table.review_symbol, labels)
    worked_out(qtbot, dock)
    assert classes.classes.n_classes == before.n_classes + 1 and not view.working_row.isVisible()
    assert view.split_buttons["shape"].isEnabled()
    split = classes.classes
    assert {tile.class_id for tile in visible_tiles(dock)} >= {largest, before.n_classes} or (
        before.n_classes + 1 > TILES_PER_PAGE)
    assert not view.merge_button.isEnabled()
    other = next(tile for tile in visible_tiles(dock) if tile.class_id == before.n_classes)
    click_tile(qtbot, dock, other, Qt.KeyboardModifier.ControlModifier)  # marked, to merge into the current one
    assert view.marked == before.n_classes and classes.current == largest and view.merge_button.isEnabled()
    qtbot.mouseClick(view.merge_button, Qt.MouseButton.LeftButton)
    worked_out(qtbot, dock)
    assert classes.classes.n_classes == before.n_classes and classes.current == largest and view.marked is None
    split_entry, merge_entry = review.store.audit_log()[-2:]
    assert split_entry.action.startswith(f"split class {largest} by shape: ")
    assert merge_entry.action == f"merge class {before.n_classes} into class {largest}"
    undo_key(qtbot, dock)  # the merge
    assert classes.classes.same_as(split) and len(visible_tiles(dock)) == min(split.n_classes, TILES_PER_PAGE)
    undo_key(qtbot, dock)  # the split
    assert classes.classes.same_as(before) and len(visible_tiles(dock)) == min(before.n_classes, TILES_PER_PAGE)
    assert np.array_equal(review.session.table.review_symbol, labels)  # the reviewer's V, and nothing else
    assert review.store.audit_log()[-1].action == f"undo {split_entry.action}"


def test_a_split_being_worked_out_is_cancelled_and_the_classes_stay(qtbot, analysed):
    dock = open_templates(qtbot, analysed)
    classes, view = dock.classes, dock.view
    before = classes.classes
    classes.select(max(classes.summaries(), key=lambda s: s.count).class_id)
    notes = []
    analysed.review.events.status.connect(lambda message, _timeout: notes.append(message))
    qtbot.mouseClick(view.split_buttons["coupling"], Qt.MouseButton.LeftButton)
    qtbot.mouseClick(view.cancel_button, Qt.MouseButton.LeftButton)
    worked_out(qtbot, dock)
    assert classes.classes is before and "cancelled; the classes are as they were" in notes[-1]
    assert not analysed.review.session.can_undo and not view.working_row.isVisible()


def test_a_record_closed_while_a_split_is_worked_out_drops_it(qtbot, analysed):
    dock = open_templates(qtbot, analysed)
    classes = dock.classes
    classes.select(max(classes.summaries(), key=lambda s: s.count).class_id)
    qtbot.mouseClick(dock.view.split_buttons["shape"], Qt.MouseButton.LeftButton)
    assert dock.runner.worker is not None
    analysed._close_record()  # the worker is stopped and joined, its outcome never stored
    assert dock.runner.worker is None and classes.working == "" and not dock.view.working_row.isVisible()


def test_e_splits_off_a_class_s_early_beats_for_one_key_to_label(qtbot, analysed):
    dock = open_templates(qtbot, analysed)
    review, classes, view = analysed.review, dock.classes, dock.view
    summaries = classes.summaries()
    largest = max(summaries, key=lambda s: s.count).class_id
    # The class whose beats come earliest against the local median RR (209's runs of SVT are early only against
    # the underlying cycle), hidden among the largest class's beats.
    local = coupling_ratios(classes.classes.sample, analysed.review.recording.fs)[:, 1]
    ids = classes.classes.class_id
    earliest = min((s.class_id for s in summaries if s.class_id != largest), key=lambda c: np.median(local[ids == c]))
    classes.merge(largest, earliest)
    worked_out(qtbot, dock)
    keep = classes.current
    classes.select(keep)
    view.refresh()
    proposal = classes.proposed_split(keep)
    assert proposal is not None and view.early_button.isEnabled()
    assert view.early_button.text() == f"Split: {proposal.early} early (< {100 * proposal.threshold:.0f} %)"
    merged = classes.classes
    before = merged.n_classes
    qtbot.keyClick(view, Qt.Key.Key_E)  # the window's action, bound by the key table
    worked_out(qtbot, dock)
    new_id = classes.current
    assert classes.classes.n_classes == before + 1 and new_id == before
    assert len(visible_tiles(dock)) == min(before + 1, TILES_PER_PAGE)
    assert classes.summary(new_id).count == proposal.early
    qtbot.keyClick(view, Qt.Key.Key_A)
    rows = classes.member_rows(new_id)
    assert set(review.session.table.review_symbol[rows]) == {"A"} and review.session.table.reviewed.sum() == len(rows)
    review.undo()
    assert not review.session.table.reviewed.any()
    undo_key(qtbot, dock)  # the split: the early beats back in their class, one tile fewer
    assert classes.classes.same_as(merged) and len(visible_tiles(dock)) == min(before, TILES_PER_PAGE)
    assert classes.current is None and not review.session.table.reviewed.any()
    review.redo()  # the split again (the label stays undone: redo walks one step)
    assert classes.classes.n_classes == before + 1
    # Paged by prematurity, the class's earliest beat comes first.
    classes.select(keep)
    qtbot.mouseClick(view.prematurity_button, Qt.MouseButton.LeftButton)
    assert classes.paging == "prematurity" and review.selected == classes.paged_rows(keep)[0]
    menu_texts = [action.text() for action in view.class_menu(keep).actions()]
    assert not any(text.startswith("Split off its") for text in menu_texts)  # its early mode went with the split


def answering(monkeypatch, answer):
    """QMessageBox.question answers ``answer``; returns the questions asked."""
    asked = []
    monkeypatch.setattr(QMessageBox, "question", lambda parent, title, text, *args: asked.append(text) or answer)
    return asked


def accept_key(qtbot, dock):
    qtbot.keyClick(dock.view, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)


def test_the_proposals_are_accepted_once_confirmed_in_one_step_that_keeps_reviewers_labels(qtbot, analysed, tmp_path,
                                                                                            monkeypatch):
    dock = open_templates(qtbot, analysed)
    review, classes, view = analysed.review, dock.classes, dock.view
    for tile in visible_tiles(dock):  # every tile shows its class's proposal, or why it has none
        summary = classes.summary(tile.class_id)
        assert (f"proposed <b>{summary.proposal}</b> (" if summary.proposal else
                "no proposal (QRS differs)") in tile.footer.text()
    summaries = classes.summaries()
    labelled = summaries[-1].class_id  # one class the reviewer labels with its key
    classes.select(labelled)
    qtbot.keyClick(view, Qt.Key.Key_V)
    largest = max(summaries, key=lambda s: s.count).class_id
    own_row = int(classes.member_rows(largest)[4])
    review.set_reviewer("dr own")
    review.label(int(review.session.table.sample[own_row]), "S")  # a reviewer's own beat label
    review.set_reviewer("dr test")
    labels = review.session.table.review_symbol.copy()
    plan = classes.proposal_plan()
    assert labelled not in plan.classes and largest in plan.classes and own_row not in plan.rows
    asked = answering(monkeypatch, QMessageBox.StandardButton.Cancel)
    accept_key(qtbot, dock)
    assert len(asked) == 1 and np.array_equal(review.session.table.review_symbol, labels)  # cancelled: nothing
    assert view.accept_button.isEnabled()
    assert view.grab().save(str(tmp_path / "templates-proposals.png"))
    asked = answering(monkeypatch, QMessageBox.StandardButton.Yes)
    qtbot.mouseClick(view.accept_button, Qt.MouseButton.LeftButton)
    count = len(plan.classes)
    assert asked[0].startswith(f"Label the unreviewed beats of {count} classes (1 partly reviewed) as proposed: "
                               f"{plan.text()}.")
    table = review.session.table
    assert np.array_equal(table.review_symbol[plan.rows], plan.symbols.astype(str))
    assert table.review_symbol[own_row] == "S" and set(table.review_symbol[classes.member_rows(labelled)]) == {"V"}
    entry = review.store.audit_log()[-1]
    assert (entry.action, entry.who) == (f"accept_proposals {count} classes, {len(plan.rows)} beats", "dr test")
    assert not view.accept_button.isEnabled()  # nothing left to accept
    undo_key(qtbot, dock)  # one step: the beats it labelled, and only those, are unreviewed again
    assert np.array_equal(review.session.table.review_symbol, labels)
    assert review.store.audit_log()[-1].action == f"undo {entry.action}"


def test_the_proposals_are_not_accepted_while_a_split_is_worked_out(qtbot, analysed, monkeypatch):
    dock = open_templates(qtbot, analysed)
    review, classes, view = analysed.review, dock.classes, dock.view
    classes.select(max(classes.summaries(), key=lambda s: s.count).class_id)
    notes = []
    review.events.status.connect(lambda message, _timeout: notes.append(message))
    asked = answering(monkeypatch, QMessageBox.StandardButton.Yes)
    qtbot.mouseClick(view.split_buttons["shape"], Qt.MouseButton.LeftButton)
    assert classes.working and not view.accept_button.isEnabled()
    accept_key(qtbot, dock)
    assert not asked and "wait for it" in notes[-1] and not review.session.table.reviewed.any()
    worked_out(qtbot, dock)
    plan = classes.proposal_plan()  # the split done: the proposals of the classes it left
    accept_key(qtbot, dock)
    assert len(asked) == 1 and np.array_equal(np.flatnonzero(review.session.table.reviewed), plan.rows)


def test_the_accept_question_names_the_classes_left_without_a_proposal():
    from danet_viewer._qt.templates_view import proposals_question
    from danet_viewer.components.class_review import ClassSummary
    from danet_viewer.core.beat_classes import proposal_plan

    class_ids = np.array([0, 0, 1, 1, 2])
    unlike = np.array([False, True, False])
    plan = proposal_plan(class_ids, np.array([0, 0, 0, 0, 1]), np.zeros(5, bool), unlike)

    def summary(class_id: int, proposal: str) -> ClassSummary:
        return ClassSummary(class_id, 2, 0.4, 0.8, 1.0, 0.0, 0.0, proposal, bool(unlike[class_id]), 0, (),
                            ClassState.UNREVIEWED)

    question = proposals_question(plan, [summary(0, "N"), summary(1, ""), summary(2, "A")])
    assert question.startswith("Label 2 unreviewed classes as proposed: 1 as N (2 beats), 1 as A (1 beat).")
    assert "1 class whose QRS differs from the record's beat: no proposal, left for you to label." in question
    assert "whose QRS differs" not in proposals_question(plan, [summary(0, "N"), summary(2, "A")])
