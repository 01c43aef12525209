"""Shared fixtures: synthetic ECG and WFDB records written to tmp_path (never ../shared)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import pytest
import wfdb

from danet_viewer.core.recording import Recording

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Tests never see the user's own model registry or settings: the bundled model is the active one.
os.environ["DANET_REVIEW_DATA"] = tempfile.mkdtemp(prefix="danet-review-test-")

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "resources" / "sample" / "209_excerpt.hea"


def synthetic_ecg(fs: float, duration_s: float, *, rr_s: float = 0.8, premature: set[int] = frozenset(),
                  seed: int = 0, ectopic_p: float = 0.15) -> tuple[np.ndarray, np.ndarray]:
    """A clean synthetic lead in mV (P, QRS, T as Gaussians) and its R-peak samples.

    Beats whose index is in ``premature`` come 30 % early with a P wave of
    height ``ectopic_p`` (the sinus P is 0.15 mV): the APC pattern.
    """
    rng = np.random.default_rng(seed)
    n = int(duration_s * fs)
    t = np.arange(n) / fs
    peaks, time = [], 0.6
    index = 0
    while time < duration_s - 0.6:
        peaks.append(time)
        index += 1
        time += rr_s * (0.7 if index in premature else 1.0) * (1 + 0.02 * rng.standard_normal())
    signal = np.zeros(n)
    for index, r in enumerate(peaks):
        p_height = ectopic_p if index in premature else 0.15
        for offset, width, height in ((-0.18, 0.025, p_height), (0.0, 0.012, 1.2), (-0.03, 0.01, -0.15),
                                      (0.03, 0.01, -0.25), (0.25, 0.05, 0.3)):
            signal += height * np.exp(-0.5 * ((t - r - offset) / width) ** 2)
    signal += 0.02 * rng.standard_normal(n)
    return signal.astype(np.float32), np.round(np.array(peaks) * fs).astype(np.int64)


def write_wfdb_record(folder: Path, name: str, signal: np.ndarray, fs: float,
                      beats: np.ndarray | None = None, symbols: list[str] | None = None) -> Path:
    """Write a 1-lead MLII WFDB record (format 212) and optional .atr; returns the .hea path."""
    wfdb.wrsamp(name, fs=fs, units=["mV"], sig_name=["MLII"], p_signal=signal[:, None].astype(np.float64),
                fmt=["212"], adc_gain=[200.0], baseline=[0], write_dir=str(folder))
    if beats is not None:
        wfdb.wrann(name, "atr", np.asarray(beats), symbol=symbols or ["N"] * len(beats), fs=fs,
                   write_dir=str(folder))
    return folder / f"{name}.hea"


@pytest.fixture
def synthetic_record(tmp_path: Path) -> tuple[Path, np.ndarray, list[str]]:
    """A 60 s synthetic record with every 7th beat premature and labelled 'A'."""
    premature = set(range(3, 200, 7))
    signal, beats = synthetic_ecg(360, 60, premature=premature)
    symbols = ["A" if i in premature else "N" for i in range(len(beats))]
    return write_wfdb_record(tmp_path, "synth", signal, 360, beats, symbols), beats, symbols


class ArrayRecording(Recording):
    """A recording held in memory, for tests of code that takes a ``Recording``."""

    def __init__(self, signal: np.ndarray, fs: float, name: str = "synthetic") -> None:
        self._signal = np.asarray(signal, np.float32)
        super().__init__(Path(name), name, fs, ["II"], ["mV"], len(signal))

    def _read(self, lead: int, start: int, stop: int) -> np.ndarray:
        return self._signal[start:stop]

    def source_files(self) -> list[Path]:
        return []
