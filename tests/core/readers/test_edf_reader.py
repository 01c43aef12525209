"""EdfRecording on synthetic EDF, EDF+ and BDF files written into tmp_path with edfio."""

from __future__ import annotations

import contextlib
import datetime
from pathlib import Path

import edfio
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from danet_viewer.core.readers import read_annotations
from danet_viewer.core.readers.edf_reader import EdfAnnotation, EdfRecording
from danet_viewer.errors import RecordError

FS = 500
SECONDS = 6
N_SIGNALS_WRITTEN = 3  # two ECG leads and a slow respiration signal
ECG_RANGE = (-5.0, 5.0)


@pytest.fixture
def ecg() -> np.ndarray:
    rng = np.random.default_rng(5)
    return np.clip(np.cumsum(rng.normal(0.0, 0.02, (2, FS * SECONDS)), axis=1), *ECG_RANGE)


def edf_signals(ecg: np.ndarray, signal_class: type = edfio.EdfSignal) -> list:
    return [
        signal_class(ecg[0], FS, label="ECG V1", physical_dimension="mV", physical_range=ECG_RANGE),
        signal_class(np.zeros(25 * SECONDS), 25, label="Resp", physical_dimension="Ohm"),
        signal_class(ecg[1], FS, label="ECG II", physical_dimension="mV", physical_range=ECG_RANGE),
    ]


def write_edf(path: Path, ecg: np.ndarray, annotations: list[edfio.EdfAnnotation] | None = None) -> Path:
    edfio.Edf(edf_signals(ecg), annotations=annotations).write(path)
    return path


def resolution(signal_class: type = edfio.EdfSignal) -> float:
    digital = 2**15 if signal_class is edfio.EdfSignal else 2**23
    return (ECG_RANGE[1] - ECG_RANGE[0]) / (2 * digital - 1)


def patch(path: Path, offset: int, text: bytes) -> None:
    data = bytearray(path.read_bytes())
    data[offset : offset + len(text)] = text
    path.write_bytes(bytes(data))


def signal_field_offset(n_signals: int, field_offset: int, signal: int, width: int) -> int:
    """Byte offset of one signal's field; ``field_offset`` is the field's offset per signal."""
    return 256 + field_offset * n_signals + signal * width


def test_values_round_trip_and_other_rates_are_skipped(tmp_path, ecg):
    recording = EdfRecording(write_edf(tmp_path / "rec.edf", ecg))
    assert recording.lead_names == ("ECG V1", "ECG II")
    assert recording.units == ("mV", "mV")
    assert recording.fs == FS
    assert recording.n_samples == FS * SECONDS
    assert recording.duration_s == pytest.approx(SECONDS)
    assert recording.name == "rec"
    assert recording.preferred_lead() == 1  # "ECG II"
    assert recording.annotations == ()
    for lead in range(2):
        samples = recording.read(lead)
        assert samples.dtype == np.float32
        np.testing.assert_allclose(samples, ecg[lead], atol=resolution() + 1e-6)


def test_lazy_slices_equal_slices_of_a_full_read(tmp_path, ecg):
    recording = EdfRecording(write_edf(tmp_path / "rec.edf", ecg))
    full = recording.read("ECG II")
    for start, stop in [(0, 1), (1, 499), (499, 501), (1234, 2999), (FS * SECONDS - 1, FS * SECONDS)]:
        np.testing.assert_array_equal(recording.read("ECG II", start, stop), full[start:stop])


def test_bdf_round_trips(tmp_path, ecg):
    edfio.Bdf(edf_signals(ecg, edfio.BdfSignal)).write(tmp_path / "rec.bdf")
    recording = EdfRecording(tmp_path / "rec.bdf")
    assert recording.lead_names == ("ECG V1", "ECG II")
    np.testing.assert_allclose(recording.read(1), ecg[1], atol=resolution(edfio.BdfSignal) + 1e-6)
    np.testing.assert_array_equal(recording.read(1, 100, 200), recording.read(1)[100:200])


