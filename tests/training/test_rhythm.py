"""Choosing the rhythm veto: AF episodes read from .atr rhythm marks, thresholds scored against them."""

from __future__ import annotations

import numpy as np
import wfdb

from training.rhythm import VETO_CANDIDATES, atrial_fibrillation_beats, veto_table


def test_fibrillation_episodes_come_from_rhythm_marks(tmp_path):
    marks = np.array([0, 1000, 5000, 8000])
    wfdb.wrann("rec", "atr", marks, symbol=["+"] * 4, aux_note=["(N", "(AFIB", "(SVTA", "(AFL"], fs=250,
               write_dir=str(tmp_path))
    beats = np.array([500, 1000, 4999, 5000, 7000, 9000])
    np.testing.assert_array_equal(atrial_fibrillation_beats(tmp_path / "rec.hea", beats),
                                  [False, True, True, False, False, True])


def test_record_without_rhythm_marks_has_no_fibrillation(tmp_path):
    wfdb.wrann("rec", "atr", np.array([10, 20]), symbol=["N", "A"], fs=250, write_dir=str(tmp_path))
    assert not atrial_fibrillation_beats(tmp_path / "rec.hea", np.array([10, 20])).any()


def test_veto_table_scores_each_threshold_against_the_labels():
    regularity = np.array([0.12, 0.18, 0.22, 0.6, 0.9, 0.28, 0.5])
    fibrillation = np.array([True, True, True, False, False, False, False])
    sveb = np.array([False, False, False, False, False, True, True])
    table = {round(row.threshold, 2): row for row in veto_table(regularity, fibrillation, sveb)}
    assert set(table) == {round(float(t), 2) for t in VETO_CANDIDATES}
    assert table[0.25].fibrillation_recall == 1.0 and table[0.25].other_vetoed == 0.0
    assert table[0.25].balanced_accuracy == 1.0 and table[0.25].sveb_vetoed == 0
    assert table[0.3].other_vetoed == 0.25 and table[0.3].sveb_vetoed == 1
    assert table[0.15].fibrillation_recall == 1 / 3
