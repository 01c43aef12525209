"""Which leads the review view draws, and where: the chosen lead alone, or every lead of the record stacked top to
bottom in the record's order (as WAVE and EDFbrowser show them), the chosen one marked.

The chosen lead (the lead box's) carries the beat marks and labels; it starts as the model's analysis lead,
which keeps "(analysis)" in its name wherever it is drawn. Stacked, each lead is moved by an offset so its
baseline sits one ``spacing`` below the lead before it, and the chosen lead stays where it is drawn alone: its
marks, labels, calipers and paper scale need no offset.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# A lead's spread, for spacing the stack when the amplitude follows the traces: the range of its middle
# 99.8 % of samples (the QRS, without a rare spike), read from at most this many samples.
SPREAD_PERCENTILES = (0.1, 99.9)
SPREAD_SAMPLES = 200_000


@dataclass(frozen=True)
class LeadStack:
    names: tuple[str, ...] = ()
    analysis: int = 0  # the model's lead
    chosen: int = 0  # the lead box's: drawn alone, or marked among all
    all_leads: bool = False

    @property
    def stacked(self) -> bool:
        """All leads drawn (there being more than one)."""
        return self.all_leads and len(self.names) > 1

    def title(self, lead: int) -> str:
        return f"{self.names[lead]} (analysis)" if lead == self.analysis else self.names[lead]

    def offsets(self, baselines: np.ndarray, spacing: float) -> np.ndarray:
        """What to add to each lead's samples: lead ``i``'s baseline ``spacing`` below lead ``i - 1``'s, the chosen
        lead's offset 0."""
        baselines = np.asarray(baselines, np.float64)
        rank = self.chosen - np.arange(len(baselines))
        return rank * spacing + baselines[self.chosen] - baselines

    def centre_shift(self, spacing: float) -> float:
        """From the chosen lead's baseline to the middle of the stack."""
        return (self.chosen - (len(self.names) - 1) / 2) * spacing


def baseline_and_spread(samples: np.ndarray) -> tuple[float, float]:
    """A lead's baseline (median) and spread (``SPREAD_PERCENTILES`` range), from an even subsample."""
    picked = np.asarray(samples[:: max(1, len(samples) // SPREAD_SAMPLES)], np.float64)
    picked = picked[np.isfinite(picked)]
    if not len(picked):
        return 0.0, 0.0
    low, high = np.percentile(picked, SPREAD_PERCENTILES)
    return float(np.median(picked)), float(high - low)
