"""WfdbRecording on synthetic WFDB records written into tmp_path."""

from __future__ import annotations

import contextlib
import datetime
import math
from pathlib import Path

import numpy as np
import pytest
import scipy.io
import wfdb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from danet_viewer.core.readers import read_annotations
from danet_viewer.core.readers.wfdb_reader import WfdbRecording
from danet_viewer.errors import RecordError

FS = 250
N_SAMPLES = 1001  # odd, so the packed formats end in a partial block
LEAD_NAMES = ["I", "MLII", "V1"]


@pytest.fixture
def physical() -> np.ndarray:
    """A smooth random 3-lead ECG-like signal in mV (samples x leads)."""
    rng = np.random.default_rng(7)
    return np.cumsum(rng.normal(0.0, 0.02, (N_SAMPLES, len(LEAD_NAMES))), axis=0)


def write_wrsamp(directory: Path, physical: np.ndarray, fmt: str) -> Path:
    wfdb.wrsamp(
        "rec",
        fs=FS,
        units=["mV"] * physical.shape[1],
        sig_name=LEAD_NAMES[: physical.shape[1]],
        p_signal=physical,
        fmt=[fmt] * physical.shape[1],
        write_dir=str(directory),
    )
    return directory / "rec"


def encode(digital: np.ndarray, fmt: str, init: np.ndarray) -> bytes:
    """Frames x signals digital samples in a format wfdb.wrsamp cannot write."""
    flat = digital.astype(np.int64).reshape(-1)
    if fmt == "8":  # first differences from the header's initial value
        previous = np.vstack([init, digital[:-1]])
        return (digital - previous).astype(np.int8).tobytes()
    if fmt == "61":
        return flat.astype(">i2").tobytes()
    if fmt == "160":
        return (flat + 32768).astype("<u2").tobytes()
    unsigned = np.concatenate([flat, np.zeros(-len(flat) % 3, np.int64)]) & 0x3FF
    a, b, c = unsigned[0::3], unsigned[1::3], unsigned[2::3]
    if fmt == "311":  # three 10-bit samples in bits 0-9, 10-19, 20-29 of a 32-bit word
        return (a | b << 10 | c << 20).astype("<u4").tobytes()
    # 310: two 16-bit words hold a and b in bits 1-10; c is split over their bits 11-15
    words = np.empty(2 * len(a), np.int64)
    words[0::2] = a << 1 | (c & 0x1F) << 11
    words[1::2] = b << 1 | (c >> 5) << 11
    return words.astype("<u2").tobytes()


def write_by_hand(directory: Path, digital: np.ndarray, fmt: str) -> Path:
    """A record with gain 100/mV whose signal file is written by ``encode``."""
    init = digital[0]
    lines = [f"rec {digital.shape[1]} {FS} {len(digital)}"]
    lines += [f"rec.dat {fmt} 100/mV 12 0 {init[i]} 0 0 {LEAD_NAMES[i]}" for i in range(digital.shape[1])]
    (directory / "rec.hea").write_text("\n".join(lines) + "\n")
    payload = encode(digital, fmt, init)
    if fmt in ("310", "311"):  # keep only the bytes the samples need, as a writer may
        payload = payload[: math.ceil(digital.size * 4 / 3)]
    (directory / "rec.dat").write_bytes(payload)
    return directory / "rec"


@pytest.mark.parametrize("fmt", ["16", "24", "32", "80", "212"])
def test_wrsamp_formats_round_trip_within_adc_resolution(tmp_path, physical, fmt):
    base = write_wrsamp(tmp_path, physical, fmt)
    recording = WfdbRecording(base)
    gains = wfdb.rdheader(str(base)).adc_gain
    for lead, gain in enumerate(gains):
        # One ADC step, plus float32 rounding for the fine 24- and 32-bit steps.
        np.testing.assert_allclose(recording.read(lead), physical[:, lead], atol=1.0 / gain + 1e-6)


def test_flac_format_round_trips(tmp_path, physical):
    pytest.importorskip("soundfile")
    recording = WfdbRecording(write_wrsamp(tmp_path, physical, "516"))
    gain = wfdb.rdheader(str(tmp_path / "rec")).adc_gain[0]
    np.testing.assert_allclose(recording.read(0), physical[:, 0], atol=1.0 / gain)


