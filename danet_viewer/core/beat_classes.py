"""Per-record beat classes: a record's beats grouped into the kinds of beat a cardiologist would call the same.

A class is a group of beats alike in QRS morphology (both leads), in the P region
before the QRS (presence, shape, and likeness to the previous beat's), in
timing: the coupling interval and the pause after, each against the local
median RR and against the patient's own underlying cycle (``sinus_rr_s`` of
``rr_features``), in the rhythm around the beat (irregularity, the share of
neighbours with a P wave, RR regularity), which keeps beats in atrial
fibrillation or flutter apart from the same beats in sinus rhythm, and in the
model's verdict (its logit of p(APC)). Each beat becomes ``CLASS_FEATURES``,
robustly scaled per record, and scikit-learn's Gaussian mixture
(``N_CLASSES`` components) groups them; a class whose coupling intervals are
bimodal (a few early beats among many on time) is then split in two. A 24 h
record is fitted on an even subsample of ``FIT_BEATS`` beats and every beat
then takes its most likely component.

Memory: the record is conditioned chunk by chunk and only the span of each
beat the features read (P region to QRS end, both leads) is kept, not whole
windows; templates are the medians of at most ``TEMPLATE_BEATS`` members per
class, cut again once the classes are known.

A class keeps its members, its median template on both leads, the quartiles of
its RR and coupling intervals and the model's class-level p(APC) (the mean over
its members). The store holds them per record (``BeatClassTable``);
``update_beat_classes`` keeps them current: a new detection recomputes them, a
reviewer's added beat joins the nearest class (its features against the class
centroids, in the record's scaled feature space), a deleted beat leaves its
class, and nothing is recomputed while the beats stay the same (nor when the
model is retrained: the classes keep the verdicts they were grouped by).
``class_review_order`` gives the classes to look at first; once they are
labelled, ``class_pages`` gives the exceptions as a Holter reader pages for
them (class by class, each class's most doubtful beats first: the model's
doubt, the distance from the class centroid and the beat's prematurity,
``beat_doubt``), ``review_order`` the same doubt over the whole record.
``two_modes`` is the coupling histogram's test for two groups, which both the
computed split and the split a reviewer is proposed
(``class_edits.proposed_coupling_split``) use.

Features and parameters were chosen on MIT-BIH DS1 and svdb
(``benchmarks/bench_review_effort.py`` reports DS2).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
from threadpoolctl import threadpool_limits

from danet_viewer.core.aami import SVEB_SYMBOLS
from danet_viewer.core.beats import rr_features
from danet_viewer.core.conditioning import (
    MODEL_FS,
    WINDOW_BEFORE,
    WINDOW_LENGTH,
    condition_signal,
)
from danet_viewer.core.features import (
    RHYTHM_FEATURES,
    lead_chunks,
    lead_windows,
    rhythm_features,
)
from danet_viewer.core.recording import Recording
from danet_viewer.core.store import AnnotationStore, BeatClassTable, BeatTable, Review, utc_now

CLASS_FEATURES = (
    "log pre/local",
    "log post/local",
    "log pre/underlying",
    "log post/underlying",
    "qrs likeness lead 1",
    "qrs likeness lead 2",
    "p region likeness lead 1",
    "p region likeness lead 2",
    "p found",
    "qrs width",
    "log irregularity/local",
    "p_wave_fraction",
    "rhythm_regularity",
    "p region likeness to previous beat",
    "model logit",
)
# The smallest difference in each feature worth telling beats apart by: 5 % in an RR ratio, a
# twentieth in QRS likeness (a correlation), a tenth in P likeness, half a P wave, 8 ms of QRS
# width, a quarter in irregularity (log), a tenth in the share of beats with a P wave and in rhythm
# regularity.
MIN_FEATURE_SCALE = np.array([0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.1, 0.1, 0.5, 2.0, 0.25, 0.1, 0.1, 0.1, 1.0])
N_CLASSES = 12
# A mixture component needs this many beats to be worth its parameters; short records get fewer classes.
BEATS_PER_CLASS = 20
# The mixture is fitted on at most this many beats, spread evenly over the record (a 24 h record has ~100 000).
FIT_BEATS = 10_000
# The record's reference beat (what "likeness" is measured against) is the median of this many beats.
REFERENCE_BEATS = 5_000
# A class splits in two along this feature where its values are bimodal (``_split_bimodal``): early beats among
# many on-time ones. Chosen on DS1 and svdb with N_CLASSES: 12 classes and this split gave SVEB F1 0.922 (DS1)
# and 0.835 (svdb) at a median of 14 classes, against 0.902 and 0.831 with 15 classes and no split.
SPLIT_FEATURE = "log pre/local"
SPLIT_SEPARATION = 1.5
SPLIT_MIN_BEATS = 5
# A template is the median of at most this many of its class's beats.
TEMPLATE_BEATS = 500
# Scaled features are clipped here, so one artefact does not claim a component of its own.
FEATURE_CLIP = 8.0
# Around the R peak at MODEL_FS: the QRS, and the P region (which holds the previous T wave in an early beat).
QRS_WINDOW = slice(WINDOW_BEFORE - round(0.10 * MODEL_FS), WINDOW_BEFORE + round(0.10 * MODEL_FS))
P_WINDOW = slice(WINDOW_BEFORE - round(0.30 * MODEL_FS), WINDOW_BEFORE - round(0.08 * MODEL_FS))
# Beats of rhythm context on either side of an added beat, enough for every RR and rhythm feature.
JOIN_CONTEXT_BEATS = 100
# With more added and deleted beats than this share of the classified ones (an import), refit instead.
REFIT_SHARE = 0.05
# A class whose beats come earlier than this share of the local RR is premature, as APCs are.
PREMATURE_COUPLING = 0.9
# Doubt per unit of a beat's prematurity, -log(pre-RR over the local median): 0.6 for each 10 % early (``beat_doubt``).
PREMATURITY_DOUBT = 6.0
RR_QUARTILES = ("pre_rr_s", "post_rr_s", "coupling")  # rows of BeatClassTable.rr_quartiles, per class
def _method() -> str:
    """What grouped the beats, stored with the classes. scikit-learn is imported when classes are computed, not
    with this module: the window imports the analysis at start-up, and sklearn costs half a second there."""
    import sklearn

    return (
        f"gaussian mixture ({N_CLASSES}, full covariance), classes split where '{SPLIT_FEATURE}' is bimodal, "
        f"scikit-learn {sklearn.__version__}"
    )

_RR = {name: i for i, name in enumerate(RHYTHM_FEATURES)}


def detection_hash(samples: np.ndarray) -> str:
    """What classes were computed from: a new detection changes it, and with it every class."""
    return hashlib.sha256(np.ascontiguousarray(samples, dtype="<i8").tobytes()).hexdigest()[:16]


def _likeness(windows: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """The correlation of each row with ``reference`` (0 for a flat row)."""
    centred = windows - windows.mean(axis=1, keepdims=True)
    ref = reference - reference.mean()
    norms = np.linalg.norm(centred, axis=1) * np.linalg.norm(ref)
    return centred @ ref / np.maximum(norms, 1e-9)


def _rowwise_likeness(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    norms = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    return np.sum(a * b, axis=1) / np.maximum(norms, 1e-9)


def _log_ratio(rr: np.ndarray, numerator: str, denominator: str) -> np.ndarray:
    return np.log(np.maximum(rr[:, _RR[numerator]], 1e-3) / np.maximum(rr[:, _RR[denominator]], 1e-3))


# The part of a beat window the features read: the P region to the end of the QRS. Only this much of each beat is
# kept for the whole record (not both leads' whole windows: 550 MB for a 24 h record).
FEATURE_SPAN = slice(P_WINDOW.start, QRS_WINDOW.stop)
_QRS = slice(QRS_WINDOW.start - FEATURE_SPAN.start, QRS_WINDOW.stop - FEATURE_SPAN.start)
_P = slice(P_WINDOW.start - FEATURE_SPAN.start, P_WINDOW.stop - FEATURE_SPAN.start)


@dataclass(frozen=True)
class BeatEvidence:
    """What the class features of n beats are computed from, and nothing more."""

    rr: np.ndarray  # float32 (n, len(RHYTHM_FEATURES)), as BeatInputs.rr
    p_found: np.ndarray  # bool (n,)
    qrs_width: np.ndarray  # float32 (n,): QRS duration in samples at MODEL_FS
    spans: np.ndarray  # float32 (n, 2, span): both leads' beat windows over FEATURE_SPAN
    reference_windows: np.ndarray  # float32 (m, 2, WINDOW_LENGTH): whole windows of an even spread of m beats
    p_logit: np.ndarray  # float64 (n,): the model's logit of p(APC), NaN where it did not score the beat


def beat_evidence(
    recording: Recording,
    lead: int,
    samples: np.ndarray,
    p_apc: np.ndarray | None = None,
    progress: Callable[[float], None] | None = None,
) -> BeatEvidence:
    """``BeatEvidence`` of ``samples`` (sorted), the record conditioned chunk by chunk as ``prepare_beats`` does.

    Each chunk's two leads are conditioned, the analysis lead delineated, and
    only the feature span of each beat kept, with the whole windows of
    ``REFERENCE_BEATS`` beats spread over the record for its reference beat.
    """
    fs = recording.fs
    samples = np.asarray(samples, dtype=np.int64)
    n = len(samples)
    other = _second_lead(recording, lead)
    spans = np.zeros((n, 2, FEATURE_SPAN.stop - FEATURE_SPAN.start), np.float32)
    qrs_width = np.zeros(n, np.float32)
    p_found = np.zeros(n, bool)
    reference_rows = _spread(n, REFERENCE_BEATS)
    reference_windows = np.zeros((len(reference_rows), 2, WINDOW_LENGTH), np.float32)
    for chunk in lead_chunks(recording, lead, samples):
        kept, delineation = chunk.kept, chunk.delineation
        qrs_width[kept] = delineation.qrs_off[chunk.rows] + 1 - delineation.qrs_on[chunk.rows]
        p_found[kept] = delineation.p_found[chunk.rows]
        is_reference = (reference_rows >= kept[0]) & (reference_rows <= kept[-1])
        taken = reference_rows[is_reference] - kept[0]
        # The second lead is conditioned over the same stretch and cut at the analysis lead's R peaks.
        second = replace(chunk, conditioned=condition_signal(recording.read(other, chunk.first, chunk.last), fs))
        for i, leads_chunk in enumerate((chunk, second)):
            windows = leads_chunk.windows()
            spans[kept, i] = windows[:, FEATURE_SPAN]
            reference_windows[is_reference, i] = windows[taken]
        if progress:
            progress(chunk.done)
    if p_apc is None:
        p_logit = np.full(n, np.nan)
    else:
        p_logit = _logit(np.asarray(p_apc, np.float64))
        p_logit[~np.isfinite(np.asarray(p_apc, np.float64))] = np.nan
    return BeatEvidence(rhythm_features(samples, fs, p_found), p_found, qrs_width, spans, reference_windows, p_logit)


def reference_beat(evidence: BeatEvidence) -> np.ndarray:
    """The record's median beat on both leads, (2, WINDOW_LENGTH): what "likeness" is measured against."""
    if not len(evidence.reference_windows):
        return np.zeros((2, WINDOW_LENGTH), np.float32)
    return np.median(evidence.reference_windows, axis=0).astype(np.float32)


