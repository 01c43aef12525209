"""The trainer's log events: every event survives a JSON line, and lines that are not events are refused."""

from __future__ import annotations

import json

import pytest

from danet_viewer.model.training_log import (
    EVENTS,
    Compare,
    Data,
    Epoch,
    Fold,
    PretrainEpoch,
    Saved,
    Scoring,
    StageDone,
    Start,
    TrainingEvent,
)

EXAMPLES = [
    Start(settings={"variant": "soft", "stage2_epochs": 20}, train_beats=900, train_apcs=40, val_beats=200,
          val_apcs=8, replay_beats=3043, parameters=12345),
    PretrainEpoch(epoch=1, loss=0.5),
    Epoch(stage=2, epoch=3, loss=0.25, val_ap=0.75),
    StageDone(stage=2, val_ap=0.75),
    Saved(folder="/m", model_id="danet@abc", threshold=0.9, val_f1=0.5),
    Data(sources={"s.h5": {"beats": 900, "apcs": 40}}, train_beats=700, val_beats=200, validation=["r"],
         replay_beats=0),
    Scoring(record_relative=False, apc_share=0.77),
    Compare(verdict="better", held_out_apcs=8, before_se=0.5, before_ppv=0.5, before_f1=0.5, after_se=0.75,
            after_ppv=0.75, after_f1=0.75),
    Fold(fold=0, test_records=["a"], validation_records=["b"]),
]


def test_every_event_has_an_example():
    assert {type(event) for event in EXAMPLES} == set(EVENTS.values())


@pytest.mark.parametrize("event", EXAMPLES, ids=lambda event: event.name)
def test_an_event_reads_back_from_its_line(event):
    line = event.to_json(1700000000.123456)
    record = json.loads(line)
    assert record["event"] == event.name and record["time"] == 1700000000.123
    assert TrainingEvent.from_json(line) == event
    assert TrainingEvent.from_json(line.encode()) == event


def test_the_start_events_settings_are_written_flat_before_its_counts():
    record = json.loads(EXAMPLES[0].to_json(0))
    assert list(record)[:4] == ["event", "time", "variant", "stage2_epochs"]
    assert EXAMPLES[0].stage2_epochs == 20


@pytest.mark.parametrize("line", ["not json", "[1, 2]", '{"event": "no-such-event"}', '{"event": "epoch", "loss": 1}'])
def test_a_line_that_is_not_an_event_is_refused(line):
    with pytest.raises(ValueError):
        TrainingEvent.from_json(line)
