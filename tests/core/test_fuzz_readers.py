"""Fuzzing every reader: bad input gives one RecordError line, in bounded time and memory, never a traceback.

Campaigns (each also run at scale by ``benchmarks/bench_fuzz.py``;
``DANET_FUZZ_SCALE`` multiplies the examples and ``TRIED`` counts the inputs):

- WFDB: headers built field by field from typical and absurd values (sample
  counts, rates, gains, formats, frame sizes, skews, offsets) over truncated,
  padded or bit-flipped signal files, and bit-flipped annotation files;
- EDF/EDF+: header fields of a valid file replaced by absurd values, the file
  truncated, extended or bit-flipped;
- CSV: ragged rows, bad cells, absurd rate and unit lines, absurd ``--fs``;
- ISHNE, DICOM and aECG: valid files written by their reader tests, bit-flipped
  and cut short (ISHNE also with its header checksum recomputed, so that absurd
  header fields reach the reader).

An input that opens must then read every lead in full, each the length the
header promised. Memory is measured with tracemalloc (numpy and pandas report
their buffers to it), so a reader that sizes an array from a header, not the
file, fails here.
"""

from __future__ import annotations

import os
import tempfile
import time
import tracemalloc
from collections import Counter
from pathlib import Path

import edfio
import numpy as np
import wfdb
from hypothesis import given, settings
from hypothesis import strategies as st

from danet_viewer.core.readers import open_recording, read_annotations
from danet_viewer.errors import RecordError

SCALE = int(os.environ.get("DANET_FUZZ_SCALE", "1"))
TRIED: Counter[str] = Counter()  # inputs per campaign
OUTCOMES: Counter[tuple[str, str]] = Counter()  # (campaign, "opened" or "refused")
# A reader may hold the file several times over (decoded, as float32, a copy per read), never more.
MEMORY_BASE_BYTES = 32 << 20
MEMORY_BYTES_PER_INPUT_BYTE = 40
# Generous: inputs are a few kB and take milliseconds. (A reader that never returns meets pytest-timeout.)
MAX_SECONDS_PER_INPUT = 20.0


def _open_and_read(campaign: str, path: Path, annotation_extension: str | None = None, **options) -> str:
    """Open ``path``, read every lead and the annotations: 'opened' or 'refused' (a RecordError)."""
    TRIED[campaign] += 1
    input_bytes = sum(file.stat().st_size for file in path.parent.iterdir())
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    tracemalloc.reset_peak()
    started = time.monotonic()
    try:
        recording = open_recording(path, **options)
        for lead in range(len(recording.lead_names)):
            samples = recording.read(lead)
            assert samples.dtype == np.float32 and len(samples) == recording.n_samples
        if annotation_extension is not None:
            try:
                read_annotations(recording, annotation_extension)
            except RecordError as error:
                _check_message(error, path)
        outcome = "opened"
    except RecordError as error:
        _check_message(error, path)
        outcome = "refused"
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        if not was_tracing:
            tracemalloc.stop()
    assert time.monotonic() - started < MAX_SECONDS_PER_INPUT
    limit = MEMORY_BASE_BYTES + MEMORY_BYTES_PER_INPUT_BYTE * input_bytes
    assert peak <= limit, f"{path.name}: {peak / 2**20:.0f} MiB for {input_bytes} bytes of input"
    OUTCOMES[campaign, outcome] += 1
    return outcome


def _check_message(error: RecordError, path: Path) -> None:
    message = str(error)
    assert "\n" not in message and len(message) < 600
    assert error.path.parent == path.parent, message  # names one of the record's own files


# --- WFDB ------------------------------------------------------------------------------------------------

# A valid two-lead format-212 header (3000 bytes of signal) whose fields the fuzzer replaces, by kind.
WFDB_FIELDS = [["rec", "2", "360", "1000"],
               ["rec.dat", "212", "200", "12", "0", "0", "0", "0", "MLII"],
               ["rec.dat", "212", "200", "12", "0", "0", "0", "0", "V5"]]
WFDB_VALUES = {
    "count": ["0", "1", "-1", "3", "999", "1001", "999999999999", str(2**63), str(2**64 + 3), "1e3", "x", ""],
    "rate": ["0", "-360", "1e-300", "1e308", "nan", "inf", "360/0", "360/-2", "360(12)", "49.9", "20001",
             "360/1e-300", "250"],
    "file": ["other.dat", "rec.hea", "..", "rec.dat.dat"],
    "format": ["16", "8", "80", "61", "160", "24", "32", "310", "311", "516", "9999", "212x2", "212x0",
               "212x999999999", "212:3", "212:999", "212:999999999", "212+24", "212+999999999", "212x3:2+1"],
    "gain": ["0", "-200", "nan", "inf", "1e-300", "1e308", "200(5)/mV", "200(99999999999999999999)/mV", "/mV",
             "200/\u00b5V"],
    "integer": ["12", "16", "-1", "64", "99999999999999999999", "x", "-32768", "1e3"],
    "name": ["", "lead with spaces", "\u00e9"],
}
_KINDS = [["name", "count", "rate", "count"], ["file", "format", "gain"] + ["integer"] * 5 + ["name"]]


