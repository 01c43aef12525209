"""Clock time in the window and its exports: a WFDB record with a base time, one without, and an EDF, each shows
its times (clock, else elapsed) on the time axes, in the candidate list, the selected beat, the status bar and
the CSV export; the axis itself ticks on round clock times."""

from __future__ import annotations

import csv
import datetime

import edfio
import numpy as np
import pytest
import wfdb
from PySide6.QtCore import Qt

from danet_viewer._qt.axes import ClockAxis
from danet_viewer.core.clock import ELAPSED, RecordClock
from danet_viewer.core.export import export_csv
from tests._qt.conftest import ANALYSIS_TIMEOUT_MS
from tests.conftest import synthetic_ecg

FS = 250
PREMATURE = set(range(5, 80, 9))


def _wfdb(folder, name, base: datetime.datetime | None):
    signal, _ = synthetic_ecg(FS, 60, premature=PREMATURE)
    extra = {"base_time": base.time(), "base_date": base.date()} if base else {}
    wfdb.wrsamp(name, fs=FS, units=["mV"], sig_name=["MLII"], p_signal=signal[:, None].astype(np.float64),
                fmt=["212"], adc_gain=[200.0], baseline=[0], write_dir=str(folder), **extra)
    return folder / f"{name}.hea"


def _edf(folder, start: datetime.datetime):
    signal, _ = synthetic_ecg(FS, 60, premature=PREMATURE)
    ecg = edfio.EdfSignal(signal.astype(np.float64), FS, label="ECG II", physical_dimension="mV",
                          physical_range=(-5.0, 5.0))
    edfio.Edf([ecg], starttime=start.time(), recording=edfio.Recording(startdate=start.date())).write(
        folder / "holter.edf")
    return folder / "holter.edf"


def test_clock_ticks_fall_on_round_clock_times(qapp):
    axis = ClockAxis()
    axis.set_clock(RecordClock(datetime.datetime(2026, 3, 1, 8, 17, 23)))
    (spacing, values), *_ = axis.tickValues(0.0, 1800.0, 800)
    labels = axis.tickStrings(values, 1.0, spacing)
    assert spacing == 300 and labels[0] == "08:20:00" and labels[1] == "08:25:00"  # not 08:17:23 + 300 s
    (spacing, values), *_ = axis.tickValues(10.0, 12.0, 800)
    assert spacing == 0.5 and axis.tickStrings(values, 1.0, spacing)[:2] == ["08:17:33.0", "08:17:33.5"]
    axis.set_clock(ELAPSED)
    (spacing, values), *_ = axis.tickValues(0.0, 86400.0, 800)
    assert spacing == 10800 and axis.tickStrings(values, 1.0, spacing)[:2] == ["00:00:00", "03:00:00"]
    assert "elapsed" in axis.labelText and "ks" not in axis.labelText


@pytest.mark.parametrize("kind", ["wfdb with base time", "wfdb without", "edf"])
def test_times_shown_and_exported_follow_the_recordings_start(qtbot, window, tmp_path, kind):
    start = datetime.datetime(2026, 3, 1, 23, 59, 30)
    path = {"wfdb with base time": lambda: _wfdb(tmp_path, "based", start),
            "wfdb without": lambda: _wfdb(tmp_path, "plain", None),
            "edf": lambda: _edf(tmp_path, start)}[kind]()
    assert window.open_record(str(path))
    qtbot.waitUntil(lambda: not window.analysing, timeout=ANALYSIS_TIMEOUT_MS)
    clock = window.review.clock
    assert clock == (ELAPSED if kind == "wfdb without" else RecordClock(start))
    first_tick = "23:59:3" if clock.known else "00:00:0"

    # The axes: the main view's, the tachogram's and the overview's, never "ks".
    window.review.centre_on(40.0)  # 00:00:10 on the clock: the view crosses midnight
    axes = [window.view.raw_plot.getAxis("bottom"), window.tachogram.plot_widget.getPlotItem().getAxis("bottom"),
            window.overview.getPlotItem().getAxis("bottom")]
    shown = []
    for axis in axes:
        assert isinstance(axis, ClockAxis) and axis.clock == clock
        low, high = axis.linkedView().viewRange()[0]
        (spacing, values), *_ = axis.tickValues(low, high, axis.width())
        shown.append(axis.tickStrings(values, 1.0, spacing))
        assert all(len(label.split(":")) == 3 for label in shown[-1]) and "ks" not in axis.labelText
    # The main view around 40 s in: just past midnight on the clock, else 40 s elapsed.
    assert any(label.startswith("00:00:0" if clock.known else "00:00:4") for label in shown[0])
    assert shown[2][0] == ("23:59:30" if clock.known else "00:00:00")  # the overview starts at the start

    # The candidate list and the selected beat.
    candidates = window.review_list.model
    assert candidates.rowCount() and candidates.headerData(0, Qt.Orientation.Horizontal) == clock.kind
    row = int(candidates.rows[0])
    beat_s = window.review.session.table.sample[row] / FS
    assert candidates.data(candidates.index(0, 0)) == clock.text(beat_s, 3)
    assert candidates.data(candidates.index(0, 0)).startswith(first_tick[:5])
    window.review.select_row(row)
    assert clock.text(beat_s, 3) in window.details.text()
    assert clock.start_text() in window.context.text()  # the status bar says what the times are

    # The CSV export: the ISO 8601 clock time beside the seconds.
    export_csv(window.review.store, tmp_path / "beats.csv")
    rows = list(csv.DictReader((tmp_path / "beats.csv").open()))
    first = rows[0]
    assert first["time_iso"] == ("" if not clock.known else RecordClock(start).iso(float(first["time_s"])))
    if clock.known:
        assert first["time_iso"].startswith("2026-03-01T23:59:3")
        assert rows[-1]["time_iso"].startswith("2026-03-02T00:00:")  # past midnight, the next day's date


def test_a_lone_review_view_as_render_draws_it_takes_the_clock(qtbot):
    from danet_viewer._qt.axes import show_clock
    from danet_viewer._qt.review_view import ReviewView

    view = ReviewView()
    qtbot.addWidget(view)
    clock = RecordClock(datetime.datetime(2026, 3, 1, 8, 30))
    show_clock(view, clock)
    plots = (view.raw_plot, view.enhanced_plot, view.band_plot)
    assert all(plot.getAxis("bottom").clock == clock for plot in plots)
    assert "clock time (start 2026-03-01 08:30:00)" in view.band_plot.getAxis("bottom").labelText
