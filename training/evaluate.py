"""Evaluation per the protocol: DS2 SVEB Se/+P/F1 overall, without 232, per record; 10 s strips."""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from danet_viewer.core.analysis import apply_record_rule, register_recording
from danet_viewer.core.beat_classes import update_beat_classes
from danet_viewer.core.beats import DETECTOR
from danet_viewer.core.readers import open_recording
from danet_viewer.core.rr_rule import rr_rule_calls
from danet_viewer.core.store import AnnotationStore
from danet_viewer.model.card import ModelCard, load_model
from danet_viewer.model.inference import operating_threshold
from danet_viewer.model.network import DANet
from training.data import BeatSet, ReferenceRecord, label_record
from training.databases import SVDB
from training.engine import predict
from training.metrics import Counts, count, strip_counts
from training.mitdb import DS1, DS2, VALIDATION, mitdb_dir

LITERATURE = (  # DS2 SVEB Se / +P (%), danet.md
    ("de Chazal 2004", 76, 38), ("Mar 2011", 83, 34), ("Garcia 2017", 62, 53), ("Mousavi & Afghah 2019", 88.9, 92.6),
)


@dataclass
class RecordResult:
    name: str
    beats: Counts
    strips: Counts


def record_scores(model: DANet, record: ReferenceRecord, device: str = "cpu") -> tuple[np.ndarray, np.ndarray]:
    """(p(APC) of the matched beats, p(APC) of the false detections), scored together: every beat the
    detector found is one of the record's beats, as in the viewer, for the record-relative scoring."""
    together = BeatSet.concatenate([record.beats, record.false_detections])
    # In time order, as the viewer scores a record: the record-level scoring reads each beat's neighbours.
    order = np.argsort(np.concatenate([record.beat_sample, record.false_sample]), kind="stable")
    scores = np.empty(len(together), np.float32)
    scores[order] = predict(model, together.inputs.subset(order), device)
    return scores[: len(record.beats)], scores[len(record.beats) :]


def with_record_rule(header: Path, record: ReferenceRecord, scores: tuple[np.ndarray, np.ndarray], card: ModelCard,
                     threshold: float, scratch: Path) -> tuple[np.ndarray, np.ndarray]:
    """``scores`` (``record_scores``'s) as ``annotate`` calls the beats with the card's record rule: the record's
    detections and scores go into a store, which groups them into classes and applies the rule, exactly as
    ``analyse_recording`` does; a beat the rule calls scores 1.0, one whose call it overrules 0.0."""
    recording = open_recording(header)
    samples = np.concatenate([record.beat_sample, record.false_sample])
    order = np.argsort(samples, kind="stable")
    p_apc = np.concatenate(scores)
    with AnnotationStore.open(scratch / f"{record.name}.h5", "a") as store:
        register_recording(recording, store, who="evaluate")
        lead = recording.preferred_lead()
        store.set_beats(record.name, samples[order], detector=DETECTOR, lead=recording.lead_names[lead],
                        who="evaluate")
        store.set_model_output(record.name, samples[order], p_apc[order], threshold=threshold,
                               model_id=card.model_id, who="evaluate")
        classes = update_beat_classes(store, recording, who="evaluate")
        apply_record_rule(store, recording, lead, classes, card.record_rule, who="evaluate")
        model = store.record(record.name).model
        called, vetoed = np.empty(len(samples), bool), np.empty(len(samples), bool)
        called[order], vetoed[order] = model.record_calls, model.record_vetoes
    p_apc = np.where(called, 1.0, np.where(vetoed, 0.0, p_apc))
    return p_apc[: len(record.beat_sample)], p_apc[len(record.beat_sample) :]


def rr_rule_scores(record: ReferenceRecord) -> tuple[np.ndarray, np.ndarray]:
    """The RR rule's calls (1.0 called, 0.0 not) for the matched beats and the false detections, judged, as the
    model is, on every beat the detector found: scored by ``evaluate_records`` at any threshold in (0, 1]."""
    samples = np.concatenate([record.beat_sample, record.false_sample])
    order = np.argsort(samples, kind="stable")
    called = np.empty(len(samples))
    called[order] = rr_rule_calls(samples[order])
    return called[: len(record.beat_sample)], called[len(record.beat_sample) :]