def class_features(evidence: BeatEvidence, reference: np.ndarray) -> np.ndarray:
    """float64 (n, len(CLASS_FEATURES)) of n beats; ``reference`` is ``reference_beat``'s (2, WINDOW_LENGTH)."""
    rr = evidence.rr.astype(np.float64)
    spans = evidence.spans
    reference = reference[:, FEATURE_SPAN]
    previous = np.concatenate([spans[:1, 0], spans[:-1, 0]])
    logit = evidence.p_logit
    finite = np.isfinite(logit)
    # A beat the model did not score (one a reviewer added) sits at the record's typical value.
    logit = np.where(finite, logit, np.median(logit[finite]) if finite.any() else 0.0)
    return np.column_stack(
        [
            _log_ratio(rr, "pre_rr_s", "local_rr_s"),
            _log_ratio(rr, "post_rr_s", "local_rr_s"),
            _log_ratio(rr, "pre_rr_s", "sinus_rr_s"),
            _log_ratio(rr, "post_rr_s", "sinus_rr_s"),
            _likeness(spans[:, 0, _QRS], reference[0, _QRS]),
            _likeness(spans[:, 1, _QRS], reference[1, _QRS]),
            _likeness(spans[:, 0, _P], reference[0, _P]),
            _likeness(spans[:, 1, _P], reference[1, _P]),
            evidence.p_found.astype(np.float64),
            evidence.qrs_width.astype(np.float64),
            _log_ratio(rr, "irregularity_s", "local_rr_s"),
            rr[:, _RR["p_wave_fraction"]],
            rr[:, _RR["rhythm_regularity"]],
            _rowwise_likeness(spans[:, 0, _P], previous[:, _P]),
            logit,
        ]
    )


