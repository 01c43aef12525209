"""The window under trouble: a second window on the same store, a stale lock, an analysis that fails,
a full or read-only disk. Each gives a message, keeps the reviewer's labels and offers a retry."""

from __future__ import annotations

import errno
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from contextlib import contextmanager

import numpy as np
import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QMessageBox

from danet_viewer._qt import analysis_worker
from danet_viewer._qt.main_window import MainWindow
from danet_viewer.core import store as store_module
from danet_viewer.core.store import AnnotationStore
from danet_viewer.core.store_location import default_store_path
from danet_viewer.errors import StoreWriteError
from tests._qt.conftest import ANALYSIS_TIMEOUT_MS
from tests.conftest import REPO


@pytest.fixture
def messages(monkeypatch):
    """Warnings the window shows, collected instead of blocking the test."""
    shown = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text: shown.append(f"{title}: {text}"))
    return shown


def stored_reviews(path):
    """The reviews on disk, read by a fresh reader (what a crash right now would leave)."""
    with AnnotationStore.open(path) as store:
        return {s: r.symbol for s, r in store.record("209_excerpt").reviews.items()}


def second_window(qtbot, tmp_path, model) -> MainWindow:
    settings = QSettings(str(tmp_path / "second.ini"), QSettings.Format.IniFormat)
    settings.setValue("reviewer", "dr second")
    window = MainWindow(settings)
    window.model = model
    qtbot.addWidget(window)
    window.show()
    return window


def wait_for_analysis(qtbot, window) -> None:
    qtbot.waitUntil(lambda: not window.analysing, timeout=ANALYSIS_TIMEOUT_MS)


def test_a_second_window_is_read_only_with_a_notice_until_the_first_closes(qtbot, analysed, record, model,
                                                                           tmp_path, messages):
    second = second_window(qtbot, tmp_path, model)
    assert second.open_record(str(record))
    wait_for_analysis(qtbot, second)
    # it shows the first window's analysis
    assert not second.review.store.writable and second.review.session is not None
    assert second.notice_bar.isVisible() and "Read-only" in second.notice_bar.label.text()
    assert "another window or process" in second.notice_bar.label.text() and second.notice_bar.retry_button.isVisible()
    second.review.select_row(3)
    qtbot.keyClick(second.view, Qt.Key.Key_A)
    assert "read-only" in second.statusBar().currentMessage()
    sample = int(second.review.session.table.sample[3])
    assert sample not in stored_reviews(default_store_path(record))

    second.notice_bar.retry()  # the first window still writes: still read-only
    wait_for_analysis(qtbot, second)
    assert not second.review.store.writable and second.notice_bar.isVisible()
    analysed.close()
    second.notice_bar.retry()
    wait_for_analysis(qtbot, second)
    assert second.review.store.writable and not second.notice_bar.isVisible()
    second.review.select_row(3)
    qtbot.keyClick(second.view, Qt.Key.Key_A)
    assert stored_reviews(default_store_path(record))[sample] == "A" and not messages
    second.close()


