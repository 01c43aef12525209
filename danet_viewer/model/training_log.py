"""The trainer's JSON-lines log: one typed event per line, written by ``danet-train``, read by the retrain dialog.

Each line is ``{"event": NAME, "time": UNIX_SECONDS, FIELD: VALUE...}``; the event classes below are
the one definition of the names and fields, for the writer (``training.engine.Logger``) and the
reader (``danet_viewer._qt.retrain_dialog``). Qt-free and torch-free.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from typing import Any, ClassVar


@dataclass(frozen=True)
class TrainingEvent:
    """One log line; ``name`` is its ``event`` value."""

    name: ClassVar[str]

    def values(self) -> dict[str, Any]:
        """The line's fields beside ``event`` and ``time``, in the order they are written."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_values(cls, values: dict[str, Any]) -> TrainingEvent:
        return cls(**values)

    def to_json(self, time: float) -> str:
        return json.dumps({"event": self.name, "time": round(time, 3), **self.values()})

    @staticmethod
    def from_json(line: str | bytes) -> TrainingEvent:
        """The event of one log line; ValueError for a line that is not one."""
        record = json.loads(line)
        if not isinstance(record, dict) or record.get("event") not in EVENTS:
            raise ValueError(f"not a training event: {line!r}")
        kind = EVENTS[record.pop("event")]
        record.pop("time", None)
        try:
            return kind.from_values(record)
        except TypeError as error:
            raise ValueError(f"{kind.name} event: {error}") from None


@dataclass(frozen=True)
class Start(TrainingEvent):
    """Training begins: its settings (``training.engine.TrainConfig``, those set) and its beats."""

    name: ClassVar[str] = "start"
    settings: dict[str, Any]
    train_beats: int
    train_apcs: int
    val_beats: int
    val_apcs: int
    replay_beats: int
    parameters: int

    @property
    def stage2_epochs(self) -> int:
        """The epoch cap of stage 2, the one stage of a fine-tune."""
        return int(self.settings.get("stage2_epochs", 0))

    def values(self) -> dict[str, Any]:
        values = super().values()
        return {**values.pop("settings"), **values}  # the settings are written flat, first

    @classmethod
    def from_values(cls, values: dict[str, Any]) -> Start:
        names = {f.name for f in fields(cls)} - {"settings"}
        return cls(settings={k: v for k, v in values.items() if k not in names},
                   **{k: v for k, v in values.items() if k in names})


@dataclass(frozen=True)
class PretrainEpoch(TrainingEvent):
    name: ClassVar[str] = "pretrain_epoch"
    epoch: int
    loss: float


@dataclass(frozen=True)
class Epoch(TrainingEvent):
    """A supervised epoch ended: its mean training loss and the validation average precision."""

    name: ClassVar[str] = "epoch"
    stage: int
    epoch: int
    loss: float
    val_ap: float


@dataclass(frozen=True)
class StageDone(TrainingEvent):
    """A stage ended (planned epochs, early stopping or the deadline) with its best validation AP."""

    name: ClassVar[str] = "stage_done"
    stage: int
    val_ap: float


@dataclass(frozen=True)
class Saved(TrainingEvent):
    name: ClassVar[str] = "saved"
    folder: str
    model_id: str
    threshold: float
    val_f1: float


@dataclass(frozen=True)
class Data(TrainingEvent):
    """Retraining's beats: per source (path: beats and APCs), the split, and the base's replay sample."""

    name: ClassVar[str] = "data"
    sources: dict[str, dict[str, int]]
    train_beats: int
    val_beats: int
    validation: list[str]
    replay_beats: int


@dataclass(frozen=True)
class Scoring(TrainingEvent):
    """A retrained model scores otherwise than its base (raw where the reviewed beats are mostly APCs)."""

    name: ClassVar[str] = "scoring"
    record_relative: bool
    apc_share: float


@dataclass(frozen=True)
class Compare(TrainingEvent):
    """Base against retrained model on the same held-out reviewed beats, and the verdict."""

    name: ClassVar[str] = "compare"
    verdict: str
    held_out_apcs: int
    before_se: float
    before_ppv: float
    before_f1: float
    after_se: float
    after_ppv: float
    after_f1: float


@dataclass(frozen=True)
class Fold(TrainingEvent):
    """Cross-validation starts training the model of one fold."""

    name: ClassVar[str] = "fold"
    fold: int
    test_records: list[str]
    validation_records: list[str]


EVENTS: dict[str, type[TrainingEvent]] = {kind.name: kind for kind in (Start, PretrainEpoch, Epoch, StageDone, Saved,
                                                                      Data, Scoring, Compare, Fold)}