def _second_lead(recording: Recording, lead: int) -> int:
    """The other lead for the second template; a one-lead record uses its one lead twice."""
    return next((i for i in range(len(recording.lead_names)) if i != lead), lead)


def _spread(n: int, at_most: int) -> np.ndarray:
    return np.arange(n) if n <= at_most else np.linspace(0, n - 1, at_most).round().astype(np.int64)


def _quartiles(values: np.ndarray) -> np.ndarray:
    return np.percentile(values, [25, 50, 75]) if len(values) else np.full(3, np.nan)


def _class_p_apc(table: BeatTable, samples: np.ndarray, class_id: np.ndarray, n_classes: int) -> np.ndarray:
    """The mean model p(APC) of each class's members; NaN where the model scored none of them."""
    rows = np.searchsorted(table.sample, samples)
    p_apc = table.p_apc[np.minimum(rows, len(table) - 1)] if len(table) else np.empty(0, np.float32)
    scored = np.isfinite(p_apc)
    totals = np.bincount(class_id[scored], weights=p_apc[scored], minlength=n_classes)
    counts = np.bincount(class_id[scored], minlength=n_classes)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, totals / counts, np.nan).astype(np.float32)


def cluster_features(features: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Class ids (int32, 0 the largest class) of ``CLASS_FEATURES`` rows, the scaled rows, and the scaling.

    Each feature is centred on its median and divided by its interquartile range, but never by less
    than ``MIN_FEATURE_SCALE``: a feature nearly constant over a record (the rhythm context in a
    steady sinus rhythm) would otherwise turn its noise into classes.
    """
    from sklearn.mixture import GaussianMixture
    from sklearn.preprocessing import RobustScaler

    fit = _spread(len(features), FIT_BEATS)
    scaler = RobustScaler().fit(features[fit])
    scale = np.maximum(scaler.scale_, MIN_FEATURE_SCALE)
    scaled = np.clip((features - scaler.center_) / scale, -FEATURE_CLIP, FEATURE_CLIP)
    components = int(np.clip(len(fit) // BEATS_PER_CLASS, 1, N_CLASSES))
    # One thread: on a shared 2-core machine BLAS threads fighting other work made the fit 8x slower.
    with threadpool_limits(limits=1):
        mixture = GaussianMixture(components, covariance_type="full", reg_covar=1e-3, max_iter=200, random_state=0)
        component = mixture.fit(scaled[fit]).predict(scaled)
        component = _split_bimodal(features[:, CLASS_FEATURES.index(SPLIT_FEATURE)], component)
    components = int(component.max()) + 1
    # Class 0 is the largest; components no beat fell into are dropped.
    sizes = np.bincount(component, minlength=components)
    order = np.argsort(-sizes, kind="stable")[: np.count_nonzero(sizes)]
    renumber = np.full(components, -1, np.int32)
    renumber[order] = np.arange(len(order), dtype=np.int32)
    return renumber[component], scaled, scaler.center_, scale


def _split_bimodal(coupling: np.ndarray, component: np.ndarray) -> np.ndarray:
    """Split each class in two where its ``coupling`` values fall in two well-parted groups (``two_modes``).

    A mixture component spent on the many sinus beats can hold a few early beats, too few to claim a
    component of their own; along the coupling interval alone the two groups show. Each side must hold at
    least ``SPLIT_MIN_BEATS`` beats.
    """
    component = component.copy()
    next_id = int(component.max()) + 1
    for c in range(next_id):
        members = np.flatnonzero(component == c)
        if len(members) < 2 * SPLIT_MIN_BEATS:
            continue
        early = two_modes(coupling[members])
        if early is not None and min(np.sum(early), np.sum(~early)) >= SPLIT_MIN_BEATS:
            component[members[early]] = next_id
            next_id += 1
    return component


def two_modes(values: np.ndarray) -> np.ndarray | None:
    """bool per value: True in the lower of two well-parted groups of ``values``; None where they are one group.

    Two groups: a two-component Gaussian mixture (fitted on at most ``FIT_BEATS`` values spread over them)
    beats one by BIC, and the two means lie at least ``SPLIT_SEPARATION`` apart in Ashman's D (the distance
    of the means over their pooled spread). Along a coupling interval, the lower group is the early beats.
    """
    from sklearn.mixture import GaussianMixture

    values = np.asarray(values, np.float64)
    if len(values) < 2 or np.ptp(values) <= 1e-9:
        return None
    x = values[_spread(len(values), FIT_BEATS)].reshape(-1, 1)
    with threadpool_limits(limits=1):
        one = GaussianMixture(1, random_state=0).fit(x)
        two = GaussianMixture(2, reg_covar=1e-4, random_state=0).fit(x)
        if two.bic(x) >= one.bic(x):
            return None
        means, sds = two.means_[:, 0], np.sqrt(two.covariances_[:, 0, 0])
        separation = np.sqrt(2) * abs(means[0] - means[1]) / np.sqrt(np.sum(sds**2))
        if separation < SPLIT_SEPARATION:
            return None
        early = two.predict(values.reshape(-1, 1)) == int(np.argmin(means))
    return early if early.any() and not early.all() else None


def _p_apc_of(table: BeatTable, samples: np.ndarray) -> np.ndarray:
    """The model's p(APC) of each of ``samples`` (NaN where it scored none or the beat is not in ``table``)."""
    if not len(table):
        return np.full(len(samples), np.nan, np.float32)
    rows = np.minimum(np.searchsorted(table.sample, samples), len(table) - 1)
    return np.where(table.sample[rows] == samples, table.p_apc[rows], np.nan).astype(np.float32)


