"""The PhysioNet databases training reads from ../shared, each packed as one archive and unpacked once.

- mitdb, the MIT-BIH Arrhythmia Database: DS1 trains, DS2 is the untouched test set (training.mitdb has the split).
- svdb, the MIT-BIH Supraventricular Arrhythmia Database (52 of its 78 records, 128 Hz): training data beside DS1,
  one patient per record; it marks every supraventricular ectopic beat ``S``, which the AAMI map counts as SVEB.
Both are read by the same path (``training.data.label_record``): the conditioning resamples any rate.
"""

from __future__ import annotations

import os
import tarfile
from dataclasses import dataclass
from pathlib import Path

SHARED_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"


@dataclass(frozen=True)
class Database:
    name: str
    archive: Path
    cache: Path  # where it is unpacked; the environment variable ``<NAME>_DIR`` overrides it
    citation: str

    def folder(self) -> Path:
        """The folder holding the records, unpacked from the archive on first use."""
        if not (self.cache / "RECORDS").exists():
            if not self.archive.exists():
                raise SystemExit(f"{self.name} not found: set {self.name.upper()}_DIR or place the archive at "
                                 f"{self.archive}")
            self.cache.mkdir(parents=True, exist_ok=True)
            with tarfile.open(self.archive) as archive:
                archive.extractall(self.cache, filter="data")
        return self.cache

    def records(self) -> list[str]:
        """Record names, from the database's RECORDS file."""
        return (self.folder() / "RECORDS").read_text().split()

    def header(self, record: str) -> Path:
        return self.folder() / f"{record}.hea"


def _database(name: str, citation: str) -> Database:
    cache = Path(os.environ.get(f"{name.upper()}_DIR", Path.home() / ".cache" / name))
    return Database(name, SHARED_DATA / name / "records.tar.xz", cache, citation)


PHYSIONET = "Goldberger AL et al. PhysioBank, PhysioToolkit, and PhysioNet. Circulation 101(23):e215-e220 (2000)"
MITDB = _database("mitdb", "Moody GB, Mark RG. The impact of the MIT-BIH Arrhythmia Database. IEEE Eng in Med and "
                           f"Biol 20(3):45-50 (2001); {PHYSIONET}")
SVDB = _database("svdb", "Greenwald SD, Patil RS, Mark RG. Improved detection and classification of arrhythmias in "
                         "noise-corrupted electrocardiograms using contextual information. Computers in Cardiology "
                         f"1990;461-464; {PHYSIONET}")