def test_edf_plus_annotations(tmp_path, ecg):
    marks = [
        edfio.EdfAnnotation(2.5, None, "V"),
        edfio.EdfAnnotation(0.5, None, "N"),
        edfio.EdfAnnotation(1.0, 30.0, "Lights off"),
        edfio.EdfAnnotation(3.001, None, " A "),
    ]
    recording = EdfRecording(write_edf(tmp_path / "rec.edf", ecg, marks))
    assert recording.lead_names == ("ECG V1", "ECG II")  # the annotation signal is no lead
    assert EdfAnnotation(1.0, 30.0, "Lights off") in recording.annotations
    assert [a.onset_s for a in recording.annotations] == [0.5, 1.0, 2.5, 3.001]
    annotations = read_annotations(recording, "edf")
    np.testing.assert_array_equal(annotations.sample, [250, 1250, 1500])
    assert list(annotations.symbol) == ["N", "V", "A"]


def test_annotations_need_the_files_own_extension(tmp_path, ecg):
    recording = EdfRecording(write_edf(tmp_path / "rec.edf", ecg, []))
    with pytest.raises(RecordError, match=r"rec\.edf: EDF\+ annotations are read from the file itself"):
        read_annotations(recording, "atr")


def test_content_hash_changes_when_the_file_changes(tmp_path, ecg):
    path = write_edf(tmp_path / "rec.edf", ecg)
    before = EdfRecording(path).content_hash()
    patch(path, path.stat().st_size - 2, b"\x12\x34")
    assert EdfRecording(path).content_hash() != before
    assert EdfRecording(path).source_files() == [path]


def test_discontinuous_edf_plus_is_refused(tmp_path, ecg):
    path = write_edf(tmp_path / "rec.edf", ecg, [])
    patch(path, 192, b"EDF+D")
    EdfRecording(path)  # declared discontinuous, but its data records are contiguous
    data = path.read_bytes()
    # Move the second data record's timekeeping onset from 1 s to 7 s: a gap.
    path.write_bytes(data.replace(b"+1\x14\x14\x00", b"+7\x14\x14\x00", 1))
    with pytest.raises(RecordError, match=r"rec\.edf: discontinuous EDF\+D recordings"):
        EdfRecording(path)


def _bad_file(tmp_path: Path, ecg: np.ndarray, damage: str) -> Path:
    """A file with one kind of damage."""
    path = write_edf(tmp_path / "rec.edf", ecg)
    n = N_SIGNALS_WRITTEN
    if damage == "not edf":
        path.write_text("time,I\n0,1\n")
    elif damage == "empty":
        path.write_bytes(b"")
    elif damage == "truncated":
        path.write_bytes(path.read_bytes()[:-3])
    elif damage == "trailing":
        path.write_bytes(path.read_bytes() + b"\0\0")
    elif damage == "unknown records":
        patch(path, 236, b"-1      ")
    elif damage == "bad record count":
        patch(path, 236, b"abc     ")
    elif damage == "flat calibrations":  # physical max := physical min of both ECG signals
        for signal in (0, 2):
            patch(path, signal_field_offset(n, 16 + 80 + 8 + 8, signal, 8), b"-5      ")
    elif damage == "bad physical min":
        patch(path, signal_field_offset(n, 16 + 80 + 8, 0, 8), b"x       ")
    elif damage == "slow rate":  # 1 data record of 6 s becomes 600 s long: 5 Hz
        patch(path, 244, b"600     ")
    elif damage == "no samples":
        path.write_bytes(path.read_bytes()[: 256 * (n + 1)])
        patch(path, 236, b"0       ")
    return path


@pytest.mark.parametrize(
    ("damage", "problem"),
    [
        ("not edf", "not an EDF file"),
        ("empty", "not an EDF file"),
        ("truncated", "truncated: header promises"),
        ("trailing", "(trailing data)"),
        ("unknown records", "the header does not give the number of data records"),
        ("bad record count", "malformed EDF header"),
        ("flat calibrations", "no ECG signal has a usable calibration (signal 'ECG II' has no usable calibration"),
        ("bad physical min", "not a valid EDF file"),
        ("slow rate", "sampling rate 0.833333 Hz is outside"),
        ("no samples", "the signal has no samples"),
    ],
)
def test_bad_files_raise_record_error(tmp_path, ecg, damage, problem):
    path = _bad_file(tmp_path, ecg, damage)
    with pytest.raises(RecordError) as raised:
        EdfRecording(path)
    message = str(raised.value)
    assert message.startswith(f"{path}: ")
    assert problem in message
    assert "\n" not in message


