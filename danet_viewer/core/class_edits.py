"""A reviewer's changes to a record's beat classes: one class split in two (by coupling interval or by shape), two
classes merged into one.

The classes are computed (``danet_viewer.core.beat_classes``); a reviewer who sees two kinds of beat in one
class, or one kind in two, corrects them here. Each change is written through the store (``set_beat_classes``:
one journal line, one audit entry, as a class label), so it persists, and ``update_beat_classes`` keeps it
while the detection stays the same: added beats join, deleted ones leave. A split adds its new class at the
end (the other ids stay); a merge removes the merged-away class and renumbers those after it.

What a split or merge cannot know is where its classes lie in the clustering's feature space, which only
``compute_beat_classes`` computes: both halves of a split keep their parent's centroid (a beat added later
joins the first of them), a merged class takes its two parts' centroid weighted by their sizes, and every
beat keeps its distance from the centroid it was grouped by. Templates, RR quartiles and class p(APC) are
recomputed for the classes that changed.

A split or merge is worked out (``plan_split``, ``plan_split_at``, ``plan_merge``) from a ``ClassSource``: the
record's classes and model scores as the store held them, taken in one go, so the work (a second or two on a
24 h Holter: templates are read from the signal) can run off the thread that owns the store, which is not
thread-safe. The ``ClassEdit`` it returns holds the classes before and after; ``put_classes`` stores either
side (the edit, its undo, its redo), refusing where the record's classes are no longer those the other side
holds (beats added or deleted meanwhile). ``split_class``, ``split_class_at`` and ``merge_classes`` do both at once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from danet_viewer.core.beat_classes import PREMATURE_COUPLING, RR_QUARTILES, TEMPLATE_BEATS, two_modes
from danet_viewer.core.beats import RR_FEATURES, rr_features
from danet_viewer.core.features import PREPARE_CHUNK_S, lead_windows
from danet_viewer.core.recording import Recording
from danet_viewer.core.store import AnnotationStore, BeatClassTable, ModelOutput
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


@dataclass(frozen=True)
class ClassSource:
    """What a split or merge is worked out from, taken from the store at once (``class_source``). The store
    replaces a record's classes and model output whole, never in place, so these stay as they were taken."""

    store_path: Path  # for messages
    recording: Recording
    lead: int  # the analysis lead
    classes: BeatClassTable
    model: ModelOutput | None

    @property
    def record(self) -> str:
        return self.recording.name


@dataclass(frozen=True)
class ClassEdit:
    """A split or merge worked out: the record's classes before and after it, the class it made (a split's new
    class, the merged class), and what the audit log calls it."""

    record: str
    before: BeatClassTable
    after: BeatClassTable
    class_id: int
    action: str


# Progress of a split or merge, 0 to 1 (a worker's report, which may raise to cancel it).
Progress = Callable[[float], None]


def class_source(store: AnnotationStore, recording: Recording) -> ClassSource:
    """The record's classes and model scores as the store holds them now; DanetError where it has no classes."""
    record = store.record(recording.name)
    if record.classes is None:
        raise DanetError(f"{store.path}: record {recording.name} has no beat classes yet; analyse it first")
    lead = recording.lead_index(record.analysis_lead) if record.analysis_lead else recording.preferred_lead()
    return ClassSource(store.path, recording, lead, record.classes, record.model)


def put_classes(store: AnnotationStore, record: str, expected: BeatClassTable, classes: BeatClassTable, *, who: str,
                action: str) -> None:
    """Store ``classes`` in place of ``expected`` (a ``ClassEdit``'s one side for its other: the edit, its undo, its
    redo) as one journalled store edit with one audit entry: a kill keeps the old classes or the new, never half.

    DanetError where the record's classes no longer hold the beats ``expected`` holds (beats were added or deleted
    and not put back): storing ``classes`` would lose that change. The same beats in other classes are no
    obstacle: a beat deleted and put back by undo rejoins whichever half of a split is nearer, and undoing the
    split puts it back where it was.
    """
    stored = store.record(record).classes
    if stored is not expected and (stored is None or not np.array_equal(stored.sample, expected.sample)):
        raise DanetError(f"{store.path}: the beats of {record}'s classes changed since (beats added or deleted); "
                         "its classes were not changed")
    store.set_beat_classes(record, classes, who=who, action=action)


