"""Choosing the rhythm veto on DS1: how well rhythm regularity finds atrial fibrillation.

An APC is an early atrial beat in an otherwise regular rhythm; in atrial fibrillation every
beat is early and no beat is called an APC (MIT-BIH labels them normal). Inter-patient, the
model's false alarms gather in such rhythms (danet.md, "Known so far"), and DS1 holds too
little of them (records 201 and 203) for the network to learn the distinction. So a beat whose
``rhythm_regularity`` falls below a threshold scores p(APC) = 0 (``NetworkConfig.rhythm_veto``).

The threshold is chosen here from DS1's own rhythm annotations, not from any APC score: the
value that best separates beats inside ``(AFIB``/``(AFL`` episodes from the rest (balanced
accuracy), reported with how many DS1 SVEB beats it would silence.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import wfdb

from danet_viewer.core.features import RHYTHM_REGULARITY_COLUMN

ATRIAL_FIBRILLATION_RHYTHMS = ("(AFIB", "(AFL")
VETO_CANDIDATES = np.round(np.arange(0.10, 0.55, 0.05), 2)


def atrial_fibrillation_beats(record: Path, beat_sample: np.ndarray) -> np.ndarray:
    """Whether each beat lies in an atrial fibrillation or flutter episode of the record's .atr rhythm marks."""
    annotation = wfdb.rdann(str(record.with_suffix("")), "atr")
    changes = [(sample, note.rstrip("\x00")) for sample, symbol, note
               in zip(annotation.sample, annotation.symbol, annotation.aux_note, strict=True) if symbol == "+"]
    if not changes:
        return np.zeros(len(beat_sample), bool)
    starts = np.array([sample for sample, _ in changes])
    in_fibrillation = np.array([note in ATRIAL_FIBRILLATION_RHYTHMS for _, note in changes])
    episode = np.searchsorted(starts, beat_sample, side="right") - 1
    return np.where(episode >= 0, in_fibrillation[np.maximum(episode, 0)], False)


@dataclass(frozen=True)
class VetoRow:
    threshold: float
    fibrillation_recall: float  # share of AF/flutter beats vetoed
    other_vetoed: float  # share of beats outside AF/flutter vetoed
    sveb_vetoed: int  # DS1 SVEB beats the veto would silence
    sveb: int

    @property
    def balanced_accuracy(self) -> float:
        return (self.fibrillation_recall + 1.0 - self.other_vetoed) / 2


def veto_table(regularity: np.ndarray, fibrillation: np.ndarray, sveb: np.ndarray) -> list[VetoRow]:
    """Each candidate threshold scored against the AF labels of the same beats."""
    rows = []
    for threshold in VETO_CANDIDATES:
        vetoed = regularity < threshold
        rows.append(VetoRow(float(threshold), float(vetoed[fibrillation].mean()), float(vetoed[~fibrillation].mean()),
                            int((vetoed & sveb).sum()), int(sveb.sum())))
    return rows


def choose_rhythm_veto(cache: Path) -> tuple[float, list[VetoRow]]:
    """The DS1 threshold with the best balanced accuracy for AF/flutter, and the whole table."""
    from training.data import label_record
    from training.mitdb import DS1, mitdb_dir

    regularity, fibrillation, sveb = [], [], []
    for name in DS1:
        header = mitdb_dir() / f"{name}.hea"
        record = label_record(header, cache)
        regularity.append(record.beats.inputs.rr[:, RHYTHM_REGULARITY_COLUMN])
        fibrillation.append(atrial_fibrillation_beats(header, record.beat_sample))
        sveb.append(record.beats.label == 1)
    table = veto_table(np.concatenate(regularity), np.concatenate(fibrillation), np.concatenate(sveb))
    best = max(table, key=lambda row: row.balanced_accuracy)
    return best.threshold, table


def veto_table_markdown(table: list[VetoRow], chosen: float) -> list[str]:
    """The candidates as a Markdown table, the chosen one in bold."""
    lines = ["| regularity below | AF/flutter beats vetoed % | other beats vetoed % | balanced accuracy "
             "| DS1 SVEB vetoed |", "|---|---|---|---|---|"]
    for row in table:
        mark = "**" if row.threshold == chosen else ""
        lines.append(f"| {mark}{row.threshold:.2f}{mark} | {100 * row.fibrillation_recall:.1f} "
                     f"| {100 * row.other_vetoed:.1f} | {row.balanced_accuracy:.3f} "
                     f"| {row.sveb_vetoed} of {row.sveb} |")
    return lines
