"""The selected beat's panel text: RR intervals, score against the threshold, review and origin."""

from __future__ import annotations

import numpy as np
import pytest

from danet_viewer.components.beat_details import beat_details, beat_details_html
from danet_viewer.core.clock import RecordClock
from danet_viewer.core.store import AnnotationStore


def _one_beat_table(tmp_path):
    with AnnotationStore.open(tmp_path / "s.h5", "a") as store:
        store.put_recording(name="rec", source_path="/data/rec.hea", content_hash="abc", fs=360.0,
                            lead_names=["MLII"], units=["mV"], n_samples=4000 * 360, who="test")
        store.set_beats("rec", np.array([int(3725.25 * 360)]), detector="test", lead="MLII", who="test")
        return store.beat_table("rec")


def test_a_beat_time_is_clock_time_with_the_elapsed_beside_it_or_elapsed_alone(tmp_path):
    from datetime import datetime

    table = _one_beat_table(tmp_path)
    assert dict(beat_details(table, 0, 360.0, 0.5))["elapsed time"] == "01:02:05.250"
    rows = dict(beat_details(table, 0, 360.0, 0.5, RecordClock(datetime(2026, 3, 1, 23, 30))))
    assert rows["clock time"] == "00:32:05.250" and rows["from the start"] == "01:02:05.250"


def _three_scored_beats(store: AnnotationStore, p_apc: list[float], **record_rule) -> None:
    store.put_recording(name="rec", source_path="/data/rec.hea", content_hash="abc", fs=360.0,
                        lead_names=["MLII"], units=["mV"], n_samples=3600, who="test")
    store.set_beats("rec", np.array([100, 460, 820]), detector="test", lead="MLII", who="test")
    store.set_model_output("rec", np.array([100, 460, 820]), np.array(p_apc), threshold=0.5, model_id="m1",
                           who="test", **record_rule)


def test_a_beat_is_described_by_its_neighbours_score_and_review(tmp_path):
    with AnnotationStore.open(tmp_path / "s.h5", "a") as store:
        _three_scored_beats(store, [0.2, 0.75, 0.1])
        store.set_label("rec", 460, "A", "dr a")
        store.set_label("rec", 1500, "N", "dr a")
        table = store.beat_table("rec")
    middle = dict(beat_details(table, 1, 360.0, 0.5))
    assert middle["RR before"] == middle["RR after"] == "1000 ms"
    assert middle["p(APC)"] == "0.750 (threshold 0.500)" and middle["model"] == "APC"
    assert middle["APC score"] == "75 (the call at 50)"  # odds 3 against the threshold's 1
    assert middle["review"] == "A" and middle["reviewer"] == "dr a" and middle["origin"] == "detected"
    first, added = dict(beat_details(table, 0, 360.0, 0.5)), dict(beat_details(table, 3, 360.0, 0.5))
    assert first["RR before"] == "—" and first["review"] == "unreviewed" and first["reviewer"] == "—"
    assert added["origin"] == "added by a reviewer" and added["p(APC)"] == "—" and added["model"] == "not scored"
    assert "<tr><td><b>review</b>&nbsp;</td><td>A</td></tr>" in beat_details_html(table, 1, 360.0, 0.5)


def test_counts_take_the_right_number():
    from danet_viewer.components.beat_details import counted

    assert counted(1, "APC") == "1 APC" and counted(0, "APC") == "0 APCs" and counted(2, "beat") == "2 beats"


def test_the_apc_score_puts_the_operating_threshold_at_50():
    """Issue 19 item 5: true APCs at p 0.94-0.98 read as certain while a 0.99 threshold calls them normal."""
    from danet_viewer.components.beat_details import APC_SCORE_CALL, apc_score

    assert apc_score(0.99, 0.99) == pytest.approx(APC_SCORE_CALL)
    assert apc_score(0.5, 0.5) == pytest.approx(50)
    below = apc_score(np.array([0.94, 0.96, 0.98]), 0.99)
    assert np.all(below < APC_SCORE_CALL) and round(float(below[1])) == 20
    assert apc_score(0.999, 0.99) > 90 and np.isnan(apc_score(np.nan, 0.99))
    # A step of log-odds moves the score alike whatever the threshold.
    assert apc_score(0.9, 0.5) == pytest.approx(apc_score(81 / 82, 0.9))


def test_a_beat_the_record_rule_called_says_so_beside_the_network_s_low_score(tmp_path):
    with AnnotationStore.open(tmp_path / "s.h5", "a") as store:
        _three_scored_beats(store, [0.2, 0.1, 0.9], record_calls=np.array([False, True, False]),
                            record_rule="premature-classes-af-veto")
        table = store.beat_table("rec")
    ruled, network = dict(beat_details(table, 1, 360.0, 0.5)), dict(beat_details(table, 2, 360.0, 0.5))
    assert ruled["model"] == "APC (its beat class is premature: the record rule)"
    assert ruled["APC score"].startswith("10 "), "the score stays the network's"
    assert network["model"] == "APC" and dict(beat_details(table, 0, 360.0, 0.5))["model"] == "not APC"


def test_a_network_call_the_record_rule_overruled_says_so(tmp_path):
    with AnnotationStore.open(tmp_path / "s.h5", "a") as store:
        _three_scored_beats(store, [0.2, 0.9, 0.9], record_vetoes=np.array([True, True, False]),
                            record_rule="premature-classes-af-veto")
        table = store.beat_table("rec")
    rows = [dict(beat_details(table, row, 360.0, 0.5))["model"] for row in range(3)]
    # A veto on a beat the network did not call changes nothing, and says nothing.
    assert rows == ["not APC", "not APC (inside atrial fibrillation: the record rule)", "APC"]
