"""The continuous DANet view of one lead: conditioned trace, attention w(t) and enhanced trace x·(1 + w).

The network sees one window per beat, and neighbouring windows overlap (each
holds the beat and the one before it). A reviewer wants one trace, so each beat
owns the stretch from ``STRETCH_BEFORE_RR``·RR before its R peak to
``STRETCH_AFTER_RR``·RR after it, where its own P, QRS and T waves live (RR
being the interval on that side). The stretches tile the trace without gaps or
overlaps, and on its stretch w(t) is read from the beat's own window. Outside
every stretch (before the first beat, after the last, or past a window's edge in
a long pause) w = 0: the model said nothing there.

Long records are done in ``TRACE_CHUNK_S`` chunks, so memory is bounded by a
chunk's beats, not the record's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import torch

from danet_viewer.core.conditioning import MODEL_FS, WINDOW_BEFORE, WINDOW_LENGTH, condition_signal, to_model_samples
from danet_viewer.core.features import prepare_beats
from danet_viewer.core.recording import Recording
from danet_viewer.model.inference import score_beats
from danet_viewer.model.network import DANet

STRETCH_BEFORE_RR = 0.65
STRETCH_AFTER_RR = 0.35
TRACE_CHUNK_S = 600.0
# Conditioning margin around a chunk, so the band-pass filter's edge transients stay outside it.
CONDITION_MARGIN_S = 10.0
# Beats of context given to prepare_beats on each side of a chunk's beats: more than the widest
# rhythm reference (32 trailing intervals, 16 on each side for irregularity and the P-wave fraction),
# so a chunk's beats get exactly the rhythm features they get in a whole-record analysis.
CONTEXT_BEATS = 40
# The regions drawn for a reviewer: REGIONS[:3] (the previous beat's T belongs to that beat).
SHOWN_REGIONS = ("p", "qrs", "t")


@dataclass(frozen=True)
class EnhancedTrace:
    """A stretch of one lead as DANet sees it, sampled at ``fs`` (≈ MODEL_FS) from ``start_s``."""

    fs: float
    start_s: float
    conditioned: np.ndarray  # float32: band-passed lead
    weights: np.ndarray  # float32: stitched attention w(t)
    enhanced: np.ndarray  # float32: conditioned · (1 + w)
    beat_sample: np.ndarray  # int64: the beats (record rate) whose stretches lie in this trace
    regions_s: np.ndarray  # float64 (n, 3, 2): their P, QRS, T [start, stop) in seconds

    @property
    def time_s(self) -> np.ndarray:
        return self.start_s + np.arange(len(self.conditioned)) / self.fs


def beat_stretches(peaks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Half-open ``[start, stop)`` model-sample stretch owned by each beat (``peaks`` sorted, model rate).

    Neighbours share their boundary, at 0.35·RR after the earlier peak; the first
    and last beat use their one known interval. Stretches are clipped to the beat's
    window, the only place the model gave a weight.
    """
    peaks = np.asarray(peaks, dtype=np.int64)
    if len(peaks) == 0:
        return peaks.copy(), peaks.copy()
    rr = np.diff(peaks)
    if len(rr) == 0:
        rr = np.array([WINDOW_LENGTH - WINDOW_BEFORE])  # one beat: its window's reach after R
    pre = np.concatenate([rr[:1], rr])
    post = np.concatenate([rr, rr[-1:]])
    starts = peaks - np.round(STRETCH_BEFORE_RR * pre).astype(np.int64)
    stops = peaks + np.round(STRETCH_AFTER_RR * post).astype(np.int64)
    # Shared boundaries computed once from the earlier beat, so rounding leaves no gap or overlap.
    starts[1:] = stops[:-1]
    starts = np.maximum(starts, peaks - WINDOW_BEFORE)
    stops = np.minimum(stops, peaks + WINDOW_LENGTH - WINDOW_BEFORE)
    return starts, np.maximum(stops, starts)


