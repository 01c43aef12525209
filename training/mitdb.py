"""The MIT-BIH Arrhythmia Database: where it is (unpacked once from ../shared) and its standard split.

DS1/DS2 as in de Chazal et al., IEEE TBME 2004; paced records are in neither.
"""

from __future__ import annotations

from pathlib import Path

from training.databases import MITDB

# Record lists as the database's README gives them.
DS1 = "101 106 108 109 112 114 115 116 118 119 122 124 201 203 205 207 208 209 215 220 223 230".split()  # noqa: SIM905
DS2 = "100 103 105 111 113 117 121 123 200 202 210 212 213 214 219 221 222 228 231 232 233 234".split()  # noqa: SIM905
PACED = ["102", "104", "107", "217"]
ALL_RECORDS = sorted(DS1 + DS2 + PACED)
# DS1 records held out of the default model's training for early stopping and the threshold:
# a third of DS1's SVEB beats and atrial fibrillation (203), where false alarms arise. The other
# AF record, 201, stays in training: without AF there the model cannot learn to veto it.
VALIDATION = ["118", "203", "220", "223"]
# What a model may learn from (training.splits.training_records): mitdb DS1 alone (22 patients, the default
# model's), or DS1 with the 52 svdb records (74 patients, issue 16). DS2 is in neither: the untouched test set.
TRAINING_SETS = ("ds1", "ds1+svdb")


def mitdb_dir() -> Path:
    """The folder holding 100.hea ... 234.atr, unpacked from ../shared on first use."""
    return MITDB.folder()
