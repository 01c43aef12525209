"""``danet-viewer render`` of a stretch (issue 19 item 19): a 10 s stretch of a long record without a store
analyses only the stretch and its context (it took 50 s on 24 h, analysing all of it first), never writes a
store, and says what its scores were taken against; a store that holds the analysis is used as it is."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QImage

from danet_viewer.cli import main
from danet_viewer.core import analysis
from danet_viewer.core.analysis import STRETCH_CONTEXT_S, analyse_recording
from danet_viewer.core.readers import open_recording
from danet_viewer.core.readers.wfdb_reader import WfdbRecording
from danet_viewer.core.store import AnnotationStore
from tests.conftest import synthetic_ecg, write_wfdb_record

FS = 250.0


def test_a_stretch_of_a_long_record_reads_only_the_stretch_and_its_context(tmp_path, monkeypatch, capsys):
    minute, _ = synthetic_ecg(FS, 60.0)
    record = write_wfdb_record(tmp_path, "long", np.tile(minute, 60), FS)  # 1 h, past the whole-record limit
    reads: list[tuple[int, int]] = []
    read = WfdbRecording._read
    monkeypatch.setattr(WfdbRecording, "_read", lambda self, lead, start, stop: reads.append((start, stop))
                        or read(self, lead, start, stop))
    out, store = tmp_path / "stretch.png", tmp_path / "long.h5"
    assert main(["render", str(record), "--start", "1800", "--span", "10", "--out", str(out),
                 "--store", str(store)]) == 0
    first, last = (1800.0 - STRETCH_CONTEXT_S) * FS, (1810.0 + STRETCH_CONTEXT_S) * FS
    assert reads and all(first <= start < stop <= last for start, stop in reads)
    assert QImage(str(out)).width() >= 1000 and not store.exists()  # a stretch's analysis is never stored
    printed = capsys.readouterr().out
    assert "scored against 0:25:00-0:35:10 of the record" in printed and "not the whole record" in printed


def test_a_store_holding_the_analysis_is_used_and_nothing_is_analysed(record, model, tmp_path, monkeypatch, capsys):
    store = tmp_path / "sample.h5"
    with AnnotationStore.open(store, "a") as writer:
        analyse_recording(open_recording(record), writer, who="test", model=model)
    monkeypatch.setattr(analysis, "analyse_stretch", lambda *args, **kwargs: (_ for _ in ()).throw(
        AssertionError("the store's analysis should have been used")))
    out = tmp_path / "stored.png"
    assert main(["render", str(record), "--start", "20", "--span", "10", "--out", str(out),
                 "--store", str(store)]) == 0
    assert f"scores from the store {store}" in capsys.readouterr().out and QImage(str(out)).width() >= 1000
