"""Recording's lead-name rules, warnings, start and the interpolation that multi-rate readers use."""

from __future__ import annotations

import datetime
from pathlib import Path

import numpy as np
import pytest

from danet_viewer.core.recording import (
    Recording,
    choose_ecg_signals,
    interpolate_up,
    is_ecg_name,
    is_other_signal,
    lead_key,
    start_of,
)
from danet_viewer.errors import RecordError

FS = 250.0


class ArrayRecording(Recording):
    def __init__(self, leads: dict[str, np.ndarray], units: list[str] | None = None, **options) -> None:
        self._samples = np.stack(list(leads.values())).astype(np.float32)
        super().__init__(Path("mem.csv"), "mem", FS, list(leads), units or ["mV"] * len(leads),
                         self._samples.shape[1], **options)

    def _read(self, lead: int, start: int, stop: int) -> np.ndarray:
        return self._samples[lead, start:stop].copy()

    def source_files(self) -> list[Path]:
        return []


def spiky_ecg(seconds: float = 20.0) -> np.ndarray:
    t = np.arange(0, seconds, 1 / FS)
    return np.exp(-(((t % 0.8) - 0.4) ** 2) / (2 * 0.01**2)) + 0.1 * np.sin(2 * np.pi * 0.3 * t)


def pleth(seconds: float = 20.0) -> np.ndarray:
    t = np.arange(0, seconds, 1 / FS)
    return np.maximum(0, np.sin(2 * np.pi * 1.2 * t)) ** 2 + 0.3 * np.sin(2 * np.pi * 2.4 * t + 1)


@pytest.mark.parametrize(
    ("name", "key"),
    [("ECG II", "II"), ("EKG: V1", "V1"), ("Lead I", "I"), (" mlii ", "MLII"), ("ECG1", "ECG1"), ("ECG", "ECG")],
)
def test_lead_key_drops_the_ecg_prefix(name, key):
    assert lead_key(name) == key


@pytest.mark.parametrize(
    "name", ["II", "MLII", "ECG ECG1", "EKG", "Lead I", "aVR", "-aVR", "V4R", "V", "ML5", "MV2", "CM5", "D2", "ECG_Raw"]
)
def test_ecg_names(name):
    assert is_ecg_name(name) and not is_other_signal(name)


@pytest.mark.parametrize(
    ("name", "unit"),
    [("EEG Fp1", "uV"), ("EEG C3-A2", "uV"), ("C3-A2", "uV"), ("SaO2", ""), ("PLETH", ""), ("ABP", "mmHg"),
     ("Resp", ""), ("chan 4", "%"), ("HR", "bpm")],
)
def test_other_signals(name, unit):
    assert is_other_signal(name, unit) and not is_ecg_name(name)


def test_an_ecg_transducer_names_an_unlabelled_signal():
    assert is_ecg_name("chan 4", "AgAgCl ECG electrode") and not is_ecg_name("chan 4", "thermistor")


def test_choose_ecg_signals():
    path = Path("psg.edf")
    assert choose_ecg_signals(path, ["EEG Fp1", "ECG ECG1", "SaO2"], ["uV", "uV", "%"]) == ([1], [])
    chosen, notes = choose_ecg_signals(path, ["ch1", "SaO2"], ["mV", "%"])
    assert chosen == [0] and notes == ["no signal is labelled as ECG; reading ch1 as ECG leads"]
    with pytest.raises(RecordError, match=r"psg\.edf: no ECG signal \(the file holds EEG Fp1, SaO2\)"):
        choose_ecg_signals(path, ["EEG Fp1", "SaO2"], ["uV", "%"])


def test_preferred_lead_order():
    flat = np.zeros(10)
    assert ArrayRecording({"V1": flat, "ECG II": flat, "MLII": flat}).preferred_lead() == 1
    assert ArrayRecording({"V5": flat, "MLII": flat}).preferred_lead() == 1
    assert ArrayRecording({"PLETH": flat, "ABP": flat, "aVL": flat}).preferred_lead() == 2
    assert ArrayRecording({"a": flat, "b": flat}).preferred_lead() == 0


def test_lead_warnings_by_name_unit_and_content():
    recording = ArrayRecording(
        {"II": spiky_ecg(), "PLETH": pleth(), "lead 3": pleth(), "lead 4": spiky_ecg(), "ch5": spiky_ecg()},
        units=["mV", "", "mV", "mV", "mmHg"],
        warnings=["a channel was skipped"],
    )
    assert recording.lead_warnings("II") == ("a channel was skipped",)
    assert recording.lead_warnings("PLETH")[1] == "lead 'PLETH' (no unit) does not look like ECG by its name or unit"
    no_qrs = "lead 'lead 3' does not look like ECG (no sharp QRS-like deflections)"
    assert recording.lead_warnings("lead 3")[1] == no_qrs
    assert recording.lead_warnings("lead 4") == ("a channel was skipped",)
    assert recording.lead_warnings("ch5")[1] == "lead 'ch5' (mmHg) does not look like ECG by its name or unit"


def test_start_defaults_to_none():
    recording = ArrayRecording({"II": np.zeros(5)})
    assert recording.start is None and not recording.start_date_known


def test_start_of_a_time_without_a_date():
    assert start_of(None, None) is None
    assert start_of(None, datetime.time(7, 5)) == datetime.datetime(1900, 1, 1, 7, 5)
    assert start_of(datetime.date(2020, 2, 29), datetime.time(7, 5)) == datetime.datetime(2020, 2, 29, 7, 5)
    assert ArrayRecording({"II": np.zeros(5)}, start=datetime.datetime(2020, 2, 29, 7, 5)).start_date_known


def test_interpolate_up_keeps_the_stored_samples_and_interpolates_between():
    native = np.array([0.0, 4.0, 8.0, 4.0], dtype=np.float32)
    calls = []

    def read(first: int, last: int) -> np.ndarray:
        calls.append((first, last))
        return native[first:last]

    full = interpolate_up(read, 100.0, 4, 400.0, 0, 16)
    np.testing.assert_allclose(full, [0, 1, 2, 3, 4, 5, 6, 7, 8, 7, 6, 5, 4, 4, 4, 4])
    np.testing.assert_allclose(interpolate_up(read, 100.0, 4, 400.0, 5, 10), full[5:10])
    assert calls[-1] == (1, 4)  # only the native samples around the range