def test_one_badly_calibrated_lead_is_skipped_with_a_warning(tmp_path, ecg):
    path = write_edf(tmp_path / "rec.edf", ecg)
    patch(path, signal_field_offset(N_SIGNALS_WRITTEN, 16 + 80 + 8 + 8, 0, 8), b"-5      ")
    recording = EdfRecording(path)
    assert recording.lead_names == ("ECG II",)
    assert recording.warnings == ("signal 'ECG V1' has no usable calibration (physical -5 to -5, "
                                  "digital -32768 to 32767): skipped",)
    np.testing.assert_allclose(recording.read(0), ecg[1], atol=resolution() + 1e-6)


def psg(tmp_path: Path, ecg: np.ndarray, signals: list, name: str = "psg.edf") -> EdfRecording:
    edfio.Edf(signals).write(tmp_path / name)
    return EdfRecording(tmp_path / name)


def test_a_psg_reads_its_ecg_not_the_eeg_or_the_1_hz_sao2_before_it(tmp_path, ecg):
    eeg = edfio.EdfSignal(ecg[1] * 0.05, FS, label="EEG C3-A2", physical_dimension="uV", physical_range=(-1, 1))
    sao2 = edfio.EdfSignal(np.full(SECONDS, 97.0), 1, label="SaO2", physical_dimension="%", physical_range=(0, 100))
    ecg_signal = edfio.EdfSignal(ecg[0], FS, label="ECG", physical_dimension="mV",
                                 physical_range=ECG_RANGE)
    for order in ([eeg, sao2, ecg_signal], [sao2, ecg_signal, eeg]):
        recording = psg(tmp_path, ecg, order)
        assert recording.lead_names == ("ECG",)
        assert recording.fs == FS
        assert recording.warnings == ()
        np.testing.assert_allclose(recording.read(0), ecg[0], atol=resolution() + 1e-6)


def test_mne_labels_and_the_transducer_choose_the_ecg(tmp_path, ecg):
    signals = [
        edfio.EdfSignal(ecg[0], FS, label="EEG Fp1", physical_dimension="uV", physical_range=ECG_RANGE),
        edfio.EdfSignal(ecg[0], FS, label="ECG ECG1", physical_dimension="uV", physical_range=ECG_RANGE),
        edfio.EdfSignal(ecg[1], FS, label="ECG ECG2", physical_dimension="uV", physical_range=ECG_RANGE),
        edfio.EdfSignal(ecg[1], FS, label="chan 4", transducer_type="ECG electrode", physical_dimension="uV",
                        physical_range=ECG_RANGE),
    ]
    recording = psg(tmp_path, ecg, signals)
    assert recording.lead_names == ("ECG ECG1", "ECG ECG2", "chan 4")
    assert recording.preferred_lead() == 0


def test_a_file_without_ecg_says_so(tmp_path, ecg):
    signals = [
        edfio.EdfSignal(ecg[0], FS, label="EEG Fz-Cz", physical_dimension="uV", physical_range=ECG_RANGE),
        edfio.EdfSignal(np.full(SECONDS, 97.0), 1, label="SpO2", physical_dimension="%", physical_range=(0, 100)),
    ]
    with pytest.raises(RecordError, match=r"psg\.edf: no ECG signal \(the file holds EEG Fz-Cz, SpO2\)"):
        psg(tmp_path, ecg, signals)


def test_unlabelled_signals_are_read_with_a_warning(tmp_path, ecg):
    signals = [edfio.EdfSignal(ecg[0], FS, label="ch1", physical_dimension="mV", physical_range=ECG_RANGE)]
    recording = psg(tmp_path, ecg, signals)
    assert recording.lead_names == ("ch1",)
    assert recording.warnings == ("no signal is labelled as ECG; reading ch1 as ECG leads",)