def _templates(recording: Recording, lead: int, samples: np.ndarray, class_id: np.ndarray, k: int) -> np.ndarray:
    """float32 (k, 2, WINDOW_LENGTH): each class's median beat over at most ``TEMPLATE_BEATS`` members."""
    shown = [np.flatnonzero(class_id == c) for c in range(k)]
    shown = [members[_spread(len(members), TEMPLATE_BEATS)] for members in shown]
    rows = np.unique(np.concatenate(shown)) if shown else np.empty(0, np.int64)
    templates = np.zeros((k, 2, WINDOW_LENGTH), np.float32)
    for i, which in enumerate((lead, _second_lead(recording, lead))):
        windows = lead_windows(recording, which, samples[rows])
        for c, members in enumerate(shown):
            templates[c, i] = np.median(windows[np.searchsorted(rows, members)], axis=0)
    return templates


def compute_beat_classes(
    recording: Recording,
    lead: int,
    samples: np.ndarray,
    table: BeatTable,
    progress: Callable[[float], None] | None = None,
) -> BeatClassTable:
    """Group ``samples`` (the record's beats, sorted) into classes.

    ``table`` (the record's ``BeatTable``) gives the model's p(APC) and the detection the classes belong to.
    """
    samples = np.asarray(samples, dtype=np.int64)
    detected = detection_hash(table.sample[table.detected])
    evidence = beat_evidence(recording, lead, samples, _p_apc_of(table, samples), progress)
    reference = reference_beat(evidence)
    n = len(samples)
    if n == 0:
        empty = np.empty((0, len(CLASS_FEATURES)), np.float32)
        return BeatClassTable(
            samples,
            np.empty(0, np.int32),
            np.empty(0, np.float32),
            np.empty((0, 2, WINDOW_LENGTH), np.float32),
            np.empty((0, 3, 3), np.float32),
            np.empty(0, np.float32),
            empty,
            np.zeros(len(CLASS_FEATURES), np.float32),
            np.ones(len(CLASS_FEATURES), np.float32),
            reference,
            detected,
            _method(),
        )
    features = class_features(evidence, reference)
    rr = evidence.rr
    del evidence
    class_id, scaled, centre, scale = cluster_features(features)
    k = int(class_id.max()) + 1
    coupling = rr[:, _RR["pre_rr_s"]] / np.maximum(rr[:, _RR["sinus_rr_s"]], 1e-3)
    rr_quartiles = np.zeros((k, len(RR_QUARTILES), 3), np.float32)
    centroids = np.zeros((k, len(CLASS_FEATURES)), np.float32)
    for c in range(k):
        members = np.flatnonzero(class_id == c)
        for row, values in enumerate((rr[members, _RR["pre_rr_s"]], rr[members, _RR["post_rr_s"]], coupling[members])):
            rr_quartiles[c, row] = _quartiles(values)
        centroids[c] = scaled[members].mean(axis=0)
    return BeatClassTable(
        sample=samples,
        class_id=class_id,
        distance=np.linalg.norm(scaled - centroids[class_id], axis=1).astype(np.float32),
        templates=_templates(recording, lead, samples, class_id, k),
        rr_quartiles=rr_quartiles,
        p_apc=_class_p_apc(table, samples, class_id, k),
        centroids=centroids,
        feature_centre=centre.astype(np.float32),
        feature_scale=scale.astype(np.float32),
        reference_beat=reference,
        detection_hash=detected,
        method=_method(),
    )


