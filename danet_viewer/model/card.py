"""A trained model on disk: ``weights.safetensors`` plus ``model.json``, its card.

Loading never unpickles anything: weights are read with safetensors only, and
only after their sha256 matches the card, so a tampered or swapped file is
refused before a byte of it is used. The card is checked field by field, and
the network it describes is first built without memory (on torch's "meta"
device) and compared with the tensor shapes the weights file declares, so a
card asking for a huge network allocates nothing.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

from danet_viewer import __version__
from danet_viewer.core.atomic import atomic_output
from danet_viewer.core.conditioning import BAND_HZ, MODEL_FS, WINDOW_BEFORE, WINDOW_LENGTH
from danet_viewer.core.record_rule import RECORD_RULES
from danet_viewer.errors import DanetError
from danet_viewer.model.network import DANet, NetworkConfig
from danet_viewer.model.second_pass import SecondPass

CARD_FILE = "model.json"
WEIGHTS_FILE = "weights.safetensors"
# Optional: a sample of the training beats that fine-tuning mixes in (training/replay.py).
REPLAY_FILE = "replay.npz"
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
    # With record-relative scoring: the threshold chosen on the same validation beats for un-centred
    # scores, which a model retrained on a patient whose beats are mostly APCs scores by
    # (training/retrain.py): there the record's median beat is an APC and centring would erase them.
    raw_threshold: float | None = None
    # A record-level rule whose calls join the network's once the record's beats are classified
    # (``danet_viewer.core.record_rule``; "" for none).
    record_rule: str = ""
    lead: str = "MLII"
    conditioning: dict = field(
        default_factory=lambda: {"model_fs": MODEL_FS, "band_hz": list(BAND_HZ), "window_before": WINDOW_BEFORE,
                                 "window_length": WINDOW_LENGTH}
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
        """Name, weights and record rule: the same weights with another rule make other calls."""
        rule = f"+{self.record_rule}" if self.record_rule else ""
        return f"{self.name}@{self.weights_sha256[:12]}{rule}"


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
    write_card(card, folder)
    return card


def write_card(card: ModelCard, folder: Path) -> None:
    """Write ``model.json`` whole or not at all."""
    with atomic_output(Path(folder) / CARD_FILE) as temporary:
        temporary.write_text(json.dumps(asdict(card), indent=2) + "\n")


# The JSON type of every card field (an int is a number too).
_CARD_FIELD_TYPES = {"name": str, "network": dict, "threshold": (int, float),
                     "raw_threshold": (int, float, type(None)), "record_rule": str, "lead": str, "conditioning": dict,
                     "training": dict, "metrics": dict, "code_version": str, "created_at": str,
                     "weights_sha256": str, "format": str, "card_version": int}


# What building a network from a nonsensical card raises (a wrong type, an empty or negative size).
_BAD_NETWORK_ERRORS = (TypeError, ValueError, RuntimeError, KeyError, IndexError, ZeroDivisionError, OverflowError,
                       AttributeError)


def read_card(folder: Path) -> ModelCard:
    path = Path(folder) / CARD_FILE
    if not path.is_file():
        raise ModelError(Path(folder), f"not a model folder (no {CARD_FILE})")
    try:
        values = json.loads(path.read_text())
        card = ModelCard(**values)
    except (ValueError, TypeError) as error:
        raise ModelError(path, f"unreadable model card: {' '.join(str(error).split())[:200]}") from None
    for name in (item.name for item in fields(ModelCard)):
        value = getattr(card, name)
        if not isinstance(value, _CARD_FIELD_TYPES[name]) or isinstance(value, bool):
            raise ModelError(path, f"unreadable model card: {name} is {type(value).__name__}")
    if card.format != CARD_FORMAT or card.card_version > CARD_VERSION:
        raise ModelError(path, f"not a model card this version reads ({card.format} v{card.card_version})")
    for name, value in (("threshold", card.threshold), ("raw_threshold", card.raw_threshold)):
        if value is not None and not (math.isfinite(value) and 0.0 <= value <= 1.0):
            raise ModelError(path, f"{name} {value} is not a probability")
    if card.record_rule and card.record_rule not in RECORD_RULES:
        raise ModelError(path, f"record rule {card.record_rule!r} is not one this version knows "
                               f"({', '.join(RECORD_RULES)})")
    if card.network.get("record_relative") and card.raw_threshold is None:
        raise ModelError(path, "a record-relative model card needs its raw_threshold")
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
        with safe_open(str(weights), framework="pt") as handle:
            declared = {key: tuple(handle.get_slice(key).get_shape()) for key in handle.keys()}  # noqa: SIM118
        config = NetworkConfig.from_dict(card.network)
        with torch.device("meta"):  # shapes only: a card asking for a huge network allocates nothing
            expected = {key: tuple(value.shape) for key, value in DANet(config).state_dict().items()}
    except (SafetensorError, OSError) as error:
        raise ModelError(weights, f"not a safetensors file: {' '.join(str(error).split())[:200]}") from None
    except _BAD_NETWORK_ERRORS as error:
        problem = " ".join(str(error).split())[:200] or type(error).__name__
        raise ModelError(folder / CARD_FILE, f"the card describes no valid network: {problem}") from None
    if declared != expected:
        raise ModelError(weights, "weights do not fit the network in the card (tensor names or shapes differ)")
    try:
        state = load_file(str(weights), device=str(device))
    except (SafetensorError, OSError, ValueError) as error:
        raise ModelError(weights, f"not a safetensors file: {error}") from None
    model = DANet(config)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as error:
        raise ModelError(weights, f"weights do not fit the network in the card: {str(error).splitlines()[0]}") from None
    model.second_pass = SecondPass.load(folder)
    return model.to(device).eval(), card