def check_unchanged(store: AnnotationStore, edit: ClassEdit) -> None:
    """DanetError where the record's classes are no longer those ``edit`` was worked out from (worked out off the
    GUI thread, another edit or undo may have come first): it would undo that silently."""
    if store.record(edit.record).classes is not edit.before:
        raise DanetError(f"{store.path}: the classes of {edit.record} changed while this was worked out (an undo, "
                         "beats added or deleted); nothing was changed: do it again")


def _check_class(source: ClassSource, class_id: int) -> None:
    classes = source.classes
    if not 0 <= class_id < classes.n_classes:
        raise DanetError(f"{source.store_path}: record {source.record} has no class {class_id} "
                         f"(it has {classes.n_classes})")


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


def _class_summaries(source: ClassSource, classes: BeatClassTable, changed: list[int], rr: np.ndarray,
                     progress: Progress, done: float) -> BeatClassTable:
    """``classes`` with the templates, RR quartiles and p(APC) of the ``changed`` classes computed from their beats
    (``rr``: ``rr_features`` of ``classes.sample``); ``progress`` runs from ``done`` to 1 over the reading."""
    recording, lead = source.recording, source.lead
    other = next((i for i in range(len(recording.lead_names)) if i != lead), lead)
    per_beat = np.column_stack([rr[:, _PRE], rr[:, _POST], rr[:, _PRE] / np.maximum(rr[:, _SINUS], 1e-3)])
    templates, quartiles, p_apc = classes.templates.copy(), classes.rr_quartiles.copy(), classes.p_apc.copy()
    model_p = _p_apc_of(source.model, classes.sample)
    for step, class_id in enumerate(changed):
        members = np.flatnonzero(classes.class_id == class_id)
        shown = _template_beats(classes.sample[members], recording.fs)
        first = lead_windows(recording, lead, shown)
        second = first if other == lead else lead_windows(recording, other, shown)
        templates[class_id] = np.stack([np.median(first, axis=0), np.median(second, axis=0)])
        for row in range(len(RR_QUARTILES)):
            quartiles[class_id, row] = np.percentile(per_beat[members, row], [25, 50, 75])
        scored = model_p[members][np.isfinite(model_p[members])]
        p_apc[class_id] = scored.mean() if len(scored) else np.nan
        progress(done + (1 - done) * (step + 1) / len(changed))
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


def _p_apc_of(model: ModelOutput | None, samples: np.ndarray) -> np.ndarray:
    """The model's p(APC) of each beat at ``samples``, NaN where it scored none (an added beat), as the beat table's."""
    if model is None or not len(model.sample):
        return np.full(len(samples), np.nan, np.float32)
    rows = np.minimum(np.searchsorted(model.sample, samples), len(model.sample) - 1)
    return np.where(model.sample[rows] == samples, model.p_apc[rows], np.float32(np.nan))


def _replace_arrays(classes: BeatClassTable, **arrays: np.ndarray) -> BeatClassTable:
    return replace(classes, **{key: np.asarray(value, getattr(classes, key).dtype) for key, value in arrays.items()})


def _no_progress(_done: float) -> None:
    return None


def plan_split(source: ClassSource, class_id: int, by: str, progress: Progress = _no_progress) -> ClassEdit:
    """Split class ``class_id`` in two, ``by`` "coupling" (the interval before each beat over the underlying cycle
    and over the local median) or "shape" (the beat on the analysis lead); the edit's class is the new one.

    The larger half keeps the id. DanetError where the class has fewer than two beats or its beats do not differ.
    """
    if by not in SPLIT_BY:
        raise ValueError(f"split by {by!r}: choose from {SPLIT_BY}")
    members = _members(source, class_id)
    classes, recording = source.classes, source.recording
    progress(0.0)
    rr = rr_features(classes.sample, recording.fs)
    progress(0.2)
    if by == "coupling":
        # Against both references: a run of pauses lifts the underlying cycle, frequent early beats pull the median.
        values = np.log(np.maximum(_coupling(rr[members]), 1e-3))
    else:
        values = _shape_features(_shape_windows(recording, source.lead, classes.sample[members]))
    if np.ptp(values, axis=0).max(initial=0.0) <= 1e-9:
        raise DanetError(f"class {class_id} of {source.record} cannot be split by {by}: its {len(members)} beats do "
                         "not differ")
    second = _two_groups(values.astype(np.float64))
    if second.all() or not second.any():
        raise DanetError(f"class {class_id} of {source.record} cannot be split by {by}: its beats fall in one group")
    if second.sum() > len(second) / 2:
        second = ~second  # the larger half keeps the class's id
    progress(0.5)
    return _split(source, class_id, members[second], rr, f"by {by}", progress)