def _join(
    recording: Recording,
    lead: int,
    live: np.ndarray,
    added: np.ndarray,
    classes: BeatClassTable,
    table: BeatTable,
) -> tuple[np.ndarray, np.ndarray]:
    """Class ids of the ``added`` beats, each the class whose centroid is nearest its scaled features, and how near."""
    ids = np.empty(len(added), np.int32)
    distances = np.empty(len(added), np.float32)
    for i, sample in enumerate(added):
        at = int(np.searchsorted(live, sample))
        context = live[max(0, at - JOIN_CONTEXT_BEATS) : at + JOIN_CONTEXT_BEATS + 1]
        evidence = beat_evidence(recording, lead, context, _p_apc_of(table, context))
        row = int(np.searchsorted(context, sample))
        features = class_features(evidence, classes.reference_beat)[row]
        scaled = np.clip((features - classes.feature_centre) / classes.feature_scale, -FEATURE_CLIP, FEATURE_CLIP)
        to_centroids = np.linalg.norm(classes.centroids - scaled, axis=1)
        ids[i] = int(np.argmin(to_centroids))
        distances[i] = to_centroids[ids[i]]
    return ids, distances


def update_beat_classes(
    store: AnnotationStore, recording: Recording, *, who: str, progress: Callable[[float], None] | None = None
) -> BeatClassTable:
    """Bring the stored classes of ``recording`` up to date with its beats and model output, and return them.

    No classes yet, or a new detection: computed and stored. Beats a reviewer
    added join the nearest class and deleted ones leave theirs (a bulk change, as
    an import makes, refits instead). Otherwise only the class-level p(APC)
    follows the model's output; nothing is written when nothing changed.
    """
    name = recording.name
    record = store.record(name)
    table = store.beat_table(name)
    live = table.sample[~table.deleted]
    lead = recording.lead_index(record.analysis_lead) if record.analysis_lead else recording.preferred_lead()
    classes = record.classes
    detected = detection_hash(record.beats)
    if classes is not None and classes.detection_hash == detected:
        added = np.setdiff1d(live, classes.sample, assume_unique=True)
        kept = np.isin(classes.sample, live, assume_unique=True)
        if len(added) + np.count_nonzero(~kept) > REFIT_SHARE * max(len(classes.sample), 1):
            classes = None
        elif len(added) or not kept.all():
            joined, distance = _join(recording, lead, live, added, classes, table)
            samples = np.concatenate([classes.sample[kept], added])
            class_id = np.concatenate([classes.class_id[kept], joined])
            distance = np.concatenate([classes.distance[kept], distance])
            order = np.argsort(samples, kind="stable")
            classes = classes.with_members(samples[order], class_id[order], distance[order])
    if classes is None or classes.detection_hash != detected:
        classes = compute_beat_classes(recording, lead, live, table, progress)
    p_apc = _class_p_apc(table, classes.sample, classes.class_id, classes.n_classes)
    classes = classes.with_p_apc(p_apc)
    if not classes.same_as(record.classes):
        store.set_beat_classes(name, classes, who=who)
    return store.record(name).classes