def stitch_weights(first: int, length: int, peaks: np.ndarray, starts: np.ndarray, stops: np.ndarray,
                   windows: np.ndarray) -> np.ndarray:
    """w(t) for model samples ``first ... first + length``: each sample read from its owning beat's window.

    ``peaks``, ``starts``, ``stops`` (sorted, model samples) and ``windows`` (n, WINDOW_LENGTH) describe
    the beats; samples no stretch covers get 0.
    """
    t = first + np.arange(length, dtype=np.int64)
    w = np.zeros(length, np.float32)
    if not len(peaks):
        return w
    owner = np.searchsorted(starts, t, side="right") - 1
    owned = (owner >= 0) & (t < stops[np.maximum(owner, 0)])
    beat = owner[owned]
    w[owned] = windows[beat, t[owned] - peaks[beat] + WINDOW_BEFORE]
    return w


def _model_grid(fs: float) -> tuple[int, float]:
    """(record samples per grid step, trace rate): chunks start on record samples that fall exactly on
    a conditioned sample, so chunks join on one uniform grid. Matches ``condition_signal``'s ratio."""
    ratio = Fraction(MODEL_FS / fs).limit_denominator(1000)
    return ratio.denominator, fs * ratio.numerator / ratio.denominator


def enhanced_trace(
    recording: Recording, lead: int | str, beats: np.ndarray, network: DANet, *, start_s: float = 0.0,
    stop_s: float | None = None, device: str | torch.device = "cpu",
    progress: Callable[[float], None] | None = None,
) -> EnhancedTrace:
    """The conditioned lead, w(t) and the enhanced trace over ``start_s ... stop_s`` (default: all of it).

    ``beats`` are all the record's beats at its own rate (sorted; e.g. the beat
    table's samples that are not deleted), so the beats at the range's edges get
    their real neighbours' rhythm context.
    """
    fs = recording.fs
    beats = np.asarray(beats, dtype=np.int64)
    step, trace_fs = _model_grid(fs)
    first = int(max(0.0, start_s) * fs) // step * step
    last = recording.n_samples if stop_s is None else min(recording.n_samples, int(np.ceil(stop_s * fs)))
    chunk = max(step, round(TRACE_CHUNK_S * fs) // step * step)
    margin = max(step, round(CONDITION_MARGIN_S * fs) // step * step)
    peaks = to_model_samples(beats, fs)
    starts, stops = beat_stretches(peaks)
    pieces: list[tuple[np.ndarray, np.ndarray]] = []
    owned_rows: list[np.ndarray] = []
    region_rows: list[np.ndarray] = []
    for chunk_start in range(first, max(last, first + 1), chunk):
        chunk_stop = min(chunk_start + chunk, last)
        read_from = max(0, chunk_start - margin)
        conditioned = condition_signal(recording.read(lead, read_from, min(recording.n_samples, chunk_stop + margin)),
                                       fs)
        skip = (chunk_start - read_from) // step * round(trace_fs * step / fs)
        m0 = round(chunk_start * trace_fs / fs)
        length = min(len(conditioned) - skip, round(chunk_stop * trace_fs / fs) - m0)
        conditioned = conditioned[skip : skip + length]
        rows = np.flatnonzero((stops > m0) & (starts < m0 + length) & (stops > starts))
        windows = np.zeros((0, WINDOW_LENGTH), np.float32)
        if len(rows):
            context = np.arange(max(0, rows[0] - CONTEXT_BEATS), min(len(beats), rows[-1] + CONTEXT_BEATS + 1))
            inputs = prepare_beats(recording, lead, beats[context]).subset(rows - context[0])
            windows = score_beats(network, inputs, device=device, attention=True).weights
            regions = inputs.regions[:, : len(SHOWN_REGIONS)] + (peaks[rows] - WINDOW_BEFORE)[:, None, None]
            owned_rows.append(rows)
            region_rows.append(regions / MODEL_FS)
        w = stitch_weights(m0, length, peaks[rows], starts[rows], stops[rows], windows)
        pieces.append((conditioned, w))
        if progress:
            progress((chunk_stop - first) / max(1, last - first))
    conditioned = np.concatenate([c for c, _ in pieces]).astype(np.float32)
    weights = np.concatenate([w for _, w in pieces]).astype(np.float32)
    # A beat whose stretch crosses a chunk boundary is scored in both chunks; keep it once.
    rows, unique = np.unique(np.concatenate(owned_rows), return_index=True) if owned_rows else (np.empty(0, int), [])
    regions = np.concatenate(region_rows)[unique] if region_rows else np.empty((0, len(SHOWN_REGIONS), 2))
    return EnhancedTrace(trace_fs, first / fs, conditioned, weights, conditioned * (1 + weights), beats[rows],
                         regions)