@pytest.mark.parametrize("fmt", ["8", "61", "160", "310", "311"])
def test_hand_written_formats_decode_exactly(tmp_path, fmt):
    rng = np.random.default_rng(3)
    limit = 500 if fmt in ("310", "311") else 2000
    digital = rng.integers(-limit, limit, (N_SAMPLES, 2))
    if fmt == "8":  # differences must fit in a byte
        digital = np.cumsum(rng.integers(-60, 60, (N_SAMPLES, 2)), axis=0)
    recording = WfdbRecording(write_by_hand(tmp_path, digital, fmt))
    for lead in range(2):
        np.testing.assert_allclose(recording.read(lead), digital[:, lead] / 100.0, rtol=1e-6)
        # Slices starting inside a packed block (and format 8's differences) still decode.
        np.testing.assert_allclose(recording.read(lead, 401, 733), digital[401:733, lead] / 100.0, rtol=1e-6)


@pytest.mark.parametrize("fmt", ["16", "212"])
def test_lazy_slices_equal_slices_of_a_full_read(tmp_path, physical, fmt):
    recording = WfdbRecording(write_wrsamp(tmp_path, physical, fmt))
    for lead in range(len(LEAD_NAMES)):
        full = recording.read(lead)
        assert full.dtype == np.float32
        for start, stop in [(0, 1), (1, 2), (3, 500), (499, N_SAMPLES), (N_SAMPLES - 1, N_SAMPLES)]:
            np.testing.assert_array_equal(recording.read(lead, start, stop), full[start:stop])


def test_metadata_and_paths_with_or_without_hea(tmp_path, physical):
    base = write_wrsamp(tmp_path, physical, "16")
    for given_path in (base, tmp_path / "rec.hea", str(base)):
        recording = WfdbRecording(given_path)
        assert recording.name == "rec"
        assert recording.fs == FS
        assert recording.n_samples == N_SAMPLES
        assert recording.duration_s == pytest.approx(N_SAMPLES / FS)
        assert recording.lead_names == tuple(LEAD_NAMES)
        assert recording.units == ("mV", "mV", "mV")
        assert recording.preferred_lead() == 1  # MLII
        assert recording.source_files() == [tmp_path / "rec.hea", tmp_path / "rec.dat"]


def test_content_hash_changes_when_the_signal_file_changes(tmp_path, physical):
    write_wrsamp(tmp_path, physical, "16")
    before = WfdbRecording(tmp_path / "rec").content_hash()
    assert WfdbRecording(tmp_path / "rec").content_hash() == before
    data = bytearray((tmp_path / "rec.dat").read_bytes())
    data[100] ^= 0xFF
    (tmp_path / "rec.dat").write_bytes(bytes(data))
    assert WfdbRecording(tmp_path / "rec").content_hash() != before


def test_signals_in_separate_files(tmp_path):
    digital = np.arange(200, dtype=np.int16).reshape(100, 2)
    (tmp_path / "rec.hea").write_text("rec 2 500 100\na.dat 16 200 16 0 0 0 0 II\nb.dat 16 400 16 0 0 0 0 V1\n")
    digital[:, 0].tofile(tmp_path / "a.dat")
    digital[:, 1].tofile(tmp_path / "b.dat")
    recording = WfdbRecording(tmp_path / "rec")
    assert recording.source_files() == [tmp_path / "rec.hea", tmp_path / "a.dat", tmp_path / "b.dat"]
    np.testing.assert_allclose(recording.read("V1"), digital[:, 1] / 400.0)


def test_mat_signal_file_with_twelve_leads(tmp_path):
    leads = ["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"]
    rng = np.random.default_rng(12)
    val = rng.integers(-3000, 3000, (12, 2000)).astype(np.int16)
    scipy.io.savemat(tmp_path / "A0001.mat", {"val": val}, format="4")
    lines = ["A0001 12 500 2000"]
    lines += [f"A0001.mat 16+24 1000/mV 16 0 {val[i, 0]} 0 0 {lead}" for i, lead in enumerate(leads)]
    (tmp_path / "A0001.hea").write_text("\n".join(lines) + "\n")
    recording = WfdbRecording(tmp_path / "A0001.hea")
    assert recording.lead_names == tuple(leads)
    assert recording.preferred_lead() == 1
    assert recording.source_files() == [tmp_path / "A0001.hea", tmp_path / "A0001.mat"]
    for lead in (0, 6, 11):
        np.testing.assert_allclose(recording.read(lead), val[lead] / 1000.0, rtol=1e-6)
    np.testing.assert_allclose(recording.read("V6", 1500, 1510), val[11, 1500:1510] / 1000.0, rtol=1e-6)


