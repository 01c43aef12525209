"""Batched scoring: the rhythm veto silences beats in an irregular rhythm and nothing else; record-relative
scores stand each beat against its own record."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from danet_viewer.core.conditioning import WINDOW_LENGTH
from danet_viewer.core.features import RHYTHM_FEATURES, RHYTHM_REGULARITY_COLUMN, BeatInputs
from danet_viewer.model.inference import (
    IRREGULAR_RHYTHM,
    MIN_REFERENCE_BEATS,
    ON_TIME_SHARE,
    reference_beats,
    relative_to_record,
    score_beats,
)
from danet_viewer.model.network import DANet, NetworkConfig


def _inputs(n: int = 40) -> BeatInputs:
    rng = np.random.default_rng(0)
    rr = np.tile(np.array([0.8, 0.8, 0.8, 0.9, 0.02, 0.8, 0.9, 0.9, 0.9], np.float32), (n, 1))
    rr[:, 0] = rng.uniform(0.4, 1.0, n)  # some early beats, so p(APC) varies
    rr[: n // 2, RHYTHM_REGULARITY_COLUMN] = 0.15  # the first half in an AF-like rhythm
    regions = np.tile(np.array([[300, 340], [365, 390], [420, 480], [150, 220]], np.int16), (n, 1, 1))
    windows = rng.normal(size=(n, WINDOW_LENGTH)).astype(np.float32)
    assert rr.shape[1] == len(RHYTHM_FEATURES)
    return BeatInputs(windows, rr, regions, np.ones(n, bool))


def _model(rhythm_veto: float, record_relative: bool = False) -> DANet:
    torch.manual_seed(0)
    return DANet(NetworkConfig(variant="backbone", rhythm_veto=rhythm_veto, record_relative=record_relative))


def test_rhythm_veto_zeroes_irregular_beats_only():
    inputs = _inputs()
    free = score_beats(_model(0.0), inputs, batch_size=7).p_apc
    vetoed = score_beats(_model(0.3), inputs, batch_size=7).p_apc
    assert (free[:20] > 0).all() and (vetoed[:20] == 0).all()
    np.testing.assert_array_equal(vetoed[20:], free[20:])


def test_batching_does_not_change_scores():
    inputs = _inputs()
    np.testing.assert_allclose(score_beats(_model(0.0), inputs, batch_size=7).p_apc,
                               score_beats(_model(0.0), inputs, batch_size=64).p_apc, rtol=1e-5, atol=1e-6)


def _logit(p: np.ndarray) -> np.ndarray:
    return np.log(p / (1 - p))


def test_record_relative_scores_stand_out_from_their_own_record_only():
    # Record a: calm, one beat stands out. Record b: every beat high (as in atrial fibrillation).
    calm = np.array([0.02, 0.03, 0.02, 0.9, 0.025])
    flooded = np.array([0.9, 0.92, 0.88, 0.91, 0.9])
    relative = relative_to_record(np.concatenate([calm, flooded]), np.array(["a"] * 5 + ["b"] * 5))
    outlier, rest = relative[3], np.delete(relative, 3)
    assert outlier > 0.99 and rest.max() < 0.7  # the flooded record no longer outranks the APC
    np.testing.assert_allclose(_logit(relative[:5].astype(np.float64)), _logit(calm) - _logit(np.median(calm)),
                               rtol=1e-4)
    assert np.median(relative[5:]) == 0.5
    np.testing.assert_allclose(relative_to_record(calm), relative[:5])  # no records: all one record


def test_a_record_relative_model_scores_through_the_one_path():
    inputs, records = _inputs(), np.repeat(["x", "y"], 20)
    raw = score_beats(_model(0.0), inputs).p_apc
    relative = score_beats(_model(0.0, record_relative=True), inputs, records=records).p_apc
    np.testing.assert_allclose(relative, relative_to_record(raw, records), rtol=1e-5)
    # The veto still has the last word.
    vetoed = score_beats(_model(0.3, record_relative=True), inputs, records=records).p_apc
    assert (vetoed[:20] == 0).all() and np.allclose(vetoed[20:], relative[20:])


def _apc_majority_record(apcs: int, sinus: int):
    """Logits and rhythm of a record whose majority rhythm is APCs (early against the sinus reference)."""
    rr = np.zeros((apcs + sinus, len(RHYTHM_FEATURES)), np.float32)
    rr[:, RHYTHM_FEATURES.index("sinus_rr_s")] = 2.0
    rr[:, RHYTHM_FEATURES.index("pre_rr_s")] = [0.7] * apcs + [1.9] * sinus
    rr[:, RHYTHM_REGULARITY_COLUMN] = 0.6  # two recurring intervals: regular by rhythm
    inputs = BeatInputs(np.zeros((len(rr), WINDOW_LENGTH), np.float32), rr,
                        np.zeros((len(rr), 4, 2), np.int16), np.ones(len(rr), bool))
    p_apc = 1 / (1 + np.exp(-np.array([1.0] * apcs + [-4.0] * sinus)))
    return inputs, p_apc


def test_a_sinus_reference_is_not_filled_by_a_majority_of_apcs():
    inputs, p_apc = _apc_majority_record(apcs=80, sinus=30)
    assert ON_TIME_SHARE * 2.0 < 1.9 and ON_TIME_SHARE * 2.0 > 0.7
    by_all = relative_to_record(p_apc, reference=reference_beats(NetworkConfig(record_reference="all"), inputs))
    by_sinus = relative_to_record(p_apc, reference=reference_beats(NetworkConfig(record_reference="sinus"), inputs))
    assert by_all[0] == 0.5  # the median beat is an APC: every APC is erased
    np.testing.assert_allclose(by_sinus[0], 1 / (1 + np.exp(-5.0)), rtol=1e-5)  # against the sinus beats
    np.testing.assert_allclose(by_sinus[-1], 0.5, rtol=1e-5)


def test_too_few_on_time_beats_fall_back_to_the_median_of_all():
    inputs, p_apc = _apc_majority_record(apcs=80, sinus=MIN_REFERENCE_BEATS - 1)
    sinus = reference_beats(NetworkConfig(record_reference="sinus"), inputs)
    np.testing.assert_array_equal(relative_to_record(p_apc, reference=sinus), relative_to_record(p_apc))


def _by(reference: str, inputs: BeatInputs, p_apc: np.ndarray, records: np.ndarray | None = None) -> np.ndarray:
    return relative_to_record(p_apc, records, reference_beats(NetworkConfig(record_reference=reference), inputs))


def test_a_rhythm_reference_keeps_the_sinus_reference_in_a_regular_rhythm():
    inputs, p_apc = _apc_majority_record(apcs=80, sinus=30)
    np.testing.assert_array_equal(_by("rhythm", inputs, p_apc), _by("sinus", inputs, p_apc))
    assert _by("rhythm", inputs, p_apc)[0] > 0.99


def _fibrillation_then_sinus(fibrillation: int, sinus: int):
    """A record in atrial fibrillation, then in sinus rhythm with a few APCs. In fibrillation the
    network scores every beat a little premature, the long-interval (on-time) beats least."""
    rng = np.random.default_rng(1)
    n = fibrillation + sinus
    rr = np.zeros((n, len(RHYTHM_FEATURES)), np.float32)
    rr[:, RHYTHM_FEATURES.index("sinus_rr_s")] = 1.0
    pre = np.concatenate([rng.uniform(0.4, 1.0, fibrillation), np.full(sinus, 0.95)])
    apcs = fibrillation + np.arange(5, sinus, 10)
    pre[apcs] = 0.6
    rr[:, RHYTHM_FEATURES.index("pre_rr_s")] = pre
    rr[:, RHYTHM_REGULARITY_COLUMN] = [IRREGULAR_RHYTHM / 2] * fibrillation + [0.95] * sinus
    logit = np.where(np.arange(n) < fibrillation, 1.0 - 2.0 * pre, -4.0)
    logit[apcs] = 0.0
    inputs = BeatInputs(np.zeros((n, WINDOW_LENGTH), np.float32), rr,
                        np.zeros((n, 4, 2), np.int16), np.ones(n, bool))
    return inputs, 1 / (1 + np.exp(-logit)), apcs


def test_a_rhythm_reference_scores_fibrillation_against_itself_and_sinus_against_sinus():
    inputs, p_apc, apcs = _fibrillation_then_sinus(fibrillation=200, sinus=100)
    fibrillation = np.arange(200)
    sinus_normals = np.setdiff1d(np.arange(200, 300), apcs)
    by_rhythm, by_sinus = _by("rhythm", inputs, p_apc), _by("sinus", inputs, p_apc)
    # Against the on-time beats (fibrillation's longest intervals) most fibrillation beats stand out;
    # against fibrillation's own median, half of them at most sit above 0.5.
    assert (by_sinus[fibrillation] > 0.5).mean() > 0.8
    assert (by_rhythm[fibrillation] > 0.5).mean() <= 0.5
    np.testing.assert_allclose(np.median(by_rhythm[fibrillation]), 0.5, atol=0.02)
    # The sinus stretch is scored against its own on-time beats: its APCs stand out, its normals sit at 0.5.
    np.testing.assert_allclose(by_rhythm[sinus_normals], 0.5, rtol=1e-5)
    assert (by_rhythm[apcs] > 0.95).all()


def test_a_rhythm_with_too_few_beats_is_scored_against_its_whole_record():
    inputs, p_apc, _ = _fibrillation_then_sinus(fibrillation=MIN_REFERENCE_BEATS - 1, sinus=100)
    by_rhythm, by_all = _by("rhythm", inputs, p_apc), _by("all", inputs, p_apc)
    np.testing.assert_array_equal(by_rhythm[: MIN_REFERENCE_BEATS - 1], by_all[: MIN_REFERENCE_BEATS - 1])


def test_rhythm_references_stay_within_their_record():
    inputs, p_apc, _ = _fibrillation_then_sinus(fibrillation=200, sinus=100)
    both = BeatInputs(*(np.concatenate([getattr(inputs, f)] * 2) for f in ("windows", "rr", "regions", "p_found")))
    records = np.repeat(["a", "b"], len(p_apc))
    shifted = np.concatenate([p_apc, 1 / (1 + np.exp(-(_logit(p_apc) + 3.0)))])  # record b: every logit + 3
    relative = _by("rhythm", both, shifted, records)
    np.testing.assert_allclose(relative[: len(p_apc)], relative[len(p_apc) :], rtol=1e-5)


def test_an_unknown_record_reference_is_refused():
    with pytest.raises(ValueError, match="record reference"):
        NetworkConfig(record_reference="mode")
