"""Headless work on recordings and a store: beat analysis and importing annotations."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np

from danet_viewer.core.aami import is_beat
from danet_viewer.core.beat_classes import compute_beat_classes, update_beat_classes
from danet_viewer.core.beats import DETECTOR, detect_recording, match_reference
from danet_viewer.core.clock import RecordClock
from danet_viewer.core.readers import read_annotations
from danet_viewer.core.record_rule import RECORD_RULES, record_rule_calls
from danet_viewer.core.recording import Recording, RecordingStretch
from danet_viewer.core.store import NOT_A_BEAT, AnnotationStore, BeatClassTable, ModelOutput, StoredRecord, locate
from danet_viewer.errors import DanetError


@dataclass(frozen=True)
class AnalysisResult:
    record: str
    lead: str
    beats: int
    apcs: int | None  # None when no model ran
    seconds: float
    unanalysable_s: float = 0.0  # flat, lead-off or invalid: left out of the analysis
    duration_s: float = 0.0

    @property
    def analysable(self) -> bool:
        return self.unanalysable_s < self.duration_s


class BeatScorer(Protocol):
    """A model that gives p(APC) per beat (``danet_viewer.model.inference.BeatModel``), and names the record-level
    rule (``danet_viewer.core.record_rule``, "" for none) whose calls join and overrule its own once the beats are
    classified."""

    threshold: float
    model_id: str
    record_rule: str

    def score_recording(self, recording: Recording, lead: int | str, beats: np.ndarray,
                        progress: Callable[[float], None] | None = None) -> np.ndarray: ...


def register_recording(recording: Recording, store: AnnotationStore, who: str) -> None:
    store.put_recording(
        name=recording.name,
        source_path=str(recording.path.resolve()),
        content_hash=recording.content_hash(),
        fs=recording.fs,
        lead_names=recording.lead_names,
        units=recording.units,
        n_samples=recording.n_samples,
        who=who,
        start=RecordClock(recording.start).start_iso(),
    )


def analyse_recording(
    recording: Recording, store: AnnotationStore, *, lead: str | None = None, who: str,
    model: BeatScorer | None = None, progress: Callable[[str, float], None] | None = None,
) -> AnalysisResult:
    """Detect beats on the analysis lead and store them; with a model, score every beat and store that too.

    Reviews already in the store are kept: the model scores reviewed and added
    beats like the rest, and only its own outputs are replaced. Flat or lead-off
    stretches hold no beats and are stored as unanalysable; a record that is
    nothing else is stored with no beats, not refused. Last, the beats are
    grouped into classes (``update_beat_classes``), which are stored too, and
    the model's record rule, if it has one, adds its calls and overrules some (``apply_record_rule``).
    """
    started = time.perf_counter()
    lead_index = recording.lead_index(lead) if lead else recording.preferred_lead()
    lead_name = recording.lead_names[lead_index]
    register_recording(recording, store, who)
    report = (lambda stage: (lambda fraction: progress(stage, fraction))) if progress else (lambda stage: None)
    detection = detect_recording(recording, lead_index, report("beats"))
    beats = detection.beats
    store.set_beats(
        recording.name, beats, detector=DETECTOR, lead=lead_name, who=who, unanalysable=detection.unanalysable
    )
    apcs = None
    if model is not None:
        table = store.beat_table(recording.name)
        scored = table.sample[~table.deleted]
        p_apc = model.score_recording(recording, lead_index, scored, report("model"))
        store.set_model_output(recording.name, scored, p_apc, threshold=model.threshold, model_id=model.model_id,
                               who=who)
        apcs = int(np.sum(p_apc >= model.threshold))
    classes = update_beat_classes(store, recording, who=who, progress=report("classes"))
    if model is not None and model.record_rule:
        apcs = apply_record_rule(store, recording, lead_index, classes, model.record_rule, who=who)
    elapsed = time.perf_counter() - started
    unanalysable_s = detection.unanalysable_samples / recording.fs
    return AnalysisResult(recording.name, lead_name, len(beats), apcs, elapsed, unanalysable_s, recording.duration_s)


def apply_record_rule(store: AnnotationStore, recording: Recording, lead: int, classes: BeatClassTable, rule: str, *,
                      who: str) -> int:
    """Store what the model's record-level ``rule`` says of the record's classified beats (detected on ``lead``)
    beside its network's p(APC), and return how many beats the model now calls APC. The calls are the model's as of
    this analysis: a reviewer's later split or merge changes the classes, not the model's output."""
    if rule not in RECORD_RULES:
        raise DanetError(f"record rule {rule!r} is not one this version knows ({', '.join(RECORD_RULES)})")
    model = store.record(recording.name).model
    said = record_rule_calls(recording, lead, classes)
    at, found = locate(classes.sample, model.sample)
    record_calls = np.zeros(len(model.sample), bool)
    record_vetoes = np.zeros(len(model.sample), bool)
    record_calls[found], record_vetoes[found] = said.added[at[found]], said.vetoed[at[found]]
    store.set_model_output(recording.name, model.sample, model.p_apc, threshold=model.threshold,
                           model_id=model.model_id, who=who, record_calls=record_calls, record_vetoes=record_vetoes,
                           record_rule=rule)
    return int(store.record(recording.name).model.apc.sum())


# A stretch analysed on its own (``analyse_stretch``) is detected and scored with this much of the record on
# each side: the RR and rhythm features look back 64 beats and around 65 (about a minute each), and the model's
# record-relative score takes each logit against the median of the reference beats, which a few hundred beats
# settle. Five minutes each side holds several hundred beats and costs a fraction of a second.
STRETCH_CONTEXT_S = 300.0
# A record this short (a MIT-BIH record: 30 min 5 s) is analysed whole even for a stretch: a few times the work,
# and the scores are then exactly annotate's.
WHOLE_RECORD_S = 2400.0


@dataclass(frozen=True)
class StretchAnalysis:
    """A stretch's beats and scores, analysed in memory (never written to a store)."""

    record: StoredRecord  # beats, model output and unanalysable stretches within ``context``; reviews as stored
    lead: int
    context: tuple[int, int]  # [first, last) samples detected and scored against
    whole_record: bool  # the context is the whole record: the scores are those ``annotate`` gives

    @property
    def note(self) -> str:
        """Which beats the scores were taken against, for the reader of a render."""
        if self.whole_record:
            return "scored against the whole record"
        first, last = (sample / self.record.fs for sample in self.context)
        return (f"scored against {_clock(first)}-{_clock(last)} of the record (the stretch and "
                f"{STRETCH_CONTEXT_S / 60:g} min either side), not the whole record: scores relative to the record "
                "may differ from annotate's, and no record-level rule was applied (it needs the whole record)")


