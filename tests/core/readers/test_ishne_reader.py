"""IshneRecording on ISHNE 1.0 Holter files written by the test, byte by byte from the standard."""

from __future__ import annotations

import datetime
import struct
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from danet_viewer.core.readers import open_recording
from danet_viewer.core.readers.ishne_reader import IshneRecording, crc_ccitt
from danet_viewer.errors import RecordError

FS = 200
RESOLUTION_NV = 2500  # nV per unit


def write_ishne(
    path: Path, digital: np.ndarray, *, codes: tuple[int, ...] = (6, 11, 15), var_block: bytes = b"note",
    record_date: tuple[int, int, int] = (17, 5, 2023), start_time: tuple[int, int, int] = (22, 41, 7),
) -> Path:
    """An ISHNE file of ``digital`` (leads x samples, int16) as the standard lays it out."""
    n_leads, n_samples = digital.shape
    padded = lambda values, fill: tuple(values) + (fill,) * (12 - len(values))  # noqa: E731
    fixed = struct.pack(
        "<iiiih40s40s20shh3h3h3h3hh12h12h12hh40sh80s80s88s",
        len(var_block), n_samples, 522, 522 + len(var_block), 1, b"Ann", b"Onymous", b"ID-1", 1, 1,
        1, 1, 1970, *record_date, 18, 5, 2023, *start_time, n_leads, *padded(codes[:n_leads], 0),
        *padded((0,) * n_leads, 0), *padded((RESOLUTION_NV,) * n_leads, 0), 0, b"test recorder", FS,
        b"", b"", b"",
    )
    header = fixed + var_block
    data = np.ascontiguousarray(digital.T).astype("<i2").tobytes()
    path.write_bytes(b"ISHNE1.0" + struct.pack("<H", crc_ccitt(header)) + header + data)
    return path


@pytest.fixture
def digital() -> np.ndarray:
    rng = np.random.default_rng(3)
    return np.clip(np.cumsum(rng.integers(-40, 41, (3, FS * 5)), axis=1), -32768, 32767).astype(np.int16)


def test_leads_rate_values_and_start(tmp_path, digital):
    recording = open_recording(write_ishne(tmp_path / "holter.ecg", digital))
    assert isinstance(recording, IshneRecording)
    assert recording.lead_names == ("II", "V1", "V5")
    assert recording.units == ("mV",) * 3
    assert recording.fs == FS and recording.n_samples == FS * 5
    assert recording.start == datetime.datetime(2023, 5, 17, 22, 41, 7)
    assert recording.preferred_lead() == 0
    for lead in range(3):
        expected = digital[lead].astype(np.float64) * RESOLUTION_NV / 1e6
        np.testing.assert_allclose(recording.read(lead), expected, rtol=1e-6)
    np.testing.assert_array_equal(recording.read(1, 333, 555), recording.read(1)[333:555])


def test_unknown_lead_codes_and_an_unknown_date(tmp_path, digital):
    path = write_ishne(tmp_path / "holter.ecg", digital[:2], codes=(0, 0), record_date=(-9, -9, -9))
    recording = IshneRecording(path)
    assert recording.lead_names == ("lead 1", "lead 2")
    assert recording.start == datetime.datetime(1900, 1, 1, 22, 41, 7) and not recording.start_date_known


def _damage(path: Path, damage: str) -> None:
    data = bytearray(path.read_bytes())
    if damage == "magic":
        data[:8] = b"ISHNE2.0"
    elif damage == "crc":
        data[30] ^= 0x01  # the patient's name: still a plausible header
    elif damage == "truncated":
        del data[-3:]
    elif damage == "short header":
        del data[200:]
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    ("damage", "problem"),
    [
        ("magic", "not an ISHNE Holter file"),
        ("crc", "damaged ISHNE header (checksum mismatch)"),
        ("truncated", "truncated: header promises"),
        ("short header", "truncated ISHNE header"),
    ],
)
def test_damaged_files_give_one_line(tmp_path, digital, damage, problem):
    path = write_ishne(tmp_path / "holter.ecg", digital)
    _damage(path, damage)
    with pytest.raises(RecordError) as raised:
        open_recording(path)
    assert str(raised.value).startswith(f"{path}: ") and problem in str(raised.value)
    assert "\n" not in str(raised.value)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    flips=st.lists(st.tuples(st.integers(0, 1200), st.integers(0, 255)), min_size=1, max_size=6),
    fix_crc=st.booleans(),
)
def test_mutated_files_raise_only_record_error(tmp_path, flips, fix_crc):
    path = write_ishne(tmp_path / "holter.ecg", np.zeros((2, 300), np.int16))
    data = bytearray(path.read_bytes())
    for position, value in flips:
        data[position % len(data)] = value
    if fix_crc:  # a header whose fields are absurd but whose checksum holds
        ecg_offset = struct.unpack("<i", bytes(data[22:26]))[0]
        if 10 < ecg_offset <= len(data):
            data[8:10] = struct.pack("<H", crc_ccitt(bytes(data[10:ecg_offset])))
    path.write_bytes(bytes(data))
    try:
        recording = open_recording(path)
    except RecordError:
        return
    for lead in range(len(recording.lead_names)):
        assert len(recording.read(lead)) == recording.n_samples