def test_a_writer_killed_with_the_store_open_leaves_no_lock_behind(qtbot, window, record, messages):
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import time
            from danet_viewer.core.store import AnnotationStore
            store = AnnotationStore.open({str(default_store_path(record))!r}, "a")
            print("holding", flush=True)
            time.sleep(60)
            """)],
        cwd=REPO, stdout=subprocess.PIPE, text=True,
    )
    assert holder.stdout.readline().strip() == "holding"
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    assert default_store_path(record).with_name("209_excerpt.danet.h5.lock").exists()  # the file stays...
    assert window.open_record(str(record))
    wait_for_analysis(qtbot, window)
    assert window.review.store.writable and not window.notice_bar.isVisible() and not messages  # ...the lock does not


def test_an_analysis_error_on_one_record_leaves_the_window_usable(qtbot, window, record, messages, monkeypatch):
    broken = record.with_name("broken.hea")
    for part in record.parent.glob("209_excerpt.*"):
        shutil.copy(part, part.with_name(part.name.replace("209_excerpt", "broken")))
    broken.write_text(broken.read_text().replace("209_excerpt", "broken"))
    original = analysis_worker.analyse_recording

    def fails_on_broken(recording, *args, **kwargs):
        if recording.name == "broken":
            raise RuntimeError("detector exploded")
        return original(recording, *args, **kwargs)

    monkeypatch.setattr(analysis_worker, "analyse_recording", fails_on_broken)
    assert window.open_record(str(broken))
    wait_for_analysis(qtbot, window)
    assert len(messages) == 1 and "RuntimeError: detector exploded" in messages[0]
    assert window.review.session is None and window.notice_bar.isVisible()
    assert "Analysis failed" in window.notice_bar.label.text()
    qtbot.keyClick(window.view, Qt.Key.Key_A)  # no record to label: nothing happens, nothing breaks

    assert window.open_record(str(record))
    wait_for_analysis(qtbot, window)
    assert window.review.session is not None and not window.notice_bar.isVisible()
    window.review.select_row(5)
    qtbot.keyClick(window.view, Qt.Key.Key_V)
    assert stored_reviews(default_store_path(record))[int(window.review.session.table.sample[5])] == "V"
    assert len(messages) == 1


class FullDisk:
    """The store's journal on a disk that has just filled up: a write gets 10 bytes in, then ENOSPC.

    (The core's own test fills a disk for real, with RLIMIT_FSIZE, in a subprocess.)
    """

    def __init__(self, journal) -> None:
        self.journal = journal

    def write(self, data) -> int:
        self.journal.write(bytes(data[:10]))
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def __getattr__(self, name: str):
        return getattr(self.journal, name)


@contextmanager
def full_disk(store):
    store._journal = FullDisk(store._journal)
    try:
        yield
    finally:
        store._journal = store._journal.journal


def test_a_full_disk_keeps_labels_in_memory_in_order_and_retry_saves_them(qtbot, analysed, record, messages):
    window, path = analysed, default_store_path(record)
    journal = path.with_name(path.name + ".journal")
    samples = [int(window.review.session.table.sample[row]) for row in (2, 4, 6)]
    with full_disk(window.review.store):
        size_before = journal.stat().st_size
        for row, key in ((2, Qt.Key.Key_A), (4, Qt.Key.Key_V), (6, Qt.Key.Key_A), (2, Qt.Key.Key_N)):
            window.review.select_row(row)
            qtbot.keyClick(window.view, key)
        assert window.review.unsaved == [(samples[0], "A"), (samples[1], "V"), (samples[2], "A"), (samples[0], "N")]
        assert window.notice_bar.isVisible() and "4 label(s) not saved" in window.notice_bar.label.text()
        assert "No space left on device" in window.notice_bar.label.text()
        assert window.notice_bar.retry_button.isVisible()
        table = window.review.session.table
        shown = table.review_symbol[np.searchsorted(table.sample, samples)].tolist()
        assert shown == ["N", "V", "A"]  # drawn as labelled, the last label of a beat winning
        assert not set(samples) & set(stored_reviews(path)) and journal.stat().st_size == size_before
        window.undo()
        assert "not saved yet" in window.statusBar().currentMessage() and len(window.review.unsaved) == 4
        window.notice_bar.retry()  # the disk is still full: still kept
        assert len(window.review.unsaved) == 4
    window.notice_bar.retry()
    assert not window.review.unsaved and not window.notice_bar.isVisible() and not messages
    assert [stored_reviews(path)[s] for s in samples] == ["N", "V", "A"]
    window.undo()  # the history is the saved one: undo takes back the last label saved
    assert stored_reviews(path)[samples[0]] == "A"


def test_an_undo_the_disk_refuses_stays_in_the_history(qtbot, analysed, record):
    window, path = analysed, default_store_path(record)
    session = window.review.session
    window.review.select_row(2)
    qtbot.keyClick(window.view, Qt.Key.Key_A)
    sample = int(session.table.sample[2])
    assert stored_reviews(path)[sample] == "A"
    with full_disk(window.review.store), pytest.raises(StoreWriteError):
        session.undo()
    assert session.can_undo and not session.can_redo
    assert session.undo() == sample and sample not in stored_reviews(path)
    with full_disk(window.review.store), pytest.raises(StoreWriteError):
        session.redo()
    assert session.can_redo
    assert session.redo() == sample and stored_reviews(path)[sample] == "A"


def test_a_read_only_disk_keeps_labels_until_it_takes_them_and_closing_asks_first(qtbot, analysed, record,
                                                                                   messages, monkeypatch):
    window, path = analysed, default_store_path(record)

    def read_only_disk(fd):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr(store_module.os, "fsync", read_only_disk)
    window.review.select_row(1)
    qtbot.keyClick(window.view, Qt.Key.Key_A)
    sample = int(window.review.session.table.sample[1])
    assert window.review.unsaved == [(sample, "A")] and "Read-only file system" in window.notice_bar.label.text()
    asked = []
    monkeypatch.setattr(QMessageBox, "question", lambda *args: asked.append(args) or QMessageBox.StandardButton.Cancel)
    assert not window.close() and window.isVisible() and asked  # closing would lose the kept label
    monkeypatch.undo()
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text: messages.append(text))
    window.review.select_row(3)
    qtbot.keyClick(window.view, Qt.Key.Key_V)  # the disk takes writes again: the kept label goes first
    assert not window.review.unsaved and not window.notice_bar.isVisible() and not messages
    reviews = stored_reviews(path)
    assert reviews[sample] == "A" and reviews[int(window.review.session.table.sample[3])] == "V"


def test_a_failure_while_showing_an_analysis_closes_that_record_with_a_message(qtbot, window, record, messages,
                                                                               monkeypatch):
    def broken_reader(recording):
        raise RuntimeError("no lead reader today")

    monkeypatch.setattr("danet_viewer._qt.main_window.LeadReader", broken_reader)
    assert window.open_record(str(record))
    wait_for_analysis(qtbot, window)
    assert len(messages) == 1 and "cannot show the analysis: RuntimeError: no lead reader today" in messages[0]
    assert window.review.recording is None and window.review.store is None and window.review.session is None
    AnnotationStore.open(default_store_path(record), "a").close()  # the half-shown record let go of its store
    monkeypatch.undo()
    assert window.open_record(str(record))
    wait_for_analysis(qtbot, window)
    assert window.review.session is not None
