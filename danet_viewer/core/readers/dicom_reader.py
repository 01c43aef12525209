"""DICOM waveform files: 12-lead, general, 32-bit and ambulatory ECG, read with pydicom.

A DICOM ECG holds one or more multiplex groups (typically ``RHYTHM``, 10 s of
every lead, and ``MEDIAN BEAT``, one averaged beat). The leads are the channels
of the rhythm group (else of the longest group), named by their channel label
or source code meaning ("Lead II (Einthoven)" reads "II"), scaled by their
sensitivity, baseline and correction factor, in mV where the unit is a voltage.
The start is the acquisition date and time (else the content date and time).
The whole file is held in memory: resting ECGs are small.
"""

from __future__ import annotations

import io
import logging
import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import numpy as np

from danet_viewer.core.recording import Recording
from danet_viewer.errors import RecordError

# mV per unit of a channel's sensitivity unit (UCUM codes).
_MV_PER_UNIT = {"nV": 1e-6, "uV": 1e-3, "mV": 1.0, "V": 1e3}
_LEAD_MEANING = re.compile(r"^\s*Lead\s+([^\s(]+)", re.IGNORECASE)
_WAVEFORM_DTYPES = {(8, "SB"), (8, "UB"), (8, "MB"), (8, "AB"), (16, "SS"), (16, "US"), (32, "SL"), (32, "UL")}


class DicomRecording(Recording):
    """A DICOM waveform file's ECG leads, held in memory."""

    def __init__(self, path: str | Path) -> None:
        import pydicom  # imported here: only DICOM files need it

        path = Path(path)
        if not path.is_file():
            raise RecordError(path, "no such file")
        try:
            with _quiet(pydicom):
                # From memory, not the file: a damaged element length makes pydicom ask a file for that many
                # bytes, which Python allocates up front (784 MiB for one flipped bit of a 10 kB file); a
                # BytesIO returns what there is. DICOM ECG files are small (kB to a few MB).
                dataset = pydicom.dcmread(io.BytesIO(path.read_bytes()))
                fs, names, units, samples, start = _read_rhythm(path, dataset)
        except RecordError:
            raise
        except Exception as error:  # noqa: BLE001 - pydicom raises many types for a damaged file
            raise RecordError(path, f"not a readable DICOM waveform file: {_one_line(error)}") from None
        super().__init__(
            path=path, name=path.stem, fs=fs, lead_names=names, units=units, n_samples=samples.shape[1], start=start
        )
        self._samples = samples

    def _read(self, lead: int, start: int, stop: int) -> np.ndarray:
        return self._samples[lead, start:stop].copy()

    def source_files(self) -> list[Path]:
        return [self.path]


def _read_rhythm(path: Path, dataset) -> tuple[float, list[str], list[str], np.ndarray, datetime | None]:
    """Rate, lead names, units, samples (leads x samples, float32) and start of the chosen group."""
    from pydicom.waveforms.numpy_handler import multiplex_array

    groups = list(dataset.get("WaveformSequence", []))
    if not groups:
        raise RecordError(path, "a DICOM file without waveforms (not an ECG)")
    index = _chosen_group(groups)
    group = groups[index]
    fs = float(group.SamplingFrequency)
    n_channels, n_samples = int(group.NumberOfWaveformChannels), int(group.NumberOfWaveformSamples)
    bits, interpretation = int(group.WaveformBitsAllocated), str(group.WaveformSampleInterpretation)
    if (bits, interpretation) not in _WAVEFORM_DTYPES:
        raise RecordError(path, f"unsupported waveform sample encoding ({bits} bits, {interpretation})")
    channels = list(group.ChannelDefinitionSequence)
    needed = n_channels * n_samples * bits // 8
    if len(channels) != n_channels or len(group.WaveformData) < needed:
        raise RecordError(
            path,
            f"damaged waveform ({n_channels} channels of {n_samples} samples declared, "
            f"{len(channels)} channels defined, {len(group.WaveformData)} of {needed} data bytes)",
        )
    if n_samples <= 0:
        raise RecordError(path, "the signal has no samples")
    names, units, scales = [], [], []
    for position, channel in enumerate(channels):
        names.append(_lead_name(channel, position))
        unit = _unit(channel)
        scales.append(_MV_PER_UNIT.get(unit, 1.0))
        units.append("mV" if unit in _MV_PER_UNIT else unit)
    scaled = multiplex_array(dataset, index, as_raw=False).T * np.asarray(scales, dtype=np.float64)[:, None]
    if not np.isfinite(scaled).all() or np.abs(scaled).max() > np.finfo(np.float32).max:
        raise RecordError(path, "the waveform's calibration gives non-finite values")
    return fs, names, units, np.ascontiguousarray(scaled, dtype=np.float32), _start(dataset)


@contextmanager
def _quiet(pydicom) -> Iterator[None]:
    """Read without pydicom's warnings and log lines about invalid values: a problem that matters is an error."""
    mode = pydicom.config.settings.reading_validation_mode
    logger = logging.getLogger("pydicom")
    level = logger.level
    pydicom.config.settings.reading_validation_mode = pydicom.config.IGNORE
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        pydicom.config.settings.reading_validation_mode = mode
        logger.setLevel(level)


def _chosen_group(groups: list) -> int:
    """The rhythm group, else the longest one."""
    for index, group in enumerate(groups):
        if str(group.get("MultiplexGroupLabel", "")).strip().upper() == "RHYTHM":
            return index
    durations = [int(group.get("NumberOfWaveformSamples", 0)) / float(group.get("SamplingFrequency", 1) or 1)
                 for group in groups]
    return int(np.argmax(durations))


def _lead_name(channel, position: int) -> str:
    label = str(channel.get("ChannelLabel", "") or "").strip()
    if label:
        return label
    sources = channel.get("ChannelSourceSequence", [])
    meaning = str(sources[0].get("CodeMeaning", "")) if len(sources) else ""
    if match := _LEAD_MEANING.match(meaning):
        return match.group(1)
    return meaning.strip() or f"lead {position + 1}"


def _unit(channel) -> str:
    units = channel.get("ChannelSensitivityUnitsSequence", [])
    return str(units[0].get("CodeValue", "")).strip() if len(units) else ""


def _start(dataset) -> datetime | None:
    """Acquisition date and time, else content date and time, as the header states it (time zone dropped)."""
    from pydicom.valuerep import DA, DT, TM

    try:
        if dataset.get("AcquisitionDateTime"):
            return DT(dataset.AcquisitionDateTime).replace(tzinfo=None)
        if dataset.get("ContentDate") and dataset.get("ContentTime"):
            return datetime.combine(DA(dataset.ContentDate), TM(dataset.ContentTime))
    except (ValueError, TypeError, OverflowError):  # a malformed date: the waveform is still readable
        return None
    return None


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= 200 else text[:197] + "..."
