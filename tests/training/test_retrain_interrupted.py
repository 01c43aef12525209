"""Retraining killed at any point leaves the active model and the registry as they were.

``danet-train retrain`` is SIGKILLed while it saves the new model (the retrain
dialog's own test cancels it while it trains); the registry's own steps (add,
activate, roll back, delete) are killed at random instants many times over.
After every kill the registry reads, its active model loads, and every model
it lists loads.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from danet_viewer.errors import DanetError
from danet_viewer.model.card import load_model
from danet_viewer.model.registry import ModelRegistry
from tests.conftest import REPO
from tests.model.test_registry import _trained

TINY_TRAINING = ["--stage1-epochs", "1", "--stage2-epochs", "1", "--negatives-per-epoch", "100",
                 "--synthetic-per-epoch", "16", "--batch-size", "64"]
START_TIMEOUT_S = 120  # the 2-core box may be busy


def _snapshot(registry: ModelRegistry) -> tuple:
    """What must not change: the active model, its history, every model and its card."""
    return (registry.active_id(), registry._state()["history"],
            [(m.model_id, m.card.weights_sha256) for m in registry.models()])


@pytest.fixture
def registry(tmp_path, monkeypatch):
    monkeypatch.setenv("DANET_REVIEW_DATA", str(tmp_path / "registry"))
    registry = ModelRegistry()
    registry.activate(registry.add(_trained(tmp_path / "first", 1)))
    return registry


def _start_retraining(registry, store, out, log, options):
    command = [sys.executable, "-m", "training", "retrain", "--store", str(store), "--out", str(out),
               "--log", str(log), *options]
    return subprocess.Popen(command, cwd=REPO, env=os.environ.copy(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def _kill_when(process, ready, what: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while not ready():
        assert process.poll() is None, f"the trainer ended before {what}"
        assert time.monotonic() < deadline, f"no {what} within {START_TIMEOUT_S} s"
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)
    process.wait()


@pytest.mark.slow
def test_retraining_killed_while_saving_the_new_model_changes_nothing(registry, reviewed_store, tmp_path):
    before = _snapshot(registry)
    out, log = registry.root / "retraining" / "run", tmp_path / "run.jsonl"
    trainer = _start_retraining(registry, reviewed_store, out, log, TINY_TRAINING)
    _kill_when(trainer, lambda: out.exists() and any(out.iterdir()), "model file")  # its first file: mid-save
    assert _snapshot(registry) == before
    load_model(registry.active_folder())
    if not (out / "model.json").exists():
        with pytest.raises(DanetError, match="not a model folder"):
            registry.add(out)  # a half-written model can never be registered
    assert _snapshot(registry) == before


# One interpreter that forks a registry writer per round (so a round costs milliseconds, not an import of
# torch), kills it at a random instant, and checks the registry; prints the tallies as JSON.
REGISTRY_KILLER = textwrap.dedent("""
    import json, os, random, signal, sys, time
    from pathlib import Path
    import torch
    torch.set_num_threads(1)  # no thread pool for the forked writers to inherit
    from danet_viewer.model.card import load_model
    from danet_viewer.model.registry import ModelRegistry
    from tests.model.test_registry import _trained

    root, rounds = Path(sys.argv[1]), int(sys.argv[2])
    sources = [_trained(root.parent / f"source{seed}", seed) for seed in (11, 12, 13)]
    rng = random.Random(5)
    problems, kills, listed = [], 0, 0
    for round_number in range(rounds):
        pid = os.fork()
        if pid == 0:
            registry = ModelRegistry(root)
            while True:
                model_id = registry.add(rng.choice(sources))
                registry.activate(model_id)
                if rng.random() < 0.5:
                    registry.rollback()
                for model in registry.models():
                    if not model.active and model.model_id != "bundled" and rng.random() < 0.5:
                        registry.delete(model.model_id)
        time.sleep(rng.uniform(0, 0.15))
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        kills += 1
        try:
            registry = ModelRegistry(root)
            load_model(registry.active_folder())
            for model in registry.models():
                load_model(model.folder)
                listed += 1
        except Exception as error:
            problems.append(f"round {round_number}: {type(error).__name__}: {error}")
    print(json.dumps({"kills": kills, "models_checked": listed, "problems": problems}))
""")


@pytest.mark.slow
def test_registry_steps_killed_at_random_instants_leave_a_loadable_registry(tmp_path):
    done = subprocess.run([sys.executable, "-c", REGISTRY_KILLER, str(tmp_path / "registry"), "20"], cwd=REPO,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.splitlines()[-1])
    assert result["kills"] == 20 and result["models_checked"] > 20
    assert not result["problems"], result["problems"][:5]