@st.composite
def wfdb_headers(draw) -> str:
    """The valid header with up to three fields replaced by absurd values, or a line dropped or repeated."""
    lines = [list(line) for line in WFDB_FIELDS]
    for _ in range(draw(st.integers(0, 3))):
        line = draw(st.integers(0, len(lines) - 1))
        field = draw(st.integers(0, len(lines[line]) - 1))
        kind = _KINDS[min(line, 1)][field]
        lines[line][field] = draw(st.sampled_from(WFDB_VALUES[kind]))
    change = draw(st.sampled_from(["none"] * 6 + ["drop a line", "repeat a line", "cut the tail"]))
    if change == "drop a line":
        del lines[draw(st.integers(0, len(lines) - 1))]
    elif change == "repeat a line":
        lines.append(lines[-1])
    elif change == "cut the tail":
        lines[-1] = lines[-1][: draw(st.integers(1, len(lines[-1])))]
    return "\n".join(" ".join(line) for line in lines) + "\n"


DAT_SIZES = st.sampled_from([3000] * 4 + [0, 1, 2999, 3001, 2048, 6000])


@settings(max_examples=100 * SCALE, deadline=None)
@given(header=wfdb_headers(), dat_size=DAT_SIZES, seed=st.integers(0, 2**32 - 1))
def test_wfdb_headers_of_absurd_values_over_any_signal_file(header, dat_size, seed):
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        (folder / "rec.hea").write_text(header)
        (folder / "rec.dat").write_bytes(np.random.default_rng(seed).bytes(dat_size))
        _open_and_read("WFDB: header fields", folder / "rec.hea")


def _write_valid_wfdb(folder: Path) -> dict[str, bytes]:
    rng = np.random.default_rng(3)
    signal = np.cumsum(rng.normal(0, 0.02, (1500, 2)), axis=0)
    wfdb.wrsamp("rec", fs=360, units=["mV", "mV"], sig_name=["MLII", "V5"], p_signal=signal, fmt=["212", "212"],
                write_dir=str(folder))
    wfdb.wrann("rec", "atr", np.arange(50, 1500, 300), ["N", "A", "N", "V", "N"], write_dir=str(folder))
    return {name: (folder / name).read_bytes() for name in ("rec.hea", "rec.dat", "rec.atr")}


with tempfile.TemporaryDirectory() as _folder:
    VALID_WFDB = _write_valid_wfdb(Path(_folder))


@settings(max_examples=60 * SCALE, deadline=None)
@given(
    target=st.sampled_from(["rec.dat", "rec.atr", "rec.hea"]),
    flips=st.lists(st.tuples(st.integers(0, 2**31), st.integers(0, 7)), max_size=6),
    keep=st.none() | st.floats(0, 1.2),
)
def test_wfdb_bit_flipped_or_truncated_files(target, flips, keep):
    with tempfile.TemporaryDirectory() as folder:
        for name, content in VALID_WFDB.items():
            (Path(folder) / name).write_bytes(content)
        header, file = Path(folder) / "rec.hea", Path(folder) / target
        data = bytearray(VALID_WFDB[target])
        for position, bit in flips:
            data[position % len(data)] ^= 1 << bit
        if keep is not None:
            data = data[: int(len(data) * keep)] if keep <= 1 else data + data[: int(len(data) * (keep - 1))]
        file.write_bytes(bytes(data))
        outcome = _open_and_read("WFDB: bit flips and truncation", header, annotation_extension="atr")
        if target != "rec.hea" and keep is None:
            assert outcome == "opened"  # a flipped signal or annotation byte changes values, not the header


# --- EDF ------------------------------------------------------------------------------------------------

N_EDF_SIGNALS = 4  # two ECG leads at 250 Hz, a 10 Hz signal, the EDF+ annotations


def _write_valid_edf(path: Path) -> bytes:
    rng = np.random.default_rng(4)
    signals = [edfio.EdfSignal(np.cumsum(rng.normal(0, 0.02, 1000)), 250, label=label, physical_dimension="mV",
                               physical_range=(-10, 10)) for label in ("II", "V5")]
    signals.append(edfio.EdfSignal(np.zeros(40), 10, label="Resp", physical_dimension="Ohm"))
    annotations = [edfio.EdfAnnotation(0.5, None, "N"), edfio.EdfAnnotation(1.7, 0.1, "A")]
    edfio.Edf(signals, annotations=annotations, data_record_duration=1).write(path)
    return path.read_bytes()


