"""View ▸ All leads (issue 19 item 14): every lead of the record stacked in the raw panel with its name, the lead
chosen in the lead box marked and carrying the beat marks; the enhanced panel stays the analysis lead's."""

from __future__ import annotations

import numpy as np
import wfdb
from PySide6.QtCore import Qt

from tests._qt.conftest import ANALYSIS_TIMEOUT_MS
from tests.conftest import synthetic_ecg

FS = 360.0
LEADS = ("I", "II", "V1")


def three_lead_record(folder):
    signal, _ = synthetic_ecg(FS, 60.0, premature=set(range(4, 80, 9)))
    leads = np.stack([0.6 * signal + 0.1, signal, -0.7 * signal - 0.2], axis=1).astype(np.float64)
    wfdb.wrsamp("three", fs=FS, units=["mV"] * 3, sig_name=list(LEADS), p_signal=leads, fmt=["16"] * 3,
                adc_gain=[1000.0] * 3, baseline=[0] * 3, write_dir=str(folder))
    return folder / "three.hea"


def shown_names(view):
    """The names painted, top to bottom, with the one marked."""
    names = sorted(view.stack.names.scene_names(), key=lambda name: name[1].top())
    return [text for text, _, _ in names], [text for text, _, marked in names if marked]


def stacked_curves(view):
    """Each drawn lead's baseline as it lies on screen (the raw trace is the chosen lead), by lead."""
    drawn = {lead: curve for lead, curve in view.stack.drawn.items() if curve.isVisible()}
    return {lead: np.median(curve.getData()[1]) + curve.pos().y() for lead, curve in drawn.items()}


def test_all_leads_stack_with_their_names_and_the_chosen_lead_marked(qtbot, window, tmp_path):
    assert window.open_record(str(three_lead_record(tmp_path)))
    qtbot.waitUntil(lambda: not window.analysing, timeout=ANALYSIS_TIMEOUT_MS)
    view, review = window.view, window.review
    assert LEADS[review.lead] == "II" and not view.stack.active  # one lead until asked
    qtbot.keyClick(view, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert window.shortcut_actions["All leads"].isChecked() and review.leads.all_leads
    qtbot.waitUntil(lambda: view.stack.active)
    qtbot.wait(50)

    # Three traces: the raw trace (II, the analysis lead) and the two others, I above it and V1 below.
    baselines = stacked_curves(view)
    assert sorted(baselines) == [0, 2] and view.raw_curve.isVisible() and len(view.raw_curve.getData()[0])
    raw_baseline = np.median(view.raw_curve.getData()[1])
    assert baselines[0] > raw_baseline > baselines[2]
    (y0, y1) = view.raw_plot.viewRange()[1]
    assert all(y0 < baseline < y1 for baseline in [*baselines.values(), raw_baseline])  # all on screen
    assert shown_names(view) == (["I", "II (analysis)", "V1"], ["II (analysis)"])
    assert "II enhanced" in view.enhanced_plot.getAxis("left").labelString()
    marks_t, marks_y = view.markers.getData()
    assert np.allclose(marks_y, view.raw[np.rint(marks_t * FS).astype(int)])  # on the marked lead

    # Choosing V1 in the lead box moves the mark (and the beat marks) to it; the model keeps its lead.
    window.lead_box.setCurrentIndex(2)
    window.lead_box.activated.emit(2)
    qtbot.waitUntil(lambda: np.array_equal(view.raw, review.recording.read(2)))
    qtbot.wait(50)
    assert shown_names(view) == (["I", "II (analysis)", "V1"], ["V1"])
    assert sorted(stacked_curves(view)) == [0, 1] and review.lead == 1
    marks_t, marks_y = view.markers.getData()
    assert np.allclose(marks_y, review.recording.read(2)[np.rint(marks_t * FS).astype(int)])
    assert "II enhanced" in view.enhanced_plot.getAxis("left").labelString()

    window.shortcut_actions["All leads"].setChecked(False)  # back to the chosen lead alone
    assert not view.stack.active and not view.stack.names.isVisible()
    assert not any(curve.isVisible() for curve in view.stack.curves)
