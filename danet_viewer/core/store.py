"""The HDF5 annotation store: beats, model outputs and reviewers' labels that never get lost.

Layout on disk, for a store ``S.h5``:

- ``S.h5`` — the compacted state (schema below), only ever replaced whole:
  written to a temporary file in the same folder, fsynced, then moved over the
  old one with ``os.replace`` (atomic on POSIX and Windows).
- ``S.h5.journal`` — an append-only log of the label edits made since the last
  compaction, one JSON object a line with a CRC, fsynced before an edit is
  reported saved. On open the journal is replayed over ``S.h5``; a torn last
  line (a kill mid-write) was never reported saved and is dropped.
- ``S.h5.lock`` — held with an OS file lock by the one writer. The kernel drops
  the lock when the process dies, so a killed writer leaves no stale lock.

Bulk changes (a recording's beats, model outputs, imported references or
labels) are applied and compacted at once; label edits go to the journal, so a
reviewer's keypress costs one small fsynced append, and a whole class labelled
at once (``set_labels``) is one line: all of it is saved, or none. So is a
regrouping of a record's beat classes (a split, a merge, their undo: the same
beats in other classes), its changed columns compressed into the line: a
rewrite of a fully labelled 24 h store costs the GUI thread 0.4 s, the line a
few milliseconds. Every change,
of either kind, is added to the audit log (who, when, what, before, after),
which compaction moves into ``S.h5`` under ``/audit``.

Model outputs and human labels live in separate groups keyed by beat sample:
re-running a model replaces ``model/`` and never touches ``reviews/``.

HDF5 schema (``schema_version`` 1)::

    /                     attrs: schema="danet-review-store", schema_version, store_id, last_seq
    /records/<name>       attrs: name, source_path, content_hash, fs, lead_names (JSON),
                                 units (JSON), n_samples, analysis_lead, detector, start (ISO 8601 of
                                 the first sample as the header states it: a time of day alone where it
                                 gives no date; absent where it gives none, and in stores from before it)
        beats/sample      int64   detected R peaks, at the record's own rate
        unanalysable      int64 (n, 2)  [start, stop) samples of the analysis lead left out as flat,
                                lead-off or invalid; no beat is detected inside. Written only when there
                                are some, so stores from before it read as having none (same version).
        model/sample      int64   beats the model scored   attrs: model_id, threshold, run_at
        model/p_apc       float32 p(APC)
        model/apc         int8    1 where p_apc >= threshold or the record rule calls the beat, unless the
                                record rule overrules the call
        model/record_apc  int8    the model's record-level rule (attrs: record_rule): 1 where it called the beat
                                an APC, -1 where it rules an APC out whatever the network's p(APC) (inside
                                atrial fibrillation), 0 where the network's call stands; only for a model with
                                such a rule, so older stores read as having none (and session 14's, no -1)
        reference/sample  int64   imported reference annotations   attrs: source
        reference/symbol  str     their WFDB symbols
        reviews/sample    int64   reviewed beats (detected or added)
        reviews/symbol    str     WFDB beat symbol, or "not-a-beat" for a deleted detection
        reviews/reviewer  str
        reviews/time      str     ISO 8601 UTC
        bookmarks/        a reviewer's bookmarks, a comment each, journalled like labels; versioned on their own
                          (attrs: bookmarks_version): absent in stores written before bookmarks, refused when newer
            sample        int64   the bookmarked sample
            span_s        float64 0 for a moment; else the stretch from ``sample`` the report prints as
                                  strips ("add view to report"). Version 2; version 1 had no stretches
            comment, who, time   str   the comment, who set it, when (ISO 8601 UTC)
        classes/          beat classes (danet_viewer.core.beat_classes), derived from the beats, so versioned
                          on their own (attrs: classes_schema_version, detection_hash, method): a group of
                          another version is dropped on reading and recomputed on demand
            sample          int64   the classified beats (detected or added, not deleted)
            class_id        int32   each one's class, 0 the largest as computed (a reviewer's split adds
                                    one at the end, a merge removes one and renumbers those after it)
            distance        float32 each one's distance from its class's centroid (how atypical it is)
            templates       float32 (classes, 2, window) median beat of each class, both leads, at 250 Hz
            rr_quartiles    float32 (classes, 3, 3) quartiles of pre-RR, post-RR (s) and coupling (pre-RR
                                    over the underlying cycle) of each class
            p_apc           float32 (classes,) the model's mean p(APC) over the class, NaN without a model
            centroids       float32 (classes, features) in the record's scaled feature space
            feature_centre, feature_scale   float32 (features,) that scaling
            reference_beat  float32 (2, window) the record's median beat, what features compare against
    /audit/{seq,time,who,action,record,sample,before,after}   one row per change
"""

from __future__ import annotations

import base64
import copy
import io
import json
import mmap
import os
import re
import sys
import threading
import uuid
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import h5py
import numpy as np

from danet_viewer import __version__
from danet_viewer.core.aami import is_beat
from danet_viewer.core.atomic import atomic_output, fsync_dir
from danet_viewer.errors import DanetError, StoreError, StoreLockedError, StoreWriteError

SCHEMA_NAME = "danet-review-store"
SCHEMA_VERSION = 1
# The classes group's own version: a store written before classes existed, or with another version of them,
# opens and gets its classes recomputed (they are derived from the beats). 2: the model's logit joined the features.
CLASSES_SCHEMA_VERSION = 2
NOT_A_BEAT = "not-a-beat"
# The bookmarks group's own version. Bookmarks are a person's work, so a newer version is refused, never dropped.
BOOKMARKS_VERSION = 2
# Label edits accumulated in the journal before the next edit compacts them into the HDF5 file.
COMPACT_AFTER_EDITS = 2000
# The columns of a record's classes a regrouping (a split, a merge) changes, journalled like a label edit, and
# how many label edits such a line counts as: its line is kilobytes, and replay decodes it.
REGROUPED_COLUMNS = ("class_id", "templates", "rr_quartiles", "p_apc", "centroids")
REGROUPING_WEIGHT = 50

_STR = h5py.string_dtype()
# Reading a store may take this much more address space, plus _READ_BYTES_PER_FILE_BYTE per byte
# of the file: several times what a real store needs, far below what a damaged one can ask for.
# The cap is process-wide, so the headroom also leaves other threads (the GUI, torch's pool) room
# for new malloc arenas (64 MB of address space each) while a store is read.
_READ_HEADROOM_BYTES = 1 << 30
_READ_BYTES_PER_FILE_BYTE = 32
# What h5py and numpy raise for a damaged file (HDF5 errors surface as OSError or RuntimeError).
_DAMAGE_ERRORS = (KeyError, ValueError, TypeError, AttributeError, IndexError, OSError, RuntimeError, MemoryError)
_address_space_cap_lock = threading.Lock()
# An HDF5 global heap collection (where variable-length strings live), version 1:
# "GCOL", version, 3 reserved bytes, then the collection's size and its objects.
_GLOBAL_HEAP_SIGNATURE = re.compile(rb"GCOL\x01\x00\x00\x00")
_HEAP_OBJECT_HEADER_BYTES = 16  # index (2), reference count (2), reserved (4), size (8)


def _stretch_problem(stretches: np.ndarray, n_samples: int) -> str:
    """What is wrong with [start, stop) sample pairs for a record of ``n_samples``; "" when nothing."""
    if stretches.ndim != 2 or stretches.shape[1] != 2:
        return "are not [start, stop) pairs"
    if len(stretches) and (stretches[0, 0] < 0 or stretches[-1, 1] > n_samples):
        return f"lie outside its {n_samples} samples"
    if np.any(stretches[:, 1] <= stretches[:, 0]) or np.any(stretches[1:, 0] < stretches[:-1, 1]):
        return "are not sorted, non-empty and apart"
    return ""


