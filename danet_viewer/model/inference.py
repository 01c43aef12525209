"""Running a trained DANet over a recording's beats: batched, on CPU or GPU, with progress."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from danet_viewer.core.beats import RR_FEATURES
from danet_viewer.core.delineation import masks_from_intervals
from danet_viewer.core.features import RHYTHM_REGULARITY_COLUMN, BeatInputs, model_rr_features, prepare_beats
from danet_viewer.core.recording import Recording
from danet_viewer.errors import DanetError
from danet_viewer.model.card import ModelCard, load_model
from danet_viewer.model.network import DANet, NetworkConfig
from danet_viewer.resources import resource_path

BATCH_SIZE = 512


def default_model_folder() -> Path:
    """The model bundled with the application (trained on mitdb DS1; see its MODEL_CARD.md)."""
    return resource_path("model")


@dataclass(frozen=True)
class BeatScores:
    p_apc: np.ndarray  # float32 (n,)
    weights: np.ndarray | None = None  # float32 (n, WINDOW_LENGTH): w(t) over each beat's window
    enhanced: np.ndarray | None = None  # float32 (n, WINDOW_LENGTH): x · (1 + w)


def batch_tensors(inputs: BeatInputs, rows: np.ndarray, device: str | torch.device, rr_features: tuple[str, ...]):
    """Network tensors for ``rows``: windows (B, 1, L), the ``rr_features`` (B, F), region masks (B, 4, L)."""
    x = torch.from_numpy(np.ascontiguousarray(inputs.windows[rows])).unsqueeze(1).to(device)
    rr = torch.from_numpy(model_rr_features(inputs.rr[rows], rr_features)).to(device)
    masks = torch.from_numpy(masks_from_intervals(inputs.regions[rows])).to(device)
    return x, rr, masks


# A beat is on time, a sinus-reference beat, when its pre-RR is at least this share of the record's
# sinus reference (beats.rr_features' ``sinus_rr_s``): the generator's least premature APC
# (training.synthetic.PREMATURITY) is 0.85 of the interval it replaces.
ON_TIME_SHARE = 0.85
# A beat whose rhythm regularity (features.rhythm_regularity) is below this lies in an irregular
# rhythm: the value `danet-train rhythm-veto` chose from DS1's own atrial fibrillation and flutter
# marks, with no APC score involved (97 % of those beats, 7 % of the rest; docs/model.md).
IRREGULAR_RHYTHM = 0.30
# With fewer reference beats than this the next wider set stands in (ReferenceBeats): a median of
# a handful is one beat's noise.
MIN_REFERENCE_BEATS = 20


@dataclass(frozen=True)
class ReferenceBeats:
    """Which of a record's beats each beat's logit is taken against (their median).

    ``rhythm``: each beat's rhythm (0 regular, 1 irregular); a beat is scored against the beats of
    its record in the same rhythm. None: one rhythm.
    ``candidates``: the beats that may be a reference. None: all.
    Too few candidates in a rhythm: all that rhythm's beats; too few of those: the whole record.
    """

    rhythm: np.ndarray | None = None
    candidates: np.ndarray | None = None


def reference_beats(config: NetworkConfig, inputs: BeatInputs) -> ReferenceBeats:
    """The reference beats of ``config.record_reference``.

    - "all": every beat of the record.
    - "sinus": the on-time beats, which a majority of APCs cannot fill.
    - "rhythm": in a regular rhythm the on-time beats; in an irregular one (atrial fibrillation,
      where the on-time beats are merely the longest intervals) that rhythm's own beats.
    """
    if config.record_reference == "all":
        return ReferenceBeats()
    pre, sinus = inputs.rr[:, RR_FEATURES.index("pre_rr_s")], inputs.rr[:, RR_FEATURES.index("sinus_rr_s")]
    on_time = pre >= ON_TIME_SHARE * sinus
    if config.record_reference == "sinus":
        return ReferenceBeats(candidates=on_time)
    irregular = inputs.rr[:, RHYTHM_REGULARITY_COLUMN] < IRREGULAR_RHYTHM
    return ReferenceBeats(rhythm=irregular.astype(np.int8), candidates=on_time | irregular)


def record_median_logits(p_apc: np.ndarray, records: np.ndarray | None = None,
                         reference: ReferenceBeats = ReferenceBeats()) -> np.ndarray:
    """For each beat, the median logit of its ``reference`` beats in its record (``records`` names each
    beat's record, None: all beats are one record): what record-relative scoring takes logits against."""
    return _median_by_record(_logit(p_apc), records, reference)


def relative_to_record(p_apc: np.ndarray, records: np.ndarray | None = None,
                       reference: ReferenceBeats = ReferenceBeats()) -> np.ndarray:
    """p(APC) with each beat's logit taken relative to the median logit of its record's reference beats.

    The median is a normal beat's score wherever normal beats are the majority of the reference,
    so what stays high is what stands out from the patient's own rhythm.
    """
    logit = _logit(p_apc)
    logit -= _median_by_record(logit, records, reference)
    return (1 / (1 + np.exp(-logit))).astype(np.float32)


def _logit(p_apc: np.ndarray) -> np.ndarray:
    p = np.clip(p_apc.astype(np.float64), 1e-7, 1 - 1e-7)
    return np.log(p / (1 - p))


def _median_by_record(logit: np.ndarray, records: np.ndarray | None, reference: ReferenceBeats) -> np.ndarray:
    groups = np.zeros(len(logit), np.int64) if records is None else np.unique(records, return_inverse=True)[1]
    rhythm = np.zeros(len(logit), np.int8) if reference.rhythm is None else reference.rhythm
    candidates = np.ones(len(logit), bool) if reference.candidates is None else reference.candidates
    medians = np.zeros_like(logit)
    for group in range(groups.max(initial=-1) + 1):
        members = groups == group
        for kind in np.unique(rhythm[members]):
            scored = members & (rhythm == kind)
            for chosen in (scored & candidates, scored, members):
                if chosen.sum() >= MIN_REFERENCE_BEATS:
                    break
            medians[scored] = np.median(logit[chosen])
    return medians


def operating_threshold(network: DANet, card: ModelCard) -> float:
    """The p(APC) at which ``score_beats`` calls an APC: the second pass's, else the card's."""
    return network.second_pass.threshold if network.second_pass is not None else card.threshold


@torch.no_grad()
def score_beats(
    model: DANet, inputs: BeatInputs, *, device: str | torch.device = "cpu", attention: bool = False,
    batch_size: int = BATCH_SIZE, progress: Callable[[float], None] | None = None, records: np.ndarray | None = None,
    raw: bool = False,
) -> BeatScores:
    """p(APC) of every beat, and with ``attention`` the weights and enhanced windows too.

    The model's record-level second pass (or, without one, its record-relative scoring) and rhythm
    veto apply here, the one place every caller (annotate, the viewer, export, retraining, training's
    validation and threshold, evaluation) gets its scores from. ``records`` names each beat's record
    for the record-level scoring (beats in time order within a record); None: one record.
    ``raw``: the network's own scores (for choosing the raw threshold, training's record references,
    and the second pass's own input).
    """
    model.eval()
    n = len(inputs)
    p_apc = np.empty(n, np.float32)
    weights = np.empty((n, inputs.windows.shape[1]), np.float32) if attention else None
    enhanced = np.empty_like(weights) if attention else None
    for start in range(0, n, batch_size):
        rows = np.arange(start, min(n, start + batch_size))
        logits, w, x_enhanced = model(*batch_tensors(inputs, rows, device, model.config.rr_features))
        p_apc[rows] = torch.sigmoid(logits).float().cpu().numpy()
        if attention:
            weights[rows] = w[:, 0].float().cpu().numpy()
            enhanced[rows] = x_enhanced[:, 0].float().cpu().numpy()
        if progress:
            progress(rows[-1] / max(1, n - 1))
    if model.second_pass is not None and not raw:
        p_apc = model.second_pass.score_records(inputs, p_apc, records)
    elif model.config.record_relative and not raw:
        p_apc = relative_to_record(p_apc, records, reference_beats(model.config, inputs))
    if model.config.rhythm_veto > 0:
        p_apc[inputs.rr[:, RHYTHM_REGULARITY_COLUMN] < model.config.rhythm_veto] = 0.0
    return BeatScores(p_apc, weights, enhanced)


class BeatModel:
    """A loaded model with its card, ready to score recordings."""

    def __init__(self, folder: str | Path | None = None, device: str = "cpu") -> None:
        folder = Path(folder) if folder else default_model_folder()
        if device.startswith("cuda") and not torch.cuda.is_available():
            raise DanetError(f"--device {device}: no CUDA GPU is available here")
        self.folder = folder
        self.device = device
        self.network, self.card = load_model(folder, device)
        self.threshold = operating_threshold(self.network, self.card)
        self.model_id = self.card.model_id
        self.record_rule = self.card.record_rule

    def score_recording(self, recording: Recording, lead: int | str, beats: np.ndarray,
                        progress: Callable[[float], None] | None = None) -> np.ndarray:
        """p(APC) for ``beats`` of one lead of ``recording``."""
        inputs = prepare_beats(recording, lead, beats)
        return score_beats(self.network, inputs, device=self.device, progress=progress).p_apc
