"""CsvRecording on CSV text written into tmp_path."""

from __future__ import annotations

import contextlib
import datetime
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from danet_viewer.core.readers import read_annotations
from danet_viewer.core.readers.csv_reader import CsvRecording
from danet_viewer.errors import RecordError

FS = 360.0


def write(tmp_path: Path, text: str, name: str = "rec.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def ecg_table(n: int = 400, with_time: bool = True) -> tuple[str, np.ndarray]:
    """CSV body (header row and data) and its lead values (leads x samples)."""
    rng = np.random.default_rng(2)
    leads = np.round(rng.normal(0.0, 0.5, (2, n)), 4)
    columns = ["time,MLII,V5"] if with_time else ["MLII,V5"]
    rows = [
        (f"{i / FS:.6f}," if with_time else "") + f"{leads[0, i]},{leads[1, i]}" for i in range(n)
    ]
    return "\n".join(columns + rows) + "\n", leads


def test_rate_from_the_time_column_and_values(tmp_path):
    body, leads = ecg_table()
    recording = CsvRecording(write(tmp_path, body))
    assert recording.fs == pytest.approx(FS)
    assert recording.lead_names == ("MLII", "V5")
    assert recording.units == ("", "")
    assert recording.n_samples == 400
    assert recording.duration_s == pytest.approx(400 / FS)
    assert recording.name == "rec"
    assert recording.preferred_lead() == 0
    for lead in range(2):
        samples = recording.read(lead)
        assert samples.dtype == np.float32
        np.testing.assert_allclose(samples, leads[lead], rtol=1e-6)
        np.testing.assert_array_equal(recording.read(lead, 17, 230), samples[17:230])


def test_comment_lines_give_rate_and_units(tmp_path):
    body, leads = ecg_table(with_time=False)
    preamble = "# exported by a monitor\n# sampling_rate: 500\n\n# units: mV, uV\n"
    recording = CsvRecording(write(tmp_path, preamble + body))
    assert recording.fs == 500
    assert recording.units == ("mV", "uV")
    np.testing.assert_allclose(recording.read("V5"), leads[1], rtol=1e-6)


def test_one_unit_applies_to_every_lead(tmp_path):
    body, _ = ecg_table(with_time=False)
    recording = CsvRecording(write(tmp_path, "# units: mV\n# sampling_rate: 250\n" + body))
    assert recording.units == ("mV", "mV")


@pytest.mark.parametrize("time_name", ["time", "time_s", "t", "seconds", "Time"])
def test_time_column_names(tmp_path, time_name):
    recording = CsvRecording(write(tmp_path, f"{time_name},II\n0,1\n0.002,2\n0.004,3\n"))
    assert recording.fs == pytest.approx(500)
    assert recording.lead_names == ("II",)


def test_rate_precedence_argument_then_comment_then_time(tmp_path):
    body, _ = ecg_table()
    path = write(tmp_path, "# sampling_rate: 400\n" + body)
    assert CsvRecording(path).fs == 400
    assert CsvRecording(path, fs=128).fs == 128


def test_time_column_within_one_percent_is_accepted(tmp_path):
    times = np.arange(100) / 250 + np.where(np.arange(100) % 2, 0.00002, 0.0)  # 0.5 % jitter
    rows = "".join(f"{t:.6f},1\n" for t in times)
    assert CsvRecording(write(tmp_path, "t,II\n" + rows)).fs == pytest.approx(250, rel=1e-3)


def test_crlf_line_endings_bom_and_trailing_blank_lines(tmp_path):
    path = tmp_path / "rec.csv"
    path.write_bytes("\ufeff# sampling_rate: 250\r\nII,V1\r\n1,2\r\n3,4\r\n\r\n\r\n".encode())
    recording = CsvRecording(path)
    assert recording.lead_names == ("II", "V1")
    np.testing.assert_array_equal(recording.read("V1"), [2, 4])


def test_content_hash_changes_when_the_file_changes(tmp_path):
    path = write(tmp_path, "# sampling_rate: 250\nII\n1\n2\n")
    before = CsvRecording(path).content_hash()
    path.write_text("# sampling_rate: 250\nII\n1\n3\n")
    assert CsvRecording(path).content_hash() != before
    assert CsvRecording(path).source_files() == [path]


def test_csv_has_no_annotations(tmp_path):
    recording = CsvRecording(write(tmp_path, "# sampling_rate: 250\nII\n1\n2\n"))
    with pytest.raises(RecordError, match=r"rec\.csv: annotations cannot be read"):
        read_annotations(recording, "atr")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("II,V1\n1,2\n", "no sampling rate: add a time column, a '# sampling_rate: HZ' line, or pass --fs"),
        ("# sampling_rate: 250\nII,V1\n1,2\n3,4,5\n", "line 4 has 3 fields, the header has 2"),
        ("# sampling_rate: 250\nII,V1\n1,2\n3\n,5\n", "2 missing or non-numeric values, first at line 4 column 2 (V1)"),
        ("# sampling_rate: 250\nII,V1\n1,2\n3,abc\n", "1 missing or non-numeric values, first at line 4 column 2 (V1)"),
        ("# sampling_rate: 250\nII,V1\n1,2\n\n3,4\n", "2 missing or non-numeric values, first at line 4 column 1 (II)"),
        ("# sampling_rate: 250\nII,V1\n1,nan\n", "1 missing or non-numeric values, first at line 3 column 2 (V1)"),
        ("# sampling_rate: 250\nII,V1\n", "the signal has no samples"),
        ("# sampling_rate: 250\nII,V1\n\n\n", "the signal has no samples"),
        ("# sampling_rate: 250\n", "the signal has no samples"),
        ("", "the signal has no samples"),
        ("# sampling_rate: fast\nII\n1\n", "'# sampling_rate: fast' is not a number"),
        ("# sampling_rate: 5\nII\n1\n", "sampling rate 5 Hz is outside"),
        ("# sampling_rate: 250\n# units: mV, mV, mV\nII,V1\n1,2\n", "'# units' gives 3 units for 2 leads"),
        ("time,II\n0,1\n0.004,1\n0.008,1\n0.014,1\n",
         "time column 'time' is not evenly spaced within 1 % (step to line 5 is 0.006 s); add a '# sampling_rate: "
         "HZ' line or pass --fs"),
        ("time,II\n0,1\n", "one time value gives no sampling rate"),
        ("time,II\n1,1\n0,1\n", "time column 'time' is not evenly spaced"),
        ("time\n0\n0.004\n", "the record holds no signals"),
    ],
)
def test_bad_files_raise_record_error(tmp_path, text, problem):
    path = write(tmp_path, text)
    with pytest.raises(RecordError) as raised:
        CsvRecording(path)
    message = str(raised.value)
    assert message.startswith(f"{path}: ")
    assert problem in message
    assert "\n" not in message


