"""The store on a disk that fills up or turns read-only: a refused write changes nothing, says so, and the
same write succeeds once the disk takes it; an edit reported saved is never lost, nor one reported failed
resurrected."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from danet_viewer.core import store as store_module
from danet_viewer.core.store import AnnotationStore
from danet_viewer.errors import StoreWriteError
from tests.conftest import REPO

BEATS = np.arange(100, 3600, 300)


def _new_store(path):
    store = AnnotationStore.open(path, "a")
    store.put_recording(name="rec", source_path="/rec.hea", content_hash="h", fs=360.0, lead_names=["II"],
                        units=["mV"], n_samples=3600, who="t")
    store.set_beats("rec", BEATS, detector="t", lead="II", who="t")
    return store


def _symbols(path) -> dict[int, str]:
    with AnnotationStore.open(path) as store:
        return {s: r.symbol for s, r in store.record("rec").reviews.items()}


# Runs in a fresh interpreter: RLIMIT_FSIZE fails every write past a file size, as a full disk
# fails every write past its last free block, and it must not touch pytest's own files.
FULL_DISK = textwrap.dedent("""
    import json, resource, signal, sys
    from pathlib import Path
    import numpy as np
    from danet_viewer.core import store as store_module
    from danet_viewer.core.store import AnnotationStore
    from danet_viewer.errors import StoreWriteError
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG, not a fatal signal
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    path = Path(sys.argv[1])
    store_module.COMPACT_AFTER_EDITS = 3
    store = AnnotationStore.open(path, "a")
    outcome = {}

    def refused(action):
        try:
            action()
        except StoreWriteError as error:
            return str(error)
        return None

    store.set_label("rec", 100, "A", "dr")
    store.set_label("rec", 400, "A", "dr")  # two edits in the journal
    journal_size = store.journal_path.stat().st_size
    resource.setrlimit(resource.RLIMIT_FSIZE, (journal_size + 20, hard))  # the next line gets 20 bytes in
    outcome["label refused"] = refused(lambda: store.set_label("rec", 700, "V", "dr"))
    outcome["journal unchanged"] = store.journal_path.stat().st_size == journal_size
    outcome["memory unchanged"] = 700 not in store.record("rec").reviews
    store_file = path.read_bytes()
    outcome["model refused"] = refused(lambda: store.set_model_output(
        "rec", np.array([100, 400]), np.array([0.2, 0.9]), threshold=0.5, model_id="m", who="t"))
    outcome["model rolled back"] = store.record("rec").model is None and path.read_bytes() == store_file
    outcome["no temporary file"] = not list(path.parent.glob(f".{path.name}.tmp-*"))
    resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    store.set_label("rec", 700, "V", "dr")  # the retry: the third edit, so a compaction is due...
    resource.setrlimit(resource.RLIMIT_FSIZE, (journal_size + 4096, hard))
    store.set_label("rec", 1000, "N", "dr")  # ...and fails on the full disk: the edit is saved all the same
    outcome["edit after a failed compaction saved"] = 1000 in store.record("rec").reviews
    resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    store._lock.release()  # the process dies here, before any close()
    print(json.dumps(outcome))
""")


def test_a_full_disk_refuses_writes_cleanly_and_the_retry_succeeds(tmp_path):
    path = tmp_path / "s.h5"
    _new_store(path).close()
    done = subprocess.run([sys.executable, "-c", FULL_DISK, str(path)], cwd=REPO, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    outcome = json.loads(done.stdout)
    assert outcome.pop("label refused").endswith("s.h5.journal: cannot save the edit: File too large")
    assert outcome.pop("model refused").endswith("s.h5: cannot write the store: File too large")
    assert all(outcome.values()), outcome
    assert _symbols(path) == {100: "A", 400: "A", 700: "V", 1000: "N"}


def test_a_failed_write_after_a_compaction_neither_loses_nor_resurrects_edits(tmp_path, monkeypatch):
    """The bug the full-disk test found: after a compaction emptied the journal, a failed edit truncated it
    back to its old length with zeros; the next saved edit then read as a torn line and was lost, and the
    failed one came back."""
    monkeypatch.setattr(store_module, "COMPACT_AFTER_EDITS", 3)
    path = tmp_path / "s.h5"
    store = _new_store(path)
    for sample in (100, 400, 700):
        store.set_label("rec", sample, "A", "dr")  # the third compacts
    real_fsync = os.fsync

    def disk_full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(store_module.os, "fsync", disk_full)
    with pytest.raises(StoreWriteError, match="No space left on device"):
        store.set_label("rec", 1000, "V", "dr")
    monkeypatch.setattr(store_module.os, "fsync", real_fsync)
    assert store.journal_path.stat().st_size == 0
    store.set_label("rec", 1000, "N", "dr")
    store._lock.release()  # killed before close()
    assert _symbols(path) == {100: "A", 400: "A", 700: "A", 1000: "N"}


def test_a_read_only_disk_at_open_leaves_the_store_readable(tmp_path, monkeypatch):
    path = tmp_path / "s.h5"
    store = _new_store(path)
    store.set_label("rec", 100, "A", "dr")
    store._lock.release()  # killed: the journal waits to be folded in by the next writer

    def read_only(path):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr(store_module, "atomic_output", read_only)
    with pytest.raises(StoreWriteError, match="Read-only file system"):
        AnnotationStore.open(path, "a")
    monkeypatch.undo()
    assert _symbols(path) == {100: "A"}
    AnnotationStore.open(path, "a").close()  # and a writer opens it once the disk is writable
    assert _symbols(path) == {100: "A"}