def test_annotations_are_read_with_rdann(tmp_path, physical):
    base = write_wrsamp(tmp_path, physical, "16")
    wfdb.wrann("rec", "atr", np.array([10, 250, 500, 900]), ["N", "+", "V", "A"], aux_note=["", "(N", "", ""],
               write_dir=str(tmp_path))
    annotations = read_annotations(WfdbRecording(base), "atr")
    np.testing.assert_array_equal(annotations.sample, [10, 250, 500, 900])
    assert annotations.sample.dtype == np.int64
    assert list(annotations.symbol) == ["N", "+", "V", "A"]
    assert len(annotations) == 4


def test_annotations_at_another_rate_are_rescaled(tmp_path, physical):
    base = write_wrsamp(tmp_path, physical, "16")
    wfdb.wrann("rec", "qrs", np.array([20, 1000]), ["N", "N"], fs=2 * FS, write_dir=str(tmp_path))
    annotations = read_annotations(WfdbRecording(base), "qrs")
    np.testing.assert_array_equal(annotations.sample, [10, 500])


def test_missing_and_corrupt_annotation_files(tmp_path, physical):
    recording = WfdbRecording(write_wrsamp(tmp_path, physical, "16"))
    with pytest.raises(RecordError, match=r"rec\.atr: no such annotation file"):
        read_annotations(recording, "atr")
    (tmp_path / "rec.atr").write_bytes(b"\xff\xff\x01")
    with pytest.raises(RecordError, match=r"rec\.atr: cannot read annotations"):
        read_annotations(recording, "atr")


@pytest.mark.parametrize(
    ("header", "dat_bytes", "file_name", "problem"),
    [
        ("rec 1 250 1000\nrec.dat 16 200 16 0 0 0 0 II\n", b"\0" * 1999, "rec.dat",
         "truncated: header promises 2000 bytes, file has 1999"),
        ("rec 2 250 1000\nrec.dat 212 200 12 0 0 0 0 I\nrec.dat 212 200 12 0 0 0 0 II\n", b"\0" * 2999,
         "rec.dat", "truncated: header promises 3000 bytes, file has 2999"),
        ("rec 1 250 1000\nrec.dat 16+24 200 16 0 0 0 0 II\n", b"\0" * 2000, "rec.dat",
         "truncated: header promises 2024 bytes, file has 2000"),
        ("rec 1 250 1000\nother.dat 16 200 16 0 0 0 0 II\n", None, "rec.hea", "missing signal file other.dat"),
        ("rec 1 250 0\nrec.dat 16 200 16 0 0 0 0 II\n", b"", "rec.hea", "the signal has no samples"),
        ("rec 1 250\nrec.dat 16 200 16 0 0 0 0 II\n", b"", "rec.hea", "the signal has no samples"),
        ("rec 1 250\nrec.dat 508 200 16 0 0 0 0 II\n", b"", "rec.hea",
         "a FLAC record needs a signal length in its header"),
        ("rec 1 5 1000\nrec.dat 16 200 16 0 0 0 0 II\n", b"\0" * 2000, "rec.hea",
         "sampling rate 5 Hz is outside"),
        ("rec 1 1000000 1000\nrec.dat 16 200 16 0 0 0 0 II\n", b"\0" * 2000, "rec.hea",
         "sampling rate 1e+06 Hz is outside"),
        ("rec/2 1 250 2000\nseg1 1000\nseg2 1000\n", None, "seg1.hea", "no such file"),
        ("this is not a header\n", None, "rec.hea", "cannot parse header"),
        ("", None, "rec.hea", "cannot parse header"),
        ("rec 1 250 1000\nrec.dat 16 200 16 0 0 0 0 II\nrec.dat 16 200 16 0 0 0 0 V1\n", b"\0" * 4000,
         "rec.hea", "header declares 1 signals but describes 2"),
    ],
)
def test_bad_records_raise_record_error(tmp_path, header, dat_bytes, file_name, problem):
    (tmp_path / "rec.hea").write_text(header)
    if dat_bytes is not None:
        (tmp_path / "rec.dat").write_bytes(dat_bytes)
    with pytest.raises(RecordError) as raised:
        WfdbRecording(tmp_path / "rec")
    message = str(raised.value)
    assert file_name in message
    assert problem in message
    assert "\n" not in message


def test_missing_header(tmp_path):
    with pytest.raises(RecordError, match=r"nothing\.hea: no such file"):
        WfdbRecording(tmp_path / "nothing")


def test_a_signal_file_changed_after_opening_raises_record_error(tmp_path, physical):
    recording = WfdbRecording(write_wrsamp(tmp_path, physical, "16"))
    (tmp_path / "rec.dat").unlink()
    with pytest.raises(RecordError, match=r"rec\.hea: cannot read samples"):
        recording.read(0)


