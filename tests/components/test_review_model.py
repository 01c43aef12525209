"""The review model without Qt: navigation, selection, labels through the session into the store, undo and
redo, labels a refusing disk keeps in memory, and the events a view observes (one per change)."""

from __future__ import annotations

import numpy as np
import pytest

from danet_viewer.components.review_model import SNAP_S, ReviewModel
from danet_viewer.components.viewport import MIN_SPAN_S
from danet_viewer.core.readers import open_recording
from danet_viewer.core.store import NOT_A_BEAT, AnnotationStore
from danet_viewer.core.store_location import default_store_path
from danet_viewer.errors import StoreWriteError

EVENTS = ("beats", "selection", "viewport", "unsaved", "refused", "status")


class Recorder:
    """Every event the model emits, in order, with its arguments."""

    def __init__(self, model: ReviewModel) -> None:
        self.events: list[tuple] = []
        for name in EVENTS:
            getattr(model.events, name).connect(lambda *args, name=name: self.events.append((name, *args)))

    def names(self) -> list[str]:
        return [event[0] for event in self.events]

    def take(self) -> list[tuple]:
        events, self.events = self.events, []
        return events


@pytest.fixture
def review(synthetic_record):
    """The 60 s synthetic record under review: detected beats scored (every 7th an APC), nothing labelled."""
    header, beats, symbols = synthetic_record
    recording = open_recording(header)
    with AnnotationStore.open(default_store_path(header), "a") as store:
        store.put_recording(name=recording.name, source_path=str(header), content_hash=recording.content_hash(),
                            fs=recording.fs, lead_names=recording.lead_names, units=recording.units,
                            n_samples=recording.n_samples, who="test")
        store.set_beats(recording.name, beats, detector="test", lead="MLII", who="test")
        p_apc = np.array([0.9 if symbol == "A" else 0.1 for symbol in symbols])
        store.set_model_output(recording.name, beats, p_apc, threshold=0.5, model_id="m1", who="test")
    model = ReviewModel()
    model.open(recording)
    model.start_session(0, recording.read(0), "dr test")
    yield model
    model.close()


def stored(model: ReviewModel, sample: int) -> str:
    table = model.store.beat_table(model.recording.name)
    return table.review_symbol[np.searchsorted(table.sample, sample)]


def test_paging_and_zooming_stay_inside_the_record(review):
    recorder = Recorder(review)
    duration = review.recording.duration_s
    review.viewport.shown(20.0, 30.0)  # what the view reports after each change
    review.page_forward()
    review.page_back()
    review.zoom_in()
    review.zoom_out()
    review.centre_on(2.0)
    review.go_to_start()
    review.go_to_end()
    assert recorder.take() == [("viewport", 30.0, 10.0), ("viewport", 10.0, 10.0), ("viewport", 22.5, 5.0),
                               ("viewport", 15.0, 20.0), ("viewport", 0.0, 10.0), ("viewport", 0.0, 10.0),
                               ("viewport", duration - 10.0, 10.0)]
    review.viewport.shown(duration - 10.0, duration)
    review.page_forward()  # no paging past the end
    review.viewport.shown(10.0, 10.2)
    review.zoom_in()  # no deeper than MIN_SPAN_S
    review.viewport.shown(0.0, duration)
    review.zoom_out()  # no wider than the record
    assert recorder.take() == [("viewport", duration - 10.0, 10.0), ("viewport", pytest.approx(10.05), MIN_SPAN_S),
                               ("viewport", 0.0, duration)]


def test_span_menu_centres_on_the_selected_beat(review):
    recorder = Recorder(review)
    review.viewport.shown(0.0, 10.0)
    review.set_span(30.0)
    assert recorder.take() == [("viewport", 0.0, 30.0)]  # around the view's centre, not before the start
    review.select_row(40)
    recorder.take()
    review.set_span(5.0)
    beat_s = review.session.table.sample[40] / review.recording.fs
    assert recorder.take() == [("viewport", pytest.approx(beat_s - 2.5), 5.0)]


def test_selection_changes_emit_one_event_each(review):
    recorder = Recorder(review)
    candidates = review.session.candidates
    review.next_unreviewed()
    assert review.selected == candidates[0] and recorder.take() == [("selection",)]
    review.next_apc()
    assert review.selected == candidates[1] and recorder.take() == [("selection",)]
    review.previous_beat()
    assert review.selected == candidates[1] - 1 and recorder.take() == [("selection",)]
    review.select_near(review.session.table.sample[5] / review.recording.fs + 0.01)
    assert review.selected == 5 and recorder.take() == [("selection",)]
    review.select_row(len(review.session.table) - 1)
    recorder.take()
    review.next_beat()  # nothing after the last beat: a note, the selection stays
    assert review.selected == len(review.session.table) - 1
    assert recorder.take() == [("status", "No further beat in that direction", 2000)]