with tempfile.TemporaryDirectory() as _folder:
    VALID_EDF = _write_valid_edf(Path(_folder) / "rec.edf")


# (offset, width) of every field: the fixed header, then each signal field for every signal.
_SIGNAL_FIELD_WIDTHS = [16, 80, 8, 8, 8, 8, 8, 80, 8, 32]
EDF_FIELDS = [(0, 8), (8, 80), (88, 80), (168, 8), (176, 8), (184, 8), (192, 44), (236, 8), (244, 8), (252, 4)]
_offset = 256
for _width in _SIGNAL_FIELD_WIDTHS:
    EDF_FIELDS += [(_offset + signal * _width, _width) for signal in range(N_EDF_SIGNALS)]
    _offset += _width * N_EDF_SIGNALS
EDF_VALUES = ["0", "-1", "1", "4", "99999999", "-99999999", "1e308", "-1e308", "nan", "inf", "1e-300", "0.0001",
              "", "x", "EDF+D", "EDF+C", "+", "-32768", "32767", "5", "256", "1280", "EDF Annotations", "\xb5V",
              "01.01.85", "99.99.99", "00.00.00"]


@settings(max_examples=120 * SCALE, deadline=None)
@given(
    fields=st.lists(st.tuples(st.sampled_from(EDF_FIELDS), st.sampled_from(EDF_VALUES)), min_size=1, max_size=3),
    flips=st.lists(st.tuples(st.integers(0, 2**31), st.integers(0, 7)), max_size=3),
    length_change=st.sampled_from([0, 0, 0, -1, -2, -100, 1, 2, 512]),
)
def test_edf_headers_of_absurd_values_flips_and_lengths(fields, flips, length_change):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "rec.edf"
        data = bytearray(VALID_EDF)
        for (offset, width), value in fields:
            data[offset : offset + width] = value.encode("latin-1")[:width].ljust(width)
        for position, bit in flips:
            data[position % len(data)] ^= 1 << bit
        data = data[:length_change] if length_change < 0 else data + b"\0" * length_change
        path.write_bytes(bytes(data))
        _open_and_read("EDF/EDF+", path, annotation_extension="edf")


# --- CSV ------------------------------------------------------------------------------------------------

GOOD_CELLS = ["0.5", "-0.25", "1", "0", "1e-3"]
BAD_CELLS = ["", " ", "nan", "inf", "-inf", "1e999", "abc", "0x10", '"1"', " 2 ", "1;5", "1.2.3", "\x00",
             "\u0661\u0662", "9" * 400]
RATE_LINES = ["", "", "# sampling_rate: 360\n", "# sampling_rate: 0\n", "# sampling_rate: -1\n",
              "# sampling_rate: nan\n", "# sampling_rate: 1e308\n", "# sampling_rate: x\n",
              "# sampling_rate:\n"]
UNIT_LINES = ["", "# units: mV\n", "# units: mV, uV\n", "# units: a, b, c, d, e\n", "# units:\n"]
HEADERS = ["time,II,V5"] * 4 + ["II,V5", "II", "time", "t,II", ",", "II,II", "time,II,V5,"]


@st.composite
def csv_rows(draw, n_columns: int) -> list[list[str]]:
    """Well-formed rows of ``n_columns`` numbers, then at most two damages: a ragged row or a bad cell."""
    rows = [[f"{index / 360:.6f}"] + [draw(st.sampled_from(GOOD_CELLS)) for _ in range(n_columns - 1)]
            for index in range(draw(st.integers(0, 12)))]
    for _ in range(draw(st.integers(0, 2)) if rows else 0):
        row = rows[draw(st.integers(0, len(rows) - 1))]
        if row and draw(st.booleans()):
            row[draw(st.integers(0, len(row) - 1))] = draw(st.sampled_from(BAD_CELLS))
        else:
            width = max(0, len(row) + draw(st.sampled_from([-1, 1, 2, -len(row)])))
            row[:] = (row + ["1", "2"])[:width]
    return rows


@settings(max_examples=100 * SCALE, deadline=None)
@given(
    preamble=st.tuples(st.sampled_from(RATE_LINES), st.sampled_from(UNIT_LINES)),
    header_and_rows=st.sampled_from(HEADERS).flatmap(lambda h: st.tuples(st.just(h), csv_rows(h.count(",") + 1))),
    fs=st.sampled_from([None, None, None, 360.0, 0.0, -1.0, float("nan"), float("inf"), 1e308]),
    line_end=st.sampled_from(["\n", "\r\n", "\r"]),
)
def test_csv_ragged_rows_bad_cells_and_absurd_rates(preamble, header_and_rows, fs, line_end):
    header, rows = header_and_rows
    text = "".join(preamble) + header + "\n" + "".join(",".join(row) + "\n" for row in rows)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "rec.csv"
        path.write_bytes(text.replace("\n", line_end).encode())
        _open_and_read("CSV", path, fs=fs)