def test_binary_is_not_text(tmp_path):
    path = tmp_path / "rec.csv"
    path.write_bytes(b"II\n1\n\x00\x01\n")
    with pytest.raises(RecordError, match=r"rec\.csv: not a text file \(it holds NUL bytes\)"):
        CsvRecording(path, fs=250)


def test_missing_file(tmp_path):
    with pytest.raises(RecordError, match=r"gone\.csv: no such file"):
        CsvRecording(tmp_path / "gone.csv")


CSV_ALPHABET = st.sampled_from(list("0123456789.,-+e#: \n\"'\tabtime_sampling_rate") + ["\r\n", "nan", "inf", "\x00"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    text=st.lists(CSV_ALPHABET, max_size=80).map("".join),
    prefix=st.sampled_from(["", "# sampling_rate: 250\n", "time,II\n", "II,V1\n"]),
)
def test_random_text_raises_only_record_error(tmp_path, prefix, text):
    path = write(tmp_path, prefix + text)
    try:
        recording = CsvRecording(path)
    except RecordError:
        return
    for lead in range(len(recording.lead_names)):
        assert len(recording.read(lead)) == recording.n_samples


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=300))
def test_random_bytes_raise_only_record_error(tmp_path, data):
    path = tmp_path / "rec.csv"
    path.write_bytes(data)
    with contextlib.suppress(RecordError):
        CsvRecording(path, fs=250)


