"""A stretch analysed on its own (``analyse_stretch``, what ``danet-viewer render`` does without a store): it
reads and scores only the stretch and its context, keeps a store's beats and reviews, and says what its scores
were taken against."""

from __future__ import annotations

import numpy as np

from danet_viewer.core.analysis import STRETCH_CONTEXT_S, WHOLE_RECORD_S, analyse_stretch
from danet_viewer.core.store import Review, StoredRecord
from tests.conftest import ArrayRecording, synthetic_ecg

FS = 250.0


class CountingRecording(ArrayRecording):
    """Remembers every range read from it."""

    def __init__(self, signal: np.ndarray, fs: float) -> None:
        super().__init__(signal, fs)
        self.reads: list[tuple[int, int]] = []

    def _read(self, lead: int, start: int, stop: int) -> np.ndarray:
        self.reads.append((start, stop))
        return super()._read(lead, start, stop)


class CountingScorer:
    """A stand-in model: p(APC) 0.1 for every beat, and the length of every recording it was handed."""

    threshold = 0.5
    model_id = "counting"
    record_rule = ""

    def __init__(self) -> None:
        self.samples_seen: list[int] = []

    def score_recording(self, recording, lead, beats, progress=None) -> np.ndarray:
        self.samples_seen.append(recording.n_samples)
        assert np.all((beats >= 0) & (beats < recording.n_samples))
        recording.read(lead, 0, recording.n_samples)  # as prepare_beats does, chunk by chunk
        return np.full(len(beats), 0.1, np.float32)


def long_recording(minutes: int) -> CountingRecording:
    """``minutes`` of a synthetic minute repeated (making a long one beat by beat takes minutes)."""
    minute, _ = synthetic_ecg(FS, 60.0)
    return CountingRecording(np.tile(minute, minutes), FS)


def test_a_stretch_of_a_long_record_reads_and_scores_only_the_stretch_and_its_context():
    recording = long_recording(60)
    scorer = CountingScorer()
    analysis = analyse_stretch(recording, 1200.0, 1210.0, model=scorer)
    first, last = round((1200.0 - STRETCH_CONTEXT_S) * FS), round((1210.0 + STRETCH_CONTEXT_S) * FS)
    assert analysis.context == (first, last) and not analysis.whole_record
    assert scorer.samples_seen == [last - first]
    assert all(first <= start < stop <= last for start, stop in recording.reads)
    # Detection reads the context once (with its chunks' overlaps), the model once more: never the other 40 min.
    assert sum(stop - start for start, stop in recording.reads) < 2.2 * (last - first) < recording.n_samples / 2
    beats = analysis.record.beats
    assert len(beats) > 500 and first <= beats.min() and beats.max() < last
    assert np.array_equal(analysis.record.model.sample, beats) and np.all(analysis.record.model.p_apc == 0.1)
    assert "0:15:00-0:25:10" in analysis.note and "not the whole record" in analysis.note


def test_a_short_record_is_scored_whole_as_annotate_scores_it():
    recording = long_recording(int(WHOLE_RECORD_S // 60))
    scorer = CountingScorer()
    analysis = analyse_stretch(recording, 600.0, 610.0, model=scorer)
    assert analysis.whole_record and scorer.samples_seen == [recording.n_samples]
    assert analysis.note == "scored against the whole record"


def test_a_stored_records_beats_and_reviews_are_kept_and_only_scored():
    recording = long_recording(45)
    stored_beats = np.arange(250, recording.n_samples, 200, dtype=np.int64)  # not where the detector puts them
    review = Review("A", "dr test", "2026-12-07T00:00:00")
    stored = StoredRecord("synthetic", "synthetic", "", FS, ["II"], ["mV"], recording.n_samples,
                          analysis_lead="II", beats=stored_beats, reviews={int(stored_beats[1500]): review})
    scorer = CountingScorer()
    analysis = analyse_stretch(recording, 1200.0, 1210.0, model=scorer, stored=stored)
    assert np.array_equal(analysis.record.beats, stored_beats)
    assert analysis.record.reviews == stored.reviews
    first, last = analysis.context
    assert np.array_equal(analysis.record.model.sample, stored_beats[(stored_beats >= first) & (stored_beats < last)])
    table = analysis.record.beat_table()
    assert np.isnan(table.p_apc[table.sample < first]).all() and table.review_symbol[1500] == "A"
