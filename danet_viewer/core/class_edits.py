"""A reviewer's changes to a record's beat classes: one class split in two (by coupling interval or by shape), two
classes merged into one.

The classes are computed (``danet_viewer.core.beat_classes``); a reviewer who sees two kinds of beat in one
class, or one kind in two, corrects them here. Each change is written through the store (``set_beat_classes``:
compacted at once, one audit entry), so it persists, and ``update_beat_classes`` keeps it while the detection
stays the same: added beats join, deleted ones leave. A split adds its new class at the end (the other ids
stay); a merge removes the merged-away class and renumbers those after it.

What a split or merge cannot know is where its classes lie in the clustering's feature space, which only
``compute_beat_classes`` computes: both halves of a split keep their parent's centroid (a beat added later
joins the first of them), a merged class takes its two parts' centroid weighted by their sizes, and every
beat keeps its distance from the centroid it was grouped by. Templates, RR quartiles and class p(APC) are
recomputed for the classes that changed.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from threadpoolctl import threadpool_limits

from danet_viewer.core.beat_classes import PREMATURE_COUPLING, RR_QUARTILES, TEMPLATE_BEATS, two_modes
from danet_viewer.core.beats import RR_FEATURES, rr_features
from danet_viewer.core.features import PREPARE_CHUNK_S, lead_windows
from danet_viewer.core.recording import Recording
from danet_viewer.core.store import AnnotationStore, BeatClassTable, BeatTable
from danet_viewer.errors import DanetError

SPLIT_BY = ("coupling", "shape")
# What a shape split compares: the beat from before its P wave to after its T wave, at about 100 Hz.
SHAPE_BEFORE_S = 0.25
SHAPE_AFTER_S = 0.45
SHAPE_STEP_S = 0.01
SHAPE_COMPONENTS = 8
# A split is fitted on at most this many of the class's beats, spread over the record; every beat then takes a side.
SPLIT_FIT_BEATS = 5000
# Beats read from the signal at a time for a shape split (about 10 MB of float32 windows).
SHAPE_READ_BEATS = 20_000
# A changed class's template is the median of its beats in at most this many of the signal's ten-minute stretches.
TEMPLATE_STRETCHES = 4
_PRE, _POST, _LOCAL, _SINUS = (RR_FEATURES.index(name) for name in ("pre_rr_s", "post_rr_s", "local_rr_s",
                                                                     "sinus_rr_s"))


def _analysis_lead(store: AnnotationStore, recording: Recording) -> int:
    lead = store.record(recording.name).analysis_lead
    return recording.lead_index(lead) if lead else recording.preferred_lead()


def _classes(store: AnnotationStore, record: str) -> BeatClassTable:
    classes = store.record(record).classes
    if classes is None:
        raise DanetError(f"{store.path}: record {record} has no beat classes yet; analyse it first")
    return classes


def _check_class(store: AnnotationStore, record: str, classes: BeatClassTable, class_id: int) -> None:
    if not 0 <= class_id < classes.n_classes:
        raise DanetError(f"{store.path}: record {record} has no class {class_id} (it has {classes.n_classes})")


def _spread(n: int, at_most: int) -> np.ndarray:
    return np.arange(n) if n <= at_most else np.linspace(0, n - 1, at_most).round().astype(np.int64)


def coupling_ratios(samples: np.ndarray, fs: float) -> np.ndarray:
    """float64 (n, 2) of beats ``samples`` (a record's beats, sorted): the interval before each beat over the
    patient's underlying cycle (``sinus_rr_s`` of ``rr_features``: 0.7 is a beat 30 % early), and over the local
    median interval (``local_rr_s``)."""
    return _coupling(rr_features(samples, fs))


def _coupling(rr: np.ndarray) -> np.ndarray:
    rr = rr.astype(np.float64)
    return rr[:, [_PRE]] / np.maximum(rr[:, [_SINUS, _LOCAL]], 1e-3)


def _shape_windows(recording: Recording, lead: int, samples: np.ndarray) -> np.ndarray:
    """(n, points) of each beat's shape on ``lead``, less its median, at ``SHAPE_STEP_S`` from R."""
    fs = recording.fs
    offsets = np.round(np.arange(-SHAPE_BEFORE_S, SHAPE_AFTER_S + 1e-9, SHAPE_STEP_S) * fs).astype(np.int64)
    windows = np.zeros((len(samples), len(offsets)), np.float32)
    for first in range(0, len(samples), SHAPE_READ_BEATS):
        chunk = samples[first : first + SHAPE_READ_BEATS]
        start = max(0, int(chunk[0] + offsets[0]))
        stop = min(recording.n_samples, int(chunk[-1] + offsets[-1]) + 1)
        signal = np.nan_to_num(recording.read(lead, start, stop).astype(np.float32))
        at = np.clip(chunk[:, None] + offsets[None, :] - start, 0, len(signal) - 1)
        windows[first : first + len(chunk)] = signal[at]
    return windows - np.median(windows, axis=1, keepdims=True)


def _two_groups(values: np.ndarray) -> np.ndarray:
    """bool: which of the rows of ``values`` fall in the second of two groups (k-means, fitted on a spread subset)."""
    from sklearn.cluster import KMeans  # here: scikit-learn costs half a second to import

    fit = _spread(len(values), SPLIT_FIT_BEATS)
    with threadpool_limits(limits=1):  # as the clustering: BLAS threads fighting other work are slower
        means = KMeans(2, n_init=4, random_state=0).fit(values[fit])
        return means.predict(values) == 1


def _shape_features(windows: np.ndarray) -> np.ndarray:
    from sklearn.decomposition import PCA

    fit = _spread(len(windows), SPLIT_FIT_BEATS)
    components = min(SHAPE_COMPONENTS, len(fit), windows.shape[1])
    with threadpool_limits(limits=1):
        return PCA(components, random_state=0).fit(windows[fit]).transform(windows)


def _class_summaries(
    store: AnnotationStore, recording: Recording, classes: BeatClassTable, changed: list[int], rr: np.ndarray
) -> BeatClassTable:
    """``classes`` with the templates, RR quartiles and p(APC) of the ``changed`` classes computed from their beats
    (``rr``: ``rr_features`` of ``classes.sample``)."""
    table = store.beat_table(recording.name)
    lead = _analysis_lead(store, recording)
    other = next((i for i in range(len(recording.lead_names)) if i != lead), lead)
    per_beat = np.column_stack([rr[:, _PRE], rr[:, _POST], rr[:, _PRE] / np.maximum(rr[:, _SINUS], 1e-3)])
    templates, quartiles, p_apc = classes.templates.copy(), classes.rr_quartiles.copy(), classes.p_apc.copy()
    model_p = _p_apc_of(table, classes.sample)
    for class_id in changed:
        members = np.flatnonzero(classes.class_id == class_id)
        shown = _template_beats(classes.sample[members], recording.fs)
        first = lead_windows(recording, lead, shown)
        second = first if other == lead else lead_windows(recording, other, shown)
        templates[class_id] = np.stack([np.median(first, axis=0), np.median(second, axis=0)])
        for row in range(len(RR_QUARTILES)):
            quartiles[class_id, row] = np.percentile(per_beat[members, row], [25, 50, 75])
        scored = model_p[members][np.isfinite(model_p[members])]
        p_apc[class_id] = scored.mean() if len(scored) else np.nan
    return _replace_arrays(classes, templates=templates, rr_quartiles=quartiles, p_apc=p_apc)


def _template_beats(samples: np.ndarray, fs: float) -> np.ndarray:
    """Up to ``TEMPLATE_BEATS`` of a class's beats ``samples`` for its template, from at most
    ``TEMPLATE_STRETCHES`` of the stretches the signal is conditioned in (those holding most of them): each
    stretch read costs the conditioning of ten minutes of signal, and a split of a 24 h class would otherwise
    read them all."""
    stretch = samples // round(PREPARE_CHUNK_S * fs)
    stretches, counts = np.unique(stretch, return_counts=True)
    kept = np.isin(stretch, stretches[np.argsort(-counts, kind="stable")[:TEMPLATE_STRETCHES]])
    chosen = samples[kept]
    return chosen[_spread(len(chosen), TEMPLATE_BEATS)]


def _p_apc_of(table: BeatTable, samples: np.ndarray) -> np.ndarray:
    rows = np.minimum(np.searchsorted(table.sample, samples), max(len(table) - 1, 0))
    p_apc = table.p_apc[rows] if len(table) else np.full(len(samples), np.nan, np.float32)
    return np.where(table.sample[rows] == samples, p_apc, np.nan) if len(table) else p_apc


def _replace_arrays(classes: BeatClassTable, **arrays: np.ndarray) -> BeatClassTable:
    return replace(classes, **{key: np.asarray(value, getattr(classes, key).dtype) for key, value in arrays.items()})


def split_class(store: AnnotationStore, recording: Recording, class_id: int, by: str, *, who: str) -> int:
    """Split class ``class_id`` of ``recording`` in two, ``by`` "coupling" (the interval before each beat over the
    underlying cycle and over the local median) or "shape" (the beat on the analysis lead); returns the new class's id.

    The larger half keeps the id. DanetError where the class has fewer than two beats or its beats do not differ.
    """
    if by not in SPLIT_BY:
        raise ValueError(f"split by {by!r}: choose from {SPLIT_BY}")
    name = recording.name
    classes, members = _members(store, name, class_id)
    rr = rr_features(classes.sample, recording.fs)
    if by == "coupling":
        # Against both references: a run of pauses lifts the underlying cycle, frequent early beats pull the median.
        values = np.log(np.maximum(_coupling(rr[members]), 1e-3))
    else:
        values = _shape_features(_shape_windows(recording, _analysis_lead(store, recording), classes.sample[members]))
    if np.ptp(values, axis=0).max(initial=0.0) <= 1e-9:
        raise DanetError(f"class {class_id} of {name} cannot be split by {by}: its {len(members)} beats do not differ")
    second = _two_groups(values.astype(np.float64))
    if second.all() or not second.any():
        raise DanetError(f"class {class_id} of {name} cannot be split by {by}: its beats fall in one group")
    if second.sum() > len(second) / 2:
        second = ~second  # the larger half keeps the class's id
    return _split(store, recording, classes, class_id, members[second], rr, f"by {by}", who)


def split_class_at(store: AnnotationStore, recording: Recording, class_id: int, threshold: float, *, who: str) -> int:
    """Split off the beats of class ``class_id`` whose coupling (the interval before them over the local median
    interval) is below ``threshold`` into a new class, whose id this returns (the rest keep ``class_id``).

    What a reviewer does with a class's prematurity histogram, at ``proposed_coupling_split``'s threshold or their
    own. DanetError where the threshold leaves either side empty.
    """
    name = recording.name
    classes, members = _members(store, name, class_id)
    rr = rr_features(classes.sample, recording.fs)
    early = _coupling(rr[members])[:, 1] < threshold
    if early.all() or not early.any():
        raise DanetError(f"class {class_id} of {name} cannot be split at a coupling of {100 * threshold:.0f} %: "
                         f"{'all' if early.any() else 'none'} of its {len(members)} beats come earlier")
    return _split(store, recording, classes, class_id, members[early], rr,
                  f"at coupling {100 * threshold:.0f} %", who)


@dataclass(frozen=True)
class CouplingSplit:
    """A split of one class that the tool proposes: its beats earlier than ``threshold`` (the interval before a beat
    over the local median interval: 0.7 is 30 % early) apart from the others, where the class's prematurity
    histogram has two modes."""

    class_id: int
    threshold: float
    early: int  # beats below the threshold
    members: int


def proposed_coupling_split(classes: BeatClassTable, class_id: int, fs: float,
                            coupling: np.ndarray | None = None) -> CouplingSplit | None:
    """The coupling split of class ``class_id`` worth a look, None where there is none.

    Proposed where the early half of the class's coupling histogram (its beats at or below the median
    coupling against the local median interval, log) falls in two groups, by the test that splits classes as
    they are computed (``beat_classes.two_modes``, along the same measure), and the earlier group is
    premature (median below ``PREMATURE_COUPLING``) however few beats it holds: the computed classes split
    off only groups of ``SPLIT_MIN_BEATS`` or more. The early half alone, as a Holter reader reads the
    histogram: the pauses after early beats make a late mode of their own, and three modes are not two.
    Against the local median, not the underlying cycle: frequent compensatory pauses lift that cycle until
    sinus beats look early against it. The threshold lies halfway between the early group's latest beat and
    the next later one. ``coupling`` is ``coupling_ratios(classes.sample, fs)`` where the caller has it.
    """
    members = np.flatnonzero(classes.class_id == class_id)
    if len(members) < 2:
        return None
    ratios = (coupling_ratios(classes.sample, fs) if coupling is None else coupling)[members, 1]
    early_half = ratios[ratios <= np.median(ratios)]
    early = two_modes(np.log(np.maximum(early_half, 1e-3)))
    if early is None or np.median(early_half[early]) >= PREMATURE_COUPLING:
        return None
    latest = early_half[early].max()
    later = ratios[ratios > latest]
    if not len(later):
        return None
    threshold = float((latest + later.min()) / 2)
    return CouplingSplit(class_id, threshold, int(np.sum(ratios < threshold)), len(members))


def _members(store: AnnotationStore, record: str, class_id: int) -> tuple[BeatClassTable, np.ndarray]:
    classes = _classes(store, record)
    _check_class(store, record, classes, class_id)
    members = np.flatnonzero(classes.class_id == class_id)
    if len(members) < 2:
        raise DanetError(f"class {class_id} of {record} cannot be split: it has {len(members)} beat(s)")
    return classes, members


def _split(store: AnnotationStore, recording: Recording, classes: BeatClassTable, class_id: int, moved: np.ndarray,
           rr: np.ndarray, how: str, who: str) -> int:
    """Move the beats at rows ``moved`` of ``classes`` out of ``class_id`` into a new class at the end; store it."""
    new_id = classes.n_classes
    class_id_column = classes.class_id.copy()
    class_id_column[moved] = new_id
    grown = _replace_arrays(
        classes.with_members(classes.sample, class_id_column, classes.distance),
        templates=np.concatenate([classes.templates, classes.templates[class_id : class_id + 1]]),
        rr_quartiles=np.concatenate([classes.rr_quartiles, classes.rr_quartiles[class_id : class_id + 1]]),
        p_apc=np.append(classes.p_apc, classes.p_apc[class_id]),
        centroids=np.concatenate([classes.centroids, classes.centroids[class_id : class_id + 1]]),
    )
    grown = _class_summaries(store, recording, grown, [class_id, new_id], rr)
    members = int(np.count_nonzero(classes.class_id == class_id))
    action = f"split class {class_id} {how}: {len(moved)} of {members} beats to class {new_id}"
    store.set_beat_classes(recording.name, grown, who=who, action=action)
    return new_id


def merge_classes(store: AnnotationStore, recording: Recording, keep: int, merged: int, *, who: str) -> int:
    """Merge class ``merged`` of ``recording`` into class ``keep``; returns the merged class's id afterwards (classes
    after ``merged`` move down by one)."""
    name = recording.name
    classes = _classes(store, name)
    for class_id in (keep, merged):
        _check_class(store, name, classes, class_id)
    if keep == merged:
        raise DanetError(f"class {keep} of {name} cannot be merged with itself")
    counts = classes.counts.astype(np.float64)
    centroid = (counts[keep] * classes.centroids[keep] + counts[merged] * classes.centroids[merged]) / max(
        counts[keep] + counts[merged], 1.0
    )
    centroids = classes.centroids.copy()
    centroids[keep] = centroid
    class_id_column = classes.class_id.copy()
    class_id_column[class_id_column == merged] = keep
    class_id_column[class_id_column > merged] -= 1
    kept = np.arange(classes.n_classes) != merged
    shrunk = _replace_arrays(
        classes.with_members(classes.sample, class_id_column, classes.distance),
        templates=classes.templates[kept],
        rr_quartiles=classes.rr_quartiles[kept],
        p_apc=classes.p_apc[kept],
        centroids=centroids[kept],
    )
    keep_after = keep - 1 if keep > merged else keep
    shrunk = _class_summaries(store, recording, shrunk, [keep_after], rr_features(classes.sample, recording.fs))
    store.set_beat_classes(name, shrunk, who=who, action=f"merge class {merged} into class {keep}")
    return keep_after
