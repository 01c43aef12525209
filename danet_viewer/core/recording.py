"""The one in-memory view of an ECG file, whatever its format."""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from danet_viewer.errors import RecordError

# Rates outside this range are not ECG recordings (or the header is corrupt).
MIN_FS = 50.0
MAX_FS = 20_000.0

# Lead names preferred for a single-lead analysis, most preferred first.
LEAD_PREFERENCE = ("II", "MLII", "ECG1", "ECG II", "ECG")


class Recording(ABC):
    """A multi-lead ECG with lazy access to any sample range of any lead.

    Subclasses validate their input in ``__init__`` (raising ``RecordError``)
    so that an opened ``Recording`` is known to be readable end to end.
    """

    def __init__(
        self,
        path: Path,
        name: str,
        fs: float,
        lead_names: Sequence[str],
        units: Sequence[str],
        n_samples: int,
    ) -> None:
        if not np.isfinite(fs) or not (MIN_FS <= fs <= MAX_FS):
            raise RecordError(path, f"sampling rate {fs:g} Hz is outside {MIN_FS:g}-{MAX_FS:g} Hz")
        if n_samples <= 0:
            raise RecordError(path, "the signal has no samples")
        if not lead_names:
            raise RecordError(path, "the record holds no signals")
        if len(units) != len(lead_names):
            raise RecordError(path, "lead names and units differ in number")
        self.path = Path(path)
        self.name = name
        self.fs = float(fs)
        self.lead_names = tuple(lead_names)
        self.units = tuple(units)
        self.n_samples = int(n_samples)

    @property
    def duration_s(self) -> float:
        return self.n_samples / self.fs

    def lead_index(self, lead: int | str) -> int:
        if isinstance(lead, str):
            try:
                return self.lead_names.index(lead)
            except ValueError:
                raise RecordError(
                    self.path, f"no lead named {lead!r} (leads: {', '.join(self.lead_names)})"
                ) from None
        if not 0 <= lead < len(self.lead_names):
            raise RecordError(self.path, f"lead index {lead} out of range 0-{len(self.lead_names) - 1}")
        return int(lead)

    def preferred_lead(self) -> int:
        """The lead a single-lead analysis uses: II, MLII, ECG1, ..., else the first."""
        normalised = [n.strip().upper() for n in self.lead_names]
        for wanted in LEAD_PREFERENCE:
            if wanted.upper() in normalised:
                return normalised.index(wanted.upper())
        return 0

    def read(self, lead: int | str, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Samples ``start:stop`` of one lead, float32, in physical units."""
        index = self.lead_index(lead)
        stop = self.n_samples if stop is None else min(int(stop), self.n_samples)
        start = max(0, int(start))
        if stop <= start:
            return np.empty(0, dtype=np.float32)
        return self._read(index, start, stop)

    @abstractmethod
    def _read(self, lead: int, start: int, stop: int) -> np.ndarray:
        """Samples of lead ``lead`` (a valid index), ``0 <= start < stop <= n_samples``."""

    @abstractmethod
    def source_files(self) -> list[Path]:
        """Every file the signal is read from, for the content hash."""

    def content_hash(self) -> str:
        """sha256 over the signal files, so a store can tell a changed file."""
        digest = hashlib.sha256()
        for file in self.source_files():
            with open(file, "rb") as handle:
                while chunk := handle.read(1 << 20):
                    digest.update(chunk)
        return digest.hexdigest()

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.name!r}, fs={self.fs:g}, leads={list(self.lead_names)}, "
            f"duration={self.duration_s:.1f}s)"
        )
