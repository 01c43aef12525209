"""Signal conditioning for the model: the single definition used by training and inference.

Resample to ``MODEL_FS``, zero-phase band-pass, cut a window around each beat
that also holds the beat before it, and scale each window robustly. Anything
that feeds the network goes through here; a second copy would let training and
inference drift apart silently.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from scipy import signal as sps

MODEL_FS = 250
BAND_HZ = (0.5, 40.0)
FILTER_ORDER = 2  # per pass; sosfiltfilt doubles it, with no phase shift
# The window holds the beat and the one before it (RR up to ~1.3 s, i.e. down to ~45 bpm).
WINDOW_BEFORE_S = 1.5
WINDOW_AFTER_S = 1.0
WINDOW_BEFORE = round(WINDOW_BEFORE_S * MODEL_FS)
WINDOW_LENGTH = WINDOW_BEFORE + round(WINDOW_AFTER_S * MODEL_FS)
_SOS = sps.butter(FILTER_ORDER, BAND_HZ, btype="bandpass", fs=MODEL_FS, output="sos")


def condition_signal(ecg: np.ndarray, fs: float) -> np.ndarray:
    """One lead at its own rate -> band-passed float32 at ``MODEL_FS``. Invalid samples become 0."""
    ecg = np.nan_to_num(np.asarray(ecg, dtype=np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    ratio = Fraction(MODEL_FS / fs).limit_denominator(1000)
    if ratio != 1:
        ecg = sps.resample_poly(ecg, ratio.numerator, ratio.denominator)
    if len(ecg) > 3 * _SOS.shape[0] * 2:
        ecg = sps.sosfiltfilt(_SOS, ecg)
    return ecg.astype(np.float32)


def to_model_samples(samples: np.ndarray, fs: float) -> np.ndarray:
    """Beat positions at the record's rate -> positions in the conditioned signal."""
    return np.round(np.asarray(samples, dtype=np.float64) * MODEL_FS / fs).astype(np.int64)


def beat_windows(conditioned: np.ndarray, model_samples: np.ndarray) -> np.ndarray:
    """(n_beats, WINDOW_LENGTH) windows, beat at ``WINDOW_BEFORE``, zero-padded at the edges, scaled.

    Scaling divides by half the 1st-99th percentile range of the window, so one
    artefact spike does not flatten the beat and gain differences between
    records and leads vanish.
    """
    padded = np.pad(conditioned, (WINDOW_LENGTH, WINDOW_LENGTH))
    starts = np.asarray(model_samples, dtype=np.int64) - WINDOW_BEFORE + WINDOW_LENGTH
    return scale_windows(padded[starts[:, None] + np.arange(WINDOW_LENGTH)])


def scale_windows(windows: np.ndarray) -> np.ndarray:
    """Centre each window on its median and divide by half its 1st-99th percentile range."""
    if not len(windows):
        return windows.astype(np.float32)
    low, centre, high = np.percentile(windows, [1, 50, 99], axis=1)
    scale = np.maximum((high - low) / 2, 1e-6)
    return ((windows - centre[:, None]) / scale[:, None]).astype(np.float32)
