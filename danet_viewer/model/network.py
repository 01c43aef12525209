"""The DANet network: a waveform enhanced module (WEM) in front of the benchmark classifier.

- ``HardWEM``: w(t) = Σ_k α_k · 1[t ∈ region k], from the delineated P, QRS, T and
  previous-T regions (danet.md, design item 4).
- ``SoftWEM``: a small 1-D encoder-decoder predicting w(t) ∈ [0, α_max] per sample
  (design item 5).
- ``BeatClassifier``: the "benchmark model", a 1-D ResNet over the beat window
  (the beat and the one before it) joined with RR features before the head
  (design item 6). Trained alone it is the baseline DANet must beat.
- ``DANet``: enhanced x' = x · (1 + w), then the classifier on x'.

Every module takes the same batch: ``x`` (B, 1, L) conditioned windows, ``rr``
(B, F) RR features, ``masks`` (B, 4, L) region masks.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import torch
from torch import nn

from danet_viewer.core.conditioning import WINDOW_LENGTH
from danet_viewer.core.delineation import REGIONS
from danet_viewer.core.features import MODEL_RR_FEATURES, RR_INPUTS

RECORD_REFERENCES = ("all", "sinus", "rhythm")


@dataclass
class NetworkConfig:
    """Everything that fixes the network's shape and its rule constants; saved in the model card."""

    variant: str = "soft"  # "backbone" (classifier alone), "hard" or "soft" WEM
    window_length: int = WINDOW_LENGTH
    rr_features: tuple[str, ...] = MODEL_RR_FEATURES  # the rhythm inputs, by features.RR_INPUTS name
    channels: tuple[int, ...] = (16, 32, 48, 64)
    dropout: float = 0.3
    # Rule weights per region (REGIONS order): for an APC the P wave weighs most, then the T wave
    # before the beat, where an early P′ hides.
    alpha: tuple[float, ...] = (1.0, 0.0, 0.0, 0.5)
    alpha_max: float = 1.0
    wem_channels: tuple[int, ...] = (8, 16, 32)
    # Beats whose rhythm regularity (``features.rhythm_regularity``) is below this score p(APC) = 0:
    # in atrial fibrillation every beat is early and an APC is not defined. 0 turns the veto off.
    rhythm_veto: float = 0.0
    # Score each beat against its own record: p(APC) from the beat's logit minus the median logit of
    # the record's beats. A patient whose every beat looks a little premature (atrial fibrillation,
    # sinus arrhythmia) no longer floods the single threshold chosen on other patients.
    record_relative: bool = False
    # Which of the record's beats give that median (inference.reference_beats): "all"; "sinus", the
    # beats that come on time by the record's own sinus reference, which a patient whose majority
    # rhythm is APCs cannot fill with APCs; or "rhythm", the on-time beats in a regular rhythm and
    # the rhythm's own beats in an irregular one (atrial fibrillation).
    record_reference: str = "all"
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.record_reference not in RECORD_REFERENCES:
            known = ", ".join(RECORD_REFERENCES)
            raise ValueError(f"unknown record reference {self.record_reference!r}; known: {known}")
        unknown = [name for name in self.rr_features if name not in RR_INPUTS]
        if unknown:
            raise ValueError(f"unknown rhythm input {', '.join(unknown)}; known: {', '.join(RR_INPUTS)}")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> NetworkConfig:
        values = dict(values)
        # Cards written before the rhythm inputs were named hold only their count, of the default set.
        if values.pop("n_rr_features", len(MODEL_RR_FEATURES)) != len(MODEL_RR_FEATURES):
            raise ValueError("the card counts rhythm inputs without naming them")
        for key in ("channels", "alpha", "wem_channels", "rr_features"):
            if key in values:
                values[key] = tuple(values[key])
        return cls(**values)


