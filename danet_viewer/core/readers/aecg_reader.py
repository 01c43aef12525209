"""HL7 annotated ECG (aECG, ``.xml``): the FDA's format for ECG waveforms, parsed with xml.etree.

The leads are the sequences of the rhythm series (else the first series; the
median beats of a ``derivedSeries`` are not read): each an ``SLIST_PQ`` whose
values are ``origin + scale x digits``, in mV where the unit is a voltage, named
by their code (``MDC_ECG_LEAD_II`` reads "II"). The rate is the inverse of the
time sequence's increment; the start is its head (else the series' or the
document's effectiveTime), the clock time as the file states it. Leads of
unequal length are cut to the shortest, with a warning. No library on PyPI
reads aECG and is kept up; the standard library's XML parser is enough.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree
from datetime import datetime
from pathlib import Path

import numpy as np

from danet_viewer.core.recording import Recording
from danet_viewer.errors import RecordError

_NS = {"hl7": "urn:hl7-org:v3"}
_MV_PER_UNIT = {"nV": 1e-6, "uV": 1e-3, "mV": 1.0, "V": 1e3}
_SECONDS_PER_UNIT = {"s": 1.0, "ms": 1e-3, "us": 1e-6}
_LEAD_CODE = re.compile(r"^MDC_ECG_LEAD_(\w+)$")
# HL7 TS: YYYYMMDDHHMMSS[.fraction][+-ZZZZ]; seconds and the rest are optional.
_TIMESTAMP = re.compile(r"^(\d{4})(\d{2})(\d{2})(\d{2})?(\d{2})?(\d{2})?(?:\.(\d+))?")


class AecgRecording(Recording):
    """An HL7 aECG file's rhythm leads, held in memory."""

    def __init__(self, path: str | Path) -> None:
        path = Path(path)
        if not path.is_file():
            raise RecordError(path, "no such file")
        try:
            root = ElementTree.parse(path).getroot()
        except Exception as error:  # noqa: BLE001 - expat's ParseError, an unknown encoding, undecodable text
            raise RecordError(path, f"not a readable XML file: {' '.join(str(error).split())[:200]}") from None
        if root.tag != "{urn:hl7-org:v3}AnnotatedECG":
            raise RecordError(path, f"not an HL7 aECG file (root element {root.tag!r})")
        series = _chosen_series(path, root)
        fs, head, names, leads = None, None, [], []
        for sequence in series.iterfind("hl7:component/hl7:sequenceSet/hl7:component/hl7:sequence", _NS):
            code = _attribute(sequence, "hl7:code", "code")
            value = sequence.find("hl7:value", _NS)
            if value is None:
                continue
            if code in ("TIME_ABSOLUTE", "TIME_RELATIVE"):
                fs = _rate(path, value)
                head = _attribute(value, "hl7:head", "value") if code == "TIME_ABSOLUTE" else None
            elif value.find("hl7:digits", _NS) is not None:  # a lead (other sequences carry no samples)
                names.append(_lead_name(code, len(names)))
                leads.append(_lead(path, names[-1], value))
        if fs is None:
            raise RecordError(path, "the rhythm series has no time sequence (no sampling rate)")
        if not leads:
            raise RecordError(path, "the rhythm series holds no leads")
        lengths = {len(samples) for samples, _ in leads}
        notes = [f"leads differ in length ({min(lengths)}-{max(lengths)} samples): cut to the shortest"]
        start = _timestamp(head) or _timestamp(_attribute(series, "hl7:effectiveTime/hl7:low", "value"))
        start = start or _timestamp(_attribute(root, "hl7:effectiveTime/hl7:low", "value"))
        super().__init__(
            path=path, name=path.stem, fs=fs, lead_names=names, units=[unit for _, unit in leads],
            n_samples=min(lengths), start=start, warnings=notes if len(lengths) > 1 else (),
        )
        self._samples = np.stack([samples[: self.n_samples] for samples, _ in leads]).astype(np.float32)

    def _read(self, lead: int, start: int, stop: int) -> np.ndarray:
        return self._samples[lead, start:stop].copy()

    def source_files(self) -> list[Path]:
        return [self.path]


def _chosen_series(path: Path, root: ElementTree.Element) -> ElementTree.Element:
    """The rhythm series, else the first one."""
    all_series = root.findall("hl7:component/hl7:series", _NS)
    if not all_series:
        raise RecordError(path, "the aECG file holds no series")
    for series in all_series:
        if _attribute(series, "hl7:code", "code") == "RHYTHM":
            return series
    return all_series[0]


def _attribute(element: ElementTree.Element, child: str, name: str) -> str | None:
    found = element.find(child, _NS)
    return None if found is None else found.get(name)


def _number(path: Path, element: ElementTree.Element | None, what: str) -> tuple[float, str]:
    """An element's numeric ``value`` and its ``unit``."""
    if element is None:
        raise RecordError(path, f"no {what}")
    try:
        number = float(element.get("value", ""))
    except ValueError:
        raise RecordError(path, f"{what} {element.get('value')!r} is not a number") from None
    if not np.isfinite(number):
        raise RecordError(path, f"{what} {element.get('value')!r} is not a number")
    return number, element.get("unit", "")


def _rate(path: Path, value: ElementTree.Element) -> float:
    increment, unit = _number(path, value.find("hl7:increment", _NS), "time increment")
    seconds = increment * _SECONDS_PER_UNIT.get(unit or "s", np.nan)
    if not seconds > 0:
        raise RecordError(path, f"time increment {increment:g} {unit} gives no sampling rate")
    return 1.0 / seconds


def _lead(path: Path, name: str, value: ElementTree.Element) -> tuple[np.ndarray, str]:
    """One lead's samples and unit: origin + scale x digits, in mV where the unit is a voltage."""
    origin, origin_unit = _number(path, value.find("hl7:origin", _NS), f"origin of lead {name}")
    scale, unit = _number(path, value.find("hl7:scale", _NS), f"scale of lead {name}")
    digits = value.find("hl7:digits", _NS)
    text = (digits.text or "") if digits is not None else ""
    try:
        numbers = np.array(text.split(), dtype=np.float64)
    except ValueError:
        raise RecordError(path, f"lead {name} has digits that are not numbers") from None
    if origin_unit and unit and origin_unit != unit:
        raise RecordError(path, f"lead {name}: origin in {origin_unit}, scale in {unit}")
    samples = origin + scale * numbers
    if unit in _MV_PER_UNIT:
        samples, unit = samples * _MV_PER_UNIT[unit], "mV"
    if not np.isfinite(samples).all():
        raise RecordError(path, f"lead {name} has values that overflow")
    return samples, unit


def _lead_name(code: str | None, position: int) -> str:
    match = _LEAD_CODE.match(code or "")
    if not match:
        return code or f"lead {position + 1}"
    name = match.group(1)
    return "a" + name[1:] if name in ("AVR", "AVL", "AVF") else name


def _timestamp(text: str | None) -> datetime | None:
    """An HL7 TS as a naive datetime (its time zone, if any, dropped); None if absent or malformed."""
    match = _TIMESTAMP.match(text or "")
    if not match:
        return None
    year, month, day, hour, minute, second, fraction = match.groups()
    try:
        return datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0),
                        int((fraction or "0")[:6].ljust(6, "0")))
    except ValueError:
        return None
