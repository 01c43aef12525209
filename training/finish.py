"""A trained model's thresholds and validation figures, and its folder: weights with the model card."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path

from danet_viewer.core.store import utc_now
from danet_viewer.model.card import ModelCard, load_model, save_model, write_card
from danet_viewer.model.network import DANet
from danet_viewer.model.training_log import Saved
from training.data import BeatSet
from training.engine import TrainConfig, predict
from training.metrics import average_precision, choose_threshold, count
from training.splits import MIN_HELD_OUT_APCS, mitdb_split


def validation_figures(
    model: DANet, val: BeatSet, device: str, threshold: float | None = None, raw_threshold: float | None = None,
    rule: str = "f1",
) -> tuple[float, float | None, dict]:
    """(threshold, raw_threshold, the card's validation metrics) of ``model`` on ``val``: a threshold not
    given is chosen there by ``rule`` (metrics.THRESHOLD_RULES), and a record-relative model's raw
    threshold too."""

    def chosen(scores):
        if rule == "f1" and val.label.sum() < MIN_HELD_OUT_APCS:
            return 0.5
        return choose_threshold(val.label, scores, rule)

    scores = predict(model, val.inputs, device, val.record)
    threshold = chosen(scores) if threshold is None else threshold
    if model.config.record_relative and raw_threshold is None:
        raw_threshold = chosen(predict(model, val.inputs, device, raw=True))
    metrics = {**count(val.label, scores >= threshold).as_dict(), "beats": len(val), "apcs": int(val.label.sum()),
               "average_precision": average_precision(val.label, scores), "threshold_rule": rule}
    return threshold, raw_threshold if model.config.record_relative else None, metrics


def finish_model(model: DANet, config: TrainConfig, train: BeatSet, val: BeatSet, description: dict, name: str,
                 out: Path, seconds: float, log: Callable, base_card: ModelCard | None = None,
                 threshold: float | None = None, raw_threshold: float | None = None) -> dict:
    """Save the model with its card (returned as a dict); ``threshold`` (and a record-relative model's
    ``raw_threshold``), when given, are kept instead of chosen on ``val``."""
    threshold, raw_threshold, validation = validation_figures(model, val, config.device, threshold, raw_threshold)
    card = ModelCard(
        name=name,
        network={},
        threshold=threshold,
        raw_threshold=raw_threshold,
        training={**description, "variant": model.config.variant, "config": asdict(config),
                  "train_beats": len(train), "train_apcs": int(train.label.sum()), "seconds": round(seconds, 1),
                  "base_model": base_card.model_id if base_card else None},
        metrics={"validation": validation},
        created_at=utc_now(),
    )
    card = save_model(model, card, out)
    log(Saved(folder=str(out), model_id=card.model_id, threshold=threshold, val_f1=validation["f1"]))
    return asdict(card)


def calibrate(folder: Path, record_relative: bool, reference: str, rule: str, name: str | None,
              cache: Path) -> ModelCard:
    """Rewrite a model's card (its weights kept) with a scoring (record-relative or not, against ``reference``)
    and the thresholds ``rule`` chooses for it on mitdb DS1's validation records; ``name``, a new name for it."""
    model, card = load_model(folder)
    val = mitdb_split(cache).val
    model.config = replace(model.config, record_relative=record_relative, record_reference=reference)
    card.threshold, card.raw_threshold, card.metrics["validation"] = validation_figures(model, val, "cpu", rule=rule)
    card.network, card.name = model.config.to_dict(), name or card.name
    write_card(card, folder)
    return card
