"""AecgRecording on HL7 aECG files written by the test."""

from __future__ import annotations

import datetime
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from danet_viewer.core.readers import open_recording
from danet_viewer.core.readers.aecg_reader import AecgRecording
from danet_viewer.errors import RecordError

FS = 500
SCALE_UV = 5.0
LEADS = ("I", "II", "AVR", "V1")


def _sequence(code: str, value: str) -> str:
    return (f'<component><sequence><code code="{code}" codeSystem="2.16.840.1.113883.6.24"/>{value}'
            "</sequence></component>")


STEP = '<increment value="0.002" unit="s"/>'


def aecg_text(digits: np.ndarray, *, increment: str = STEP, median: bool = True) -> str:
    head = '<head value="20230517224107.500"/>'
    time = _sequence("TIME_ABSOLUTE", f'<value xsi:type="GLIST_TS">{head}{increment}</value>')
    leads = "".join(
        _sequence(f"MDC_ECG_LEAD_{name}", f'<value xsi:type="SLIST_PQ"><origin value="10" unit="uV"/>'
                  f'<scale value="{SCALE_UV}" unit="uV"/><digits>{" ".join(map(str, row))}</digits></value>')
        for name, row in zip(LEADS, digits, strict=True)
    )
    series = f"<sequenceSet>{time}{leads}</sequenceSet>"
    derived = ('<derivation><derivedSeries><code code="REPRESENTATIVE_BEAT"/><component><sequenceSet>'
               f"{time}{leads}</sequenceSet></component></derivedSeries></derivation>") if median else ""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<AnnotatedECG xmlns="urn:hl7-org:v3" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        '<id root="1.2.3"/><effectiveTime><low value="20230517224100"/></effectiveTime>'
        f'<component><series><code code="RHYTHM" codeSystem="2.16.840.1.113883.5.4"/>'
        f"<component>{series}</component>{derived}</series></component></AnnotatedECG>"
    )


def write_aecg(path: Path, digits: np.ndarray, **options) -> Path:
    path.write_text(aecg_text(digits, **options), encoding="utf-8")
    return path


@pytest.fixture
def digits() -> np.ndarray:
    return np.cumsum(np.random.default_rng(2).integers(-20, 21, (len(LEADS), FS * 10)), axis=1)


def test_rhythm_leads_rate_values_and_start(tmp_path, digits):
    recording = open_recording(write_aecg(tmp_path / "ecg.xml", digits))
    assert isinstance(recording, AecgRecording)
    assert recording.lead_names == ("I", "II", "aVR", "V1")
    assert recording.units == ("mV",) * 4
    assert recording.fs == pytest.approx(FS) and recording.n_samples == FS * 10
    assert recording.start == datetime.datetime(2023, 5, 17, 22, 41, 7, 500000)
    assert recording.preferred_lead() == 1
    np.testing.assert_allclose(recording.read("V1"), (10 + SCALE_UV * digits[3]) / 1000, rtol=1e-6)


def test_increment_in_ms_and_unequal_leads(tmp_path, digits):
    text = aecg_text(digits, increment='<increment value="4" unit="ms"/>', median=False)
    text = text.replace(f" {digits[0][-1]}</digits>", "</digits>", 1)
    (tmp_path / "ecg.xml").write_text(text)
    recording = AecgRecording(tmp_path / "ecg.xml")
    assert recording.fs == pytest.approx(250) and recording.n_samples == FS * 10 - 1
    assert recording.warnings == (f"leads differ in length ({FS * 10 - 1}-{FS * 10} samples): cut to the shortest",)


def test_recognised_without_extension(tmp_path, digits):
    path = write_aecg(tmp_path / "export", digits)
    assert isinstance(open_recording(path), AecgRecording)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("<AnnotatedECG", "not a readable XML file"),
        ("<html/>", "not an HL7 aECG file"),
        ('<AnnotatedECG xmlns="urn:hl7-org:v3"/>', "the aECG file holds no series"),
        ("NO_TIME", "the rhythm series has no time sequence"),
        ("BAD_DIGIT", "lead I has digits that are not numbers"),
        ("ZERO_STEP", "time increment 0 s gives no sampling rate"),
    ],
)
def test_damaged_files_give_one_line(tmp_path, digits, text, problem):
    full = aecg_text(digits[:, :10], median=False)
    text = {
        "NO_TIME": full.replace("TIME_ABSOLUTE", "SOMETHING"),
        "BAD_DIGIT": full.replace("<digits>", "<digits>x ", 1),
        "ZERO_STEP": full.replace('value="0.002"', 'value="0"'),
    }.get(text, text)
    (tmp_path / "ecg.xml").write_text(text)
    with pytest.raises(RecordError) as raised:
        open_recording(tmp_path / "ecg.xml")
    assert problem in str(raised.value) and "\n" not in str(raised.value)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=st.lists(st.tuples(st.integers(0, 2000), st.integers(0, 5), st.text(max_size=4)), min_size=1, max_size=4))
def test_mutated_files_raise_only_record_error(tmp_path, edits):
    text = aecg_text(np.arange(40).reshape(4, 10), median=False)
    for position, delete, insert in edits:
        position %= len(text) + 1
        text = text[:position] + insert + text[position + delete :]
    (tmp_path / "ecg.xml").write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        recording = open_recording(tmp_path / "ecg.xml")
    except RecordError:
        return
    for lead in range(len(recording.lead_names)):
        assert len(recording.read(lead)) == recording.n_samples
