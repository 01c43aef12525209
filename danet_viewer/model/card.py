"""A trained model on disk: ``weights.safetensors`` plus ``model.json``, its card.

Loading never unpickles anything: weights are read with safetensors only, and
only after their sha256 matches the card, so a tampered or swapped file is
refused before a byte of it is used.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from danet_viewer import __version__
from danet_viewer.core.atomic import atomic_output
from danet_viewer.core.conditioning import BAND_HZ, MODEL_FS, WINDOW_BEFORE, WINDOW_LENGTH
from danet_viewer.errors import DanetError
from danet_viewer.model.network import DANet, NetworkConfig

CARD_FILE = "model.json"
WEIGHTS_FILE = "weights.safetensors"
CARD_FORMAT = "danet-model"
CARD_VERSION = 1


class ModelError(DanetError):
    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(f"{path}: {problem}")


@dataclass
class ModelCard:
    """What a model is, how it was made and how well it did; saved as JSON beside the weights."""

    name: str
    network: dict
    threshold: float
    lead: str = "MLII"
    conditioning: dict = field(
        default_factory=lambda: {"model_fs": MODEL_FS, "band_hz": list(BAND_HZ), "window_before": WINDOW_BEFORE,
                                 "window_length": WINDOW_LENGTH}  # fmt: skip
    )
    training: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    code_version: str = __version__
    created_at: str = ""
    weights_sha256: str = ""
    format: str = CARD_FORMAT
    card_version: int = CARD_VERSION

    @property
    def model_id(self) -> str:
        return f"{self.name}@{self.weights_sha256[:12]}"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def save_model(model: DANet, card: ModelCard, folder: Path) -> ModelCard:
    """Write weights and card into ``folder`` (each file whole or not at all); returns the card with its hash."""
    folder.mkdir(parents=True, exist_ok=True)
    state = {key: value.detach().cpu().contiguous() for key, value in model.state_dict().items()}
    with atomic_output(folder / WEIGHTS_FILE) as temporary:
        save_file(state, str(temporary), metadata={"format": CARD_FORMAT})
    card.network = model.config.to_dict()
    card.weights_sha256 = sha256_file(folder / WEIGHTS_FILE)
    with atomic_output(folder / CARD_FILE) as temporary:
        temporary.write_text(json.dumps(asdict(card), indent=2) + "\n")
    return card


def read_card(folder: Path) -> ModelCard:
    path = Path(folder) / CARD_FILE
    if not path.is_file():
        raise ModelError(Path(folder), f"not a model folder (no {CARD_FILE})")
    try:
        values = json.loads(path.read_text())
        card = ModelCard(**values)
    except (ValueError, TypeError) as error:
        raise ModelError(path, f"unreadable model card: {error}") from None
    if card.format != CARD_FORMAT or card.card_version > CARD_VERSION:
        raise ModelError(path, f"not a model card this version reads ({card.format} v{card.card_version})")
    if card.conditioning.get("model_fs") != MODEL_FS or card.conditioning.get("window_length") != WINDOW_LENGTH:
        raise ModelError(path, "the model was trained with a different conditioning than this version's")
    return card


def load_model(folder: str | Path, device: str | torch.device = "cpu") -> tuple[DANet, ModelCard]:
    """The model and its card, in eval mode. Refuses anything but hash-checked safetensors."""
    folder = Path(folder)
    card = read_card(folder)
    weights = folder / WEIGHTS_FILE
    if not weights.is_file():
        raise ModelError(folder, f"missing {WEIGHTS_FILE}")
    if sha256_file(weights) != card.weights_sha256:
        raise ModelError(weights, "weights do not match the sha256 in the model card; refusing to load")
    try:
        state = load_file(str(weights), device=str(device))
    except (SafetensorError, OSError, ValueError) as error:
        raise ModelError(weights, f"not a safetensors file: {error}") from None
    model = DANet(NetworkConfig.from_dict(card.network))
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as error:
        raise ModelError(weights, f"weights do not fit the network in the card: {str(error).splitlines()[0]}") from None
    return model.to(device).eval(), card
