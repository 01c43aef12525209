"""ISHNE Holter files (``.ecg``): the ISHNE 1.0 exchange format for long-term ECG.

No well-kept Python library reads it (the PyPI packages are unmaintained
one-offs), and the format is small: the magic ``ISHNE1.0``, a CRC-CCITT of the
header, a 512-byte fixed header, a variable-length block, then int16 samples,
little-endian, interleaved by lead. Each lead's resolution is in nV per unit;
leads are read in mV. The header gives the start date and time. Samples are
read from disk on demand, so a 24-hour Holter costs no memory until it is read.

Reference: Badilini F. "The ISHNE Holter Standard Output File Format".
Ann Noninvasive Electrocardiol 1998;3(3):263-266.
"""

from __future__ import annotations

import binascii
import struct
from datetime import date, datetime, time
from pathlib import Path

import numpy as np

from danet_viewer.core.recording import Recording, start_of
from danet_viewer.errors import RecordError

MAGIC = b"ISHNE1.0"
# Magic (8) and CRC (2) precede the header the CRC covers.
_PREAMBLE_BYTES = 10
_FIXED_HEADER_BYTES = 512
# The fixed header's fields, little-endian (offsets from the end of the preamble).
_FIXED_HEADER = struct.Struct("<iiiih40s40s20shh3h3h3h3hh12h12h12hh40sh80s80s88s")
assert _FIXED_HEADER.size == _FIXED_HEADER_BYTES
MAX_LEADS = 12
# The standard's lead codes (Lead_Spec); 0 and other values are "unknown".
LEAD_CODES = {
    1: "bipolar", 2: "X", 3: "Y", 4: "Z", 5: "I", 6: "II", 7: "III", 8: "aVR", 9: "aVL", 10: "aVF",
    11: "V1", 12: "V2", 13: "V3", 14: "V4", 15: "V5", 16: "V6", 17: "ES", 18: "AS", 19: "AI",
}
_NV_PER_MV = 1e6


def crc_ccitt(data: bytes) -> int:
    """CRC-CCITT (polynomial 0x1021, initial 0xFFFF), as the ISHNE header checksum."""
    return binascii.crc_hqx(data, 0xFFFF)


class IshneRecording(Recording):
    """An ISHNE 1.0 Holter file; samples are read from disk on demand."""

    def __init__(self, path: str | Path) -> None:
        path = Path(path)
        if not path.is_file():
            raise RecordError(path, "no such file")
        with open(path, "rb") as handle:
            preamble = handle.read(_PREAMBLE_BYTES)
            fixed = handle.read(_FIXED_HEADER_BYTES)
        if preamble[: len(MAGIC)] != MAGIC:
            raise RecordError(path, "not an ISHNE Holter file (no ISHNE1.0 magic)")
        if len(fixed) < _FIXED_HEADER_BYTES:
            raise RecordError(path, "truncated ISHNE header")
        fields = _FIXED_HEADER.unpack(fixed)
        var_length, n_samples, var_offset, ecg_offset = fields[0:4]
        record_date, start_time = fields[13:16], fields[19:22]
        n_leads = fields[22]
        lead_codes, resolutions = fields[23:35], fields[47:59]
        fs = fields[61]
        header_end = _PREAMBLE_BYTES + _FIXED_HEADER_BYTES
        if var_length < 0 or var_offset != header_end or ecg_offset != header_end + var_length:
            raise RecordError(
                path,
                f"malformed ISHNE header (variable block of {var_length} bytes at {var_offset}, ECG at {ecg_offset})",
            )
        if not 1 <= n_leads <= MAX_LEADS:
            raise RecordError(path, f"malformed ISHNE header ({n_leads} leads, expected 1-{MAX_LEADS})")
        with open(path, "rb") as handle:
            handle.seek(_PREAMBLE_BYTES)
            covered = handle.read(ecg_offset - _PREAMBLE_BYTES)
        if len(covered) < ecg_offset - _PREAMBLE_BYTES:
            raise RecordError(path, "truncated ISHNE header")
        stored_crc = struct.unpack("<H", preamble[8:10])[0]
        if crc_ccitt(covered) != stored_crc:
            raise RecordError(path, "damaged ISHNE header (checksum mismatch)")
        resolutions = resolutions[:n_leads]
        if any(resolution <= 0 for resolution in resolutions):
            raise RecordError(path, f"malformed ISHNE header (lead resolutions {list(resolutions)} nV)")
        needed = ecg_offset + 2 * n_leads * max(n_samples, 0)
        actual = path.stat().st_size
        if actual < needed:
            raise RecordError(path, f"truncated: header promises {needed} bytes, file has {actual}")
        names = [LEAD_CODES.get(code, f"lead {i + 1}") for i, code in enumerate(lead_codes[:n_leads])]
        names = [name if names.count(name) == 1 else f"{name} {i + 1}" for i, name in enumerate(names)]
        super().__init__(
            path=path, name=path.stem, fs=float(fs), lead_names=names, units=["mV"] * n_leads,
            n_samples=n_samples, start=_start(record_date, start_time),
        )
        self._ecg_offset = ecg_offset
        self._n_leads = n_leads
        self._mv_per_unit = np.array(resolutions, dtype=np.float64) / _NV_PER_MV

    def _read(self, lead: int, start: int, stop: int) -> np.ndarray:
        frames = np.fromfile(
            self.path, dtype="<i2", count=(stop - start) * self._n_leads,
            offset=self._ecg_offset + 2 * self._n_leads * start,
        )
        if len(frames) < (stop - start) * self._n_leads:
            raise RecordError(self.path, f"cannot read samples {start}-{stop}: the file is shorter than when opened")
        samples = frames.reshape(-1, self._n_leads)[:, lead] * self._mv_per_unit[lead]
        return samples.astype(np.float32)

    def source_files(self) -> list[Path]:
        return [self.path]


def _start(record_date: tuple[int, int, int], start_time: tuple[int, int, int]) -> datetime | None:
    """Record date (day, month, year) and start time (hour, minute, second); the time alone, or None, where
    the date or the time is not valid."""
    try:
        clock = time(*start_time)
    except (ValueError, TypeError):
        return None
    day, month, year = record_date
    try:
        return start_of(date(year, month, day), clock)
    except (ValueError, TypeError):
        return start_of(None, clock)
