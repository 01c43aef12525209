"""DicomRecording on 12-lead ECG waveform files written by the test with pydicom."""

from __future__ import annotations

import datetime
from pathlib import Path

import numpy as np
import pydicom
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, TwelveLeadECGWaveformStorage, generate_uid

from danet_viewer.core.readers import open_recording
from danet_viewer.core.readers.dicom_reader import DicomRecording
from danet_viewer.errors import RecordError

FS = 500.0
LEADS = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")
SENSITIVITY_UV = 2.5  # uV per unit


def _group(digital: np.ndarray, label: str, fs: float, lead_names: tuple[str, ...]) -> Dataset:
    group = Dataset()
    group.MultiplexGroupLabel = label
    group.SamplingFrequency = fs
    group.NumberOfWaveformChannels = digital.shape[0]
    group.NumberOfWaveformSamples = digital.shape[1]
    group.WaveformBitsAllocated = 16
    group.WaveformSampleInterpretation = "SS"
    channels = []
    for name in lead_names:
        channel = Dataset()
        source = Dataset()
        source.CodeValue, source.CodingSchemeDesignator = "5.6.3-9-1", "SCPECG"
        source.CodeMeaning = f"Lead {name} (Einthoven)" if name in ("I", "II", "III") else f"Lead {name}"
        channel.ChannelSourceSequence = Sequence([source])
        channel.ChannelSensitivity = SENSITIVITY_UV
        unit = Dataset()
        unit.CodeValue, unit.CodingSchemeDesignator, unit.CodeMeaning = "uV", "UCUM", "microvolt"
        channel.ChannelSensitivityUnitsSequence = Sequence([unit])
        channel.ChannelSensitivityCorrectionFactor = 1.0
        channel.ChannelBaseline = 0.0
        channel.WaveformBitsStored = 16
        channels.append(channel)
    group.ChannelDefinitionSequence = Sequence(channels)
    group.WaveformData = np.ascontiguousarray(digital.T).astype("<i2").tobytes()
    return group


def write_dicom(path: Path, digital: np.ndarray, *, median: bool = True) -> Path:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = TwelveLeadECGWaveformStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    dataset = Dataset()
    dataset.file_meta = meta
    dataset.SOPClassUID = TwelveLeadECGWaveformStorage
    dataset.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    dataset.Modality = "ECG"
    dataset.AcquisitionDateTime = "20230517224107.250000+0200"
    groups = [_group(digital, "RHYTHM", FS, LEADS)]
    if median:  # a one-beat median group first: the rhythm group is still the one read
        groups.insert(0, _group(digital[:, :600], "MEDIAN BEAT", FS, LEADS))
    dataset.WaveformSequence = Sequence(groups)
    dataset.save_as(path, enforce_file_format=True)
    return path


@pytest.fixture
def digital() -> np.ndarray:
    rng = np.random.default_rng(11)
    return np.cumsum(rng.integers(-30, 31, (len(LEADS), int(FS) * 10)), axis=1).astype(np.int16)


def test_rhythm_leads_in_mv_and_the_acquisition_time(tmp_path, digital):
    recording = open_recording(write_dicom(tmp_path / "ecg.dcm", digital))
    assert isinstance(recording, DicomRecording)
    assert recording.lead_names == LEADS
    assert recording.units == ("mV",) * 12
    assert recording.fs == FS and recording.n_samples == digital.shape[1]
    assert recording.start == datetime.datetime(2023, 5, 17, 22, 41, 7, 250000)
    assert recording.lead_names[recording.preferred_lead()] == "II"
    np.testing.assert_allclose(recording.read("V5"), digital[10] * SENSITIVITY_UV / 1000, rtol=1e-6)


def test_a_dicom_file_without_extension_is_recognised(tmp_path, digital):
    path = write_dicom(tmp_path / "ECG0001", digital, median=False)
    assert isinstance(open_recording(path), DicomRecording)


def test_a_dicom_image_is_not_an_ecg(tmp_path):
    dataset = Dataset()
    dataset.file_meta = FileMetaDataset()
    dataset.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    dataset.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    dataset.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    dataset.SOPClassUID = dataset.file_meta.MediaStorageSOPClassUID
    dataset.SOPInstanceUID = dataset.file_meta.MediaStorageSOPInstanceUID
    dataset.save_as(tmp_path / "ct.dcm", enforce_file_format=True)
    with pytest.raises(RecordError, match=r"ct\.dcm: a DICOM file without waveforms \(not an ECG\)"):
        open_recording(tmp_path / "ct.dcm")


def test_truncated_waveform_data_gives_one_line(tmp_path, digital):
    path = write_dicom(tmp_path / "ecg.dcm", digital, median=False)
    dataset = pydicom.dcmread(path)
    dataset.WaveformSequence[0].WaveformData = dataset.WaveformSequence[0].WaveformData[:1000]
    dataset.save_as(path)
    with pytest.raises(RecordError, match=r"ecg\.dcm: damaged waveform \(12 channels of 5000 samples declared"):
        open_recording(path)


def test_not_dicom_at_all(tmp_path):
    (tmp_path / "x.dcm").write_bytes(b"\0" * 128 + b"DICM" + b"\xff" * 50)
    with pytest.raises(RecordError, match=r"x\.dcm: a DICOM file without waveforms"):
        open_recording(tmp_path / "x.dcm")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(flips=st.lists(st.tuples(st.integers(0, 3000), st.integers(0, 255)), min_size=1, max_size=6))
def test_mutated_files_raise_only_record_error(tmp_path, flips):
    path = write_dicom(tmp_path / "ecg.dcm", np.zeros((12, 100), np.int16), median=False)
    data = bytearray(path.read_bytes())
    for position, value in flips:
        data[position % len(data)] = value
    path.write_bytes(bytes(data))
    try:
        recording = open_recording(path)
    except RecordError:
        return
    for lead in range(len(recording.lead_names)):
        assert len(recording.read(lead)) == recording.n_samples
