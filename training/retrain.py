"""Retraining on reviewers' labels: fine-tune a base model on the reviewed beats of stores and datasets.

Validation is by record, or by interleaved blocks of consecutive beats when
there are fewer than three records, never by shuffled beats of the same minute.
The new model's card records its base, its sources, the old-versus-new figures
on the same held-out reviewed beats, and a verdict: a retrained model is
recommended only when it beats its base there, on enough held-out APCs to tell.

A retrained model keeps its base's operating threshold (why: docs/model.md, "Retraining").
A record-relative base is retrained into a raw-scoring model when most reviewed beats are APCs
(why: docs/model.md, "Record-relative scoring").
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from danet_viewer.core.dataset import count_reviewed, export_dataset
from danet_viewer.core.store import AnnotationStore
from danet_viewer.errors import DanetError
from danet_viewer.model.card import ModelCard
from danet_viewer.model.inference import BeatModel
from danet_viewer.model.registry import MIN_REVIEWED_APCS, MIN_REVIEWED_BEATS, ModelRegistry
from danet_viewer.model.training_log import Compare, Data, Scoring
from training.data import BeatSet, load_dataset_file
from training.engine import Logger, TrainConfig, fit, predict
from training.finish import finish_model
from training.metrics import Counts, count
from training.replay import carry_replay, load_replay
from training.splits import MIN_HELD_OUT_APCS, split_by_record

# Fine-tuning's epoch cap unless the settings name another: it is meant to end by early stopping
# on the held-out reviewed beats or by the reviewer's time budget, not by a count made for DS1.
RETRAIN_MAX_EPOCHS = 20
# Above this share of APCs among the reviewed beats the record's median beat is an APC.
MAX_RELATIVE_APC_SHARE = 0.5


def verdict(before: Counts, after: Counts) -> str:
    """Whether the retrained model should replace its base, judged on the same held-out reviewed beats."""
    held_out_apcs = before.tp + before.fn
    if held_out_apcs < MIN_HELD_OUT_APCS:
        return f"undecided: {held_out_apcs} held-out APCs, {MIN_HELD_OUT_APCS} needed to judge"
    if after.f1 > before.f1:
        return "better"
    return "not better: keep the current model"


def retrained_scoring(base: ModelCard, apc_share: float) -> tuple[bool, float, float | None]:
    """(record_relative, threshold, raw_threshold) of a model retrained from ``base`` on reviewed
    beats of which ``apc_share`` are APCs: the base's scoring and thresholds, unless centring on the
    median beat would centre on an APC."""
    if base.network.get("record_relative") and apc_share > MAX_RELATIVE_APC_SHARE:
        return False, base.raw_threshold, None
    return bool(base.network.get("record_relative")), base.threshold, base.raw_threshold


@dataclass
class RetrainConfig:
    """Fine-tune ``base`` (None: the registry's active model) on the reviewed beats of ``stores`` and the
    labelled beats of ``datasets`` into ``out``."""

    out: Path
    stores: list[Path] = field(default_factory=list)
    datasets: list[Path] = field(default_factory=list)
    base: Path | None = None
    log: Path | None = None
    # The variant is the base model's, whatever this says.
    train: TrainConfig = field(default_factory=lambda: TrainConfig(stage2_epochs=RETRAIN_MAX_EPOCHS))


@dataclass
class RetrainResult:
    """The new model's card, base and new model on the same held-out reviewed beats, and the verdict."""

    card: dict
    before: Counts
    after: Counts
    verdict: str


def load_reviewed(stores: list[Path], datasets: list[Path], scratch: Path) -> tuple[BeatSet, dict]:
    """Reviewed beats of every source, and how many each gave."""
    parts, counts = [], {}
    for index, path in enumerate(stores):
        with AnnotationStore.open(path, "r") as store:
            counts[str(path)] = asdict(count_reviewed(store))
            dataset = scratch / f"store{index}.h5"
            export_dataset(store, dataset, reviewed_only=True)
        parts.append(load_dataset_file(dataset))
    for path in datasets:
        parts.append(load_dataset_file(path))
        counts[str(path)] = {"beats": len(parts[-1]), "apcs": int(parts[-1].label.sum())}
    if not parts:
        raise DanetError("retrain needs at least one --store or --dataset")
    beats = BeatSet.concatenate(parts)
    if len(beats) < MIN_REVIEWED_BEATS or beats.label.sum() < MIN_REVIEWED_APCS:
        raise DanetError(
            f"too few reviewed beats to retrain: {len(beats)} beats with {int(beats.label.sum())} APCs "
            f"(need {MIN_REVIEWED_BEATS} beats and {MIN_REVIEWED_APCS} APCs)"
        )
    return beats, counts


def retrain(config: RetrainConfig) -> RetrainResult:
    """Fine-tune, save the new model with its card into ``config.out``, and judge it against its base."""
    base_folder = config.base or ModelRegistry().active_folder()
    base = BeatModel(base_folder)
    replay = load_replay(base_folder, base.card)
    settings = replace(config.train, variant=base.network.config.variant)
    log = Logger(config.log)
    try:
        with tempfile.TemporaryDirectory() as scratch:
            beats, counts = load_reviewed(config.stores, config.datasets, Path(scratch))
        train, val, chosen = split_by_record(beats, None)
        old = count(val.label, predict(base.network, val.inputs, records=val.record) >= base.threshold)
        log(Data(sources=counts, train_beats=len(train), val_beats=len(val), validation=chosen,
                 replay_beats=len(replay) if replay is not None else 0))
        started = time.monotonic()
        model = fit(train, val, settings, log, start=base.network, fine_tune=True, replay=replay)
        # The base's second pass was fitted to the base network's scores, which fine-tuning moves: the
        # retrained model is scored by its network alone, at the card's network thresholds. Nor does it keep the
        # base's record rule: its network has learnt this patient from the reviewer's own labels, which the rule's
        # calls, made without them, would overrule.
        model.second_pass = None
        apc_share = float(beats.label.mean())
        record_relative, threshold, raw_threshold = retrained_scoring(base.card, apc_share)
        if record_relative != model.config.record_relative:
            model.config = replace(model.config, record_relative=record_relative)
            log(Scoring(record_relative=record_relative, apc_share=round(apc_share, 3)))
        config.out.mkdir(parents=True, exist_ok=True)
        description = {"source": "reviewed labels", "sources": counts, "train_records": sorted(set(train.record)),
                       "validation_records": chosen,
                       "replay": carry_replay(base_folder, base.card, config.out)}
        card = finish_model(model, settings, train, val, description, f"{base.card.name}-retrained", config.out,
                            time.monotonic() - started, log, base_card=base.card, threshold=threshold,
                            raw_threshold=raw_threshold)
        held_out = card["metrics"]["validation"]
        new = Counts(*(held_out[k] for k in ("tp", "fn", "fp", "tn")))
        decision = verdict(old, new)
        log(Compare(verdict=decision, held_out_apcs=int(val.label.sum()),
                    before_se=old.sensitivity, before_ppv=old.positive_predictivity, before_f1=old.f1,
                    after_se=new.sensitivity, after_ppv=new.positive_predictivity, after_f1=new.f1))
    finally:
        log.close()
    return RetrainResult(card, old, new, decision)
