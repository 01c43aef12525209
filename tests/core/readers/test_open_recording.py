"""open_recording's dispatch and the Annotations it pairs with."""

from __future__ import annotations

from pathlib import Path

import edfio
import numpy as np
import pytest
import wfdb

from danet_viewer.core.readers import (
    Annotations,
    CsvRecording,
    EdfRecording,
    WfdbRecording,
    open_recording,
    read_annotations,
)
from danet_viewer.errors import RecordError


def write_wfdb(directory: Path) -> Path:
    signal = np.linspace(-1.0, 1.0, 500).reshape(-1, 1)
    wfdb.wrsamp("rec", fs=250, units=["mV"], sig_name=["II"], p_signal=signal, fmt=["16"], write_dir=str(directory))
    return directory / "rec"


def test_wfdb_with_or_without_hea(tmp_path):
    base = write_wfdb(tmp_path)
    assert isinstance(open_recording(base), WfdbRecording)
    assert isinstance(open_recording(f"{base}.hea"), WfdbRecording)


def test_wfdb_path_with_a_dot_is_recognised_by_its_header(tmp_path):
    write_wfdb(tmp_path)
    (tmp_path / "rec.hea").rename(tmp_path / "rec.v2.hea")
    assert open_recording(tmp_path / "rec.v2").name == "rec.v2"


def test_edf_and_bdf(tmp_path):
    edfio.Edf([edfio.EdfSignal(np.zeros(500), 250, label="II")]).write(tmp_path / "rec.edf")
    edfio.Bdf([edfio.BdfSignal(np.zeros(500), 250, label="II")]).write(tmp_path / "rec.BDF")
    assert isinstance(open_recording(tmp_path / "rec.edf"), EdfRecording)
    assert isinstance(open_recording(tmp_path / "rec.BDF"), EdfRecording)


def test_csv_and_its_fs_argument(tmp_path):
    (tmp_path / "rec.csv").write_text("II\n1\n2\n3\n")
    recording = open_recording(tmp_path / "rec.csv", fs=500)
    assert isinstance(recording, CsvRecording)
    assert recording.fs == 500


def test_fs_is_ignored_by_the_other_formats(tmp_path):
    assert open_recording(write_wfdb(tmp_path), fs=1000).fs == 250


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("missing", "missing.hea: no such file"),
        ("missing.hea", "missing.hea: no such file"),
        ("missing.edf", "missing.edf: no such file"),
        ("missing.csv", "missing.csv: no such file"),
        ("missing.xyz", "missing.xyz: no such file"),
    ],
)
def test_missing_files(tmp_path, name, problem):
    with pytest.raises(RecordError, match=problem):
        open_recording(tmp_path / name)


def test_unknown_extension(tmp_path):
    (tmp_path / "notes.doc").write_text("II\n1\n")
    with pytest.raises(RecordError, match=r"notes\.doc: unknown file type '\.doc'"):
        open_recording(tmp_path / "notes.doc")


def test_read_annotations_sorts_and_keeps_every_mark(tmp_path):
    base = write_wfdb(tmp_path)
    wfdb.wrann("rec", "atr", np.array([5, 100, 100, 300]), ["N", "~", "V", "+"], aux_note=["", "", "", "(AFIB"],
               write_dir=str(tmp_path))
    annotations = read_annotations(open_recording(base), "atr")
    assert isinstance(annotations, Annotations)
    assert list(annotations.sample) == [5, 100, 100, 300]
    assert list(annotations.symbol) == ["N", "~", "V", "+"]
    assert annotations.symbol.dtype == object
    with pytest.raises(AttributeError):
        annotations.sample = np.zeros(0)  # frozen


def test_edf_plus_annotations_sorted_with_only_wfdb_symbols(tmp_path):
    path = tmp_path / "rec.edf"
    marks = [edfio.EdfAnnotation(onset, None, text) for onset, text in [(1.5, "V"), (0.25, "N"), (1.0, "Start")]]
    edfio.Edf([edfio.EdfSignal(np.zeros(500), 250, label="II")], annotations=marks).write(path)
    annotations = read_annotations(open_recording(path), "EDF")
    assert list(annotations.sample) == [62, 375]  # round(0.25 x 250) = 62 (half to even)
    assert list(annotations.symbol) == ["N", "V"]


def test_wfdb_named_by_its_dat_or_mat_file(tmp_path):
    base = write_wfdb(tmp_path)
    assert open_recording(f"{base}.dat").name == base.name
    (tmp_path / "lonely.mat").write_bytes(b"\0" * 16)
    with pytest.raises(RecordError, match=r"lonely\.mat: no WFDB header lonely\.hea beside it"):
        open_recording(tmp_path / "lonely.mat")