def test_labels_go_to_the_store_through_the_session_with_one_redraw(review):
    recorder = Recorder(review)
    review.select_row(3)
    recorder.take()
    sample = int(review.session.table.sample[3])
    review.label_selected("V")
    assert stored(review, sample) == "V" and review.session.table.reviewer[3] == "dr test"
    assert recorder.take() == [("beats",)]  # the beats event redraws the selection with them
    candidate = int(review.session.candidates[1])  # candidates[0] is row 3, which the person labelled V
    review.select_row(candidate)
    review.confirm_model()
    assert stored(review, int(review.session.table.sample[candidate])) == "A"
    review.mark_not_a_beat()
    assert stored(review, int(review.session.table.sample[candidate])) == NOT_A_BEAT


def test_undo_and_redo_walk_the_history_through_the_store(review):
    samples = review.session.table.sample
    review.select_row(3)
    review.label_selected("A")
    review.label_selected("V")
    review.select_row(4)
    review.label_selected("N")
    review.undo()
    assert stored(review, samples[4]) == "" and review.selected == 4
    review.undo()
    assert stored(review, samples[3]) == "A" and review.selected == 3
    review.redo()
    assert stored(review, samples[3]) == "V"
    recorder = Recorder(review)
    review.undo()
    review.undo()
    assert stored(review, samples[3]) == "" and recorder.names() == ["beats", "beats"]
    review.undo()  # nothing left to undo: redrawn, nothing written
    assert not review.session.can_undo and review.session.can_redo


def test_an_added_beat_snaps_to_the_peak_and_an_existing_one_is_selected(review):
    table, fs = review.session.table, review.recording.fs
    peak = int(table.sample[10])
    review.select_row(10)
    review.mark_not_a_beat()
    recorder = Recorder(review)
    review.add_beat((peak + 0.03 * fs) / fs)  # on the deleted detection: no new beat
    assert len(review.session.table) == len(table) and review.selected == 10
    assert recorder.take() == [("status", "A beat is already there", 3000), ("selection",)]
    raw = review.analysis_raw
    cursor = (peak + int(table.sample[11])) // 2
    reach = int(SNAP_S * fs)
    around = raw[cursor - reach : cursor + reach + 1]
    expected = cursor - reach + int(np.argmax(np.abs(around - np.median(around))))
    assert review.snap_to_peak(cursor / fs) == expected
    review.add_beat(cursor / fs)
    added = review.session.table
    assert len(added) == len(table) + 1 and int(added.sample[added.added][0]) == expected
    assert stored(review, expected) == "N" and recorder.take() == [("beats",)]
    review.undo()
    assert len(review.session.table) == len(table)
    review.viewport.shown(peak / fs - 1.0, peak / fs + 1.0)
    review.add_beat(None)  # no mouse over the view: its centre, which is the deleted beat
    assert review.selected == 10


def test_labels_a_refusing_disk_keeps_are_written_in_order_once_it_takes_them(review, monkeypatch):
    recorder = Recorder(review)
    set_label = review.store.set_label

    def disk_full(*args):
        raise StoreWriteError(review.store.path, "No space left on device")

    monkeypatch.setattr(review.store, "set_label", disk_full)
    samples = [int(review.session.table.sample[row]) for row in (2, 4)]
    for row, symbol in ((2, "A"), (4, "V"), (2, "N")):
        review.select_row(row)
        review.label_selected(symbol)
    assert review.unsaved == [(samples[0], "A"), (samples[1], "V"), (samples[0], "N")]
    unsaved = [event for event in recorder.take() if event[0] == "unsaved"]
    assert [event[1] for event in unsaved] == [1, 2, 3] and "No space left on device" in unsaved[-1][2]
    table = review.session.table
    assert table.review_symbol[[2, 4]].tolist() == ["N", "V"] and table.reviewed_at[2] == "not saved"
    assert stored(review, samples[0]) == stored(review, samples[1]) == ""
    review.undo()  # the saved history only, once the kept labels are saved
    assert recorder.take() == [("status", "3 label(s) are not saved yet: Retry first", 5000)]
    monkeypatch.setattr(review.store, "set_label", set_label)
    review.retry_unsaved()
    assert not review.unsaved and [stored(review, s) for s in samples] == ["N", "V"]
    assert recorder.take() == [("unsaved", 0, ""), ("beats",), ("status", "3 kept label(s) saved", 5000)]
    review.undo()
    assert stored(review, samples[0]) == "A"


def test_a_label_the_store_refuses_for_good_is_reported_and_not_kept(review):
    recorder = Recorder(review)
    review.label(-5, "A")  # before the record starts: the store refuses it, whatever the disk
    assert not review.unsaved and [event[0] for event in recorder.events] == ["refused"]


def test_a_read_only_store_refuses_edits_with_a_note(review):
    path, recording = review.store.path, review.recording
    review.close()
    review.store = AnnotationStore.open(path, "r")
    review.recording, review.store_note = recording, "another window or process is writing to it"
    review.start_session(0, recording.read(0), "dr test")
    recorder = Recorder(review)
    assert not review.can_edit()
    assert recorder.take() == [("status", "Store is read-only (another window or process is writing to it); "
                                          "labels cannot be saved", 5000)]