def label_class(store: AnnotationStore, record: str, class_id: int, symbol: str, *, reviewer: str) -> int:
    """Label every unreviewed beat of one class ``symbol`` in one step; returns how many were labelled.

    Beats a reviewer already labelled keep their label: a class label never overwrites a reviewer's own.
    """
    table = store.beat_table(record)
    ids = beat_class_ids(store, record)
    rows = np.flatnonzero((ids == class_id) & ~table.reviewed)
    if len(rows):
        store.label_beats(record, table.sample[rows], symbol, reviewer=reviewer, action=f"label_class {class_id}")
    return len(rows)


# A class's proposed label (what "Accept the proposals" gives it): the model's verdict on most of its members.
PROPOSED_APC = "A"
PROPOSED_NORMAL = "N"
# A class whose QRS correlates with the record's reference beat below this (the mean of the two leads' likeness)
# gets no proposal, and the reader labels it. Chosen on DS1's and svdb's classes by their majority reference label:
# 144 of 149 ventricular classes fall below it (93 % of their beats), and 82 of 790 normal ones (4 % of theirs).
PROPOSAL_QRS_LIKENESS = 0.85


def class_proposals(class_ids: np.ndarray, model_apc: np.ndarray, qrs_unlike: np.ndarray) -> np.ndarray:
    """The proposed label of each class (object array of ``n_classes``): A where the model, at its operating
    threshold, calls at least half of the members it scored APC, else N; "" where it scored none.

    The majority of the members' own calls rather than the class's mean p(APC) against the threshold: accepting a
    proposal then changes the model's call on the fewest of the class's beats, and the few beats the model is sure
    of do not swing the class, as they swing a mean of probabilities. With the bundled model's threshold near 0.99
    a mean is below it as soon as a few members are not near 1: on the sample record a class of 16 beats, 12 called
    APC at p 0.99998, has a mean of 0.86 (APC score 5) and would be proposed N. The arrays
    are per row of a beat table: ``class_ids`` -1 for a beat without a class, ``model_apc`` 1 APC, 0 not, -1 not
    scored. ``qrs_unlike`` (per class, ``qrs_unlike_reference``): classes given no proposal, "" as for one the model
    scored none of: the model tells APC from not, so its "N" on a class of ventricular beats would call them normal.
    """
    n_classes = len(qrs_unlike)
    scored = (class_ids >= 0) & (model_apc >= 0)
    called = np.bincount(class_ids[scored], weights=model_apc[scored] == 1, minlength=n_classes)
    counted = np.bincount(class_ids[scored], minlength=n_classes)
    proposals = np.where(2 * called >= counted, PROPOSED_APC, PROPOSED_NORMAL).astype(object)
    proposals[(counted == 0) | qrs_unlike] = ""
    return proposals


def _class_feature(classes: BeatClassTable, name: str) -> np.ndarray:
    """Each class's mean of one of ``CLASS_FEATURES``, in the feature's own units (its centroid unscaled)."""
    column = CLASS_FEATURES.index(name)
    return classes.centroids[:, column] * classes.feature_scale[column] + classes.feature_centre[column]


def qrs_unlike_reference(classes: BeatClassTable) -> np.ndarray:
    """Per class: its members' QRS, averaged over both leads' likeness to the record's reference beat, is below
    ``PROPOSAL_QRS_LIKENESS``; ventricular-looking, so ``class_proposals`` proposes nothing for it."""
    likeness = (_class_feature(classes, "qrs likeness lead 1") + _class_feature(classes, "qrs likeness lead 2")) / 2
    return likeness < PROPOSAL_QRS_LIKENESS


@dataclass(frozen=True)
class ProposalPlan:
    """What accepting the proposals labels: the rows of a beat table and each one's label, and per label the classes
    and beats (the confirmation's "8 as N (2 104 beats), 1 as A (33 beats)")."""

    rows: np.ndarray  # int64 rows of the beat table, in time order
    symbols: np.ndarray  # object, the label of each
    classes: tuple[int, ...]  # the classes they belong to
    by_label: tuple[tuple[str, int, int], ...]  # (label, classes, beats), the most beats first

    def text(self) -> str:
        """'8 as N (2 104 beats), 1 as A (33 beats)'."""
        return ", ".join(f"{classes} as {symbol} ({f'{beats:,}'.replace(',', ' ')} beat{'s' * (beats != 1)})"
                         for symbol, classes, beats in self.by_label)


