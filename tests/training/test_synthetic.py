"""The rule-guided generators: synthetic APCs and the sinus beats of a record whose majority is APCs."""

from __future__ import annotations

import numpy as np
import pytest

from danet_viewer.core.beats import RR_FEATURES
from danet_viewer.core.features import prepare_beats
from tests.conftest import ArrayRecording, synthetic_ecg
from training.synthetic import PREMATURITY, donor_rows, sinus_among_frequent_apcs, synthesize_apcs

PRE, POST, LOCAL, RECURRENCE = (RR_FEATURES.index(n) for n in ("pre_rr_s", "post_rr_s", "local_rr_s", "recurrence"))


@pytest.fixture(scope="module")
def sinus_beats():
    signal, beats = synthetic_ecg(250, 120, seed=5)
    inputs = prepare_beats(ArrayRecording(signal, 250, "sinus"), 0, beats)
    donors = donor_rows(inputs, np.zeros(len(beats), np.int8))
    assert len(donors) > 50
    return inputs, donors


def test_a_synthetic_apc_comes_early_with_its_own_qrs(sinus_beats):
    inputs, donors = sinus_beats
    apcs = synthesize_apcs(inputs, donors, np.random.default_rng(0))
    ratio = apcs.rr[:, PRE] / inputs.rr[donors, PRE]
    assert np.all((ratio >= PREMATURITY[0] - 1e-6) & (ratio <= PREMATURITY[1] + 1e-6))
    assert np.all(apcs.rr[:, POST] >= inputs.rr[donors, POST])  # the pause after it lengthens
    assert not np.allclose(apcs.windows, inputs.windows[donors])


def test_sinus_beats_among_frequent_apcs_keep_their_window_and_look_late_and_rare(sinus_beats):
    inputs, donors = sinus_beats
    sinus = sinus_among_frequent_apcs(inputs, donors, np.random.default_rng(0))
    np.testing.assert_array_equal(sinus.windows, inputs.windows[donors])
    np.testing.assert_array_equal(sinus.rr[:, PRE], inputs.rr[donors, PRE])
    # The local median is the APCs' coupling interval, which the sinus interval outlasts.
    assert np.all(sinus.rr[:, PRE] / sinus.rr[:, LOCAL] > 1 / (PREMATURITY[1] * 1.2) - 1e-6)
    assert np.median(sinus.rr[:, PRE] / sinus.rr[:, LOCAL]) > 1.2
    assert np.all(sinus.rr[:, RECURRENCE] <= 0.25)
    # Some are followed by an APC (an early next beat), some by a sinus beat.
    early_next = sinus.rr[:, POST] < 0.9 * inputs.rr[donors, POST]
    assert 0.2 < early_next.mean() < 0.8
