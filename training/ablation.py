"""The ablation: every variant fitted over several seeds on a training set (mitdb DS1, or DS1 + svdb), each
evaluated on DS2."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from training import evaluate, fitting
from training.engine import TrainConfig


@dataclass
class AblationConfig:
    variants: list[str] = field(default_factory=lambda: ["backbone", "hard", "soft"])
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2])
    out: Path = Path("runs/ablation")
    cache: Path = fitting.DEFAULT_CACHE
    training_set: str = "ds1"  # splits.TRAINING_SETS
    scoring: str | None = None  # as fitting.FitConfig: set before the thresholds are chosen
    train: TrainConfig = field(default_factory=TrainConfig)  # settings shared by every run; variant and seed vary


def run_fit_config(config: AblationConfig, variant: str, seed: int) -> fitting.FitConfig:
    """The fit of one run: ``out/VARIANT-sSEED`` with its log beside it, on the ablation's training set and
    settings."""
    run = config.out / f"{variant}-s{seed}"
    name = f"danet-{variant}" if config.training_set == "ds1" else f"danet-{config.training_set}-{variant}"
    return fitting.FitConfig(out=run, train=replace(config.train, variant=variant, seed=seed), cache=config.cache,
                             log=run.with_suffix(".jsonl"), name=name, training_set=config.training_set,
                             scoring=config.scoring)


def ablation(config: AblationConfig) -> Iterator[tuple[str, int, float]]:
    """Fit and evaluate each run not done yet (its ``ds2.json`` missing), yielding (variant, seed, DS2 F1) as
    each run is done."""
    config.out.mkdir(parents=True, exist_ok=True)
    for variant in config.variants:
        for seed in config.seeds:
            run = run_fit_config(config, variant, seed)
            results = run.out / "ds2.json"
            if not results.exists():
                fitting.fit_model(run)
                results.write_text(json.dumps(evaluate.evaluate_model(run.out, "DS2", config.cache), indent=2) + "\n")
            yield variant, seed, json.loads(results.read_text())["all"]["f1"]
