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
labels) are applied and compacted at once; single label edits go to the
journal, so a reviewer's keypress costs one small fsynced append. Every change,
of either kind, is added to the audit log (who, when, what, before, after),
which compaction moves into ``S.h5`` under ``/audit``.

Model outputs and human labels live in separate groups keyed by beat sample:
re-running a model replaces ``model/`` and never touches ``reviews/``.

HDF5 schema (``schema_version`` 1)::

    /                     attrs: schema="danet-review-store", schema_version, store_id, last_seq
    /records/<name>       attrs: name, source_path, content_hash, fs, lead_names (JSON),
                                 units (JSON), n_samples, analysis_lead, detector
        beats/sample      int64   detected R peaks, at the record's own rate
        model/sample      int64   beats the model scored   attrs: model_id, threshold, run_at
        model/p_apc       float32 p(APC)
        model/apc         int8    1 where p_apc >= threshold
        reference/sample  int64   imported reference annotations   attrs: source
        reference/symbol  str     their WFDB symbols
        reviews/sample    int64   reviewed beats (detected or added)
        reviews/symbol    str     WFDB beat symbol, or "not-a-beat" for a deleted detection
        reviews/reviewer  str
        reviews/time      str     ISO 8601 UTC
    /audit/{seq,time,who,action,record,sample,before,after}   one row per change
