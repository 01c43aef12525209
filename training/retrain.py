"""Retraining on reviewers' labels: fine-tune a base model on the reviewed beats of stores and datasets.

Validation is by record, or by interleaved blocks of consecutive beats when
there are fewer than three records, never by shuffled beats of the same minute.
The new model's card records its base, its sources, the old-versus-new figures
on the same held-out reviewed beats, and a verdict: a retrained model is
recommended only when it beats its base there, on enough held-out APCs to tell.

A retrained model keeps its base's operating threshold. The F1-optimal threshold follows
the share of APCs where it is chosen, and one patient's share (four beats in five in
mitdb 232) is not the population's the base's threshold was chosen for (DS1 validation
records): placed on 232's held-out beats, it fell to 0.17 and the model flagged
thousands of normal beats in other patients.

A record-relative base (scores centred on each record's median beat) is retrained into a
model that scores raw, at the base's raw threshold, when most of the reviewed beats are
APCs: centring assumes the median beat is a normal one, and in such a patient (mitdb 232)
it would centre on an APC and erase exactly what the reviewer taught.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from danet_viewer.core.export import export_dataset
from danet_viewer.core.store import AnnotationStore
from danet_viewer.errors import DanetError
from danet_viewer.model.card import ModelCard
from danet_viewer.model.inference import BeatModel
from danet_viewer.model.registry import MIN_REVIEWED_APCS, MIN_REVIEWED_BEATS, ModelRegistry
from training.data import BeatSet, load_dataset_file
from training.cli import MIN_HELD_OUT_APCS, _finish_model, _train_config, split_by_record
from training.engine import Logger, fit, predict
from training.metrics import Counts, count
from training.replay import carry_replay, load_replay

# Fine-tuning's epoch cap unless --stage2-epochs says otherwise: it is meant to end by early stopping
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


def load_reviewed(stores: list[Path], datasets: list[Path], scratch: Path) -> tuple[BeatSet, dict]:
    """Reviewed beats of every source, and how many each gave."""
    parts, counts = [], {}
    for index, path in enumerate(stores):
        with AnnotationStore.open(path, "r") as store:
            dataset = scratch / f"store{index}.h5"
            export_dataset(store, dataset, reviewed_only=True)
        parts.append(load_dataset_file(dataset))
        counts[str(path)] = {"beats": len(parts[-1]), "apcs": int(parts[-1].label.sum())}
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


def retrain_config(args: argparse.Namespace, variant: str):
    """The command line's training settings, with fine-tuning's own epoch cap unless it names one."""
    config = _train_config(args, variant=variant)
    return config if args.stage2_epochs is not None else replace(config, stage2_epochs=RETRAIN_MAX_EPOCHS)


def retrain(args: argparse.Namespace) -> int:
    base_folder = args.base or ModelRegistry().active_folder()
    base = BeatModel(base_folder)
    replay = load_replay(base_folder, base.card)
    config = retrain_config(args, base.network.config.variant)
    log = Logger(args.log)
    try:
        with tempfile.TemporaryDirectory() as scratch:
            beats, counts = load_reviewed(args.store, args.dataset, Path(scratch))
        train, val, chosen = split_by_record(beats, None)
        old = count(val.label, predict(base.network, val.inputs, records=val.record) >= base.threshold)
        log("data", sources=counts, train_beats=len(train), val_beats=len(val), validation=chosen,
            replay_beats=len(replay) if replay is not None else 0)  # fmt: skip
        started = time.monotonic()
        model = fit(train, val, config, log, start=base.network, fine_tune=True, replay=replay)
        apc_share = float(beats.label.mean())
        record_relative, threshold, raw_threshold = retrained_scoring(base.card, apc_share)
        if record_relative != model.config.record_relative:
            model.config = replace(model.config, record_relative=record_relative)
            log("scoring", record_relative=record_relative, apc_share=round(apc_share, 3))
        args.out.mkdir(parents=True, exist_ok=True)
        description = {"source": "reviewed labels", "sources": counts, "train_records": sorted(set(train.record)),
                       "validation_records": chosen, "replay": carry_replay(base_folder, base.card, args.out)}  # fmt: skip
        card = _finish_model(model, config, train, val, description, f"{base.card.name}-retrained", args.out,
                             time.monotonic() - started, log, base_card=base.card, threshold=threshold,
                             raw_threshold=raw_threshold)  # fmt: skip
        held_out = card["metrics"]["validation"]
        new = Counts(*(held_out[k] for k in ("tp", "fn", "fp", "tn")))
        decision = verdict(old, new)
        card_metrics = {"before": old.as_dict(), "after": new.as_dict()}
        log("compare", verdict=decision, held_out_apcs=int(val.label.sum()),
            **{f"{k}_{m}": v[m] for k, v in card_metrics.items() for m in ("se", "ppv", "f1")})  # fmt: skip
        print(f"held-out reviewed beats: F1 {old.f1:.3f} (base) -> {new.f1:.3f} (retrained), {decision}; "
              f"model in {args.out}")  # fmt: skip
    finally:
        log.close()
    return 0
