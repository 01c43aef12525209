"""The naive RR rule, the floor every model table shows: a beat is premature when its RR interval is shorter than
0.85 x the mean of the 8 intervals before it. Any reviewer could write it; a model that does not beat it on the
same beats is not worth shipping as the default."""

from __future__ import annotations

import numpy as np

RR_RULE_FRACTION = 0.85
RR_RULE_PREVIOUS = 8
RR_RULE_NAME = f"RR rule (RR < {RR_RULE_FRACTION} x mean of the {RR_RULE_PREVIOUS} previous)"


def rr_rule_calls(beat_samples: np.ndarray) -> np.ndarray:
    """Per beat of one record (samples in time order): True where the rule calls it premature.

    The first beat has no interval and is never called; the next few are judged against the intervals they have.
    """
    samples = np.asarray(beat_samples, dtype=np.float64)
    calls = np.zeros(len(samples), bool)
    if len(samples) < 3:
        return calls
    rr = np.diff(samples)  # rr[k] is the interval before beat k + 1
    # Mean of up to RR_RULE_PREVIOUS intervals before each interval, from a running sum.
    running = np.concatenate([[0.0], np.cumsum(rr)])
    ends = np.arange(1, len(rr))  # intervals 1..: each has at least one before it
    starts = np.maximum(0, ends - RR_RULE_PREVIOUS)
    previous_mean = (running[ends] - running[starts]) / (ends - starts)
    calls[ends + 1] = rr[ends] < RR_RULE_FRACTION * previous_mean
    return calls