def test_closing_lets_go_of_the_store_and_redraws_empty(review):
    path = review.store.path
    recorder = Recorder(review)
    review.select_row(2)
    review.close()
    assert review.session is None and review.store is None and review.selected is None
    assert recorder.names() == ["selection", "beats"]
    AnnotationStore.open(path, "a").close()  # the lock is gone



def test_confirming_the_model_never_replaces_a_persons_label(review):
    """Tab, N, Space on a model APC kept the model's A (issue 19 item 3); a Space pass must keep N."""
    recorder = Recorder(review)
    candidate = int(review.session.candidates[0])
    sample = int(review.session.table.sample[candidate])
    review.select_row(candidate)
    review.label_selected("N")
    recorder.take()
    review.confirm_model()
    assert stored(review, sample) == "N"
    assert recorder.take() == [("status", "Kept dr test's label N: Space confirms the model only on beats no one has "
                                          "labelled; type a label to change it", 5000)]
    review.mark_not_a_beat()
    review.confirm_model()
    assert stored(review, sample) == NOT_A_BEAT
    review.label_selected("A")  # a typed label still changes it
    assert stored(review, sample) == "A"


def test_bookmarks_go_to_the_selected_beat_or_the_view_and_undo_like_labels(review):
    store, name, fs = review.store, review.recording.name, review.recording.fs
    samples = review.session.table.sample
    review.viewport.shown(10.0, 20.0)
    assert review.bookmark_at() == round(15.0 * fs)  # nothing selected: the view's centre
    review.select_row(int(np.searchsorted(samples, 12 * fs)))
    assert review.bookmark_at() == samples[review.selected]  # the selected beat, in view
    assert review.bookmark_at(span_s=10.0) == round(10.0 * fs)  # a stretch: from the view's start
    review.viewport.shown(30.0, 40.0)
    assert review.bookmark_at() == round(35.0 * fs)  # the selected beat is out of view

    recorder = Recorder(review)
    review.bookmark(int(samples[5]), "odd P")
    review.label_selected("A")
    review.bookmark(int(samples[5]), "odd P, on second look")  # replaces it
    review.bookmark(round(30 * fs), "", span_s=10.0)
    assert ("beats",) in recorder.events and any("Report strip saved at 00:00:30" in str(e) for e in recorder.events)
    marks = store.record(name).bookmarks
    assert marks[int(samples[5])].comment == "odd P, on second look" and marks[round(30 * fs)].span_s == 10.0
    review.undo()
    assert round(30 * fs) not in store.record(name).bookmarks
    review.undo()
    assert store.record(name).bookmarks[int(samples[5])].comment == "odd P"
    review.undo()  # the label, in its turn
    review.undo()
    assert not store.record(name).bookmarks and not review.session.can_undo
    review.redo()
    review.redo()
    assert store.record(name).bookmarks[int(samples[5])].comment == "odd P"
    actions = [entry.action for entry in store.audit_log() if "bookmark" in entry.action]
    assert actions == ["bookmark", "bookmark", "bookmark", "remove_bookmark", "bookmark", "remove_bookmark",
                       "bookmark"]


def test_a_bookmark_a_read_only_store_refuses_is_reported(review):
    recorder = Recorder(review)
    review.store.writable = False
    review.bookmark(100, "c")
    assert recorder.names() == ["refused"] and "Bookmark not saved" in recorder.events[0][1]


def test_chosen_beats_are_labelled_as_one_step_told_once_and_given_the_models_call_where_unlabelled(review):
    samples = review.session.table.sample[[1, 2, 3, 7]]
    review.select_row(5)
    review.label_selected("V")
    recorder = Recorder(review)
    assert review.label_beats(samples[:3], "N", action="label_selection 3 beats") == 3
    assert recorder.names() == ["status", "beats"] and review.selected == 5  # one redraw; the selection stays
    assert [stored(review, sample) for sample in samples[:3]] == ["N"] * 3
    assert review.store.audit_log()[-1].action == "label_selection 3 beats"
    review.undo()  # one step, all three
    assert [stored(review, sample) for sample in samples[:3]] == [""] * 3
    chosen = np.append(samples, review.session.table.sample[5])  # beat 5 keeps its reviewer's V
    recorder.take()
    assert review.confirm_model_beats(chosen, action="confirm_model_selection 5 beats") == 4
    model_calls = ["A" if review.session.table.model_apc[row] == 1 else "N" for row in (1, 2, 3, 7)]
    assert "A" in model_calls and [stored(review, sample) for sample in chosen] == [*model_calls, "V"]
    assert recorder.names() == ["status", "beats"] and "kept dr test's V" in recorder.events[0][1]
    assert review.confirm_model_beats(chosen, action="again") == 0  # nothing left unlabelled: no edit, no redraw
    assert recorder.take()[-1][0] == "status" and review.store.audit_log()[-1].action == "confirm_model_selection " \
        "5 beats"