def locate(sorted_samples: np.ndarray, samples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(index into ``sorted_samples`` of each of ``samples``, whether it is there): where a model's scored beats, a
    class table's beats or a selection sit among a record's beats."""
    samples = np.asarray(samples, np.int64)
    if not len(sorted_samples):
        return np.zeros(len(samples), np.int64), np.zeros(len(samples), bool)
    at = np.minimum(np.searchsorted(sorted_samples, samples), len(sorted_samples) - 1)
    return at, sorted_samples[at] == samples


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Review:
    symbol: str
    reviewer: str
    time: str


@dataclass(frozen=True)
class Bookmark:
    """A reviewer's mark on a moment of a record, with a comment (the report prints a strip there)."""

    sample: int
    comment: str
    who: str
    time: str
    span_s: float = 0.0  # 0: a moment; else the stretch from ``sample`` to print as report strips


_BOOKMARK_TEXTS = ("comment", "who", "time")  # a bookmark's text fields, in their order


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    time: str
    who: str
    action: str
    record: str
    sample: int
    before: str
    after: str


_AUDIT_TYPES = (("seq", int), ("time", str), ("who", str), ("action", str), ("record", str), ("sample", int),
                ("before", str), ("after", str))


@dataclass
class ModelOutput:
    sample: np.ndarray
    p_apc: np.ndarray
    threshold: float
    model_id: str
    run_at: str
    # The model's record-level rule (``danet_viewer.core.record_rule``): its name, and per scored beat whether it
    # called the beat an APC, and whether it ruled an APC out, whatever the network's p(APC). None where the model
    # has no such rule.
    record_calls: np.ndarray | None = None
    record_rule: str = ""
    record_vetoes: np.ndarray | None = None

    @property
    def apc(self) -> np.ndarray:
        """1 where the model calls the beat an APC: the network's p(APC) at its threshold, or the record rule's
        call, unless the record rule overrules it."""
        called = self.p_apc >= self.threshold
        if self.record_calls is not None:
            called = called | self.record_calls
        if self.record_vetoes is not None:
            called = called & ~self.record_vetoes
        return called.astype(np.int8)

    @property
    def overruled(self) -> np.ndarray:
        """True where the network called the beat an APC and the record rule overruled it."""
        if self.record_vetoes is None:
            return np.zeros(len(self.sample), bool)
        return self.record_vetoes & (self.p_apc >= self.threshold)


@dataclass(frozen=True)
class BeatClassTable:
    """A record's beat classes, as ``danet_viewer.core.beat_classes`` computes them (schema above)."""

    sample: np.ndarray
    class_id: np.ndarray
    distance: np.ndarray
    templates: np.ndarray
    rr_quartiles: np.ndarray
    p_apc: np.ndarray
    centroids: np.ndarray
    feature_centre: np.ndarray
    feature_scale: np.ndarray
    reference_beat: np.ndarray
    detection_hash: str
    method: str

    ARRAYS = (
        "sample", "class_id", "distance", "templates", "rr_quartiles", "p_apc", "centroids", "feature_centre",
        "feature_scale", "reference_beat",
    )

    @property
    def n_classes(self) -> int:
        return len(self.templates)

    @property
    def counts(self) -> np.ndarray:
        """Members of each class."""
        return np.bincount(self.class_id, minlength=self.n_classes)

    def members(self, class_id: int) -> np.ndarray:
        """Samples of the beats of one class."""
        return self.sample[self.class_id == class_id]

    def with_members(self, sample: np.ndarray, class_id: np.ndarray, distance: np.ndarray) -> BeatClassTable:
        return replace(
            self,
            sample=np.asarray(sample, np.int64),
            class_id=np.asarray(class_id, np.int32),
            distance=np.asarray(distance, np.float32),
        )

    def with_p_apc(self, p_apc: np.ndarray) -> BeatClassTable:
        return replace(self, p_apc=np.asarray(p_apc, np.float32))

    def same_as(self, other: BeatClassTable | None) -> bool:
        return other is not None and (self.detection_hash, self.method) == (other.detection_hash, other.method) and all(
            np.array_equal(getattr(self, key), getattr(other, key), equal_nan=True)
            for key in self.ARRAYS
        )


@dataclass
class StoredRecord:
    """Everything the store knows about one recording."""

    name: str
    source_path: str
    content_hash: str
    fs: float
    lead_names: list[str]
    units: list[str]
    n_samples: int
    analysis_lead: str = ""
    detector: str = ""
    start: str = ""  # ISO 8601 of the first sample as the recording's header states it ("": not stated)
    beats: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    model: ModelOutput | None = None
    reference_sample: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    reference_symbol: np.ndarray = field(default_factory=lambda: np.empty(0, object))
    reference_source: str = ""
    reviews: dict[int, Review] = field(default_factory=dict)
    unanalysable: np.ndarray = field(default_factory=lambda: np.empty((0, 2), np.int64))
    bookmarks: dict[int, Bookmark] = field(default_factory=dict)  # by sample: one bookmark a moment
    classes: BeatClassTable | None = None

    def beat_table(self) -> BeatTable:
        return BeatTable.build(self)


@dataclass(frozen=True)
class BeatTable:
    """Every beat of a record, sorted by sample: detections joined with model output and reviews.

    A reviewed sample that is not a detection is an added beat; a detection
    reviewed as ``NOT_A_BEAT`` is a deleted one (kept here, flagged ``deleted``).
    """

    sample: np.ndarray  # int64
    detected: np.ndarray  # bool
    p_apc: np.ndarray  # float32, NaN where the model did not score the beat
    model_apc: np.ndarray  # int8, -1 where the model did not score the beat
    review_symbol: np.ndarray  # object (str), "" when unreviewed
    reviewer: np.ndarray  # object (str)
    reviewed_at: np.ndarray  # object (str)

    @property
    def added(self) -> np.ndarray:
        return ~self.detected

    @property
    def deleted(self) -> np.ndarray:
        return self.review_symbol == NOT_A_BEAT

    @property
    def reviewed(self) -> np.ndarray:
        return self.review_symbol != ""

    def __len__(self) -> int:
        return len(self.sample)

    def take(self, rows: np.ndarray) -> BeatTable:
        """The beats at ``rows`` only, as a table of their own (a page of a 24 h record, not all of it)."""
        return BeatTable(**{name: getattr(self, name)[rows] for name in self.__dataclass_fields__})

    def with_review(self, sample: int, review: Review | None) -> BeatTable | None:
        """This table with one beat's review changed, or None when the beat rows change (rebuild instead).

        A keypress changes one label: copying three columns is far cheaper than
        re-joining every beat of a 24 h record, and the result is a new table, so
        views that cache per table still see the edit.
        """
        row = int(np.searchsorted(self.sample, sample))
        if row >= len(self.sample) or self.sample[row] != sample or (review is None and not self.detected[row]):
            return None  # an added beat appears, or an added beat's review (so the beat) goes
        columns = {name: getattr(self, name).copy() for name in ("review_symbol", "reviewer", "reviewed_at")}
        values = (review.symbol, review.reviewer, review.time) if review else ("", "", "")
        for column, value in zip(columns.values(), values, strict=True):
            column[row] = value
        return replace(self, **columns)

    @classmethod
    def build(cls, record: StoredRecord) -> BeatTable:
        review_samples = np.fromiter(record.reviews, dtype=np.int64, count=len(record.reviews))
        sample = np.union1d(record.beats, review_samples)
        n = len(sample)
        detected = np.isin(sample, record.beats)
        p_apc = np.full(n, np.nan, np.float32)
        model_apc = np.full(n, -1, np.int8)
        if record.model is not None and len(record.model.sample):
            scored, hit = locate(sample, record.model.sample)
            p_apc[scored[hit]] = record.model.p_apc[hit]
            model_apc[scored[hit]] = record.model.apc[hit]
        review_symbol = np.full(n, "", object)
        reviewer = np.full(n, "", object)
        reviewed_at = np.full(n, "", object)
        if n and record.reviews:
            where = np.searchsorted(sample, review_samples)
            for i, review in zip(where, record.reviews.values(), strict=True):
                review_symbol[i], reviewer[i], reviewed_at[i] = review.symbol, review.reviewer, review.time
        return cls(sample, detected, p_apc, model_apc, review_symbol, reviewer, reviewed_at)


class _WriterLock:
    """An exclusive OS lock on ``S.h5.lock``; released by the kernel if the process dies."""

    def __init__(self, store_path: Path) -> None:
        self.path = store_path.with_name(store_path.name + ".lock")
        try:
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as error:
            raise StoreError(store_path, f"cannot create lock file: {error.strerror}") from None
        if not self._try_lock():
            holder = self._holder()
            os.close(self._fd)
            raise StoreLockedError(store_path, holder)
        os.ftruncate(self._fd, 0)
        os.write(self._fd, f"pid {os.getpid()}\n".encode())

    def _try_lock(self) -> bool:
        if sys.platform == "win32":
            import msvcrt

            try:
                msvcrt.locking(self._fd, msvcrt.LK_NBLCK, 1)
            except OSError:
                return False
            return True
        import fcntl

        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return False
        return True

    def _holder(self) -> str:
        try:
            return os.pread(self._fd, 64, 0).decode(errors="replace").strip() or "unknown pid"
        except OSError:
            return "unknown pid"

    def release(self) -> None:
        # Closing the descriptor drops the lock; the file stays so no race re-creates it.
        os.close(self._fd)


def _as_str(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


@contextmanager
def _address_space_cap(extra_bytes: int) -> Iterator[None]:
    """Make allocations beyond ``extra_bytes`` more address space fail, for the duration (Linux only).

    libhdf5 sizes some buffers from fields inside the file: with three flipped bits,
    a 40 kB store made it allocate and fill 2 GB (a global heap collection's size).
    Under the cap that allocation fails and HDF5 reports an error, which reading
    turns into a StoreError. One reader at a time, so caps never nest wrongly.
    """
    try:
        import resource

        with open("/proc/self/statm") as statm:
            in_use = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (ImportError, OSError, ValueError):  # not Linux: no cap
        yield
        return
    with _address_space_cap_lock:
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        cap = in_use + extra_bytes
        if hard != resource.RLIM_INFINITY:
            cap = min(cap, hard)
        if soft != resource.RLIM_INFINITY and soft <= cap:  # already capped at least as tightly
            yield
            return
        resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
        try:
            yield
        finally:
            resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def _check_global_heaps(path: Path) -> None:
    """Refuse a store whose string heaps libhdf5 would walk out of, or forever.

    libhdf5 (2.0, as h5py ships it) steps through a global heap collection by the sizes its objects
    declare, unchecked: one flipped bit gave a free-space object size 0, and it
    looped forever reading the audit log's strings. This is the same walk, with
    the checks. h5py writes 8-byte lengths, which the walk assumes.
    """
    try:
        with open(path, "rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
            for match in _GLOBAL_HEAP_SIGNATURE.finditer(data):
                end = match.start() + int.from_bytes(data[match.start() + 8 : match.start() + 16], "little")
                if end > len(data):
                    raise StoreError(path, f"damaged store: the string heap at byte {match.start()} overruns the file")
                at = match.start() + 16
                while at + _HEAP_OBJECT_HEADER_BYTES <= end:
                    index = int.from_bytes(data[at : at + 2], "little")
                    size = int.from_bytes(data[at + 8 : at + 16], "little")
                    # Index 0 is free space, whose size counts its own header; objects are 8-byte aligned.
                    step = size if index == 0 else _HEAP_OBJECT_HEADER_BYTES + (size + 7) // 8 * 8
                    if step < _HEAP_OBJECT_HEADER_BYTES or at + step > end:
                        raise StoreError(path, f"damaged store: the string at byte {at} does not fit its heap")
                    at += step
    except (OSError, ValueError):  # an empty or unreadable file: opening it says what is wrong
        return


class _Reader:
    """Typed reads from a store file, each refusing what the store never writes with a StoreError.

    A dataset may declare any size in its header; one that declares more values than
    the file has bytes is damage, and is refused before numpy allocates for it.
    """

    def __init__(self, path: Path, file_size: int) -> None:
        self.path = path
        self.file_size = file_size

    def damaged(self, problem: str) -> None:
        raise StoreError(self.path, f"damaged store: {problem}")

    def group(self, parent: h5py.Group, key: str) -> h5py.Group:
        item = parent[key]
        if not isinstance(item, h5py.Group):
            self.damaged(f"{parent.name.rstrip('/')}/{key} is not a group")
        return item

    def _column(self, group: h5py.Group, key: str, kinds: str) -> h5py.Dataset:
        dataset = group[key]
        name = f"{group.name.rstrip('/')}/{key}"
        if not isinstance(dataset, h5py.Dataset) or dataset.ndim != 1:
            self.damaged(f"{name} is not a column of values")
        if dataset.shape[0] > self.file_size:
            self.damaged(f"{name} declares {dataset.shape[0]} values in a file of {self.file_size} bytes")
        if dataset.dtype.kind not in kinds:
            self.damaged(f"{name} holds {dataset.dtype}, not the values expected")
        return dataset

    def array(self, group: h5py.Group, key: str, kinds: str, ndim: int) -> np.ndarray:
        dataset = group[key]
        name = f"{group.name.rstrip('/')}/{key}"
        if not isinstance(dataset, h5py.Dataset) or dataset.ndim != ndim or dataset.dtype.kind not in kinds:
            self.damaged(f"{name} is not the array expected")
        if int(np.prod(dataset.shape, dtype=np.float64)) > self.file_size:
            self.damaged(f"{name} declares {dataset.shape} values in a file of {self.file_size} bytes")
        return dataset[()]

    def integers(self, group: h5py.Group, key: str) -> np.ndarray:
        return self._column(group, key, "iu")[()].astype(np.int64)

    def sample_pairs(self, group: h5py.Group, key: str) -> np.ndarray:
        """An (n, 2) integer dataset, checked like a column before it is read."""
        dataset = group[key]
        name = f"{group.name.rstrip('/')}/{key}"
        if not isinstance(dataset, h5py.Dataset) or dataset.ndim != 2 or dataset.shape[1] != 2:
            self.damaged(f"{name} is not a table of [start, stop) pairs")
        if dataset.shape[0] > self.file_size:
            self.damaged(f"{name} declares {dataset.shape[0]} pairs in a file of {self.file_size} bytes")
        if dataset.dtype.kind not in "iu":
            self.damaged(f"{name} holds {dataset.dtype}, not sample numbers")
        return dataset[()].astype(np.int64)

    def reals(self, group: h5py.Group, key: str) -> np.ndarray:
        return self._column(group, key, "iuf")[()].astype(np.float64)

    def texts(self, group: h5py.Group, key: str) -> np.ndarray:
        dataset = self._column(group, key, "OSU")
        if h5py.check_string_dtype(dataset.dtype) is None:
            self.damaged(f"{dataset.name} holds {dataset.dtype}, not text")
        return np.array(dataset.asstr()[()], dtype=object)

    def same_length(self, group: h5py.Group, *columns: np.ndarray) -> None:
        if len({len(column) for column in columns}) > 1:
            self.damaged(f"the columns of {group.name} differ in length")

    def _attribute(self, attrs: h5py.AttributeManager, key: str, kinds: str) -> object:
        """One scalar attribute whose stored type is of ``kinds`` ("T" for text), checked before it is read.

        The check comes first because libhdf5 2.0 crashes (SIGSEGV) reading a string
        attribute whose type a flipped bit turned into another variable-length type.
        """
        stored = attrs.get_id(key)
        is_text = h5py.check_string_dtype(stored.dtype) is not None
        matches = is_text if kinds == "T" else stored.dtype.kind in kinds
        if stored.shape != () or not matches:
            self.damaged(f"attribute {key!r} has the wrong type")
        return attrs[key]

    def text(self, attrs: h5py.AttributeManager, key: str) -> str:
        text = _as_str(self._attribute(attrs, key, "T"))
        # h5py hands undecodable bytes over as surrogates, which no later write could encode.
        text.encode()
        return text

    def text_list(self, attrs: h5py.AttributeManager, key: str) -> list[str]:
        values = json.loads(self.text(attrs, key))
        if not isinstance(values, list) or not all(isinstance(value, str) for value in values):
            self.damaged(f"attribute {key!r} is not a list of names")
        return values

    def integer(self, attrs: h5py.AttributeManager, key: str) -> int:
        return int(self._attribute(attrs, key, "iu"))

    def real(self, attrs: h5py.AttributeManager, key: str) -> float:
        value = float(self._attribute(attrs, key, "iuf"))
        if not np.isfinite(value):
            self.damaged(f"attribute {key!r} is not a finite number")
        return value


class AnnotationStore:
    """An open annotation store. Use ``AnnotationStore.open(path, mode)`` as a context manager.

    ``mode="r"`` reads (no lock, never writes); ``mode="a"`` creates the store if
    needed and takes the single-writer lock.
    """

    def __init__(self, path: Path, writable: bool) -> None:
        self.path = path
        self.writable = writable
        self.journal_path = path.with_name(path.name + ".journal")
        self.store_id = ""
        self._records: dict[str, StoredRecord] = {}
        self._audit: list[AuditEntry] = []
        self._seq = 0
        self._compacted_seq = 0
        self._journal_edits = 0
        self._lock: _WriterLock | None = None
        self._journal = None

    # --- opening and closing -------------------------------------------------------------

    @classmethod
    def open(cls, path: str | Path, mode: str = "r") -> AnnotationStore:
        if mode not in ("r", "a"):
            raise ValueError(f"mode must be 'r' or 'a', not {mode!r}")
        store = cls(Path(path), writable=mode == "a")
        if store.writable:
            store._lock = _WriterLock(store.path)
            # Holding the lock, no other writer exists: a temporary file is a killed compaction's.
            for leftover in store.path.parent.glob(f".{store.path.name}.tmp-*"):
                leftover.unlink(missing_ok=True)
        try:
            store._load()
            if store.writable:
                # Fold a previous session's journal (and any torn last line a kill left in
                # it) into the HDF5 file first, so this session appends to an empty journal.
                if not store.path.exists() or store.journal_path.exists():
                    store._compact()
                # Unbuffered: a failed write must leave no bytes behind in a buffer that a later
                # flush would write after all, resurrecting an edit reported unsaved.
                store._journal = open(store.journal_path, "ab", buffering=0)  # noqa: SIM115 - closed by close()
                fsync_dir(store.path.parent.resolve())  # the new journal's name survives a power cut
        except BaseException:
            store.close()
            raise
        return store

    def __enter__(self) -> AnnotationStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Compact pending edits (a writer) and release the lock. Safe to call twice."""
        try:
            if self._journal is not None and self._journal_edits:
                self._compact()
        finally:
            if self._journal is not None:
                self._journal.close()
                self._journal = None
            if self._lock is not None:
                self._lock.release()
                self._lock = None

    def _load(self) -> None:
        # The journal is read before the HDF5 file: a compaction between the two reads
        # then only makes the HDF5 newer, and its last_seq skips what it already holds.
        journal_lines = self._read_journal_lines()
        if self.path.exists():
            self._read_hdf5()
        elif journal_lines:
            raise StoreError(self.path, "the store file is missing but its journal exists")
        elif not self.writable:
            raise StoreError(self.path, "no such annotation store")
        else:
            self.store_id = uuid.uuid4().hex
        for number, entry in journal_lines:
            self._replay(number, entry)

    def _replay(self, number: int, entry: dict) -> None:
        """Apply one journal line read back; a line with a good CRC but bad content is corruption."""
        if not isinstance(entry, dict):
            raise StoreError(self.journal_path, f"journal line {number} is invalid: not a JSON object")
        if entry.get("store_id") != self.store_id:
            raise StoreError(self.journal_path, "journal belongs to a different store")
        try:
            seq = entry["seq"]
            if not isinstance(seq, int):
                raise TypeError(f"sequence number {seq!r}")
            if seq <= self._compacted_seq:
                return
            audit = AuditEntry(**entry["audit"])
            if audit.seq != seq or not all(isinstance(getattr(audit, key), kind) for key, kind in _AUDIT_TYPES):
                raise TypeError("audit fields")
            args = entry["args"]
            record, sample = self._records[args["record"]], args["sample"]
            if entry["op"] == "classes":  # a whole record's edit: no one sample, as its audit entry says
                if sample != -1 or isinstance(sample, bool):
                    raise ValueError(f"sample {sample!r}")
            elif isinstance(sample, bool) or not isinstance(sample, int) or not 0 <= sample < record.n_samples:
                raise ValueError(f"sample {sample!r}")
            if entry["op"] == "review":
                if not all(isinstance(args[key], str) for key in ("symbol", "reviewer", "time")):
                    raise TypeError("review fields")
                if args["symbol"] != NOT_A_BEAT and not is_beat(args["symbol"]):
                    raise ValueError(f"symbol {args['symbol']!r}")
            elif entry["op"] == "bookmark" and not (all(isinstance(args[key], str) for key in _BOOKMARK_TEXTS)
                                                     and _is_span(args.get("span_s", 0.0))):
                raise TypeError("bookmark fields")
            elif entry["op"] == "reviews":
                _check_review_rows(args["reviews"], record.n_samples)
            self._apply(entry["op"], args)
        except (KeyError, TypeError, ValueError) as error:
            raise StoreError(self.journal_path, f"journal line {number} is invalid: {error}") from None
        self._audit.append(audit)
        self._seq = seq
        self._journal_edits += _edit_weight(entry["op"], args)

    def _read_journal_lines(self) -> list[tuple[int, dict]]:
        """The journal's intact lines, each with its line number."""
        try:
            raw = self.journal_path.read_bytes()
        except FileNotFoundError:
            return []
        except OSError as error:
            raise StoreError(self.journal_path, f"cannot read journal: {error.strerror}") from None
        entries = []
        lines = raw.split(b"\n")
        for number, line in enumerate(lines, 1):
            if not line:
                continue
            entry = self._decode_journal_line(line)
            if entry is None:
                # Only the last line can be torn by a kill; damage anywhere else is corruption.
                if number >= len(lines) - 1:
                    break
                raise StoreError(self.journal_path, f"journal line {number} is corrupt")
            entries.append((number, entry))
        return entries

    @staticmethod
    def _decode_journal_line(line: bytes) -> dict | None:
        crc_text, _, body = line.partition(b" ")
        try:
            if int(crc_text, 16) != zlib.crc32(body):
                return None
            return json.loads(body)
        except ValueError:
            return None

    def _read_hdf5(self) -> None:
        size = self.path.stat().st_size
        _check_global_heaps(self.path)
        with _address_space_cap(_READ_HEADROOM_BYTES + _READ_BYTES_PER_FILE_BYTE * size):
            try:
                handle = h5py.File(self.path, "r")
            except _DAMAGE_ERRORS:
                raise StoreError(self.path, "not an HDF5 file (or it is damaged)") from None
            try:
                with handle:
                    self._read_contents(_Reader(self.path, size), handle)
            except DanetError:
                raise
            except _DAMAGE_ERRORS as error:
                problem = " ".join(str(error).split()) or type(error).__name__
                raise StoreError(self.path, f"damaged store: {problem}") from None

    def _read_contents(self, reader: _Reader, handle: h5py.File) -> None:
        if "schema" not in handle.attrs or reader.text(handle.attrs, "schema") != SCHEMA_NAME:
            raise StoreError(self.path, "not a DANet Review annotation store")
        version = reader.integer(handle.attrs, "schema_version") if "schema_version" in handle.attrs else -1
        if version > SCHEMA_VERSION:
            raise StoreError(
                self.path,
                f"written by a newer DANet Review (store schema {version}); "
                f"this version reads schema {SCHEMA_VERSION}",
            )
        if version != SCHEMA_VERSION:
            raise StoreError(self.path, f"unknown store schema version {version}")
        self.store_id = reader.text(handle.attrs, "store_id")
        self._seq = self._compacted_seq = reader.integer(handle.attrs, "last_seq")
        records = reader.group(handle, "records")
        for key in records:
            record = self._read_record(reader, reader.group(records, key))
            if record.name != key:
                reader.damaged(f"record {key!r} is named {record.name!r} inside")
            self._records[record.name] = record
        self._audit = self._read_audit(reader, reader.group(handle, "audit"))

    @staticmethod
    def _read_record(reader: _Reader, group: h5py.Group) -> StoredRecord:
        attrs = group.attrs
        record = StoredRecord(
            name=reader.text(attrs, "name"),
            source_path=reader.text(attrs, "source_path"),
            content_hash=reader.text(attrs, "content_hash"),
            fs=reader.real(attrs, "fs"),
            lead_names=reader.text_list(attrs, "lead_names"),
            units=reader.text_list(attrs, "units"),
            n_samples=reader.integer(attrs, "n_samples"),
            analysis_lead=reader.text(attrs, "analysis_lead"),
            detector=reader.text(attrs, "detector"),
            start=reader.text(attrs, "start") if "start" in attrs else "",
            beats=reader.integers(group, "beats/sample"),
        )
        if not (record.fs > 0 and record.n_samples >= 0):
            reader.damaged(f"record {record.name!r} has rate {record.fs:g} Hz and {record.n_samples} samples")
        if "unanalysable" in group:
            record.unanalysable = reader.sample_pairs(group, "unanalysable")
            problem = _stretch_problem(record.unanalysable, record.n_samples)
            if problem:
                reader.damaged(f"unanalysable stretches of record {record.name!r} {problem}")
        if "model" in group:
            model = reader.group(group, "model")
            record.model = ModelOutput(
                sample=reader.integers(model, "sample"),
                p_apc=reader.reals(model, "p_apc").astype(np.float32),
                threshold=reader.real(model.attrs, "threshold"),
                model_id=reader.text(model.attrs, "model_id"),
                run_at=reader.text(model.attrs, "run_at"),
            )
            reader.same_length(model, record.model.sample, record.model.p_apc)
            if "record_apc" in model:
                verdict = reader.integers(model, "record_apc")
                reader.same_length(model, record.model.sample, verdict)
                record.model.record_calls, record.model.record_vetoes = verdict == 1, verdict == -1
                record.model.record_rule = reader.text(model.attrs, "record_rule")
        if "reference" in group:
            reference = reader.group(group, "reference")
            record.reference_sample = reader.integers(reference, "sample")
            record.reference_symbol = reader.texts(reference, "symbol")
            record.reference_source = reader.text(reference.attrs, "source")
            reader.same_length(reference, record.reference_sample, record.reference_symbol)
        reviews = reader.group(group, "reviews")
        sample = reader.integers(reviews, "sample")
        columns = [reader.texts(reviews, key) for key in ("symbol", "reviewer", "time")]
        reader.same_length(reviews, sample, *columns)
        for at, symbol, reviewer, time in zip(sample.tolist(), *columns, strict=True):
            record.reviews[at] = Review(symbol, reviewer, time)
        if "bookmarks" in group:
            record.bookmarks = _read_bookmarks(reader, reader.group(group, "bookmarks"), record)
        if "classes" in group:
            record.classes = AnnotationStore._read_classes(reader, reader.group(group, "classes"), record)
        # Everything downstream indexes the signal with these samples.
        for what, samples in (("beats", record.beats), ("reviews", sample)):
            if len(samples) and (samples.min() < 0 or samples.max() >= record.n_samples):
                reader.damaged(f"{what} of record {record.name!r} lie outside its {record.n_samples} samples")
        return record

    @staticmethod
    def _read_classes(reader: _Reader, group: h5py.Group, record: StoredRecord) -> BeatClassTable | None:
        """The record's classes; None for another schema version of them (they are recomputed on demand)."""
        attrs = group.attrs
        if "classes_schema_version" not in attrs or reader.integer(attrs, "classes_schema_version") != (
            CLASSES_SCHEMA_VERSION
        ):
            return None
        dims = {
            "sample": ("iu", 1), "class_id": ("iu", 1), "distance": ("f", 1), "templates": ("f", 3),
            "rr_quartiles": ("f", 3),
            "p_apc": ("f", 1), "centroids": ("f", 2), "feature_centre": ("f", 1), "feature_scale": ("f", 1),
            "reference_beat": ("f", 2),
        }
        arrays = {key: reader.array(group, key, kinds, ndim) for key, (kinds, ndim) in dims.items()}
        types = {"sample": np.int64, "class_id": np.int32}
        classes = BeatClassTable(
            **{key: value.astype(types.get(key, np.float32)) for key, value in arrays.items()},
            detection_hash=reader.text(attrs, "detection_hash"),
            method=reader.text(attrs, "method"),
        )
        k, features = classes.centroids.shape
        consistent = (
            len(classes.sample) == len(classes.class_id) == len(classes.distance)
            and classes.templates.shape[:2] == (k, 2)
            and classes.rr_quartiles.shape == (k, 3, 3)
            and classes.p_apc.shape == (k,)
            and classes.feature_centre.shape == classes.feature_scale.shape == (features,)
            and classes.reference_beat.shape == (2, classes.templates.shape[2])
            and (not len(classes.class_id) or (classes.class_id.min() >= 0 and classes.class_id.max() < k))
            and (not len(classes.sample) or (classes.sample.min() >= 0 and classes.sample.max() < record.n_samples))
        )
        if not consistent:
            reader.damaged(f"the beat classes of record {record.name!r} do not fit together")
        return classes

    @staticmethod
    def _read_audit(reader: _Reader, group: h5py.Group) -> list[AuditEntry]:
        text = {key: reader.texts(group, key) for key in ("time", "who", "action", "record", "before", "after")}
        seq, sample = reader.integers(group, "seq"), reader.integers(group, "sample")
        reader.same_length(group, seq, sample, *text.values())
        return [
            AuditEntry(int(seq[i]), text["time"][i], text["who"][i], text["action"][i], text["record"][i],
                       int(sample[i]), text["before"][i], text["after"][i])
            for i in range(len(seq))
        ]

    # --- writing ---------------------------------------------------------------------------

    def _compact(self) -> None:
        """Write the whole state to a new file and atomically replace the store with it."""
        self._require_writable()
        # libhdf5 builds the file in memory and plain file writes put it on disk: when the disk
        # refused libhdf5's own writes, the file it could not close crashed the process at exit.
        image = io.BytesIO()
        with h5py.File(image, "w") as handle:
            self._write_hdf5(handle)
        try:
            with atomic_output(self.path) as temporary:
                temporary.write_bytes(image.getbuffer())
        except OSError as error:
            raise StoreWriteError(self.path, f"cannot write the store: {error.strerror or error}") from None
        self._compacted_seq = self._seq
        # The HDF5 file now holds every journalled edit (its last_seq says so), so the
        # journal may be emptied; a kill before this line only leaves entries replay skips.
        try:
            if self._journal is not None:
                self._journal.truncate(0)
                os.fsync(self._journal.fileno())
            else:
                self.journal_path.unlink(missing_ok=True)
        except OSError as error:
            raise StoreWriteError(self.journal_path, f"cannot empty the journal: {error.strerror or error}") from None
        self._journal_edits = 0

    def _write_hdf5(self, handle: h5py.File) -> None:
        handle.attrs.update(
            schema=SCHEMA_NAME, schema_version=SCHEMA_VERSION, store_id=self.store_id,
            last_seq=self._seq, written_by=f"danet-viewer {__version__}",
        )
        records = handle.create_group("records")
        for record in self._records.values():
            group = records.create_group(record.name)
            group.attrs.update(
                name=record.name, source_path=record.source_path, content_hash=record.content_hash,
                fs=record.fs, lead_names=json.dumps(record.lead_names), units=json.dumps(record.units),
                n_samples=record.n_samples, analysis_lead=record.analysis_lead, detector=record.detector,
            )
            if record.start:
                group.attrs["start"] = record.start
            group.create_dataset("beats/sample", data=record.beats.astype(np.int64))
            if len(record.unanalysable):
                group.create_dataset("unanalysable", data=record.unanalysable)
            if record.model is not None:
                model = group.create_group("model")
                model.create_dataset("sample", data=record.model.sample)
                model.create_dataset("p_apc", data=record.model.p_apc)
                model.create_dataset("apc", data=record.model.apc)
                model.attrs.update(
                    threshold=record.model.threshold, model_id=record.model.model_id, run_at=record.model.run_at
                )
                if record.model.record_calls is not None:
                    verdict = record.model.record_calls.astype(np.int8)
                    if record.model.record_vetoes is not None:
                        verdict[record.model.record_vetoes] = -1
                    model.create_dataset("record_apc", data=verdict)
                    model.attrs["record_rule"] = record.model.record_rule
            if len(record.reference_sample):
                reference = group.create_group("reference")
                reference.create_dataset("sample", data=record.reference_sample)
                reference.create_dataset("symbol", data=list(record.reference_symbol), dtype=_STR)
                reference.attrs["source"] = record.reference_source
            if record.classes is not None:
                self._write_classes(group.create_group("classes"), record.classes)
            reviews = group.create_group("reviews")
            ordered = sorted(record.reviews.items())
            reviews.create_dataset("sample", data=np.array([s for s, _ in ordered], dtype=np.int64))
            for key in ("symbol", "reviewer", "time"):
                reviews.create_dataset(key, data=[getattr(r, key) for _, r in ordered], dtype=_STR)
            if record.bookmarks:
                _write_bookmarks(group.create_group("bookmarks"), record.bookmarks)
        audit = handle.create_group("audit")
        audit.create_dataset("seq", data=np.array([a.seq for a in self._audit], dtype=np.int64))
        audit.create_dataset("sample", data=np.array([a.sample for a in self._audit], dtype=np.int64))
        for key in ("time", "who", "action", "record", "before", "after"):
            audit.create_dataset(key, data=[getattr(a, key) for a in self._audit], dtype=_STR)

    @staticmethod
    def _write_classes(group: h5py.Group, classes: BeatClassTable) -> None:
        group.attrs.update(
            classes_schema_version=CLASSES_SCHEMA_VERSION, detection_hash=classes.detection_hash, method=classes.method
        )
        for key in BeatClassTable.ARRAYS:
            group.create_dataset(key, data=getattr(classes, key))

    def _require_writable(self) -> None:
        if not self.writable:
            raise StoreError(self.path, "opened read-only")

    def _audit_entry(self, who: str, action: str, record: str, sample: int, before: str, after: str) -> AuditEntry:
        self._seq += 1
        entry = AuditEntry(self._seq, utc_now(), who, action, record, int(sample), before, after)
        self._audit.append(entry)
        return entry

    def _journalled_edit(self, op: str, args: dict, who: str, action: str, before: str, after: str) -> None:
        """Save one label edit durably (appended and fsynced), then apply it in memory.

        If the write fails (disk full, store on a vanished drive) nothing changes in
        memory and the error says so: the caller still holds the edit and can retry.
        """
        audit = AuditEntry(self._seq + 1, utc_now(), who, action, args["record"], args["sample"], before, after)
        body = json.dumps(
            {"store_id": self.store_id, "seq": audit.seq, "op": op, "args": args, "audit": audit.__dict__},
            separators=(",", ":"),
        ).encode()
        line = b"%08x %s\n" % (zlib.crc32(body), body)
        # Not tell(): after a compaction truncated the journal, the file position is stale,
        # and truncating back to it would pad the journal with zeros.
        offset = self._journal.seek(0, os.SEEK_END)
        try:
            unwritten = memoryview(line)
            while unwritten:  # an unbuffered write may be short
                unwritten = unwritten[self._journal.write(unwritten) :]
            os.fsync(self._journal.fileno())
        except OSError as error:
            # A partial line left mid-journal would read as corruption once later edits follow it.
            with suppress(OSError):
                self._journal.truncate(offset)
            raise StoreWriteError(self.journal_path, f"cannot save the edit: {error.strerror or error}") from None
        self._seq = audit.seq
        self._audit.append(audit)
        self._apply(op, args)
        self._journal_edits += _edit_weight(op, args)
        if self._journal_edits >= COMPACT_AFTER_EDITS:
            # The edit is saved in the journal already: a compaction that fails (a full disk)
            # must not report it unsaved. The journal keeps it; the next edit or close retries.
            with suppress(StoreWriteError):
                self._compact()

    @contextmanager
    def _bulk_change(self, classes_of: StoredRecord | None = None) -> Iterator[None]:
        """Apply a bulk change in memory, then compact; on failure the in-memory state is rolled back.

        With ``classes_of`` the change replaces that record's classes and nothing else, so only they are kept for
        the rollback: a deep copy of a 24 h record's 110 000 reviews costs 1.5 s, and a split, a merge and their
        undo are stored on the GUI thread.
        """
        self._require_writable()
        kept = copy.deepcopy(self._records) if classes_of is None else classes_of.classes
        audit_length, seq = len(self._audit), self._seq
        try:
            yield
            self._compact()
        except BaseException:
            if classes_of is None:
                self._records = kept
            else:
                classes_of.classes = kept
            del self._audit[audit_length:]
            self._seq = seq
            raise

    def _apply(self, op: str, args: dict) -> None:
        """Apply one journalled label edit; the same code serves live edits and replay."""
        record = self._records[args["record"]]
        sample = int(args["sample"])
        if op == "review":
            record.reviews[sample] = Review(args["symbol"], args["reviewer"], args["time"])
        elif op == "clear_review":
            record.reviews.pop(sample, None)
        elif op == "bookmark":
            # Journals from before stretches hold moments only.
            record.bookmarks[sample] = Bookmark(sample, *(args[key] for key in _BOOKMARK_TEXTS),
                                                span_s=float(args.get("span_s", 0.0)))
        elif op == "clear_bookmark":
            record.bookmarks.pop(sample, None)
        elif op == "reviews":
            for at, symbol, reviewer, time in args["reviews"]:
                if symbol:
                    record.reviews[at] = Review(symbol, reviewer, time)
                else:
                    record.reviews.pop(at, None)
        elif op == "classes":
            record.classes = _regrouped(record, args["columns"])
        else:
            raise StoreError(self.journal_path, f"unknown journal operation {op!r}")

    # --- reading -----------------------------------------------------------------------------

    def records(self) -> list[str]:
        return sorted(self._records)

    def __contains__(self, name: str) -> bool:
        return name in self._records

    def record(self, name: str) -> StoredRecord:
        try:
            return self._records[name]
        except KeyError:
            raise StoreError(self.path, f"holds no record named {name!r}") from None

    def beat_table(self, name: str) -> BeatTable:
        return self.record(name).beat_table()

    def audit_log(self) -> list[AuditEntry]:
        return list(self._audit)

    # --- bulk changes ------------------------------------------------------------------------

    def put_recording(
        self,
        *,
        name: str,
        source_path: str,
        content_hash: str,
        fs: float,
        lead_names: Iterable[str],
        units: Iterable[str],
        n_samples: int,
        who: str,
        start: str = "",
    ) -> StoredRecord:
        """Register a recording, or confirm it is the one already stored under that name.

        ``start`` (ISO 8601, see the schema) is taken for a record stored before starts were kept.
        """
        if not name or "/" in name:
            raise StoreError(self.path, f"invalid record name {name!r}")
        existing = self._records.get(name)
        if existing is not None:
            if existing.content_hash != content_hash:
                raise StoreError(
                    self.path,
                    f"already holds a different recording named {name!r} (from {existing.source_path})",
                )
            if existing.source_path != source_path:
                with self._bulk_change():
                    self._audit_entry(who, "move_recording", name, -1, existing.source_path, source_path)
                    existing.source_path = source_path
            if start and not existing.start and self.writable:
                with self._bulk_change():
                    self._audit_entry(who, "set_start", name, -1, "", start)
                    existing.start = start
            return existing
        with self._bulk_change():
            record = StoredRecord(name, source_path, content_hash, float(fs), list(lead_names), list(units),
                                  int(n_samples), start=start)
            self._records[name] = record
            self._audit_entry(who, "add_recording", name, -1, "", source_path)
        return record

    def set_beats(
        self, name: str, samples: np.ndarray, *, detector: str, lead: str, who: str,
        unanalysable: np.ndarray | None = None,
    ) -> None:
        """Replace the detected beats and the unanalysable stretches (sorted [start, stop) pairs) found with them.

        Reviews are kept: one off the new detections is an added beat.
        """
        record = self.record(name)
        samples = np.unique(np.asarray(samples, dtype=np.int64))
        if len(samples) and (samples[0] < 0 or samples[-1] >= record.n_samples):
            raise StoreError(self.path, f"beat samples outside record {name!r}")
        stretches = np.empty((0, 2), np.int64) if unanalysable is None else np.asarray(unanalysable, np.int64)
        problem = _stretch_problem(stretches, record.n_samples)
        if problem:
            raise StoreError(self.path, f"unanalysable stretches of record {name!r} {problem}")
        excluded = int(np.sum(stretches[:, 1] - stretches[:, 0]))
        after = f"{len(samples)} beats by {detector} on {lead}"
        if excluded:
            after += f", {excluded} samples unanalysable"
        with self._bulk_change():
            self._audit_entry(who, "set_beats", name, -1, f"{len(record.beats)} beats", after)
            if not np.array_equal(record.beats, samples):
                record.classes = None  # classes belong to one detection
            record.beats, record.detector, record.analysis_lead = samples, detector, lead
            record.unanalysable = stretches.copy()

    def set_model_output(
        self, name: str, samples: np.ndarray, p_apc: np.ndarray, *, threshold: float, model_id: str, who: str,
        record_calls: np.ndarray | None = None, record_vetoes: np.ndarray | None = None, record_rule: str = "",
    ) -> None:
        """Replace the model's outputs for a record (with ``record_calls`` and ``record_vetoes``, one of each per
        beat, the calls of its ``record_rule`` and the network's calls it overrules). Human labels are not
        touched."""
        record = self.record(name)
        samples = np.asarray(samples, dtype=np.int64)
        p_apc = np.asarray(p_apc, dtype=np.float32)
        if samples.shape != p_apc.shape or np.any(np.diff(samples) <= 0):
            raise StoreError(self.path, "model output must be one p(APC) per beat, beats strictly increasing")
        if record_calls is not None or record_vetoes is not None:
            record_calls = np.zeros(samples.shape, bool) if record_calls is None else np.asarray(record_calls, bool)
            record_vetoes = np.zeros(samples.shape, bool) if record_vetoes is None else np.asarray(record_vetoes, bool)
            if record_calls.shape != samples.shape or record_vetoes.shape != samples.shape or not record_rule:
                raise StoreError(self.path, "a record rule's calls and vetoes must be one per beat, with the rule's "
                                            "name")
            if np.any(record_calls & record_vetoes):
                raise StoreError(self.path, f"the {record_rule} rule both called and overruled the same beat")
        with self._bulk_change():
            before = record.model.model_id if record.model else ""
            record.model = ModelOutput(samples, p_apc, float(threshold), model_id, utc_now(), record_calls,
                                       record_rule, record_vetoes)
            apcs = int(record.model.apc.sum())
            ruled = ""
            if record_calls is not None:
                overruled = int(record.model.overruled.sum())
                ruled = f", {int(record_calls.sum())} by its {record_rule} rule, which overruled {overruled}"
            self._audit_entry(who, "set_model_output", name, -1, before,
                              f"{model_id}: {apcs} APC of {len(samples)} beats{ruled}")

    def set_beat_classes(self, name: str, classes: BeatClassTable, *, who: str,
                         action: str = "set_beat_classes") -> None:
        """Replace a record's beat classes (``danet_viewer.core.beat_classes.update_beat_classes`` computes them;
        ``danet_viewer.core.class_edits`` splits and merges them, and says how in ``action``)."""
        record = self.record(name)
        before = f"{record.classes.n_classes} classes" if record.classes is not None else ""
        after = f"{classes.n_classes} classes of {len(classes.sample)} beats"
        if self._journal is not None and _same_beats(record.classes, classes):
            # A regrouping (a split, a merge, their undo): one journal line with the columns that change.
            args = {"record": name, "sample": -1, "columns": {key: _encode_array(getattr(classes, key))
                                                              for key in REGROUPED_COLUMNS}}
            self._journalled_edit("classes", args, who, action, before, after)
            return
        with self._bulk_change(classes_of=record):
            record.classes = classes
            self._audit_entry(who, action, name, -1, before, after)

    def set_reference(self, name: str, samples: np.ndarray, symbols: list[str], *, source: str, who: str) -> None:
        """Keep imported reference annotations (never shown as a reviewer's labels)."""
        record = self.record(name)
        with self._bulk_change():
            record.reference_sample = np.asarray(samples, dtype=np.int64)
            record.reference_symbol = np.asarray(symbols, dtype=object)
            record.reference_source = source
            self._audit_entry(who, "set_reference", name, -1, "", f"{len(samples)} annotations from {source}")

    def apply_reviews(
        self, name: str, labels: dict[int, str], *, reviewer: str, action: str, span: tuple[int, int]
    ) -> None:
        """Make ``labels`` the reviews of samples ``span[0]:span[1]`` at once (an import).

        Reviews already in the span are replaced; the audit entry counts them.
        """
        record = self.record(name)
        for symbol in labels.values():
            self._check_symbol(symbol)
        with self._bulk_change():
            time = utc_now()
            replaced = [s for s in record.reviews if span[0] <= s < span[1]]
            for sample in replaced:
                del record.reviews[sample]
            record.reviews.update({int(s): Review(sym, reviewer, time) for s, sym in labels.items()})
            self._audit_entry(reviewer, action, name, -1, f"{len(replaced)} existing labels replaced",
                              f"{len(labels)} labels")

    # --- label edits (journalled) -------------------------------------------------------------

    def label_beats(self, name: str, samples: np.ndarray, symbol: str, *, reviewer: str, action: str) -> None:
        """Give many beats one label in one step (a reviewer labelling a whole class), saved before this returns.

        Unlike ``apply_reviews`` it touches no beat outside ``samples``; it is one edit of ``set_labels``.
        """
        review = Review(symbol, reviewer, utc_now())
        samples = np.unique(np.asarray(samples, dtype=np.int64))
        self.set_labels(name, dict.fromkeys(samples.tolist(), review), who=reviewer, action=action)

    def set_label(self, name: str, sample: int, symbol: str, reviewer: str) -> Review:
        """Record a reviewer's decision on one beat (detected or added) and save it durably.

        ``symbol`` is a WFDB beat symbol, or ``NOT_A_BEAT`` to delete a detection.
        """
        self._require_writable()
        self._check_symbol(symbol)
        if not reviewer.strip():
            raise StoreError(self.path, "a label needs a reviewer name")
        record = self.record(name)
        sample = int(sample)
        if not 0 <= sample < record.n_samples:
            raise StoreError(self.path, f"sample {sample} is outside record {name!r}")
        before = record.reviews.get(sample)
        time = utc_now()
        args = {"record": name, "sample": sample, "symbol": symbol, "reviewer": reviewer, "time": time}
        position = np.searchsorted(record.beats, sample)
        detected = position < len(record.beats) and record.beats[position] == sample
        action = "label" if detected or before else "add_beat"
        self._journalled_edit("review", args, reviewer, action, before.symbol if before else "", symbol)
        return record.reviews[sample]

    def clear_label(self, name: str, sample: int, reviewer: str) -> None:
        """Return a beat to unreviewed (an undo of its first review); logged like any edit."""
        self._require_writable()
        record = self.record(name)
        before = record.reviews.get(int(sample))
        if before is None:
            return
        args = {"record": name, "sample": int(sample)}
        self._journalled_edit("clear_review", args, reviewer, "clear_label", before.symbol, "")

    def set_labels(self, name: str, reviews: dict[int, Review | None], *, who: str, action: str) -> None:
        """Change many beats' labels as one edit (a class labelled, or that undone), saved before this returns.

        ``reviews`` gives each beat's review, or None to return it to unreviewed. The
        edit is one journal line, so a kill keeps all of it or none (a torn line was
        never reported saved), and one audit entry, which counts the labels before and
        after; its sample is the first beat's.
        """
        self._require_writable()
        if not who.strip():
            raise StoreError(self.path, "a label needs a reviewer name")
        record = self.record(name)
        rows = [[int(sample), *((review.symbol, review.reviewer, review.time) if review else ("", "", ""))]
                for sample, review in sorted(reviews.items())]
        if not rows:
            return
        for _, symbol, reviewer, _ in rows:
            if symbol:
                self._check_symbol(symbol)
                if not reviewer.strip():
                    raise StoreError(self.path, "a label needs a reviewer name")
        if rows[0][0] < 0 or rows[-1][0] >= record.n_samples:
            raise StoreError(self.path, f"beat samples outside record {name!r}")
        before = _label_counts(review.symbol if review else "" for review in map(record.reviews.get, reviews))
        after = _label_counts(row[1] for row in rows)
        args = {"record": name, "sample": rows[0][0], "reviews": rows}
        self._journalled_edit("reviews", args, who, action, before, after)

    def _check_symbol(self, symbol: str) -> None:
        if symbol != NOT_A_BEAT and not is_beat(symbol):
            raise StoreError(self.path, f"{symbol!r} is not a beat symbol")

    # --- bookmarks (journalled, like labels) ---------------------------------------------------

    def bookmarks(self, name: str) -> list[Bookmark]:
        """A record's bookmarks, in time order."""
        return [bookmark for _, bookmark in sorted(self.record(name).bookmarks.items())]

    def set_bookmark(self, name: str, sample: int, comment: str, who: str, span_s: float = 0.0) -> Bookmark:
        """Bookmark a moment of a record with a comment (replacing a bookmark on that sample), saved durably;
        with ``span_s`` > 0, the stretch of that length from ``sample`` (cut at the record's end)."""
        self._require_writable()
        if not who.strip():
            raise StoreError(self.path, "a bookmark needs a reviewer name")
        record = self.record(name)
        sample = int(sample)
        if not 0 <= sample < record.n_samples:
            raise StoreError(self.path, f"sample {sample} is outside record {name!r}")
        if not _is_span(span_s):
            raise StoreError(self.path, f"a bookmark's stretch cannot last {span_s!r} s")
        span_s = min(float(span_s), (record.n_samples - sample) / record.fs)
        before = record.bookmarks.get(sample)
        args = {"record": name, "sample": sample, "comment": comment, "who": who, "time": utc_now()}
        if span_s:
            args["span_s"] = span_s
        self._journalled_edit("bookmark", args, who, "bookmark", before.comment if before else "", comment)
        return record.bookmarks[sample]

    def remove_bookmark(self, name: str, sample: int, who: str) -> None:
        """Remove the bookmark on ``sample``, if any; logged like any edit."""
        self._require_writable()
        before = self.record(name).bookmarks.get(int(sample))
        if before is None:
            return
        args = {"record": name, "sample": int(sample)}
        self._journalled_edit("clear_bookmark", args, who, "remove_bookmark", before.comment, "")


def _edit_weight(op: str, args: dict) -> int:
    """How many label edits a journal line counts as towards ``COMPACT_AFTER_EDITS``: a class label, its beats; a
    regrouping of classes, ``REGROUPING_WEIGHT``."""
    return len(args["reviews"]) if op == "reviews" else REGROUPING_WEIGHT if op == "classes" else 1


def _same_beats(stored: BeatClassTable | None, classes: BeatClassTable) -> bool:
    """``classes`` regroup the beats of ``stored``: only ``REGROUPED_COLUMNS`` differ."""
    return (
        stored is not None and (stored.detection_hash, stored.method) == (classes.detection_hash, classes.method)
        and all(np.array_equal(getattr(stored, key), getattr(classes, key), equal_nan=True)
                for key in BeatClassTable.ARRAYS if key not in REGROUPED_COLUMNS)
    )


def _encode_array(array: np.ndarray) -> list:
    """[dtype, shape, base64 of the zlib-compressed little-endian bytes]: exact, and a class-id column compresses
    to a few kilobytes."""
    array = np.ascontiguousarray(array, array.dtype.newbyteorder("<"))
    return [array.dtype.str, list(array.shape), base64.b64encode(zlib.compress(array.tobytes(), 1)).decode()]


def _decode_array(value: object, dtype: np.dtype, shape: tuple[int, ...]) -> np.ndarray:
    """An array ``_encode_array`` wrote, of ``dtype`` and ``shape``; ValueError or TypeError otherwise."""
    if not (isinstance(value, list) and len(value) == 3 and isinstance(value[2], str)):
        raise TypeError("a class column is not [dtype, shape, data]")
    little = np.dtype(dtype).newbyteorder("<")
    if value[0] != little.str or value[1] != list(shape):
        raise ValueError(f"a class column of {value[0]!r} {value[1]!r}, not {little.str!r} {list(shape)!r}")
    size = little.itemsize * int(np.prod(shape))
    try:
        inflate = zlib.decompressobj()
        raw = inflate.decompress(base64.b64decode(value[2], validate=True), size + 1)  # no more than it declares
    except zlib.error as error:
        raise ValueError(f"a class column does not decompress: {error}") from None
    if len(raw) != size or not inflate.eof:
        raise ValueError("a class column's data does not fill its shape")
    return np.frombuffer(raw, little).reshape(shape).astype(dtype)


def _regrouped(record: StoredRecord, columns: object) -> BeatClassTable:
    """The record's classes with the journalled ``columns`` (``REGROUPED_COLUMNS``); ValueError or TypeError where
    they do not fit the classes they regroup (so a line no writer wrote is refused on replay)."""
    classes = record.classes
    if classes is None:
        raise ValueError("classes regrouped where the record has none")
    if not isinstance(columns, dict) or set(columns) != set(REGROUPED_COLUMNS):
        raise TypeError("regrouped class columns")
    templates = columns["templates"]
    k = templates[1][0] if isinstance(templates, list) and len(templates) == 3 and isinstance(templates[1], list) and (
        templates[1]) else None
    if not isinstance(k, int) or isinstance(k, bool) or not 0 < k <= max(len(classes.sample), 1):
        raise ValueError(f"{k!r} regrouped classes")
    shapes = {"class_id": classes.sample.shape, "templates": (k, *classes.templates.shape[1:]),
              "rr_quartiles": (k, 3, 3), "p_apc": (k,), "centroids": (k, classes.centroids.shape[1])}
    arrays = {key: _decode_array(columns[key], getattr(classes, key).dtype, shape) for key, shape in shapes.items()}
    class_id = arrays["class_id"]
    if len(class_id) and (class_id.min() < 0 or class_id.max() >= k):
        raise ValueError("a regrouped beat's class is not one of them")
    return replace(classes, **arrays)


def _label_counts(symbols: Iterable[str]) -> str:
    """'12 unreviewed, 3 A': how many beats carry each label, for an audit entry of many beats."""
    counts: dict[str, int] = {}
    for symbol in symbols:
        counts[symbol or "unreviewed"] = counts.get(symbol or "unreviewed", 0) + 1
    return ", ".join(f"{count} {symbol}" for symbol, count in sorted(counts.items(), key=lambda item: -item[1]))


def _check_review_rows(rows: object, n_samples: int) -> None:
    """Refuse a journalled batch of reviews that no writer wrote: [sample, symbol, reviewer, time] rows."""
    if not isinstance(rows, list) or not rows:
        raise TypeError("reviews are not a list of rows")
    for row in rows:
        if not isinstance(row, list) or len(row) != 4 or not all(isinstance(value, str) for value in row[1:]):
            raise TypeError(f"review row {row!r}")
        sample, symbol = row[0], row[1]
        if isinstance(sample, bool) or not isinstance(sample, int) or not 0 <= sample < n_samples:
            raise ValueError(f"sample {sample!r}")
        if symbol and symbol != NOT_A_BEAT and not is_beat(symbol):
            raise ValueError(f"symbol {symbol!r}")


def _is_span(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value < float("inf")


def _write_bookmarks(group: h5py.Group, bookmarks: dict[int, Bookmark]) -> None:
    group.attrs["bookmarks_version"] = BOOKMARKS_VERSION
    ordered = [bookmarks[sample] for sample in sorted(bookmarks)]
    group.create_dataset("sample", data=np.array([b.sample for b in ordered], dtype=np.int64))
    group.create_dataset("span_s", data=np.array([b.span_s for b in ordered], dtype=np.float64))
    for key in _BOOKMARK_TEXTS:
        group.create_dataset(key, data=[getattr(b, key) for b in ordered], dtype=_STR)


def _read_bookmarks(reader: _Reader, group: h5py.Group, record: StoredRecord) -> dict[int, Bookmark]:
    version = reader.integer(group.attrs, "bookmarks_version") if "bookmarks_version" in group.attrs else -1
    if version > BOOKMARKS_VERSION:
        raise StoreError(reader.path, f"written by a newer DANet Review (bookmarks version {version}); "
                                      f"this version reads version {BOOKMARKS_VERSION}")
    if version not in (1, BOOKMARKS_VERSION):  # version 1: moments only, no span_s
        reader.damaged(f"unknown bookmarks version {version} in record {record.name!r}")
    sample = reader.integers(group, "sample")
    texts = [reader.texts(group, key) for key in _BOOKMARK_TEXTS]
    span_s = reader.reals(group, "span_s") if version > 1 else np.zeros(len(sample))
    reader.same_length(group, sample, span_s, *texts)
    if len(sample) and (sample.min() < 0 or sample.max() >= record.n_samples):
        reader.damaged(f"bookmarks of record {record.name!r} lie outside its {record.n_samples} samples")
    if not all(_is_span(span) for span in span_s.tolist()):
        reader.damaged(f"bookmarks of record {record.name!r} have a stretch that is not a length of time")
    return {at: Bookmark(at, *fields, span_s=span) for at, span, *fields
            in zip(sample.tolist(), span_s.tolist(), *texts, strict=True)}
