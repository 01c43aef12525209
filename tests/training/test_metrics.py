"""Operating thresholds: the F1-optimal one and the one set by a false-alarm rate."""

from __future__ import annotations

import numpy as np
import pytest

from training.metrics import FALSE_ALARM_RATE, best_threshold, choose_threshold, false_alarm_threshold


def test_a_false_alarm_threshold_calls_that_share_of_the_negatives_whatever_the_positives():
    rng = np.random.default_rng(0)
    negatives = rng.uniform(0, 1, 5000)
    for positives in (np.array([0.99, 0.98]), rng.uniform(0.5, 1, 300)):
        score = np.concatenate([negatives, positives])
        label = np.concatenate([np.zeros(5000, bool), np.ones(len(positives), bool)])
        threshold = false_alarm_threshold(label, score)
        assert (negatives >= threshold).sum() == int(FALSE_ALARM_RATE * 5000)
    # The F1-optimal threshold, by contrast, moves with the positives.
    assert best_threshold(label, score)[0] < threshold


def test_too_few_negatives_for_one_false_alarm_call_none():
    label = np.array([0, 0, 1, 1], bool)
    score = np.array([0.2, 0.3, 0.9, 0.1])
    threshold = false_alarm_threshold(label, score)
    assert threshold > 0.3 and (score[~label] < threshold).all()


def test_threshold_rules_are_chosen_by_name():
    label = np.array([0] * 200 + [1] * 5, bool)
    score = np.linspace(0, 1, 205)
    assert choose_threshold(label, score, "f1") == best_threshold(label, score)[0]
    assert choose_threshold(label, score, "false-alarm") == false_alarm_threshold(label, score)
    with pytest.raises(ValueError, match="threshold rule"):
        choose_threshold(label, score, "youden")
