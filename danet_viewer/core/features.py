"""The model's inputs for a lead's beats: the one path from signal to tensors, for training and inference.

``prepare_beats`` conditions the lead, cuts the beat windows, delineates the
waves and computes the RR features; ``model_rr_features`` turns RR seconds into
the ratios the network sees. Training data, exported datasets and the
viewer's inference all pass through these functions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from danet_viewer.core.beats import RR_FEATURES, rr_features
from danet_viewer.core.conditioning import WINDOW_LENGTH, beat_windows, condition_signal, to_model_samples
from danet_viewer.core.delineation import REGIONS, Delineation, delineate, region_intervals
from danet_viewer.core.recording import Recording

# What BeatInputs.rr holds per beat: the RR features, how many neighbours show a P wave, and how
# regular the rhythm around the beat is.
RHYTHM_FEATURES = (*RR_FEATURES, "p_wave_fraction", "rhythm_regularity")
RHYTHM_REGULARITY_COLUMN = RHYTHM_FEATURES.index("rhythm_regularity")
P_WAVE_CONTEXT_BEATS = 33
# About a minute of beats: atrial fibrillation is called on episodes of 30 s or more, while a run
# of APCs lasts a few beats and must not read as an irregular rhythm.
RHYTHM_REGULARITY_BEATS = 65
# Long recordings are prepared in chunks; the margins let the band-pass filter's edge transients
# decay and give the delineator the neighbouring beats' waves.
PREPARE_CHUNK_S = 600.0
PREPARE_MARGIN_S = 10.0
# The scale-free values the default network sees (model_rr_features); a model's card names its own.
MODEL_RR_FEATURES = ("pre/local", "post/local", "pre/post", "pre/sinus", "irregularity/local", "local_rr_s",
                     "prev_pre/local", "recurrence", "p_wave_fraction")


@dataclass(frozen=True)
class BeatInputs:
    """Model inputs of n beats of one lead."""

    windows: np.ndarray  # float32 (n, WINDOW_LENGTH), conditioned and scaled
    rr: np.ndarray  # float32 (n, len(RHYTHM_FEATURES)): RR seconds and rhythm context
    regions: np.ndarray  # int16 (n, 4, 2): [start, stop) of P, QRS, T, previous T in window samples
    p_found: np.ndarray  # bool (n,): False where the P region is the RR-scaled fallback

    def __len__(self) -> int:
        return len(self.windows)

    def subset(self, rows: np.ndarray) -> BeatInputs:
        return BeatInputs(self.windows[rows], self.rr[rows], self.regions[rows], self.p_found[rows])


@dataclass(frozen=True)
class LeadChunk:
    """A chunk of a lead conditioned with its margins, and the beats whose R peak lies in the chunk."""

    kept: np.ndarray  # rows (of the beats given) of the chunk's own beats
    first: int  # the conditioned stretch's first and last sample: the chunk and its margins
    last: int
    conditioned: np.ndarray
    peaks: np.ndarray  # R peaks in ``conditioned``'s model samples of every beat in the stretch (margins included)
    delineation: Delineation | None  # of those beats; None when not asked for
    rows: np.ndarray  # the kept beats' rows among them
    done: float  # share of the record up to the chunk's end, for progress

    def windows(self) -> np.ndarray:
        """The kept beats' windows."""
        return beat_windows(self.conditioned, self.peaks[self.rows])


def lead_chunks(recording: Recording, lead: int | str, beats: np.ndarray, *, delineated: bool = True
                ) -> Iterator[LeadChunk]:
    """The chunks of ``lead`` that hold beats of ``beats`` (sorted samples), conditioned as ``prepare_beats`` does.

    A chunk's beats are delineated together with those in its margins, whose
    neighbouring waves the delineator reads; ``delineated`` False skips that.
    """
    fs = recording.fs
    chunk, margin = round(PREPARE_CHUNK_S * fs), round(PREPARE_MARGIN_S * fs)
    for start in range(0, max(recording.n_samples, 1), chunk):
        stop = min(start + chunk, recording.n_samples)
        kept = np.flatnonzero((beats >= start) & (beats < stop))
        if not len(kept):
            continue
        first, last = max(0, start - margin), min(recording.n_samples, stop + margin)
        conditioned = condition_signal(recording.read(lead, first, last), fs)
        around = np.flatnonzero((beats >= first) & (beats < last)) if delineated else kept
        peaks = np.clip(to_model_samples(beats[around] - first, fs), 0, len(conditioned) - 1)
        rows = np.searchsorted(around, kept)
        delineation = delineate(conditioned, peaks) if delineated else None
        yield LeadChunk(kept, first, last, conditioned, peaks, delineation, rows, stop / recording.n_samples)


