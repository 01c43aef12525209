"""P, QRS and T wave delineation of a conditioned lead, and the region masks the WEM weights.

Method: the wavelet delineator of Martínez et al., "A wavelet-based ECG
delineator: evaluation on standard databases", IEEE TBME 51(4):570-581, 2004.

- **Transform.** The undecimated ("à trous") dyadic wavelet transform whose
  prototype wavelet is the derivative of a quadratic-spline smoothing function:
  low-pass ``H(e^jw) = e^(jw/2) cos^3(w/2)`` (taps 1/8·[1, 3, 3, 1]) and
  high-pass ``G(e^jw) = 4j e^(jw/2) sin(w/2)`` (taps 2·[-1, 1]). Scale 2^k is
  the equivalent FIR ``G(2^(k-1) w) · prod_{l<k-1} H(2^l w)``, applied here in
  one scipy convolution per scale and shifted by its group delay, so W_2^k x(n)
  is the slope between n and n + 1 of x smoothed over ~2^k samples. A wave is then a pair of
  modulus maxima of opposite sign (its two slopes), its peak is the zero
  crossing between them, and its onset/offset is where |W| falls below a
  fraction of the outer maximum, or reaches a local minimum, walking outwards.
- **Scales.** At 250 Hz the QRS is delineated at 2^2 and the P and T waves at
  2^4, as in the paper; at another rate the scale shifts by log2(fs / 250).
- **QRS.** The outermost significant modulus maxima within 80 ms before / 100 ms
  after R (above 6 % / 9 % of the QRS's largest) are the first and last slopes;
  onset and end thresholds are 5 %/7 % and 12.5 %/71 % of them, by their sign.
- **T.** Searched between max(QRS end, R + 100 ms) and min(R + 0.6·RR_next,
  R + 0.5 s): the steepest slope and the strongest opposite slope form the wave
  (thresholds 25 % onset, 40 % end). Onset and end stay inside the window.
  With no opposite slope, or a steepest slope under 2 % of the QRS's at that
  scale (a flat T), ``t_found`` is False and the T region is the whole window.
- **P.** Searched from the later of the previous beat's T end, R − 0.6·RR_prev
  and R − 0.5 s (the longest plausible PR) up to the QRS onset (thresholds 50 %
  onset, 90 % end). The paper's only test is an amplitude threshold, which
  atrial fibrillation's f-waves pass; so here a P wave must also have its two
  slopes within 120 ms, the weaker at least a quarter of the stronger, the
  stronger at least 2 % of the QRS's slope at that scale, and the weaker at
  least as large as any other modulus maximum in the window (a wave, not one
  ripple among many). When these fail, ``p_found`` is False and the P region
  is an RR-scaled fallback: 120 ms centred 160 ms before R, times
  clip(RR_prev / 0.8 s, 0.6, 1.2), moved before the QRS onset if needed, so
  downstream code always has a P region.

Limits: one lead; f-waves that happen to look like one clean wave in a short
window still pass as P waves in about half of the beats in atrial
fibrillation (a rhythm-level view has to veto those), and a P' buried in the
previous T wave is not found (its fallback region, and the ``prev_t`` mask,
cover it).

Everything is vectorised over beats: for a block of beats the transform of the
signal segment is computed once and each beat's neighbourhood is gathered into
a row of a matrix, so a 24 h record (~100 000 beats) takes a few seconds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np
from scipy import signal as sps

from danet_viewer.core.conditioning import MODEL_FS, WINDOW_BEFORE, WINDOW_LENGTH

REGIONS = ("p", "qrs", "t", "prev_t")

# Dyadic scale exponents at 250 Hz (Martínez et al. 2004).
_QRS_SCALE = 2
_WAVE_SCALE = 4
_REFERENCE_FS = 250.0

# QRS: R's own neighbourhood, where the first/last significant slopes may lie, how far a limit may be.
_QRS_AMPLITUDE_S = 0.065
_QRS_BEFORE_S = 0.08
_QRS_AFTER_S = 0.10
_QRS_LIMIT_S = 0.05
_QRS_FIRST_SIGNIFICANT = 0.06
_QRS_LAST_SIGNIFICANT = 0.09
_QRS_ON_RISING, _QRS_ON_FALLING = 0.05, 0.07
_QRS_END_RISING, _QRS_END_FALLING = 0.125, 0.71

# T: RR-aware window; the first 100 ms after R hold the QRS's own tail at scale 2^4.
_T_SEARCH_FROM_S = 0.10
_T_MAX_AFTER_R_S = 0.5
_T_RR_FRACTION = 0.6
_T_LIMIT_S = 0.10
_T_ON, _T_END = 0.25, 0.40
_T_MIN_SLOPE = 0.02  # of the QRS's largest slope at the wave scale; below it the T wave is flat

# P: RR-aware window and the tests that tell a P wave from a flat line or f-waves.
_P_MAX_BEFORE_R_S = 0.5
_P_RR_FRACTION = 0.6
_P_LIMIT_S = 0.04
_P_ON, _P_END = 0.5, 0.9
_P_PAIR_MAX_S = 0.12
_P_BALANCE = 0.25
_P_MIN_SLOPE = 0.02
_P_BACKGROUND_MARGIN_S = 0.03

# Fallback P region when no P wave is found (RR_prev scales it, as the PR interval shortens with rate).
_FALLBACK_P_CENTRE_S = 0.16
_FALLBACK_P_WIDTH_S = 0.12
_FALLBACK_REFERENCE_RR_S = 0.8
_FALLBACK_RR_SCALE = (0.6, 1.2)

# Beats delineated together: bounds memory (the gathered rows) on 24 h records.
_BLOCK_BEATS = 4096
_SEGMENT_MARGIN_S = 1.0


@dataclass(frozen=True, eq=False)
class Delineation:
    """Fiducial points per beat, as int64 sample indices into the conditioned signal.

    Regions are inclusive: the P wave spans ``p_on`` ... ``p_off``, the QRS
    ``qrs_on`` ... ``qrs_off``, the T wave ``t_on`` ... ``t_off``. Where
    ``p_found`` is False the P region is the RR-scaled fallback window (its
    peak is the window's centre); where ``t_found`` is False the T region is
    the whole T search window. The arrays are read-only.
    """

    p_on: np.ndarray
    p_peak: np.ndarray
    p_off: np.ndarray
    qrs_on: np.ndarray
    qrs_off: np.ndarray
    t_on: np.ndarray
    t_peak: np.ndarray
    t_off: np.ndarray
    p_found: np.ndarray
    t_found: np.ndarray

    def __post_init__(self) -> None:
        for field in fields(self):
            dtype = bool if field.name.endswith("_found") else np.int64
            array = np.array(getattr(self, field.name), dtype=dtype)
            array.flags.writeable = False
            object.__setattr__(self, field.name, array)

    def __len__(self) -> int:
        return len(self.qrs_on)


def delineate(conditioned: np.ndarray, r_peaks: np.ndarray, fs: float = MODEL_FS) -> Delineation:
    """P, QRS and T fiducial points of every beat of one conditioned lead (see the module docstring).

    ``r_peaks`` are sorted sample indices into ``conditioned``. Every beat gets
    every point: ``p_on <= p_peak <= p_off < qrs_on <= r <= qrs_off < t_on <=
    t_peak <= t_off`` wherever the signal leaves room for it.
    """
    x = np.asarray(conditioned, dtype=np.float64)
    r_peaks = np.asarray(r_peaks, dtype=np.int64)
    if x.ndim != 1 or r_peaks.ndim != 1:
        raise ValueError("delineate expects one lead and a 1-D array of R peaks")
    if len(r_peaks) and (np.any(np.diff(r_peaks) < 0) or r_peaks[0] < 0 or r_peaks[-1] >= len(x)):
        raise ValueError("R peaks must be sorted sample indices inside the signal")
    names = [field.name for field in fields(Delineation)]
    out = {name: np.zeros(len(r_peaks), dtype=bool if name.endswith("_found") else np.int64) for name in names}
    if not len(r_peaks):
        return Delineation(**out)

    rr = np.diff(r_peaks) / fs
    typical_rr = float(np.median(rr)) if len(rr) else _FALLBACK_REFERENCE_RR_S
    rr_prev = np.concatenate([[typical_rr], rr])
    rr_next = np.concatenate([rr, [typical_rr]])
    kernels = (_wavelet_kernel(_scale_exponent(_QRS_SCALE, fs)), _wavelet_kernel(_scale_exponent(_WAVE_SCALE, fs)))
    margin = round(_SEGMENT_MARGIN_S * fs)
    for start in range(0, len(r_peaks), _BLOCK_BEATS):
        block = slice(start, min(start + _BLOCK_BEATS, len(r_peaks)))
        r = r_peaks[block]
        lo, hi = max(0, r[0] - margin), min(len(x), r[-1] + margin + 1)
        w_qrs, w_wave = (_apply_kernel(x[lo:hi], kernel) for kernel in kernels)
        prev_t_off = out["t_off"][start - 1] - lo if start else -1
        points = _delineate_block(w_qrs, w_wave, r - lo, rr_prev[block], rr_next[block], prev_t_off, fs)
        for name, values in points.items():
            out[name][block] = values + lo if values.dtype == np.int64 else values
    return Delineation(**out)


def region_intervals(delineation: Delineation, beat_index: np.ndarray, r_peaks: np.ndarray) -> np.ndarray:
    """int64 (n, 4, 2) half-open ``[start, stop)`` intervals of ``REGIONS`` in beat-window samples.

    Row j is the window of beat ``i = beat_index[j]`` as ``beat_windows`` cuts it
    (starting at ``r_peaks[i] - WINDOW_BEFORE``): beat i's P, QRS and T regions
    and beat i-1's T wave (empty for the first beat), clipped to the window.
    Intervals are the compact form datasets store; ``masks_from_intervals``
    expands them for the WEM. ``r_peaks`` are the peaks ``delineation`` came from.
    """
    r_peaks = np.asarray(r_peaks, dtype=np.int64)
    beat_index = np.asarray(beat_index, dtype=np.int64)
    if len(r_peaks) != len(delineation):
        raise ValueError(f"{len(r_peaks)} R peaks for a delineation of {len(delineation)} beats")
    previous = np.maximum(beat_index - 1, 0)
    onsets = np.stack(
        [delineation.p_on[beat_index], delineation.qrs_on[beat_index], delineation.t_on[beat_index],
         delineation.t_on[previous]], axis=1)
    ends = np.stack(
        [delineation.p_off[beat_index], delineation.qrs_off[beat_index], delineation.t_off[beat_index],
         np.where(beat_index > 0, delineation.t_off[previous], onsets[:, 3] - 1)], axis=1)
    window_start = (r_peaks[beat_index] - WINDOW_BEFORE)[:, None]
    intervals = np.stack([onsets - window_start, ends + 1 - window_start], axis=2)
    return np.clip(intervals, 0, WINDOW_LENGTH)


def masks_from_intervals(intervals: np.ndarray, length: int = WINDOW_LENGTH) -> np.ndarray:
    """(n, k, 2) half-open intervals -> float32 (n, k, length) masks."""
    positions = np.arange(length)
    inside = (positions >= intervals[..., :1]) & (positions < intervals[..., 1:])
    return inside.astype(np.float32)


def _scale_exponent(exponent_at_250: int, fs: float) -> int:
    """The dyadic scale that spans the same time at ``fs`` as 2^exponent does at 250 Hz."""
    exponent = exponent_at_250 + round(math.log2(fs / _REFERENCE_FS))
    if exponent < 1:
        raise ValueError(f"sampling rate {fs} Hz is too low to delineate")
    return exponent


def _wavelet_kernel(exponent: int) -> tuple[np.ndarray, int]:
    """Taps and first offset of the scale-2^exponent quadratic-spline wavelet filter, delay removed.

    The result ``(taps, first)`` means W(n) = sum_j taps[j] · x(n + first + j).
    Each H or G factor is a tap set at offsets (H: -1..2, G: 0..1, times the
    dilation); the product's delay, (2^exponent - 1) / 2 samples, is taken off
    to the nearest half sample so W(n) is the slope between n and n + 1.
    """
    first = 0
    taps = np.zeros(2 ** (exponent - 1) + 1)
    taps[0], taps[-1] = -2.0, 2.0  # G dilated by 2^(exponent-1): W is a (smoothed) forward difference
    for level in range(exponent - 1):
        dilation = 2**level
        smoothing = np.zeros(3 * dilation + 1)
        smoothing[::dilation] = np.array([1.0, 3.0, 3.0, 1.0]) / 8
        taps = np.convolve(taps, smoothing)
        first -= dilation
    return taps, first - (2 ** (exponent - 1) - 1)


def _apply_kernel(x: np.ndarray, kernel: tuple[np.ndarray, int]) -> np.ndarray:
    """W(n) = sum_j taps[j] · x(n + first + j), zero outside ``x``."""
    taps, first = kernel
    full = sps.convolve(x, taps[::-1], mode="full")
    begin = first + len(taps) - 1
    return full[begin : begin + len(x)]


def _gather(w: np.ndarray, first: np.ndarray, length: int) -> np.ndarray:
    """Rows ``w[first_i : first_i + length]``, indices clamped to ``w`` (callers mask what lies outside)."""
    index = np.clip(first[:, None] + np.arange(length), 0, len(w) - 1)
    return w[index]


def _span(n_columns: int, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Boolean rows, True on columns lo_i ... hi_i (inclusive; empty when hi_i < lo_i)."""
    columns = np.arange(n_columns)
    return (columns >= lo[:, None]) & (columns <= hi[:, None])


def _first_true(mask: np.ndarray) -> np.ndarray:
    """Column of each row's first True, -1 where none."""
    return np.where(mask.any(axis=1), mask.argmax(axis=1), -1)


def _last_true(mask: np.ndarray) -> np.ndarray:
    """Column of each row's last True, -1 where none."""
    return np.where(mask.any(axis=1), mask.shape[1] - 1 - mask[:, ::-1].argmax(axis=1), -1)


def _strongest(magnitude: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Column of each row's largest ``magnitude`` among ``mask``, -1 where the mask is empty."""
    return np.where(mask.any(axis=1), np.where(mask, magnitude, -np.inf).argmax(axis=1), -1)


def _modulus_maxima(w: np.ndarray) -> np.ndarray:
    """Local maxima of |W| (a positive peak or a negative trough of W); never the edge columns."""
    inner, left, right = w[:, 1:-1], w[:, :-2], w[:, 2:]
    peak = (inner > 0) & (inner >= left) & (inner > right)
    trough = (inner < 0) & (inner <= left) & (inner < right)
    return np.pad(peak | trough, ((0, 0), (1, 1)))


def _modulus_minima(magnitude: np.ndarray) -> np.ndarray:
    """Local minima of |W|; never the edge columns."""
    inner = magnitude[:, 1:-1]
    minimum = (inner <= magnitude[:, :-2]) & (inner <= magnitude[:, 2:])
    return np.pad(minimum, ((0, 0), (1, 1)))


def _wave_limit(
    magnitude: np.ndarray, minima: np.ndarray, start: np.ndarray, threshold: np.ndarray, bound: np.ndarray,
    onset: bool,
) -> np.ndarray:
    """Martínez's limit rule, per row, in columns.

    Walking away from the outer modulus maximum at ``start`` (backwards for an
    onset), the first sample where |W| drops below ``threshold`` or reaches a
    local minimum; ``bound`` (the farthest allowed column) when there is none.
    """
    hit = (magnitude < threshold[:, None]) | minima
    if onset:
        bound = np.minimum(bound, start)
        found = _last_true(hit & _span(magnitude.shape[1], bound, start - 1))
    else:
        bound = np.maximum(bound, start)
        found = _first_true(hit & _span(magnitude.shape[1], start + 1, bound))
    return np.where(found >= 0, found, bound)


def _delineate_block(
    w_qrs: np.ndarray, w_wave: np.ndarray, r: np.ndarray, rr_prev: np.ndarray, rr_next: np.ndarray,
    prev_t_off: int, fs: float,
) -> dict[str, np.ndarray]:
    """All points of one block of beats; positions are indices into the block's segment."""
    rows = np.arange(len(r))
    last_sample = len(w_wave) - 1

    # QRS at the fine scale, in a gathered row around each R (R at column `centre`).
    before, after, limit = (round(s * fs) for s in (_QRS_BEFORE_S, _QRS_AFTER_S, _QRS_LIMIT_S))
    centre = before + limit + 1
    origin = r - centre
    w = _gather(w_qrs, origin, centre + after + limit + 2)
    magnitude = np.abs(w)
    maxima, minima = _modulus_maxima(w), _modulus_minima(magnitude)
    reach = round(_QRS_AMPLITUDE_S * fs)
    qrs_slope = magnitude[:, centre - reach : centre + reach + 1].max(axis=1)
    # The outermost significant slopes near R are the QRS's first and last (Martínez's n_first, n_last).
    first = _first_true((maxima & (magnitude > _QRS_FIRST_SIGNIFICANT * qrs_slope[:, None]))[:, centre - before :])
    last = _last_true((maxima & (magnitude > _QRS_LAST_SIGNIFICANT * qrs_slope[:, None]))[:, : centre + after + 1])
    first = np.where((first >= 0) & (first <= before), first + centre - before, centre)
    last = np.where(last >= centre, last, centre)
    w_first, w_last = w[rows, first], w[rows, last]
    on_threshold = np.where(w_first > 0, _QRS_ON_RISING, _QRS_ON_FALLING) * np.abs(w_first)
    end_threshold = np.where(w_last > 0, _QRS_END_RISING, _QRS_END_FALLING) * np.abs(w_last)
    qrs_on = origin + _wave_limit(magnitude, minima, first, on_threshold, first - limit, onset=True)
    qrs_off = origin + _wave_limit(magnitude, minima, last, end_threshold, last + limit, onset=False)
    qrs_on, qrs_off = np.clip(qrs_on, 0, r), np.clip(qrs_off, r, last_sample)

    # P and T at the coarse scale, in one gathered row per beat reaching the longest window either side.
    reach_wave = round(max(_P_MAX_BEFORE_R_S, _T_MAX_AFTER_R_S) * fs) + 1
    origin = r - reach_wave
    w = _gather(w_wave, origin, 2 * reach_wave + 1)
    magnitude = np.abs(w)
    maxima, minima = _modulus_maxima(w), _modulus_minima(magnitude)
    reach = round(_QRS_AMPLITUDE_S * fs)
    wave_scale_qrs_slope = magnitude[:, reach_wave - reach : reach_wave + reach + 1].max(axis=1)

    t_reach = np.minimum(np.round(_T_RR_FRACTION * rr_next * fs), round(_T_MAX_AFTER_R_S * fs)).astype(np.int64)
    t_window_end = np.minimum(r + t_reach, last_sample)
    t = _wave_in_window(
        w, magnitude, maxima, minima, origin,
        search_from=np.maximum(qrs_off + 1, r + round(_T_SEARCH_FROM_S * fs)), limit_lo=qrs_off + 1,
        window_end=t_window_end, thresholds=(_T_ON, _T_END), limit=round(_T_LIMIT_S * fs), pair_max=None,
        background_margin=0,
    )
    t_found = (t["second"] >= 0) & (t["slope"] >= _T_MIN_SLOPE * wave_scale_qrs_slope)
    t_on = np.minimum(np.where(t_found, t["on"], qrs_off + 1), last_sample)  # a beat at the very end has no T
    t_off = np.minimum(np.where(t_found, t["off"], np.maximum(t_window_end, qrs_off + 1)), last_sample)
    t_peak = np.where(t_found, t["peak"], (t_on + t_off) // 2)

    previous_t_off = np.concatenate([[prev_t_off], t_off[:-1]])
    p_window_start = np.maximum.reduce([
        previous_t_off + 1, r - np.round(_P_RR_FRACTION * rr_prev * fs).astype(np.int64),
        r - round(_P_MAX_BEFORE_R_S * fs), np.zeros_like(r)])
    p = _wave_in_window(
        w, magnitude, maxima, minima, origin, search_from=p_window_start, limit_lo=p_window_start,
        window_end=qrs_on - 1, thresholds=(_P_ON, _P_END), limit=round(_P_LIMIT_S * fs),
        pair_max=round(_P_PAIR_MAX_S * fs), background_margin=round(_P_BACKGROUND_MARGIN_S * fs),
    )
    p_found = (
        (p["second"] >= 0)
        & (p["weaker"] >= _P_BALANCE * p["slope"])
        & (p["slope"] >= _P_MIN_SLOPE * wave_scale_qrs_slope)
        & (p["weaker"] >= p["background"])
    )
    scale = np.clip(rr_prev / _FALLBACK_REFERENCE_RR_S, *_FALLBACK_RR_SCALE)
    half_width = round(_FALLBACK_P_WIDTH_S * fs / 2)
    centre = r - np.round(_FALLBACK_P_CENTRE_S * fs * scale).astype(np.int64)
    centre -= np.maximum(centre + half_width - (qrs_on - 1), 0)  # keep it clear of the QRS
    p_on = np.where(p_found, p["on"], np.maximum(centre - half_width, 0))
    p_peak = np.where(p_found, p["peak"], np.maximum(centre, 0))
    p_off = np.where(p_found, p["off"], np.maximum(centre + half_width, 0))
    return {
        "p_on": p_on, "p_peak": p_peak, "p_off": p_off, "qrs_on": qrs_on, "qrs_off": qrs_off,
        "t_on": t_on, "t_peak": t_peak, "t_off": t_off, "p_found": p_found, "t_found": t_found,
    }


def _wave_in_window(
    w: np.ndarray, magnitude: np.ndarray, maxima: np.ndarray, minima: np.ndarray, origin: np.ndarray, *,
    search_from: np.ndarray, limit_lo: np.ndarray, window_end: np.ndarray, thresholds: tuple[float, float],
    limit: int, pair_max: int | None, background_margin: int,
) -> dict[str, np.ndarray]:
    """The P or T wave of each row: its two slopes, peak, limits, and how much it stands out.

    The steepest modulus maximum between ``search_from`` and ``window_end``
    (positions) and the strongest one of opposite sign (within ``pair_max``
    columns of it, if given) are the wave's slopes; ``second`` is -1 where
    there is no such partner. The peak is the zero crossing between them; the
    onset (not before ``limit_lo``) and end (not after ``window_end``) follow
    Martínez's rule with ``thresholds`` of the outer slopes, at most ``limit``
    columns out. ``background`` is the largest other modulus maximum in the
    window, more than ``background_margin`` columns outside the wave.
    """
    n_columns = w.shape[1]
    rows = np.arange(len(w))
    lo, hi = search_from - origin, window_end - origin
    candidates = maxima & _span(n_columns, lo, hi)
    primary = _strongest(magnitude, candidates)
    has_primary = primary >= 0
    primary = np.where(has_primary, primary, np.maximum(lo, 0))
    sign = np.sign(w[rows, primary])
    opposite = candidates & (np.sign(w) == -sign[:, None]) & has_primary[:, None]
    if pair_max is not None:
        opposite &= _span(n_columns, primary - pair_max, primary + pair_max)
    second = _strongest(magnitude, opposite)
    partner = np.where(second >= 0, second, primary)
    first, last = np.minimum(primary, partner), np.maximum(primary, partner)
    peak = _strongest(-magnitude, _span(n_columns, first, last))  # the zero crossing between the slopes
    on_threshold = thresholds[0] * magnitude[rows, first]
    end_threshold = thresholds[1] * magnitude[rows, last]
    onset = _wave_limit(magnitude, minima, first, on_threshold, np.maximum(first - limit, limit_lo - origin), True)
    end = _wave_limit(magnitude, minima, last, end_threshold, np.minimum(last + limit, hi), False)
    away_from_wave = ~_span(n_columns, onset - background_margin, end + background_margin)
    background = _strongest(magnitude, candidates & away_from_wave)
    return {
        "on": origin + onset, "peak": origin + peak, "off": origin + end, "second": second,
        "slope": magnitude[rows, primary] * has_primary, "weaker": magnitude[rows, partner] * (second >= 0),
        "background": np.where(background >= 0, magnitude[rows, background], 0.0),
    }
