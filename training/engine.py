"""Training loops: soft-WEM pre-training, stage 1 (WEM frozen), stage 2 (joint, rule prior), early stopping.

Works on one process or under ``torchrun`` (DistributedDataParallel, gloo on CPU
or nccl on GPU): each process takes its share of every epoch's shuffled beats,
gradients are averaged, and rank 0 alone validates, logs and writes files.
"""

from __future__ import annotations

import copy
import math
import os
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch import nn

from danet_viewer.core.features import MODEL_RR_FEATURES
from danet_viewer.model.inference import batch_tensors, record_median_logits, reference_beats, score_beats
from danet_viewer.model.network import DANet, NetworkConfig
from danet_viewer.model.training_log import Epoch, PretrainEpoch, StageDone, Start, TrainingEvent
from training.data import BeatSet
from training.metrics import average_precision
from training.synthetic import FREQUENT_SHARE, donor_rows, sinus_among_frequent_apcs, synthesize_apcs


@dataclass
class TrainConfig:
    variant: str = "soft"
    seed: int = 0
    batch_size: int = 256
    pretrain_epochs: int = 2
    pretrain_beats: int = 20_000
    stage1_epochs: int = 8
    stage2_epochs: int = 3
    learning_rate: float = 2e-3
    stage2_learning_rate: float = 3e-4
    weight_decay: float = 1e-3
    prior_weight: float = 0.5  # λ: how strongly stage 2 keeps w near the rule's regions
    negatives_per_epoch: int = 12_000  # normals are plentiful: a fresh random share each epoch
    synthetic_per_epoch: int = 3_000  # rule-guided synthetic APCs added each epoch
    positive_weight: float = 2.0  # on top of the per-epoch resampling
    patience: int = 3
    # A stage trained on a one-cycle schedule runs at least this many epochs (at most its planned ones) before
    # early stopping may stop it, and keeps no weights from an earlier epoch: before then the rate is still
    # warming up, and the validation AP of a few records can peak there by chance (docs/model.md, session 12).
    # 0: any epoch may be kept, as the shipped default was trained.
    min_epochs: int = 0
    max_seconds: float | None = None
    device: str = "cpu"
    # p(APC) vetoed below this rhythm regularity (NetworkConfig.rhythm_veto); off: docs/model.md, "Rhythm veto".
    rhythm_veto: float = 0.0
    # Times each fine-tuning epoch takes in the whole replay sample (replay.py); 1: docs/model.md, "Retraining".
    replay_repeats: int = 1
    # The network's rhythm inputs (features.RR_INPUTS names), comma-separated as on the command line.
    rr_features: str = ",".join(MODEL_RR_FEATURES)
    # Train as it will score: the loss sees each beat's logit less its record's median logit
    # (recomputed every epoch), and the model scores record-relative (NetworkConfig.record_relative).
    record_relative: bool = False
    # Add, beside the synthetic APCs set among frequent APCs, as many real sinus beats given that
    # same context (synthetic.sinus_among_frequent_apcs), so that context alone decides nothing.
    frequent_sinus: bool = False

    def network_config(self, variant: str | None = None) -> NetworkConfig:
        return NetworkConfig(variant=variant or self.variant, rhythm_veto=self.rhythm_veto,
                             rr_features=tuple(self.rr_features.split(",")),
                             record_relative=self.record_relative)