def plan_split_at(source: ClassSource, class_id: int, threshold: float, progress: Progress = _no_progress
                  ) -> ClassEdit:
    """Split off the beats of class ``class_id`` whose coupling (the interval before them over the local median
    interval) is below ``threshold`` into a new class, the edit's class (the rest keep ``class_id``).

    What a reviewer does with a class's prematurity histogram, at ``proposed_coupling_split``'s threshold or their
    own. DanetError where the threshold leaves either side empty.
    """
    members = _members(source, class_id)
    progress(0.0)
    rr = rr_features(source.classes.sample, source.recording.fs)
    early = _coupling(rr[members])[:, 1] < threshold
    if early.all() or not early.any():
        raise DanetError(f"class {class_id} of {source.record} cannot be split at a coupling of "
                         f"{100 * threshold:.0f} %: {'all' if early.any() else 'none'} of its {len(members)} beats "
                         "come earlier")
    progress(0.3)
    return _split(source, class_id, members[early], rr, f"at coupling {100 * threshold:.0f} %", progress)


def split_class(store: AnnotationStore, recording: Recording, class_id: int, by: str, *, who: str) -> int:
    """``plan_split`` stored at once; returns the new class's id."""
    return _stored(store, plan_split(class_source(store, recording), class_id, by), who)


def split_class_at(store: AnnotationStore, recording: Recording, class_id: int, threshold: float, *, who: str) -> int:
    """``plan_split_at`` stored at once; returns the new class's id."""
    return _stored(store, plan_split_at(class_source(store, recording), class_id, threshold), who)


def merge_classes(store: AnnotationStore, recording: Recording, keep: int, merged: int, *, who: str) -> int:
    """``plan_merge`` stored at once; returns the merged class's id."""
    return _stored(store, plan_merge(class_source(store, recording), keep, merged), who)


def _stored(store: AnnotationStore, edit: ClassEdit, who: str) -> int:
    check_unchanged(store, edit)
    put_classes(store, edit.record, edit.before, edit.after, who=who, action=edit.action)
    return edit.class_id


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


def _members(source: ClassSource, class_id: int) -> np.ndarray:
    _check_class(source, class_id)
    members = np.flatnonzero(source.classes.class_id == class_id)
    if len(members) < 2:
        raise DanetError(f"class {class_id} of {source.record} cannot be split: it has {len(members)} beat(s)")
    return members


def _split(source: ClassSource, class_id: int, moved: np.ndarray, rr: np.ndarray, how: str, progress: Progress
           ) -> ClassEdit:
    """Move the beats at rows ``moved`` of the classes out of ``class_id`` into a new class at the end."""
    classes = source.classes
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
    done = 0.6
    progress(done)
    grown = _class_summaries(source, grown, [class_id, new_id], rr, progress, done)
    members = int(np.count_nonzero(classes.class_id == class_id))
    action = f"split class {class_id} {how}: {len(moved)} of {members} beats to class {new_id}"
    return ClassEdit(source.record, classes, grown, new_id, action)


def plan_merge(source: ClassSource, keep: int, merged: int, progress: Progress = _no_progress) -> ClassEdit:
    """Merge class ``merged`` into class ``keep``; the edit's class is the merged class's id afterwards (classes
    after ``merged`` move down by one)."""
    classes = source.classes
    for class_id in (keep, merged):
        _check_class(source, class_id)
    if keep == merged:
        raise DanetError(f"class {keep} of {source.record} cannot be merged with itself")
    progress(0.0)
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
    rr = rr_features(classes.sample, source.recording.fs)
    done = 0.3
    progress(done)
    shrunk = _class_summaries(source, shrunk, [keep_after], rr, progress, done)
    return ClassEdit(source.record, classes, shrunk, keep_after, f"merge class {merged} into class {keep}")
