"""The model's inputs for a lead's beats: the one path from signal to tensors, for training and inference.

``prepare_beats`` conditions the lead, cuts the beat windows, delineates the
waves and computes the RR features; ``model_rr_features`` turns RR seconds into
the ratios the network sees. Training data, exported datasets and the
viewer's inference all pass through these functions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from danet_viewer.core.beats import RR_FEATURES, rr_features
from danet_viewer.core.conditioning import beat_windows, condition_signal, to_model_samples
from danet_viewer.core.delineation import delineate, region_intervals

MODEL_RR_FEATURES = ("pre/local", "post/local", "pre/post", "pre/sinus", "irregularity/local", "local_rr_s")


@dataclass(frozen=True)
class BeatInputs:
    """Model inputs of n beats of one lead."""

    windows: np.ndarray  # float32 (n, WINDOW_LENGTH), conditioned and scaled
    rr: np.ndarray  # float32 (n, len(RR_FEATURES)), seconds
    regions: np.ndarray  # int16 (n, 4, 2): [start, stop) of P, QRS, T, previous T in window samples
    p_found: np.ndarray  # bool (n,): False where the P region is the RR-scaled fallback

    def __len__(self) -> int:
        return len(self.windows)

    def subset(self, rows: np.ndarray) -> BeatInputs:
        return BeatInputs(self.windows[rows], self.rr[rows], self.regions[rows], self.p_found[rows])


def prepare_beats(signal: np.ndarray, fs: float, beats: np.ndarray) -> BeatInputs:
    """Inputs for every beat of ``beats`` (samples at ``fs``, sorted) on one lead ``signal``."""
    conditioned = condition_signal(signal, fs)
    peaks = np.clip(to_model_samples(beats, fs), 0, max(0, len(conditioned) - 1))
    delineation = delineate(conditioned, peaks)
    rows = np.arange(len(peaks))
    return BeatInputs(
        windows=beat_windows(conditioned, peaks),
        rr=rr_features(beats, fs),
        regions=region_intervals(delineation, rows, peaks).astype(np.int16),
        p_found=np.asarray(delineation.p_found, bool),
    )


def model_rr_features(rr: np.ndarray) -> np.ndarray:
    """RR seconds (``RR_FEATURES`` columns) -> the scale-free ratios the network takes (``MODEL_RR_FEATURES``)."""
    rr = np.asarray(rr, dtype=np.float32)
    pre, post, local, sinus, irregularity = (np.maximum(rr[:, i], 1e-3) for i in range(len(RR_FEATURES)))
    return np.stack(
        [pre / local, post / local, pre / post, pre / sinus, irregularity / local, local], axis=1
    ).astype(np.float32)