def proposal_plan(class_ids: np.ndarray, model_apc: np.ndarray, reviewed: np.ndarray, qrs_unlike: np.ndarray,
                  ) -> ProposalPlan:
    """What "Accept the proposals" does: every unreviewed beat of a class with a proposal (``class_proposals``)
    gets its class's proposal. Beats a reviewer labelled keep their label, so a class the reviewer labelled is
    left whole, and one with some beats labelled one by one keeps those. Per row of a beat table, as
    ``class_proposals`` (a deleted beat has no class)."""
    proposals = class_proposals(class_ids, model_apc, qrs_unlike)
    rows = np.flatnonzero((class_ids >= 0) & ~reviewed)
    rows = rows[proposals[class_ids[rows]] != ""].astype(np.int64)
    symbols = proposals[class_ids[rows]]
    classes = tuple(int(c) for c in np.unique(class_ids[rows]))
    by_label = []
    for symbol in np.unique(symbols):
        chosen = symbols == symbol
        by_label.append((str(symbol), len(np.unique(class_ids[rows[chosen]])), int(np.count_nonzero(chosen))))
    by_label.sort(key=lambda item: (-item[2], item[0]))
    return ProposalPlan(rows, symbols, classes, tuple(by_label))


def accept_proposals(store: AnnotationStore, record: str, *, reviewer: str) -> ProposalPlan:
    """Label every unreviewed beat of the record's classes with its class's proposal in one journalled step (one
    journal line, one audit entry, ``proposal_plan``); returns what it labelled."""
    table, classes = store.beat_table(record), store.record(record).classes
    plan = proposal_plan(beat_class_ids(store, record), table.model_apc, table.reviewed,
                         qrs_unlike_reference(classes) if classes is not None else np.zeros(0, bool))
    if len(plan.rows):
        time = utc_now()
        store.set_labels(record, {int(table.sample[row]): Review(str(symbol), reviewer, time)
                                  for row, symbol in zip(plan.rows, plan.symbols, strict=True)},
                         who=reviewer, action=proposals_action(plan))
    return plan


def proposals_action(plan: ProposalPlan) -> str:
    """What the audit log calls accepting ``plan``: 'accept_proposals 9 classes, 2137 beats'."""
    return f"accept_proposals {len(plan.classes)} classes, {len(plan.rows)} beats"


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, np.float64), 1e-7, 1 - 1e-7)
    return np.log(p / (1 - p))


def review_order(store: AnnotationStore, record: str, prematurity_weight: float = PREMATURITY_DOUBT,
                 doubt: np.ndarray | None = None) -> np.ndarray:
    """Rows of ``store.beat_table(record)`` to check after the classes were labelled, most doubtful first
    (``beat_doubt``, or ``doubt`` where the caller has it). Deleted beats are left out."""
    doubt = beat_doubt(store, record, prematurity_weight) if doubt is None else doubt
    live = np.flatnonzero(~store.beat_table(record).deleted)
    return live[np.argsort(-doubt[live], kind="stable")].astype(np.int64)


def beat_doubt(store: AnnotationStore, record: str, prematurity_weight: float = PREMATURITY_DOUBT) -> np.ndarray:
    """float64 per row of ``store.beat_table(record)``: how much the beat's label (its class's, once labelled) is in
    doubt. The sum of three:

    - the model's: how far its logit lies above its threshold for a beat
      labelled anything but an APC, below it for one labelled an APC (0 where
      the model scored none);
    - the classes': how far a beat lies from its class's centroid, in the
      record's scaled features (0 for a beat with no class);
    - its prematurity (a Holter reader's first look): ``prematurity_weight``
      per unit of -log(pre-RR over the local median RR) for a beat labelled
      anything but an APC (an early beat is in doubt), the opposite for one
      labelled an APC (a late one is).

    On svdb (out of the model's sample) the first two summed took 13 700 actions to SVEB F1 0.95 on every
    record, the model's doubt alone 22 500. With the prematurity, paging class by class (``class_pages``)
    and leaving a class after 10 beats in a row with nothing to correct, the review-effort benchmark's reader
    took svdb 10 600 actions instead of 15 500 (the median record 2.5x fewer than beat by beat instead of
    1.7x), DS1 1 600 instead of 1 900 (median 0.9x instead of 1.2x: there the few exceptions are scattered
    and paging costs more); weights of 0.3 to 1.0 per 10 % early were tried.
    """
    table = store.beat_table(record)
    doubt = np.zeros(len(table))
    if not len(table):
        return doubt
    labelled_apc = np.isin(table.review_symbol, list(SVEB_SYMBOLS))
    sign = np.where(labelled_apc, -1.0, 1.0)
    model = store.record(record).model
    if model is not None:
        margin = _logit(table.p_apc) - _logit(np.float32(model.threshold))
        doubt += np.where(np.isfinite(table.p_apc), sign * margin, 0.0)
    classes = store.record(record).classes
    if classes is not None:
        rows = np.minimum(np.searchsorted(table.sample, classes.sample), len(table) - 1)
        present = table.sample[rows] == classes.sample
        doubt[rows[present]] += classes.distance[present]
    live = np.flatnonzero(~table.deleted)
    if prematurity_weight and len(live) > 1:
        rr = rr_features(table.sample[live], store.record(record).fs)
        doubt[live] -= prematurity_weight * sign[live] * _log_ratio(rr, "pre_rr_s", "local_rr_s")
    return doubt