# --- Dialects (issue 20 item 6) ----------------------------------------------------------------------------

SIGNAL = np.round(np.sin(np.arange(300) / 7.0), 4)  # 300 samples


def rows(format_row, n: int = 300) -> str:
    return "".join(format_row(i, SIGNAL[i]) + "\n" for i in range(n))


def write_bytes(tmp_path: Path, data: bytes, name: str = "rec.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("semicolon, decimal comma", "time;II\n" + rows(lambda i, v: f"{i / 250:.3f};{v}".replace(".", ","))),
        ("tab", "time\tII\n" + rows(lambda i, v: f"{i / 250:.3f}\t{v}")),
        ("quoted", '"time","II"\n' + rows(lambda i, v: f'"{i / 250:.3f}","{v}"')),
        ("white space", "time   II\n" + rows(lambda i, v: f"{i / 250:8.3f} {v:9.4f}")),
        ("units row", "time,II\n(s),(mV)\n" + rows(lambda i, v: f"{i / 250:.3f},{v}")),
        ("time in ms", "Time (ms),II\n" + rows(lambda i, v: f"{i * 4},{v}")),
        ("time_ms", "time_ms,II\n" + rows(lambda i, v: f"{i * 4},{v}")),
        ("ISO stamps", "timestamp,II\n" + rows(lambda i, v: f"2023-05-17T22:41:{7 + i * 0.004:06.3f},{v}")),
        ("pandas index", ",time,II\n" + rows(lambda i, v: f"{i},{i / 250:.3f},{v}")),
        ("pipe", "time|II\n" + rows(lambda i, v: f"{i / 250:.3f}|{v}")),
    ],
)
def test_dialects_give_the_same_lead(tmp_path, name, text):
    recording = CsvRecording(write(tmp_path, text))
    assert recording.lead_names == ("II",), name
    assert recording.fs == pytest.approx(250), name
    np.testing.assert_allclose(recording.read(0), SIGNAL, atol=1e-6)


def test_units_row_and_bracketed_units(tmp_path):
    assert CsvRecording(write(tmp_path, "time,II\ns,mV\n0,1\n0.004,2\n")).units == ("mV",)
    assert CsvRecording(write(tmp_path, "t,ecg [uV]\n0,1\n0.004,2\n")).lead_names == ("ecg",)
    assert CsvRecording(write(tmp_path, "t,ecg [uV]\n0,1\n0.004,2\n")).units == ("uV",)


def test_cp1252_and_utf16_text(tmp_path):
    text = "# sampling_rate: 250\ntime;II\n;µV\n" + rows(lambda i, v: f"{i / 250:.3f};{v}".replace(".", ","))
    for encoding in ("cp1252", "utf-16", "utf-16-le"):
        recording = CsvRecording(write_bytes(tmp_path, text.encode(encoding)))
        assert recording.units == ("µV",), encoding
        np.testing.assert_allclose(recording.read(0), SIGNAL, atol=1e-6)


def test_no_header_and_an_index_column(tmp_path):
    recording = CsvRecording(write(tmp_path, rows(lambda i, v: f"{i},{v},{-v}")), fs=250)
    assert recording.lead_names == ("lead 2", "lead 3")  # the counter is an index, not the ECG
    np.testing.assert_allclose(recording.read(1), -SIGNAL, atol=1e-6)
    single = CsvRecording(write(tmp_path, rows(lambda i, v: f"{v}")), fs=250)
    assert single.lead_names == ("lead 1",) and single.n_samples == 300  # the first sample is no name