# --- ISHNE, DICOM, aECG ----------------------------------------------------------------------------------


def _valid_files() -> dict[str, tuple[str, bytes]]:
    from tests.core.readers.test_aecg_reader import aecg_text
    from tests.core.readers.test_dicom_reader import write_dicom
    from tests.core.readers.test_ishne_reader import write_ishne

    with tempfile.TemporaryDirectory() as folder:
        ishne = write_ishne(Path(folder) / "rec.ecg", np.arange(600, dtype=np.int16).reshape(2, 300)).read_bytes()
        dicom = write_dicom(Path(folder) / "rec.dcm", np.arange(1200, dtype=np.int16).reshape(12, 100)).read_bytes()
    aecg = aecg_text(np.arange(40).reshape(4, 10)).encode()
    return {"ISHNE": ("rec.ecg", ishne), "DICOM": ("rec.dcm", dicom), "aECG": ("rec.xml", aecg)}


VALID_OTHER_FILES = _valid_files()


@settings(max_examples=100 * SCALE, deadline=None)
@given(
    campaign=st.sampled_from(sorted(VALID_OTHER_FILES)),
    flips=st.lists(st.tuples(st.integers(0, 2**31), st.integers(0, 7)), min_size=1, max_size=4),
    length_change=st.sampled_from([0, 0, 0, -1, -7, -300, 3]),
    fix_checksum=st.booleans(),
)
def test_ishne_dicom_and_aecg_flipped_and_cut(campaign, flips, length_change, fix_checksum):
    from danet_viewer.core.readers.ishne_reader import crc_ccitt

    name, valid = VALID_OTHER_FILES[campaign]
    data = bytearray(valid)
    for position, bit in flips:
        data[position % len(data)] ^= 1 << bit
    data = data[:length_change] if length_change < 0 else data + b"\0" * length_change
    if campaign == "ISHNE" and fix_checksum:
        ecg_offset = int.from_bytes(data[22:26], "little", signed=True)
        if 10 < ecg_offset <= len(data):
            data[8:10] = crc_ccitt(bytes(data[10:ecg_offset])).to_bytes(2, "little")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(bytes(data))
        _open_and_read(campaign, path)


def test_a_header_promising_a_billion_frames_of_skew_is_refused_cheaply(tmp_path):
    """The bug this file found first: wfdb allocated 4 GB for a skew of 10**9 on a 1000-sample record."""
    (tmp_path / "rec.hea").write_text("rec 1 360 1000\nrec.dat 16:1000000000 200 16 0 0 0 0 II\n")
    (tmp_path / "rec.dat").write_bytes(b"\0" * 2000)
    assert _open_and_read("WFDB: header fields", tmp_path / "rec.hea") == "refused"


def test_a_signal_of_zero_samples_per_frame_is_refused(tmp_path):
    """Found by the header campaign (session 15): "212x0" was read as one sample per frame, which wfdb does not do, so
    the record opened and its second lead read empty."""
    header = "rec 2 nan 1000\nrec.dat 212 200 12 0 0 0 0 MLII\nrec.dat 212x0 200 12 0 0 0 0 V5\n"
    (tmp_path / "rec.hea").write_text(header)
    (tmp_path / "rec.dat").write_bytes(b"\0" * 3000)
    assert _open_and_read("WFDB: header fields", tmp_path / "rec.hea") == "refused"


def test_a_cell_of_four_hundred_nines_is_refused_not_an_overflow(tmp_path):
    """Found by the CSV campaign: pandas' to_numeric(errors="coerce") raised OverflowError on it."""
    path = tmp_path / "rec.csv"
    path.write_text("time,II\n0,1\n0.002," + "9" * 400 + "\n0.004,1\n")
    assert _open_and_read("CSV", path) == "refused"


def test_a_ragged_row_of_four_hundred_nines_is_refused_not_an_overflow(tmp_path):
    """Found by the CSV campaign again: the sample-counter check called to_numeric itself and overflowed."""
    path = tmp_path / "rec.csv"
    path.write_text(",\n0.000000\n" + "9" * 400 + ",0.5\n")
    assert _open_and_read("CSV", path) == "refused"


def test_a_dicom_element_length_flipped_to_hundreds_of_megabytes_is_refused_cheaply(tmp_path):
    """Found by the DICOM campaign: one flipped bit of a 10 kB file made pydicom ask the file for 784 MiB,
    which Python allocated up front before finding the file short."""
    name, valid = VALID_OTHER_FILES["DICOM"]
    data = bytearray(valid)
    data[202] ^= 1
    path = tmp_path / name
    path.write_bytes(bytes(data))
    assert _open_and_read("DICOM", path) == "refused"