class Logger:
    """Typed events (``danet_viewer.model.training_log``) as JSON lines on a file, for the GUI to follow,
    and as lines on stderr."""

    def __init__(self, path: str | Path | None, quiet: bool = False) -> None:
        if path:  # a log beside outputs that do not exist yet
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.file = open(path, "a", buffering=1) if path else None  # noqa: SIM115 - closed by close()
        self.quiet = quiet

    def __call__(self, event: TrainingEvent) -> None:
        if self.file:
            self.file.write(event.to_json(time.time()) + "\n")
        if not self.quiet:
            values = event.values()
            text = " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in values.items())
            print(f"[{event.name}] {text}".ljust(100), file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.file:
            self.file.close()


def rank() -> int:
    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0


def world_size() -> int:
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def seed_everything(seed: int) -> np.random.Generator:
    torch.manual_seed(seed)
    np.random.seed(seed)
    return np.random.default_rng(seed)


def predict(model: DANet, inputs, device: str = "cpu", records: np.ndarray | None = None,
            raw: bool = False) -> np.ndarray:
    """p(APC) for every beat of a ``BeatInputs`` (of ``records``; None: one record): the viewer's scoring
    path; ``raw``: not record-relative."""
    return score_beats(model, inputs, device=device, records=records, raw=raw).p_apc


def _epoch_rows(train: BeatSet, config: TrainConfig, rng: np.random.Generator) -> np.ndarray:
    """This epoch's beats: every positive and a fresh random share of the negatives."""
    positives = np.flatnonzero(train.label == 1)
    negatives = np.flatnonzero(train.label == 0)
    take = min(len(negatives), config.negatives_per_epoch)
    return rng.permutation(np.concatenate([positives, rng.choice(negatives, take, replace=False)]))


def _shard(rows: np.ndarray) -> np.ndarray:
    """This process's share of an epoch (equal lengths on every rank so DDP steps stay in lockstep)."""
    per_rank = len(rows) // world_size()
    return rows[rank() * per_rank : (rank() + 1) * per_rank]


def _wrap(model: nn.Module) -> nn.Module:
    if world_size() > 1:
        return nn.parallel.DistributedDataParallel(model, find_unused_parameters=True)
    return model


def pretrain_wem(model: DANet, unlabelled, config: TrainConfig, log: Callable, rng: np.random.Generator) -> None:
    """Self-supervised: the soft WEM learns to find the delineated P, QRS, T regions (no human labels).

    Both heads learn from the delineator alone: the region head predicts the wave
    map, and the weight head w(t) the rule's weights over it, so stage 1 (WEM
    frozen) starts from a learned rule-shaped attention, not from an untrained head.
    """
    wem = model.wem
    optimiser = torch.optim.AdamW(wem.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay)
    loss_fn = nn.BCEWithLogitsLoss()
    for epoch in range(config.pretrain_epochs):
        wem.train()
        rows = _shard(rng.permutation(len(unlabelled.windows))[: config.pretrain_beats])
        total, batches = 0.0, 0
        for start in range(0, len(rows), config.batch_size):
            x, _, masks = batch_tensors(
                unlabelled, rows[start : start + config.batch_size], config.device, model.config.rr_features
            )
            loss = loss_fn(wem.region_logits(x), masks) + nn.functional.mse_loss(wem(x), model.rule_prior(masks))
            optimiser.zero_grad()
            loss.backward()
            if world_size() > 1:  # region_logits bypasses DDP's forward, so average by hand
                _average_gradients(wem)
            optimiser.step()
            total, batches = total + loss.item(), batches + 1
        log(PretrainEpoch(epoch=epoch + 1, loss=total / max(1, batches)))


def _average_gradients(module: nn.Module) -> None:
    for parameter in module.parameters():
        if parameter.grad is not None:
            dist.all_reduce(parameter.grad)
            parameter.grad /= world_size()


def _validation_score(model: DANet, val: BeatSet, config: TrainConfig) -> float:
    """Average precision on the validation beats, computed on rank 0 and shared with every rank."""
    score = average_precision(val.label, predict(model, val.inputs, config.device, val.record)) if rank() == 0 else 0.0
    if world_size() > 1:
        shared = torch.tensor([score])
        dist.broadcast(shared, 0)
        score = float(shared)
    return score


# Synthetic APCs are at most this share of an epoch's real beats (why: docs/model.md, "Retraining").
SYNTHETIC_MAX_SHARE = 0.25


def _synthetic_count(epoch_beats: int, config: TrainConfig) -> int:
    return min(config.synthetic_per_epoch, round(SYNTHETIC_MAX_SHARE * epoch_beats))


def _batches(inputs, labels: np.ndarray, offsets: np.ndarray, rows: np.ndarray, batch_size: int) -> list[tuple]:
    """``rows`` of one beat source cut into batches of (inputs, labels, logit offsets, batch rows)."""
    return [(inputs, labels, offsets, rows[s : s + batch_size]) for s in range(0, len(rows), batch_size)]


def _run_stage(
    model: DANet, train: BeatSet, val: BeatSet, config: TrainConfig, log: Callable, rng: np.random.Generator,
    *, stage: int, epochs: int, learning_rate: float, deadline: float | None,
    checkpoint: Callable[[DANet], None] | None = None, one_cycle: bool = True, replay: BeatSet | None = None,
    centre: bool = False,
) -> float:
    """One supervised stage with early stopping on validation average precision; keeps the best weights.

    ``one_cycle`` warms the rate up and anneals it over the planned epochs; without it the rate is
    constant, for a stage meant to end by early stopping or a deadline rather than by its epoch count.
    ``replay`` beats (training/replay.py) join every epoch, all of them, ``config.replay_repeats`` times.
    ``centre``: the loss takes each training beat's logit (a synthetic APC's: its donor's) less its
    record's median logit, as record-relative scoring will.
    """
    # ``rng`` is seeded alike on every rank so the epoch's beats split exactly between ranks;
    # synthetic APCs differ per rank.
    local_rng = np.random.default_rng([config.seed, rank(), stage])
    freeze_wem = stage == 1 and isinstance(model.wem, nn.Module) and any(True for _ in model.wem.parameters())
    if freeze_wem:
        for parameter in model.wem.parameters():
            parameter.requires_grad_(False)
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimiser = torch.optim.AdamW(trainable, lr=learning_rate, weight_decay=config.weight_decay)
    epoch_beats = int(train.label.sum()) + min(int(np.sum(train.label == 0)), config.negatives_per_epoch)
    synthetic_count = _synthetic_count(epoch_beats, config) // world_size()
    sinus_count = round(FREQUENT_SHARE * synthetic_count) if config.frequent_sinus else 0
    steps_per_epoch = (math.ceil(epoch_beats // world_size() / config.batch_size)
                       + math.ceil(synthetic_count / config.batch_size) + math.ceil(sinus_count / config.batch_size))
    scheduler = (torch.optim.lr_scheduler.OneCycleLR(optimiser, learning_rate, total_steps=epochs * steps_per_epoch + 1)
                 if one_cycle else None)
    wrapped = _wrap(model)
    donors = donor_rows(train.inputs, train.label)
    # The incoming weights are the score to beat: a stage (or a fine-tune) that only makes
    # validation worse hands back the model it started from.
    best_score, best_state, stale = _validation_score(model, val, config), copy.deepcopy(model.state_dict()), 0
    # A constant-rate stage (a fine-tune) has no warm-up: any of its epochs may be kept.
    first_kept = min(config.min_epochs, epochs) if one_cycle else 0
    for epoch in range(epochs):
        reference = (record_median_logits(predict(model, train.inputs, config.device, raw=True), train.record,
                                          reference_beats(model.config, train.inputs))
                     if centre else np.zeros(len(train)))
        model.train()
        if freeze_wem:
            model.wem.eval()  # frozen means its batch-norm statistics stay too
        rows = _shard(_epoch_rows(train, config, rng))
        donor_choice = local_rng.choice(donors, synthetic_count)
        synthetic = synthesize_apcs(train.inputs, donor_choice, local_rng)
        batches = _batches(train.inputs, train.label, reference, rows, config.batch_size)
        batches += _batches(synthetic, np.ones(synthetic_count, np.int8), reference[donor_choice],
                            np.arange(synthetic_count), config.batch_size)
        if config.frequent_sinus:
            sinus_choice = local_rng.choice(donors, sinus_count)
            sinus = sinus_among_frequent_apcs(train.inputs, sinus_choice, local_rng)
            batches += _batches(sinus, np.zeros(sinus_count, np.int8), reference[sinus_choice],
                                np.arange(sinus_count), config.batch_size)
        if replay is not None:
            replay_rows = np.tile(np.arange(len(replay)), config.replay_repeats)
            # Once through stays in file order, as measured (docs/model.md, "Retraining").
            replay_rows = local_rng.permutation(replay_rows) if config.replay_repeats > 1 else replay_rows
            batches += _batches(replay.inputs, replay.label, np.zeros(len(replay)), replay_rows, config.batch_size)
        order = local_rng.permutation(len(batches))
        total = 0.0
        for index in order:
            inputs, labels, offsets, batch = batches[index]
            x, rr, masks = batch_tensors(inputs, batch, config.device, model.config.rr_features)
            target = torch.from_numpy(labels[batch].astype(np.float32)).to(config.device)
            logits, weights, _ = wrapped(x, rr, masks)
            logits = logits - torch.from_numpy(offsets[batch].astype(np.float32)).to(config.device)
            loss = nn.functional.binary_cross_entropy_with_logits(
                logits, target, pos_weight=torch.tensor(config.positive_weight, device=config.device)
            )
            if stage == 2 and model.config.variant == "soft":
                loss = loss + config.prior_weight * nn.functional.mse_loss(weights, model.rule_prior(masks))
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            if scheduler is not None:
                scheduler.step()
            total += loss.item()
        score = _validation_score(model, val, config)
        log(Epoch(stage=stage, epoch=epoch + 1, loss=total / max(1, len(order)), val_ap=score))
        if epoch + 1 < first_kept:
            pass  # still warming up: neither kept nor counted against patience
        elif score > best_score:
            best_score, best_state, stale = score, copy.deepcopy(model.state_dict()), 0
            if checkpoint is not None and rank() == 0:
                checkpoint(model)
        else:
            stale += 1
        if stale >= config.patience or (deadline is not None and time.monotonic() > deadline):
            break
    model.load_state_dict(best_state)
    if freeze_wem:
        for parameter in model.wem.parameters():
            parameter.requires_grad_(True)
    return best_score


def fit(
    train: BeatSet, val: BeatSet, config: TrainConfig, log: Callable, *, unlabelled=None,
    start: DANet | None = None, fine_tune: bool = False, checkpoint: Callable[[DANet], None] | None = None,
    replay: BeatSet | None = None,
) -> DANet:
    """Train a DANet variant and return it with its best validation weights.

    From scratch: soft-WEM pre-training (soft variant, unless ``start`` brings a
    pre-trained WEM), stage 1 with the WEM frozen, then stage 2 jointly with the
    rule prior (soft). ``fine_tune`` (retraining from a base ``start``) runs one
    joint stage at the lower, constant rate until validation stops improving,
    the deadline, or ``stage2_epochs``, mixing in beats of ``replay`` (the base model's
    training sample) so the reviewed patient does not become the rule for everyone.
    """
    rng = seed_everything(config.seed)  # identical initial weights and epoch splits on every rank
    deadline = time.monotonic() + config.max_seconds if config.max_seconds else None
    model = copy.deepcopy(start) if start is not None else DANet(config.network_config())
    model.to(config.device)
    log(Start(settings={k: v for k, v in asdict(config).items() if v is not None}, train_beats=len(train),
              train_apcs=int(train.label.sum()), val_beats=len(val), val_apcs=int(val.label.sum()),
              replay_beats=len(replay) if replay is not None else 0,
              parameters=sum(p.numel() for p in model.parameters())))
    soft = model.config.variant == "soft"
    if soft and start is None:
        pretrain_wem(model, unlabelled if unlabelled is not None else train.inputs, config, log, rng)
    if fine_tune:
        stages = [(2 if soft else 1, config.stage2_epochs, config.stage2_learning_rate)]
    else:
        stages = [(1, config.stage1_epochs, config.learning_rate)]
        if soft:
            stages.append((2, config.stage2_epochs, config.stage2_learning_rate))
    for stage, epochs, learning_rate in stages:
        best = _run_stage(model, train, val, config, log, rng, stage=stage, epochs=epochs, learning_rate=learning_rate,
                          deadline=deadline, checkpoint=checkpoint, one_cycle=not fine_tune, replay=replay,
                          # A fine-tune's replay beats are capped samples of their records, whose median
                          # is not a normal beat's: fine-tuning keeps the plain loss.
                          centre=model.config.record_relative and not fine_tune)
        log(StageDone(stage=stage, val_ap=best))
    return model.eval()


def distributed_from_environment() -> bool:
    """Join the process group ``torchrun`` describes in the environment; False when run alone."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return False
    backend = "nccl" if torch.cuda.is_available() and os.environ.get("DANET_BACKEND") != "gloo" else "gloo"
    dist.init_process_group(backend)
    return True