def evaluate_records(records: list[ReferenceRecord], scores: dict[str, tuple[np.ndarray, np.ndarray]],
                     threshold: float) -> list[RecordResult]:
    """``scores[name]`` = (p(APC) of matched beats, p(APC) of false detections)."""
    results = []
    for record in records:
        beat_score, false_score = scores[record.name]
        beats = count(record.beats.label, beat_score >= threshold, record.missed_sveb, record.missed_other)
        beats = beats + count(np.zeros(len(false_score), bool), false_score >= threshold)
        times = np.concatenate([record.beat_sample, record.false_sample]) / record.fs
        labels = np.concatenate([record.beats.label.astype(bool), np.zeros(len(false_score), bool)])
        predicted = np.concatenate([beat_score, false_score]) >= threshold
        strips = strip_counts(times, labels, predicted, record.duration_s,
                              missed_positive_times=record.missed_sveb_sample / record.fs)
        results.append(RecordResult(record.name, beats, strips))
    return results


def summarise(results: list[RecordResult], set_aside: str = "232") -> dict:
    """Totals over all records and without ``set_aside``, the record that holds most of the split's
    SVEB beats (danet.md: DS2's 232), so one record does not hide the rest; strips; per record."""

    def total(rows: list[RecordResult], field: str) -> Counts:
        out = Counts(0, 0, 0, 0)
        for row in rows:
            out = out + getattr(row, field)
        return out

    strips = total(results, "strips")
    return {
        "all": total(results, "beats").as_dict(),
        f"without_{set_aside}": total([r for r in results if r.name != set_aside], "beats").as_dict(),
        "strips": {**strips.as_dict(), "accuracy": strips.accuracy, "specificity": strips.specificity},
        "per_record": {r.name: r.beats.as_dict() for r in results},
    }


def evaluate_model(folder: Path, split: str, cache: Path, device: str = "cpu", database: str = "mitdb") -> dict:
    """Protocol figures of a model folder at its operating threshold: on mitdb DS1, DS2 or DS1's validation
    records, or (``database`` "svdb") on every svdb record, split ignored."""
    model, card = load_model(folder, device)
    if database == "svdb":
        headers = [SVDB.header(name) for name in SVDB.records()]
        split = "svdb"
    else:
        headers = [mitdb_dir() / f"{name}.hea" for name in {"DS1": DS1, "DS2": DS2, "validation": VALIDATION}[split]]
    records = [label_record(header, cache) for header in headers]
    started = time.monotonic()
    scores = {r.name: record_scores(model, r, device) for r in records}
    threshold = operating_threshold(model, card)
    if card.record_rule:
        with tempfile.TemporaryDirectory() as scratch:
            scores = {r.name: with_record_rule(header, r, scores[r.name], card, threshold, Path(scratch))
                      for header, r in zip(headers, records, strict=True)}
    seconds = time.monotonic() - started
    summary = summarise(evaluate_records(records, scores, threshold))
    # The floor every table shows, scored by the same code on the same beats.
    summary["rr_rule"] = summarise(evaluate_records(records, {r.name: rr_rule_scores(r) for r in records}, 0.5))
    summary.update(model=card.model_id, split=split, threshold=threshold,
                   validation=card.metrics.get("validation", {}),
                   scoring_x_realtime=sum(r.duration_s for r in records) / seconds)
    return summary


def summary_lines(summary: dict, split: str) -> list[str]:
    """The model's figures and the RR rule's beneath them, as `danet-train evaluate` prints them."""
    lines = []
    for who, figures in (("model", summary), ("RR rule", summary["rr_rule"])):
        for key in ("all", "without_232"):
            row = figures[key]
            lines.append(f"{who:8} {split} {key}: Se {100 * row['se']:.1f} %  +P {100 * row['ppv']:.1f} %  "
                         f"F1 {row['f1']:.3f}")
        strips = figures["strips"]
        lines.append(f"{who:8} 10 s strips: accuracy {100 * strips['accuracy']:.2f} %  Se {100 * strips['se']:.1f} %  "
                     f"Sp {100 * strips['specificity']:.1f} %")
    return lines