def class_pages(store: AnnotationStore, record: str, prematurity_weight: float = PREMATURITY_DOUBT,
                doubt: np.ndarray | None = None) -> list[tuple[int, np.ndarray]]:
    """The record's classes as a Holter reader pages through them for exceptions: each class with its rows of
    ``store.beat_table(record)`` most doubtful first (``beat_doubt``, or ``doubt`` where the caller has it), the
    classes by their summed doubt (the beats above none count 0), the most doubtful first.

    A beat marked not-a-beat since the classes were computed still pages with its class: a class labelled
    not-a-beat by its majority may hold a missed APC, and the reader pages through it like any other.
    """
    table, classes = store.beat_table(record), store.record(record).classes
    if classes is None or not len(table) or not classes.n_classes:
        return []
    ids = np.full(len(table), -1, np.int64)
    at = np.minimum(np.searchsorted(table.sample, classes.sample), len(table) - 1)
    present = table.sample[at] == classes.sample
    ids[at[present]] = classes.class_id[present]
    doubt = beat_doubt(store, record, prematurity_weight) if doubt is None else doubt
    classed = np.flatnonzero(ids >= 0)
    totals = np.bincount(ids[classed], weights=np.maximum(doubt[classed], 0.0), minlength=classes.n_classes)
    pages = []
    for class_id in np.argsort(-totals, kind="stable"):
        rows = classed[ids[classed] == class_id]
        if len(rows):
            pages.append((int(class_id), rows[np.argsort(-doubt[rows], kind="stable")].astype(np.int64)))
    return pages


# The beat gallery shows this many beats a page: 4 rows of 6, each beat with the beat before it and its P wave
# legible side by side on a 1 600 px wide screen. Set for legibility, not from the benchmark (larger pages cost its
# reader fewer actions).
GALLERY_PAGE_BEATS = 24


def gallery_sections(store: AnnotationStore, record: str) -> list[tuple[int, np.ndarray]]:
    """What the beat gallery pages through for exceptions, in order: each class with its rows of
    ``store.beat_table(record)`` (``class_pages``: the classes by summed doubt, each one's beats the most doubtful
    first), then the whole record under class id -1 (``review_order``: every beat not deleted, the most doubtful
    first), for the exceptions the pages of each class left. The doubt is worked out once for both (a third of a
    second on a 24 h Holter)."""
    doubt = beat_doubt(store, record)
    return [*class_pages(store, record, doubt=doubt), (-1, review_order(store, record, doubt=doubt))]


def class_review_order(store: AnnotationStore, record: str) -> np.ndarray:
    """Class ids of ``record`` in ``classes_in_need_order`` (the Templates view's and the benchmark's order)."""
    classes = store.record(record).classes
    if classes is None or not classes.n_classes:
        return np.empty(0, np.int64)
    table = store.beat_table(record)
    return classes_in_need_order(classes, beat_class_ids(store, record), table.model_apc == 1, table.reviewed)


def classes_in_need_order(classes: BeatClassTable, class_ids: np.ndarray, model_calls_apc: np.ndarray,
                          reviewed: np.ndarray) -> np.ndarray:
    """Class ids, the ones most in need of a look first: where the model's verdicts disagree with the timing.

    A class whose beats come early (against the local RR) suggests APCs, one
    whose beats do not suggests none; each member the model calls
    otherwise counts as a disagreement, and classes sort by how many they hold,
    then by size. A class whose members were all reviewed comes last. The
    arrays are per row of a beat table (``class_ids`` -1 where a beat has none).
    """
    live = class_ids >= 0
    ids = class_ids[live]
    members = np.bincount(ids, minlength=classes.n_classes)
    called_apc = np.bincount(ids, weights=model_calls_apc[live], minlength=classes.n_classes)
    unreviewed = np.bincount(ids, weights=~reviewed[live], minlength=classes.n_classes)
    # Against the local median RR, not the underlying cycle: that one is the longest intervals around a beat, which
    # frequent compensatory pauses stretch until every sinus beat looks early against it.
    premature = _class_feature(classes, "log pre/local") < np.log(PREMATURE_COUPLING)
    disagreements = np.where(premature, members - called_apc, called_apc)
    return np.lexsort((-members, -disagreements, unreviewed == 0)).astype(np.int64)


def beat_class_ids(store: AnnotationStore, record: str) -> np.ndarray:
    """int32 class id of every row of ``store.beat_table(record)``; -1 where a beat has no class.

    A deleted beat has none, and neither has any beat before classes were
    computed. Reads only: ``update_beat_classes`` computes.
    """
    table = store.beat_table(record)
    ids = np.full(len(table), -1, np.int32)
    classes = store.record(record).classes
    if classes is None or not len(table):
        return ids
    rows = np.minimum(np.searchsorted(table.sample, classes.sample), len(table) - 1)
    present = table.sample[rows] == classes.sample
    ids[rows[present]] = classes.class_id[present]
    ids[table.deleted] = -1
    return ids
