"""The RR-rule floor on a synthetic rhythm whose premature beats are known."""

from __future__ import annotations

import numpy as np

from danet_viewer.core.rr_rule import rr_rule_calls


def test_calls_exactly_the_early_beats_of_a_regular_rhythm():
    fs = 360
    rr = np.full(60, 0.8)
    early = [20, 40]
    for beat in early:  # an APC comes 30 % early, then a compensatory pause
        rr[beat - 1] = 0.56
        rr[beat] = 1.04
    samples = np.round(np.concatenate([[0.0], np.cumsum(rr)]) * fs)
    assert np.flatnonzero(rr_rule_calls(samples)).tolist() == early


def test_the_mean_is_of_the_eight_previous_intervals_only():
    # Eight long intervals (1.0 s) after many short ones (0.5 s): 0.84 s is < 0.85 x 1.0 and premature, although
    # it is far longer than the record's mean interval.
    rr = np.array([0.5] * 30 + [1.0] * 8 + [0.84])
    calls = rr_rule_calls(np.concatenate([[0.0], np.cumsum(rr)]) * 1000)
    assert calls[-1] and calls.sum() == 1 + int(np.sum(rr[1:30] < 0.85 * 0.5))
    # 0.86 s is not.
    rr[-1] = 0.86
    assert not rr_rule_calls(np.concatenate([[0.0], np.cumsum(rr)]) * 1000)[-1]


def test_early_beats_are_judged_against_the_intervals_they_have():
    samples = np.array([0, 100, 200, 270, 370])  # the third interval, 70, is < 0.85 x 100
    assert rr_rule_calls(samples).tolist() == [False, False, False, True, False]
    assert not rr_rule_calls(np.array([0, 100])).any() and len(rr_rule_calls(np.array([], int))) == 0


def test_evaluation_scores_the_rule_on_every_detected_beat(synthetic_record):
    """The floor row of every table: the rule's calls on a record's detected beats, scored like the model's."""
    from training.data import label_record
    from training.evaluate import evaluate_records, rr_rule_scores, summarise, summary_lines

    header, beats, symbols = synthetic_record
    record = label_record(header)
    matched, false = rr_rule_scores(record)
    assert len(matched) == len(record.beat_sample) and len(false) == len(record.false_sample)
    detected = np.sort(np.concatenate([record.beat_sample, record.false_sample]))
    assert int(matched.sum() + false.sum()) == int(rr_rule_calls(detected).sum())
    figures = summarise(evaluate_records([record], {record.name: (matched, false)}, 0.5))
    # Every APC of the synthetic rhythm comes 30 % early: the rule finds them all, and calls nothing else.
    assert figures["all"]["tp"] == symbols.count("A") and figures["all"]["fn"] == 0 and figures["all"]["fp"] == 0
    lines = summary_lines({**figures, "rr_rule": figures}, "DS2")  # what `danet-train evaluate` prints
    assert len(lines) == 6 and lines[3].startswith("RR rule  DS2 all: Se 100.0 %  +P 100.0 %  F1 1.000")
