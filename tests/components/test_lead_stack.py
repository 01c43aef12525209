"""The stacked leads' arithmetic: lead after lead downwards, the chosen lead where it is drawn alone."""

from __future__ import annotations

import numpy as np

from danet_viewer.components.lead_stack import LeadStack, baseline_and_spread


def test_leads_stack_downwards_in_record_order_around_the_chosen_lead():
    stack = LeadStack(("I", "II", "V1"), analysis=1, chosen=1, all_leads=True)
    baselines = np.array([0.5, -0.2, 3.0])
    offsets = stack.offsets(baselines, spacing=2.0)
    assert offsets[1] == 0.0  # the chosen lead stays put: its marks and labels need no offset
    assert np.allclose(baselines + offsets, [1.8, -0.2, -2.2])  # baselines 2 apart, I above II above V1
    assert stack.centre_shift(2.0) == 0.0 and LeadStack(stack.names, 1, 0, True).centre_shift(2.0) == -2.0
    assert [stack.title(lead) for lead in range(3)] == ["I", "II (analysis)", "V1"]
    assert stack.stacked and not LeadStack(("II",), all_leads=True).stacked


def test_baseline_and_spread_ignore_a_rare_spike_and_missing_samples():
    samples = np.tile(np.r_[np.zeros(90), np.linspace(0, 1, 10)], 100).astype(np.float32) + 0.3
    samples[500] = 40.0
    samples[600:700] = np.nan
    baseline, spread = baseline_and_spread(samples)
    assert np.isclose(baseline, 0.3) and 0.9 < spread < 1.1