def test_numbered_header_is_ambiguous_and_no_header_settles_it(tmp_path):
    path = write(tmp_path, "1,2\n" + rows(lambda i, v: f"{int(v * 1000)},{int(-v * 1000)}"))
    recording = CsvRecording(path, fs=250)
    assert recording.lead_names == ("1", "2") and recording.n_samples == 300
    assert recording.warnings == ("line 1 (1, 2) is read as column names; pass --no-header if it is data",)
    as_data = CsvRecording(path, fs=250, no_header=True)
    assert as_data.lead_names == ("lead 1", "lead 2") and as_data.n_samples == 301


def test_column_chooses_the_one_lead(tmp_path):
    path = write(tmp_path, "time,PLETH,II\n" + rows(lambda i, v: f"{i / 250:.3f},{v + 2},{v}"))
    assert CsvRecording(path, column="II").lead_names == ("II",)
    assert CsvRecording(path, column="2", fs=100).lead_names == ("PLETH",)
    with pytest.raises(RecordError, match=r"rec\.csv: no column 'V9' \(columns: time, PLETH, II, or 1-3\)"):
        CsvRecording(path, column="V9")


def test_a_table_of_time_columns_only_names_the_option(tmp_path):
    with pytest.raises(RecordError, match=r"the record holds no signals \(columns: time\); pass --column"):
        CsvRecording(write(tmp_path, "time\n0\n0.004\n"))


def test_apple_watch_export(tmp_path):
    preamble = (
        'Name,Jane Doe\nDate of Birth,"Jan 1, 1980"\nRecorded Date,2020-03-15 09:23:44 +0100\n'
        'Classification,Sinus Rhythm\nSymptoms,\nSoftware Version,1.90\nDevice,"Watch4,2"\n'
        "Sample Rate,512 hertz\n,\nLead,Lead I\nUnit,µV\n,\n,\n"
    )
    recording = CsvRecording(write(tmp_path, preamble + rows(lambda i, v: f"{v * 1000:.3f}")))
    assert recording.fs == 512 and recording.n_samples == 300
    assert recording.lead_names == ("Lead I",) and recording.units == ("µV",)
    assert recording.start == datetime.datetime(2020, 3, 15, 9, 23, 44)
    np.testing.assert_allclose(recording.read(0), SIGNAL * 1000, atol=1e-3)


def test_polar_h10_export(tmp_path):
    header = "Phone timestamp;sensor timestamp [ns];timestamp [ms];ecg [uV]\n"
    # The phone stamps each batch of 73 samples on arrival: uneven; the sensor's stamps are even (130 Hz).
    body = rows(lambda i, v: f"2021-03-01T12:00:{(i // 73) * 0.56:06.3f};{599618429384829000 + i * 7692308};"
                             f"{i * 1000 / 130:.3f};{int(v * 1000)}")
    recording = CsvRecording(write(tmp_path, header + body, "polar.txt"))
    assert recording.lead_names == ("ecg",) and recording.units == ("uV",)
    assert recording.fs == pytest.approx(130, rel=1e-4)
    assert recording.start == datetime.datetime(2021, 3, 1, 12, 0)


def test_zephyr_bioharness_export(tmp_path):
    body = rows(lambda i, v: f"16/03/2017 10:23:{45 + i * 0.004:06.3f},{int(2000 + v * 500)}")
    recording = CsvRecording(write(tmp_path, "Time,EcgWaveform\n" + body))
    assert recording.lead_names == ("EcgWaveform",)
    assert recording.fs == pytest.approx(250)
    assert recording.start == datetime.datetime(2017, 3, 16, 10, 23, 45)


def test_tsv_and_txt_open_through_open_recording(tmp_path):
    from danet_viewer.core.readers import open_recording

    for name in ("rec.tsv", "rec.txt"):
        path = write(tmp_path, "time\tII\n" + rows(lambda i, v: f"{i / 250:.3f}\t{v}"), name)
        assert open_recording(path).lead_names == ("II",)
        assert open_recording(path, column="II").lead_names == ("II",)