"""

from __future__ import annotations

import copy
import json
import os
import sys
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
from danet_viewer.core.atomic import atomic_output
from danet_viewer.errors import StoreError, StoreLockedError

SCHEMA_NAME = "danet-review-store"
SCHEMA_VERSION = 1
NOT_A_BEAT = "not-a-beat"
# Label edits accumulated in the journal before the next edit compacts them into the HDF5 file.
COMPACT_AFTER_EDITS = 2000

_STR = h5py.string_dtype()


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Review:
    symbol: str
    reviewer: str
    time: str


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


@dataclass
class ModelOutput:
    sample: np.ndarray
    p_apc: np.ndarray
    threshold: float
    model_id: str
    run_at: str

    @property
    def apc(self) -> np.ndarray:
        return (self.p_apc >= self.threshold).astype(np.int8)


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
    beats: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    model: ModelOutput | None = None
    reference_sample: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    reference_symbol: np.ndarray = field(default_factory=lambda: np.empty(0, object))
    reference_source: str = ""
    reviews: dict[int, Review] = field(default_factory=dict)

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
            scored = np.searchsorted(sample, record.model.sample)
            hit = (scored < n) & (sample[np.minimum(scored, n - 1)] == record.model.sample)
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
            raise StoreLockedError(
                store_path, f"already open for writing by another process ({holder}); open it read-only"
            )
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
                store._journal = open(store.journal_path, "ab")
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
        for entry in journal_lines:
            if entry.get("store_id") != self.store_id:
                raise StoreError(self.journal_path, "journal belongs to a different store")
            if entry["seq"] <= self._compacted_seq:
                continue
            self._apply(entry["op"], entry["args"])
            self._audit.append(AuditEntry(**entry["audit"]))
            self._seq = entry["seq"]
            self._journal_edits += 1

    def _read_journal_lines(self) -> list[dict]:
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
            entries.append(entry)
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
        try:
            handle = h5py.File(self.path, "r")
        except OSError:
            raise StoreError(self.path, "not an HDF5 file (or it is damaged)") from None
        with handle:
            if _as_str(handle.attrs.get("schema", "")) != SCHEMA_NAME:
                raise StoreError(self.path, "not a DANet Review annotation store")
            version = int(handle.attrs.get("schema_version", -1))
            if version > SCHEMA_VERSION:
                raise StoreError(
                    self.path,
                    f"written by a newer DANet Review (store schema {version}); "
                    f"this version reads schema {SCHEMA_VERSION}",
                )
            if version != SCHEMA_VERSION:
                raise StoreError(self.path, f"unknown store schema version {version}")
            try:
                self.store_id = _as_str(handle.attrs["store_id"])
                self._seq = self._compacted_seq = int(handle.attrs["last_seq"])
                for group in handle["records"].values():
                    record = self._read_record(group)
                    self._records[record.name] = record
                self._audit = self._read_audit(handle["audit"])
            except (KeyError, ValueError, TypeError, OSError) as error:
                raise StoreError(self.path, f"damaged store: {error}") from None

    @staticmethod
    def _read_record(group: h5py.Group) -> StoredRecord:
        attrs = group.attrs
        record = StoredRecord(
            name=_as_str(attrs["name"]),
            source_path=_as_str(attrs["source_path"]),
            content_hash=_as_str(attrs["content_hash"]),
            fs=float(attrs["fs"]),
            lead_names=json.loads(_as_str(attrs["lead_names"])),
            units=json.loads(_as_str(attrs["units"])),
            n_samples=int(attrs["n_samples"]),
            analysis_lead=_as_str(attrs["analysis_lead"]),
            detector=_as_str(attrs["detector"]),
            beats=group["beats/sample"][()].astype(np.int64),
        )
        if "model" in group:
            model = group["model"]
            record.model = ModelOutput(
                sample=model["sample"][()].astype(np.int64),
                p_apc=model["p_apc"][()].astype(np.float32),
                threshold=float(model.attrs["threshold"]),
                model_id=_as_str(model.attrs["model_id"]),
                run_at=_as_str(model.attrs["run_at"]),
            )
        if "reference" in group:
            reference = group["reference"]
            record.reference_sample = reference["sample"][()].astype(np.int64)
            record.reference_symbol = np.array(reference["symbol"].asstr()[()], dtype=object)
            record.reference_source = _as_str(reference.attrs["source"])
        reviews = group["reviews"]
        columns = [reviews[key].asstr()[()] for key in ("symbol", "reviewer", "time")]
        for sample, symbol, reviewer, time in zip(reviews["sample"][()], *columns, strict=True):
            record.reviews[int(sample)] = Review(symbol, reviewer, time)
        return record

    @staticmethod
    def _read_audit(group: h5py.Group) -> list[AuditEntry]:
        text = {key: group[key].asstr()[()] for key in ("time", "who", "action", "record", "before", "after")}
        return [
            AuditEntry(int(seq), text["time"][i], text["who"][i], text["action"][i], text["record"][i],
                       int(sample), text["before"][i], text["after"][i])
            for i, (seq, sample) in enumerate(zip(group["seq"][()], group["sample"][()], strict=True))
        ]  # fmt: skip

    # --- writing ---------------------------------------------------------------------------

    def _compact(self) -> None:
        """Write the whole state to a new file and atomically replace the store with it."""
        self._require_writable()
        try:
            with atomic_output(self.path) as temporary, h5py.File(temporary, "w") as handle:
                self._write_hdf5(handle)
        except OSError as error:
            raise StoreError(self.path, f"cannot write the store: {error.strerror or error}") from None
        self._compacted_seq = self._seq
        # The HDF5 file now holds every journalled edit (its last_seq says so), so the
        # journal may be emptied; a kill before this line only leaves entries replay skips.
        if self._journal is not None:
            self._journal.truncate(0)
            self._journal.flush()
            os.fsync(self._journal.fileno())
        else:
            self.journal_path.unlink(missing_ok=True)
        self._journal_edits = 0

    def _write_hdf5(self, handle: h5py.File) -> None:
        handle.attrs.update(
            schema=SCHEMA_NAME, schema_version=SCHEMA_VERSION, store_id=self.store_id,
            last_seq=self._seq, written_by=f"danet-viewer {__version__}",
        )  # fmt: skip
        records = handle.create_group("records")
        for record in self._records.values():
            group = records.create_group(record.name)
            group.attrs.update(
                name=record.name, source_path=record.source_path, content_hash=record.content_hash,
                fs=record.fs, lead_names=json.dumps(record.lead_names), units=json.dumps(record.units),
                n_samples=record.n_samples, analysis_lead=record.analysis_lead, detector=record.detector,
            )  # fmt: skip
            group.create_dataset("beats/sample", data=record.beats.astype(np.int64))
            if record.model is not None:
                model = group.create_group("model")
                model.create_dataset("sample", data=record.model.sample)
                model.create_dataset("p_apc", data=record.model.p_apc)
                model.create_dataset("apc", data=record.model.apc)
                model.attrs.update(
                    threshold=record.model.threshold, model_id=record.model.model_id, run_at=record.model.run_at
                )
            if len(record.reference_sample):
                reference = group.create_group("reference")
                reference.create_dataset("sample", data=record.reference_sample)
                reference.create_dataset("symbol", data=list(record.reference_symbol), dtype=_STR)
                reference.attrs["source"] = record.reference_source
            reviews = group.create_group("reviews")
            ordered = sorted(record.reviews.items())
            reviews.create_dataset("sample", data=np.array([s for s, _ in ordered], dtype=np.int64))
            for key in ("symbol", "reviewer", "time"):
                reviews.create_dataset(key, data=[getattr(r, key) for _, r in ordered], dtype=_STR)
        audit = handle.create_group("audit")
        audit.create_dataset("seq", data=np.array([a.seq for a in self._audit], dtype=np.int64))
        audit.create_dataset("sample", data=np.array([a.sample for a in self._audit], dtype=np.int64))
        for key in ("time", "who", "action", "record", "before", "after"):
            audit.create_dataset(key, data=[getattr(a, key) for a in self._audit], dtype=_STR)

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
        offset = self._journal.tell()
        try:
            self._journal.write(line)
            self._journal.flush()
            os.fsync(self._journal.fileno())
        except OSError as error:
            # A partial line left mid-journal would read as corruption once later edits follow it.
            with suppress(OSError):
                self._journal.truncate(offset)
            raise StoreError(self.journal_path, f"cannot save the edit: {error.strerror or error}") from None
        self._seq = audit.seq
        self._audit.append(audit)
        self._apply(op, args)
        self._journal_edits += 1
        if self._journal_edits >= COMPACT_AFTER_EDITS:
            self._compact()

    @contextmanager
    def _bulk_change(self) -> Iterator[None]:
        """Apply a bulk change in memory, then compact; on failure the in-memory state is rolled back."""
        self._require_writable()
        saved = (copy.deepcopy(self._records), len(self._audit), self._seq)
        try:
            yield
            self._compact()
        except BaseException:
            self._records, audit_length, self._seq = saved
            del self._audit[audit_length:]
            raise

    def _apply(self, op: str, args: dict) -> None:
        """Apply one journalled label edit; the same code serves live edits and replay."""
        record = self._records[args["record"]]
        sample = int(args["sample"])
        if op == "review":
            record.reviews[sample] = Review(args["symbol"], args["reviewer"], args["time"])
        elif op == "clear_review":
            record.reviews.pop(sample, None)
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
    ) -> StoredRecord:
        """Register a recording, or confirm it is the one already stored under that name."""
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
            return existing
        with self._bulk_change():
            record = StoredRecord(name, source_path, content_hash, float(fs), list(lead_names), list(units),
                                  int(n_samples))  # fmt: skip
            self._records[name] = record
            self._audit_entry(who, "add_recording", name, -1, "", source_path)
        return record

    def set_beats(self, name: str, samples: np.ndarray, *, detector: str, lead: str, who: str) -> None:
        """Replace the detected beats. Reviews are kept: one off the new detections is an added beat."""
        record = self.record(name)
        samples = np.unique(np.asarray(samples, dtype=np.int64))
        if len(samples) and (samples[0] < 0 or samples[-1] >= record.n_samples):
            raise StoreError(self.path, f"beat samples outside record {name!r}")
        with self._bulk_change():
            self._audit_entry(who, "set_beats", name, -1, f"{len(record.beats)} beats",
                              f"{len(samples)} beats by {detector} on {lead}")  # fmt: skip
            record.beats, record.detector, record.analysis_lead = samples, detector, lead

    def set_model_output(
        self, name: str, samples: np.ndarray, p_apc: np.ndarray, *, threshold: float, model_id: str, who: str
    ) -> None:
        """Replace the model's outputs for a record. Human labels are not touched."""
        record = self.record(name)
        samples = np.asarray(samples, dtype=np.int64)
        p_apc = np.asarray(p_apc, dtype=np.float32)
        if samples.shape != p_apc.shape or np.any(np.diff(samples) <= 0):
            raise StoreError(self.path, "model output must be one p(APC) per beat, beats strictly increasing")
        with self._bulk_change():
            before = record.model.model_id if record.model else ""
            record.model = ModelOutput(samples, p_apc, float(threshold), model_id, utc_now())
            apcs = int(record.model.apc.sum())
            self._audit_entry(who, "set_model_output", name, -1, before,
                              f"{model_id}: {apcs} APC of {len(samples)} beats")  # fmt: skip

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
                              f"{len(labels)} labels")  # fmt: skip

    # --- single label edits (journalled) ------------------------------------------------------

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

    def _check_symbol(self, symbol: str) -> None:
        if symbol != NOT_A_BEAT and not is_beat(symbol):
            raise StoreError(self.path, f"{symbol!r} is not a beat symbol")