def _mutate(text: bytes, edits: list[tuple[int, int, bytes]]) -> bytes:
    """Apply (position, delete count, insertion) edits to ``text``."""
    for position, delete, insert in edits:
        position %= len(text) + 1
        text = text[:position] + insert + text[position + delete :]
    return text


HEADER_BYTES = b"rec 2 250 1000\nrec.dat 212 200 12 0 0 0 0 MLII\nrec.dat 212 200 12 0 0 0 0 V5\n"
HEADER_TOKENS = st.binary(max_size=3) | st.sampled_from([b" ", b"0", b"+", b"/"])
EDITS = st.lists(
    st.tuples(st.integers(0, 200), st.integers(0, 3), HEADER_TOKENS),
    min_size=1,
    max_size=4,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=EDITS, dat_size=st.sampled_from([0, 2999, 3000, 3001, 40000]))
def test_mutated_headers_raise_only_record_error(tmp_path, edits, dat_size):
    (tmp_path / "rec.hea").write_bytes(_mutate(HEADER_BYTES, edits))
    (tmp_path / "rec.dat").write_bytes(bytes(range(256)) * (dat_size // 256) + b"\x01" * (dat_size % 256))
    try:
        recording = WfdbRecording(tmp_path / "rec")
    except RecordError:
        return
    for lead in range(len(recording.lead_names)):
        samples = recording.read(lead)
        assert samples.dtype == np.float32
        assert len(samples) == recording.n_samples


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(header=st.binary(max_size=300))
def test_random_header_bytes_raise_only_record_error(tmp_path, header):
    (tmp_path / "rec.hea").write_bytes(header)
    (tmp_path / "rec.dat").write_bytes(b"\0" * 3000)
    with contextlib.suppress(RecordError):
        WfdbRecording(tmp_path / "rec")


def write_multi_rate(directory: Path, ecg_fast: np.ndarray, ecg_slow: np.ndarray, pleth: np.ndarray) -> Path:
    """Frame rate 62.5 Hz: II at 4 samples per frame (250 Hz), V at 2 (125 Hz), PLETH at 1."""
    digital = [np.round(np.asarray(signal) * 1000).astype(np.int64) for signal in (ecg_fast, ecg_slow, pleth)]
    record = wfdb.Record(
        record_name="mixed", n_sig=3, fs=62.5, sig_len=len(pleth), sig_name=["II", "V", "PLETH"],
        file_name=["mixed.dat"] * 3, units=["mV", "mV", "NU"], fmt=["16"] * 3, samps_per_frame=[4, 2, 1],
        adc_gain=[1000.0] * 3, baseline=[0] * 3, adc_res=[16] * 3, adc_zero=[0] * 3,
        init_value=[int(signal[0]) for signal in digital], checksum=[0] * 3, block_size=[0] * 3,
        e_d_signal=digital,
    )
    record.wrsamp(expanded=True, write_dir=str(directory))
    return directory / "mixed"


def test_multi_rate_leads_are_read_at_their_own_rate_not_averaged(tmp_path):
    n_frames = 500
    time_fast = np.arange(4 * n_frames) / 250.0
    ecg_fast = np.where(np.arange(4 * n_frames) % 250 == 100, 1.5, 0.0)  # one-sample spikes: averaging cuts them
    ecg_slow = np.sin(2 * np.pi * np.arange(2 * n_frames) / 125.0)
    recording = WfdbRecording(write_multi_rate(tmp_path, ecg_fast, ecg_slow, np.cos(time_fast[::4])))
    assert recording.lead_names == ("II", "V")  # PLETH, at another rate, is no lead
    assert recording.fs == 250.0 and recording.n_samples == 4 * n_frames
    assert recording.warnings == ("V interpolated up to 250 Hz",)
    np.testing.assert_allclose(recording.read("II"), ecg_fast, atol=1e-3)
    np.testing.assert_allclose(recording.read("V")[::2], ecg_slow, atol=1e-3)
    for start, stop in [(0, 1), (3, 10), (801, 1203), (4 * n_frames - 5, 4 * n_frames)]:
        np.testing.assert_allclose(recording.read("II", start, stop), ecg_fast[start:stop], atol=1e-3)
        np.testing.assert_allclose(recording.read("V", start, stop), recording.read("V")[start:stop], atol=1e-6)


def test_annotations_of_a_multi_rate_record_count_frames(tmp_path):
    n_frames = 500
    base = write_multi_rate(tmp_path, np.zeros(4 * n_frames), np.zeros(2 * n_frames), np.zeros(n_frames))
    wfdb.wrann("mixed", "atr", np.array([10, 20]), np.array(["N", "V"]), write_dir=str(tmp_path))
    np.testing.assert_array_equal(read_annotations(WfdbRecording(base), "atr").sample, [40, 80])


def write_multi_segment(directory: Path, physical: np.ndarray) -> Path:
    """Segments: layout, 500 samples of II and ABP, a 100-sample gap, 300 samples of II alone."""
    # The first segment orders its signals unlike the layout: leads are matched by name.
    wfdb.wrsamp("s_0001", fs=125, units=["mmHg", "mV"], sig_name=["ABP", "II"], p_signal=physical[:500, 1::-1],
                fmt=["16", "16"], write_dir=str(directory))
    wfdb.wrsamp("s_0002", fs=125, units=["mV"], sig_name=["II"], p_signal=physical[:300, :1], fmt=["16"],
                write_dir=str(directory))
    (directory / "s_layout.hea").write_text("s_layout 2 125 0\n~ 0 1/mV 16 0 0 0 0 II\n~ 0 1/mmHg 16 0 0 0 0 ABP\n")
    (directory / "s.hea").write_text("s/4 2 125 900 10:20:30 01/02/2003\ns_layout 0\ns_0001 500\n~ 100\ns_0002 300\n")
    return directory / "s"


def test_multi_segment_record_reads_across_segments_and_gaps(tmp_path, physical):
    recording = WfdbRecording(write_multi_segment(tmp_path, physical))
    assert recording.lead_names == ("ABP", "II")
    assert recording.units == ("mmHg", "mV")
    assert recording.fs == 125 and recording.n_samples == 900
    assert recording.start == datetime.datetime(2003, 2, 1, 10, 20, 30)
    assert recording.warnings == (
        "ABP is missing for 3 s of the record: read as 0 there",
        "II is missing for 1 s of the record: read as 0 there",
    )
    np.testing.assert_allclose(recording.read("ABP", 0, 500), physical[:500, 1], atol=1e-3)
    lead = recording.read("II")
    np.testing.assert_allclose(lead[:500], physical[:500, 0], atol=1e-3)
    np.testing.assert_array_equal(lead[500:600], 0.0)
    np.testing.assert_allclose(lead[600:], physical[:300, 0], atol=1e-3)
    np.testing.assert_array_equal(recording.read("II", 450, 650), lead[450:650])
    assert {path.name for path in recording.source_files()} >= {"s.hea", "s_0001.dat", "s_0002.dat"}


def test_a_missing_segment_file_is_refused(tmp_path, physical):
    write_multi_segment(tmp_path, physical)
    (tmp_path / "s_0002.dat").unlink()
    with pytest.raises(RecordError, match=r"s_0002\.hea: missing signal file s_0002\.dat"):
        WfdbRecording(tmp_path / "s")


def test_a_header_without_signal_length_takes_it_from_the_file(tmp_path, physical):
    base = write_wrsamp(tmp_path, physical, "16")
    lines = (tmp_path / "rec.hea").read_text().splitlines()
    lines[0] = " ".join(lines[0].split()[:3])
    (tmp_path / "rec.hea").write_text("\n".join(lines) + "\n")
    recording = WfdbRecording(base)
    assert recording.n_samples == N_SAMPLES
    np.testing.assert_allclose(recording.read("MLII", 10, 20), physical[10:20, 1], atol=1e-3)


def test_base_date_and_time_give_the_start(tmp_path, physical):
    base = write_wrsamp(tmp_path, physical, "16")
    assert WfdbRecording(base).start is None
    header = (tmp_path / "rec.hea").read_text().splitlines()
    (tmp_path / "rec.hea").write_text("\n".join([header[0] + " 23:59:58.5", *header[1:]]) + "\n")
    time_only = WfdbRecording(base)  # a time of day without a date
    assert time_only.start == datetime.datetime(1900, 1, 1, 23, 59, 58, 500000) and not time_only.start_date_known
    (tmp_path / "rec.hea").write_text("\n".join([header[0] + " 08:15:00 24/12/1999", *header[1:]]) + "\n")
    assert WfdbRecording(base).start == datetime.datetime(1999, 12, 24, 8, 15)
    assert WfdbRecording(base).start_date_known


def test_a_record_named_by_its_signal_file(tmp_path, physical):
    write_wrsamp(tmp_path, physical, "16")
    recording = WfdbRecording(tmp_path / "rec.dat")
    assert recording.name == "rec" and recording.path == tmp_path / "rec.hea"