class HardWEM(nn.Module):
    """Weights fixed by the diagnostic rule: α per delineated region, no parameters to learn."""

    def __init__(self, config: NetworkConfig) -> None:
        super().__init__()
        self.register_buffer("alpha", torch.tensor(config.alpha, dtype=torch.float32).view(1, -1, 1))

    def forward(self, x: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
        # Overlapping regions take the largest weight, not the sum, so w stays within [0, max α].
        return (masks * self.alpha).amax(dim=1, keepdim=True)


def _conv_block(inputs: int, outputs: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv1d(inputs, outputs, 5, padding=2, bias=False),
        nn.BatchNorm1d(outputs),
        nn.ReLU(inplace=True),
        nn.Conv1d(outputs, outputs, 5, padding=2, bias=False),
        nn.BatchNorm1d(outputs),
        nn.ReLU(inplace=True),
    )


class SoftWEM(nn.Module):
    """A small 1-D U-Net predicting w(t) ∈ [0, α_max] from the window itself.

    It works at half the model rate (125 Hz is ample for P/QRS/T regions) and
    interpolates w back, which quarters its cost.
    """

    def __init__(self, config: NetworkConfig) -> None:
        super().__init__()
        widths = config.wem_channels
        self.alpha_max = config.alpha_max
        self.down = nn.ModuleList()
        previous = 1
        for width in widths:
            self.down.append(_conv_block(previous, width))
            previous = width
        self.bottom = _conv_block(widths[-1], widths[-1])
        ups = list(reversed(widths))
        self.reduce = nn.ModuleList(nn.Conv1d(widths[-1] if i == 0 else ups[i - 1], w, 1) for i, w in enumerate(ups))
        self.up = nn.ModuleList(_conv_block(2 * width, width) for width in ups)
        # One logit per region (the pre-training targets) and one for w itself.
        self.region_head = nn.Conv1d(widths[0], len(REGIONS), 1)
        self.weight_head = nn.Conv1d(widths[0], 1, 1)

    def _features(self, x: torch.Tensor) -> torch.Tensor:
        x = nn.functional.avg_pool1d(x, 2, ceil_mode=True)
        skips = []
        for block in self.down:
            x = block(x)
            skips.append(x)
            x = nn.functional.max_pool1d(x, 2, ceil_mode=True)
        x = self.bottom(x)
        for block, reduce, skip in zip(self.up, self.reduce, reversed(skips), strict=True):
            x = nn.functional.interpolate(reduce(x), size=skip.shape[-1], mode="linear", align_corners=False)
            x = block(torch.cat([x, skip], dim=1))
        return x

    def _full_rate(self, y: torch.Tensor, length: int) -> torch.Tensor:
        return nn.functional.interpolate(y, size=length, mode="linear", align_corners=False)

    def region_logits(self, x: torch.Tensor) -> torch.Tensor:
        """Per-sample logits of the delineated regions: the self-supervised pre-training task."""
        return self._full_rate(self.region_head(self._features(x)), x.shape[-1])

    def forward(self, x: torch.Tensor, masks: torch.Tensor | None = None) -> torch.Tensor:
        logit = self._full_rate(self.weight_head(self._features(x)), x.shape[-1])
        return self.alpha_max * torch.sigmoid(logit)


class _ResidualBlock(nn.Module):
    def __init__(self, inputs: int, outputs: int, stride: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv1d(inputs, outputs, 7, stride=stride, padding=3, bias=False),
            nn.BatchNorm1d(outputs),
            nn.ReLU(inplace=True),
            nn.Conv1d(outputs, outputs, 7, padding=3, bias=False),
            nn.BatchNorm1d(outputs),
        )
        self.shortcut = (
            nn.Identity()
            if inputs == outputs and stride == 1
            else nn.Sequential(nn.Conv1d(inputs, outputs, 1, stride=stride, bias=False), nn.BatchNorm1d(outputs))
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.body(x) + self.shortcut(x))


class BeatClassifier(nn.Module):
    """The benchmark model: 1-D ResNet over the window plus RR features -> one APC logit."""

    def __init__(self, config: NetworkConfig) -> None:
        super().__init__()
        widths = config.channels
        self.stem = nn.Sequential(
            nn.Conv1d(1, widths[0], 11, stride=2, padding=5, bias=False),
            nn.BatchNorm1d(widths[0]),
            nn.ReLU(inplace=True),
        )
        blocks, previous = [], widths[0]
        for width in widths:
            blocks.append(_ResidualBlock(previous, width, stride=2))
            previous = width
        self.blocks = nn.Sequential(*blocks)
        self.rr = nn.Sequential(
            nn.Linear(len(config.rr_features), 32), nn.ReLU(inplace=True), nn.Linear(32, 32), nn.ReLU(inplace=True)
        )
        # A direct path from the rhythm features to the logit: prematurity is the first half of the
        # APC rule, and this keeps it from being drowned by the many morphology features.
        self.rhythm_logit = nn.Linear(32, 1)
        self.head = nn.Sequential(
            nn.Dropout(config.dropout), nn.Linear(2 * widths[-1] + 32, 64), nn.ReLU(inplace=True),
            nn.Dropout(config.dropout), nn.Linear(64, 1),
        )

    def forward(self, x: torch.Tensor, rr: torch.Tensor) -> torch.Tensor:
        h = self.blocks(self.stem(x))
        pooled = torch.cat([h.mean(dim=-1), h.amax(dim=-1)], dim=1)
        rhythm = self.rr(rr)
        return (self.head(torch.cat([pooled, rhythm], dim=1)) + self.rhythm_logit(rhythm)).squeeze(1)


class DANet(nn.Module):
    """WEM + classifier. ``forward`` returns the APC logit, w(t) and the enhanced window."""

    def __init__(self, config: NetworkConfig) -> None:
        super().__init__()
        self.config = config
        self.wem: nn.Module | None = {"backbone": None, "hard": HardWEM, "soft": SoftWEM}[config.variant]
        if self.wem is not None:
            self.wem = self.wem(config)
        self.classifier = BeatClassifier(config)
        # The record-level pass over this network's scores (``second_pass.SecondPass``), set by
        # ``card.load_model`` from the model folder; None: the network's scores are the model's.
        self.second_pass = None

    def forward(
        self, x: torch.Tensor, rr: torch.Tensor, masks: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        weights = torch.zeros_like(x) if self.wem is None else self.wem(x, masks)
        enhanced = x * (1 + weights)
        return self.classifier(enhanced, rr), weights, enhanced

    def rule_prior(self, masks: torch.Tensor) -> torch.Tensor:
        """The hard WEM's weights for these masks: the prior that stage 2 keeps w close to."""
        alpha = torch.tensor(self.config.alpha, dtype=masks.dtype, device=masks.device).view(1, -1, 1)
        return (masks * alpha).amax(dim=1, keepdim=True)
