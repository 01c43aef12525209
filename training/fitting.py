"""``fit`` and ``pretrain`` as Python calls: a variant trained on mitdb DS1, on the 74 training patients (DS1 +
svdb) or on exported datasets into a model folder, and the soft WEM's self-supervised pre-training. The command
line only parses into these configs."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from danet_viewer.core.atomic import atomic_output
from danet_viewer.model.network import DANet
from training.engine import Logger, TrainConfig, distributed_from_environment, fit, pretrain_wem, rank, seed_everything
from training.finish import finish_model
from training.replay import sample_replay, save_replay
from training.splits import dataset_split, mitdb_split, pooled_split, training_records

DEFAULT_CACHE = Path(".cache/prepared")


def scored_as(model: DANet, scoring: str) -> DANet:
    """``model`` scoring raw, or record-relative against the reference ``scoring`` names
    (``network.RECORD_REFERENCES``), as ``danet-train calibrate`` sets it."""
    relative = scoring != "raw"
    model.config = replace(model.config, record_relative=relative, record_reference=scoring if relative else "all")
    return model


@dataclass
class FitConfig:
    """One model trained into ``out``: on ``training_set`` (``splits.TRAINING_SETS``: mitdb DS1 with its validation
    records held out, or DS1 + svdb with a record-wise fold held out), or on ``datasets`` (validated on
    ``val_records``, else as ``splits.split_by_record`` chooses). ``scoring`` (raw, or a record reference) is set
    before the thresholds are chosen on the validation records, as ``calibrate`` would set it afterwards."""

    out: Path
    train: TrainConfig = field(default_factory=TrainConfig)  # its variant is the model's
    datasets: list[Path] = field(default_factory=list)
    val_records: list[str] | None = None
    pretrained: Path | None = None  # a folder of `pretrain`'s soft WEM to start from
    cache: Path = DEFAULT_CACHE
    log: Path | None = None
    name: str = "danet"  # the model's name in its card
    training_set: str = "ds1"
    scoring: str | None = None  # None: as the training settings score (raw unless record_relative)


@dataclass
class PretrainConfig:
    out: Path
    train: TrainConfig = field(default_factory=lambda: TrainConfig(variant="soft"))
    cache: Path = DEFAULT_CACHE
    log: Path | None = None


def fit_model(config: FitConfig) -> dict | None:
    """Train and save the model (weights, card, and for a mitdb model its replay sample); its card as a dict,
    None on a ``torchrun`` rank other than 0, which writes nothing."""
    distributed = distributed_from_environment()
    settings = config.train
    torch.set_num_threads(max(1, torch.get_num_threads() // (2 if distributed else 1)))
    log = Logger(config.log if rank() == 0 else None, quiet=rank() != 0)
    try:
        if config.datasets:
            train, val, unlabelled, description = dataset_split(config.datasets, config.val_records)
        elif config.training_set == "ds1":
            train, val, unlabelled, description = mitdb_split(config.cache)
        else:
            train, val, unlabelled, description = pooled_split(training_records(config.training_set), config.cache)
        start = _with_pretrained_wem(config.pretrained, settings) if config.pretrained else None
        started = time.monotonic()
        model = fit(train, val, settings, log, unlabelled=unlabelled.inputs, start=start,
                    checkpoint=_checkpoint_writer(config.out))
        if rank() != 0:
            return None
        if config.scoring is not None:
            scored_as(model, config.scoring)
        if not config.datasets:  # a mitdb model ships a sample of its training beats for fine-tuning
            config.out.mkdir(parents=True, exist_ok=True)
            description["replay"] = save_replay(sample_replay(train, settings.seed), config.out)
        return finish_model(model, settings, train, val, description, config.name, config.out,
                            time.monotonic() - started, log)
    finally:
        log.close()
        if distributed and sys.exc_info()[0] is None:
            # The ranks leave the group together: a rank that tore its group down while rank 0 still wrote the
            # model aborted at exit now and then under load ("terminate called without an active exception"), and
            # torchrun reported a finished run as failed. After an error the group is left as it is: another rank
            # may be inside a collective, where tearing it down can hang, and the failed run ends anyway.
            torch.distributed.barrier()
            torch.distributed.destroy_process_group()


def pretrain(config: PretrainConfig) -> Path:
    """Pre-train a soft WEM on DS1's unlabelled beats; returns the ``wem.safetensors`` it wrote."""
    settings = config.train
    log = Logger(config.log)
    try:
        unlabelled = mitdb_split(config.cache).unlabelled
        model = DANet(settings.network_config())
        pretrain_wem(model, unlabelled.inputs, settings, log, seed_everything(settings.seed))
        config.out.mkdir(parents=True, exist_ok=True)
        weights = config.out / "wem.safetensors"
        save_file({k: v.contiguous() for k, v in model.wem.state_dict().items()}, str(weights))
    finally:
        log.close()
    return weights


def _checkpoint_writer(folder: Path) -> Callable[[DANet], None]:
    """Saves the best weights so far as ``checkpoint.safetensors``: a killed run keeps its progress."""

    def write(model: DANet) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        with atomic_output(folder / "checkpoint.safetensors") as temporary:
            save_file({k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}, str(temporary))

    return write


def _with_pretrained_wem(folder: Path, settings: TrainConfig) -> DANet:
    model = DANet(settings.network_config(variant="soft"))
    model.wem.load_state_dict(load_file(str(folder / "wem.safetensors")))
    return model