def test_ecg_leads_at_different_rates_are_interpolated_up_to_the_highest(tmp_path, ecg):
    slow = ecg[1][::4]  # 125 Hz
    signals = [
        edfio.EdfSignal(slow, FS // 4, label="ECG I", physical_dimension="mV", physical_range=ECG_RANGE),
        edfio.EdfSignal(ecg[0], FS, label="ECG II", physical_dimension="mV", physical_range=ECG_RANGE),
    ]
    recording = psg(tmp_path, ecg, signals)
    assert recording.fs == FS and recording.n_samples == FS * SECONDS
    assert recording.warnings == (f"ECG I interpolated up to {FS} Hz",)
    upsampled = recording.read("ECG I")
    assert len(upsampled) == FS * SECONDS
    np.testing.assert_allclose(upsampled[::4], slow, atol=resolution() + 1e-6)  # the stored samples, exactly
    midpoints = (slow[:-1] + slow[1:]) / 2
    np.testing.assert_allclose(upsampled[2:-4:4], midpoints, atol=resolution() + 1e-6)
    for start, stop in [(0, 1), (3, 9), (1001, 2003), (FS * SECONDS - 3, FS * SECONDS)]:
        np.testing.assert_allclose(recording.read("ECG I", start, stop), upsampled[start:stop], atol=1e-6)


def test_start_date_and_time_from_the_header(tmp_path, ecg):
    edf = edfio.Edf(edf_signals(ecg), starttime=datetime.time(22, 41, 7),
                    recording=edfio.Recording(startdate=datetime.date(2023, 5, 17)))
    edf.write(tmp_path / "rec.edf")
    assert EdfRecording(tmp_path / "rec.edf").start == datetime.datetime(2023, 5, 17, 22, 41, 7)


def test_an_anonymised_date_leaves_the_time_of_day(tmp_path, ecg):
    edf = edfio.Edf(edf_signals(ecg), starttime=datetime.time(8, 0, 30))
    edf.write(tmp_path / "rec.edf")
    patch(tmp_path / "rec.edf", 88, b"Startdate X X X X".ljust(80))
    recording = EdfRecording(tmp_path / "rec.edf")
    assert recording.start == datetime.datetime(1900, 1, 1, 8, 0, 30) and not recording.start_date_known


def test_annotation_only_edf_plus_has_no_leads(tmp_path):
    path = tmp_path / "marks.edf"
    edfio.Edf([], annotations=[edfio.EdfAnnotation(1.0, None, "N")]).write(path)
    with pytest.raises(RecordError, match=r"marks\.edf: the file holds no signals, only annotations"):
        EdfRecording(path)


def test_missing_file(tmp_path):
    with pytest.raises(RecordError, match=r"gone\.edf: no such file"):
        EdfRecording(tmp_path / "gone.edf")


@pytest.fixture(scope="module")
def valid_edf_plus(tmp_path_factory) -> bytes:
    rng = np.random.default_rng(1)
    path = tmp_path_factory.mktemp("edf") / "valid.edf"
    signals = [edfio.EdfSignal(rng.normal(size=2 * 100), 100, label="II", physical_dimension="mV")]
    edfio.Edf(signals, annotations=[edfio.EdfAnnotation(0.5, None, "N")]).write(path)
    return path.read_bytes()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    edits=st.lists(
        st.tuples(st.integers(0, 1000), st.binary(min_size=1, max_size=4) | st.sampled_from([b" ", b"0", b"-", b"9"])),
        min_size=1,
        max_size=4,
    ),
    cut=st.integers(0, 3),
)
def test_mutated_edf_raises_only_record_error(tmp_path, valid_edf_plus, edits, cut):
    data = bytearray(valid_edf_plus)
    for position, replacement in edits:
        position %= len(data)
        data[position : position + len(replacement)] = replacement
    path = tmp_path / "fuzz.edf"
    path.write_bytes(bytes(data[: len(data) - cut]))
    try:
        recording = EdfRecording(path)
    except RecordError:
        return
    for lead in range(len(recording.lead_names)):
        assert len(recording.read(lead)) == recording.n_samples
    read_annotations(recording, "edf")


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=1200))
def test_random_bytes_raise_only_record_error(tmp_path, data):
    path = tmp_path / "random.edf"
    path.write_bytes(b"0       " + data)
    with contextlib.suppress(RecordError):
        EdfRecording(path)