def prepare_beats(
    recording: Recording, lead: int | str, beats: np.ndarray, progress: Callable[[float], None] | None = None
) -> BeatInputs:
    """Inputs for every beat of ``beats`` (samples at the recording's rate, sorted) on one lead.

    The lead is conditioned chunk by chunk (``lead_chunks``), with margins long
    enough for the filters and the delineator's neighbouring waves to settle,
    so a 24 h record needs the memory of one chunk, not of the whole lead in
    float64.
    """
    beats = np.asarray(beats, dtype=np.int64)
    windows = np.zeros((len(beats), WINDOW_LENGTH), np.float32)
    regions = np.zeros((len(beats), len(REGIONS), 2), np.int16)
    p_found = np.zeros(len(beats), bool)
    for chunk in lead_chunks(recording, lead, beats):
        windows[chunk.kept] = chunk.windows()
        regions[chunk.kept] = region_intervals(chunk.delineation, chunk.rows, chunk.peaks)
        p_found[chunk.kept] = chunk.delineation.p_found[chunk.rows]
        if progress:
            progress(chunk.done)
    return BeatInputs(windows, rhythm_features(beats, recording.fs, p_found), regions, p_found)


def lead_windows(recording: Recording, lead: int | str, beats: np.ndarray) -> np.ndarray:
    """The beat windows alone (``BeatInputs.windows``) of a second lead, chunked like ``prepare_beats``."""
    beats = np.asarray(beats, dtype=np.int64)
    windows = np.zeros((len(beats), WINDOW_LENGTH), np.float32)
    for chunk in lead_chunks(recording, lead, beats, delineated=False):
        windows[chunk.kept] = chunk.windows()
    return windows


def rhythm_features(beats: np.ndarray, fs: float, p_found: np.ndarray) -> np.ndarray:
    """``RHYTHM_FEATURES`` of every beat from the beat samples and where a P wave was found."""
    intervals = rr_features(beats, fs)
    return np.column_stack([intervals, p_wave_fraction(p_found), rhythm_regularity(intervals)]).astype(np.float32)


def _centred_mean(values: np.ndarray, width: int) -> np.ndarray:
    padded = np.pad(values.astype(np.float32), width // 2, mode="edge")
    return np.lib.stride_tricks.sliding_window_view(padded, width).mean(axis=1)


def p_wave_fraction(p_found: np.ndarray) -> np.ndarray:
    """Fraction of the centred ``P_WAVE_CONTEXT_BEATS`` beats with a P wave: low in atrial fibrillation."""
    if not len(p_found):
        return np.empty(0, np.float32)
    return _centred_mean(p_found, P_WAVE_CONTEXT_BEATS)


def rhythm_regularity(intervals: np.ndarray) -> np.ndarray:
    """Mean RR recurrence over the centred ``RHYTHM_REGULARITY_BEATS`` beats (``rr_features`` rows).

    Each beat's recurrence is the share of recent intervals within 10 % of its own. Sinus rhythm
    sits near 1; bigeminy and frequent APCs near a half, because their intervals fall in two
    clusters; atrial fibrillation's intervals are random and sit near 0.2. A low value means an
    irregular rhythm in which an early beat is no evidence of an APC.
    """
    if not len(intervals):
        return np.empty(0, np.float32)
    return _centred_mean(intervals[:, RR_FEATURES.index("recurrence")], RHYTHM_REGULARITY_BEATS)


def _rr_ratio(numerator: str, denominator: str) -> Callable[[np.ndarray], np.ndarray]:
    top, bottom = RHYTHM_FEATURES.index(numerator), RHYTHM_FEATURES.index(denominator)
    return lambda rr: np.maximum(rr[:, top], 1e-3) / np.maximum(rr[:, bottom], 1e-3)


def _rr_column(name: str) -> Callable[[np.ndarray], np.ndarray]:
    column = RHYTHM_FEATURES.index(name)
    return lambda rr: rr[:, column]


# Every value a network may take as a rhythm input, by the name a model card lists it under. All
# are scale-free but the local RR itself, so a slower heart does not look like a different patient.
RR_INPUTS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "pre/local": _rr_ratio("pre_rr_s", "local_rr_s"),
    "post/local": _rr_ratio("post_rr_s", "local_rr_s"),
    "pre/post": _rr_ratio("pre_rr_s", "post_rr_s"),
    "pre/sinus": _rr_ratio("pre_rr_s", "sinus_rr_s"),
    "irregularity/local": _rr_ratio("irregularity_s", "local_rr_s"),
    "local_rr_s": lambda rr: np.maximum(rr[:, RHYTHM_FEATURES.index("local_rr_s")], 1e-3),
    "prev_pre/local": _rr_ratio("prev_pre_rr_s", "local_rr_s"),
    "recurrence": _rr_column("recurrence"),
    "p_wave_fraction": _rr_column("p_wave_fraction"),
    "rhythm_regularity": _rr_column("rhythm_regularity"),
}


def model_rr_features(rr: np.ndarray, names: tuple[str, ...] = MODEL_RR_FEATURES) -> np.ndarray:
    """Rhythm features (``RHYTHM_FEATURES`` columns) -> the network's rhythm inputs ``names`` (``RR_INPUTS``)."""
    rr = np.asarray(rr, dtype=np.float32)
    return np.stack([RR_INPUTS[name](rr) for name in names], axis=1).astype(np.float32)