def _clock(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 3600}:{whole // 60 % 60:02d}:{whole % 60:02d}"


def analyse_stretch(recording: Recording, start_s: float, stop_s: float, *, model: BeatScorer,
                    stored: StoredRecord | None = None, lead: int | None = None) -> StretchAnalysis:
    """Beats and p(APC) around ``start_s ... stop_s`` only, with ``STRETCH_CONTEXT_S`` of the record either side
    (all of a record up to ``WHOLE_RECORD_S`` long).

    ``stored``: the record as a store holds it (the same recording): its beats, added and deleted ones and
    reviews are kept and only scored; else beats are detected in the context. Nothing outside the context is
    read, so a 10 s stretch of a 24 h record costs what a short record does.
    """
    fs = recording.fs
    context_s = np.inf if recording.duration_s <= WHOLE_RECORD_S else STRETCH_CONTEXT_S
    first = int(max(0.0, (start_s - context_s) * fs))
    last = int(min(recording.n_samples, np.ceil((stop_s + context_s) * fs)))
    lead = recording.preferred_lead() if lead is None else lead
    window = RecordingStretch(recording, first, last)
    if stored is not None and (len(stored.beats) or stored.reviews):
        record = stored
    else:
        detection = detect_recording(window, lead)
        record = StoredRecord(recording.name, str(recording.path), "", fs, list(recording.lead_names),
                              list(recording.units), recording.n_samples, analysis_lead=recording.lead_names[lead],
                              detector=DETECTOR, beats=detection.beats + first,
                              unanalysable=detection.unanalysable + first)
    table = record.beat_table()
    scored = table.sample[~table.deleted & (table.sample >= first) & (table.sample < last)]
    p_apc = model.score_recording(window, lead, scored - first)
    output = ModelOutput(scored, p_apc, model.threshold, model.model_id, run_at="")
    whole_record = first == 0 and last == recording.n_samples
    if whole_record and model.record_rule in RECORD_RULES and len(scored):
        # As annotate calls them: the rule judges classes of the whole record, which only a whole record has.
        classes = compute_beat_classes(recording, lead, scored, replace(record, model=output).beat_table())
        said = record_rule_calls(recording, lead, classes)
        output = replace(output, record_calls=said.added, record_vetoes=said.vetoed, record_rule=model.record_rule)
    return StretchAnalysis(replace(record, model=output), lead, (first, last), whole_record)


@dataclass(frozen=True)
class ImportResult:
    record: str
    annotations: int
    matched: int = 0
    added: int = 0
    not_a_beat: int = 0


def import_annotations(
    recording: Recording,
    store: AnnotationStore,
    extension: str,
    *,
    as_review: bool,
    who: str,
    start_s: float | None = None,
    stop_s: float | None = None,
    replace_reviews: bool = False,
) -> ImportResult:
    """Bring a record's existing beat annotations into the store.

    As a reference they are kept apart from reviews. As a review, within the
    time range: reference beats matched to detections within 150 ms label them,
    unmatched reference beats become added beats, and unmatched detections are
    marked not-a-beat. Existing reviews in the range are only replaced when
    ``replace_reviews`` is given, so an import never silently overwrites a
    reviewer's work.
    """
    annotations = read_annotations(recording, extension)
    start = 0 if start_s is None else max(0, round(start_s * recording.fs))
    stop = recording.n_samples if stop_s is None else min(recording.n_samples, round(stop_s * recording.fs))
    if stop <= start:
        raise DanetError(f"{recording.path}: empty import range {start_s}-{stop_s} s")
    beat = np.array([is_beat(s) for s in annotations.symbol], dtype=bool)
    in_range = beat & (annotations.sample >= start) & (annotations.sample < stop)
    reference = annotations.sample[in_range]
    symbols = annotations.symbol[in_range]
    source = f"{recording.name}.{extension}"

    if recording.name not in store or not len(store.record(recording.name).beats):
        analyse_recording(recording, store, who=who)
    else:
        register_recording(recording, store, who)
    if not as_review:
        store.set_reference(recording.name, reference, list(symbols), source=source, who=who)
        return ImportResult(recording.name, len(reference))

    record = store.record(recording.name)
    detections = record.beats[(record.beats >= start) & (record.beats < stop)]
    ref_index, det_index = match_reference(reference, detections, recording.fs)
    labels = {int(detections[j]): str(symbols[i]) for i, j in zip(ref_index, det_index, strict=True)}
    unmatched_reference = np.setdiff1d(np.arange(len(reference)), ref_index)
    labels.update({int(reference[i]): str(symbols[i]) for i in unmatched_reference})
    unmatched_detections = np.setdiff1d(np.arange(len(detections)), det_index)
    labels.update({int(detections[j]): NOT_A_BEAT for j in unmatched_detections})

    existing = [s for s in record.reviews if start <= s < stop]
    if existing and not replace_reviews:
        raise DanetError(
            f"{store.path}: {len(existing)} beats of {recording.name} in this range are already reviewed; "
            "pass --replace-reviews to overwrite them (the audit log keeps the old labels)"
        )
    store.apply_reviews(recording.name, labels, reviewer=who, action=f"import_review {source}", span=(start, stop))
    return ImportResult(recording.name, len(reference), len(ref_index), len(unmatched_reference),
                        len(unmatched_detections))
