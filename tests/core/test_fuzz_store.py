"""Fuzzing the store opener: a damaged store or journal gives a StoreError, in bounded time and memory.

Three campaigns, each also run at scale by ``benchmarks/bench_fuzz.py``
(``DANET_FUZZ_SCALE`` multiplies the examples; ``TRIED`` counts the inputs):

- structural damage made with h5py: missing groups and attributes, columns of
  the wrong type, shape or length, and columns declaring absurd sizes;
- journals: lines with a good CRC but bad content, torn and corrupt lines;
- bytes: bit flips and truncation of a whole store file, in a subprocess, since
  a damaged HDF5 file reaches libhdf5's C code (which once asked for 2 GB).

Whatever opens must then work: every beat table builds, and a writer can add
a label that survives a reopen.
"""

from __future__ import annotations

import contextlib
import faulthandler
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import zlib
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import h5py
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from danet_viewer.core.store import AnnotationStore
from danet_viewer.errors import StoreError

REPO = Path(__file__).resolve().parents[2]
SCALE = int(os.environ.get("DANET_FUZZ_SCALE", "1"))
TRIED: Counter[str] = Counter()
# Generous: a damaged store is refused in milliseconds. (In the byte campaign a hang ends the subprocess.)
MAX_SECONDS_PER_INPUT = 20.0
# Peak resident memory of a subprocess opening thousands of damaged stores (it starts at about 60 MB).
MAX_RSS_MB = 400


def _write_template(path: Path) -> None:
    """A small store with every part the schema has: beats, model, reference, reviews and an audit log."""
    with AnnotationStore.open(path, "a") as store:
        for name in ("rec", "other"):
            store.put_recording(name=name, source_path=f"/data/{name}.hea", content_hash=name, fs=360.0,
                                lead_names=["MLII", "V5"], units=["mV", "mV"], n_samples=36_000,
                                who="tester")
            beats = np.arange(100, 36_000, 300)
            store.set_beats(name, beats, detector="test", lead="MLII", who="tester")
            store.set_model_output(name, beats, np.linspace(0, 1, len(beats)), threshold=0.5, model_id="m",
                                   who="tester")
            store.set_reference(name, beats[:10], ["N"] * 10, source=f"{name}.atr", who="tester")
            for sample in beats[:6]:
                store.set_label(name, int(sample), "A", "dr_a")


_TEMPLATE_DIR = Path(tempfile.mkdtemp(prefix="danet-fuzz-store-"))
TEMPLATE = _TEMPLATE_DIR / "template.h5"
_write_template(TEMPLATE)


@contextlib.contextmanager
def _template_copy() -> Iterator[Path]:
    """A fresh copy of the template store for one generated example (hypothesis reuses no fixture)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "s.h5"
        shutil.copy(TEMPLATE, path)
        yield path


def _items(path: Path) -> tuple[list[str], list[tuple[str, str]]]:
    """Every dataset path, and every (object path, attribute name), of a store file."""
    datasets, attributes = [], []
    with h5py.File(path, "r") as handle:
        attributes += [("/", key) for key in handle.attrs]

        def visit(name: str, item: h5py.HLObject) -> None:
            if isinstance(item, h5py.Dataset):
                datasets.append(name)
            attributes.extend((name, key) for key in item.attrs)

        handle.visititems(visit)
    return datasets, attributes


DATASETS, ATTRIBUTES = _items(TEMPLATE)
GROUPS = sorted({name.rsplit("/", 1)[0] for name in DATASETS})

COLUMN_DAMAGE = st.sampled_from(["delete", "floats", "text", "compound", "2-D", "scalar", "one short",
                                 "huge declared", "group instead"])
ATTRIBUTE_VALUES = st.sampled_from([np.arange(3), 1.5, float("nan"), float("inf"), -1, 2**62, "text", b"\xff\xfe",
                                    "[1, 2]", "{", "null", np.bool_(True)])


def _damage_column(handle: h5py.File, name: str, damage: str) -> None:
    data, dtype = handle[name][()], handle[name].dtype
    del handle[name]
    if damage == "floats":
        handle[name] = np.linspace(0, 1, max(1, len(data)))
    elif damage == "text":
        handle.create_dataset(name, data=["x"] * max(1, len(data)), dtype=h5py.string_dtype())
    elif damage == "compound":
        handle[name] = np.zeros(3, dtype=[("a", "i4"), ("b", "f8")])
    elif damage == "2-D":
        handle[name] = np.zeros((2, 3), np.int64)
    elif damage == "scalar":
        handle[name] = 7
    elif damage == "one short":
        handle.create_dataset(name, data=data[:-1], dtype=dtype)
    elif damage == "huge declared":  # chunked and never written: costs nothing on disk, 8 TB if read
        handle.create_dataset(name, shape=(2**40,), dtype=np.int64, chunks=(1024,))
    elif damage == "group instead":
        handle.create_group(name)


def _damage_attribute(handle: h5py.File, owner: str, key: str, value: object) -> None:
    if value is None:
        del handle[owner].attrs[key]
    else:
        handle[owner].attrs[key] = value


def _check_opens_or_refuses(path: Path) -> str:
    """Open the store read-only; if it opens, use it and write to it. 'opened' or 'refused'."""
    started = time.monotonic()
    try:
        with AnnotationStore.open(path) as store:
            for name in store.records():
                store.beat_table(name)
            store.audit_log()
    except StoreError as error:
        assert "\n" not in str(error) and str(error).startswith(str(path))
        return "refused"
    finally:
        assert time.monotonic() - started < MAX_SECONDS_PER_INPUT
    with AnnotationStore.open(path, "a") as store:
        labelled = [(name, store.record(name)) for name in store.records() if store.record(name).n_samples > 0]
        for name, record in labelled[:1]:
            store.set_label(name, record.n_samples - 1, "V", "fuzzer")
    with AnnotationStore.open(path) as store:
        for name, record in labelled[:1]:
            assert store.record(name).reviews[record.n_samples - 1].symbol == "V"
    return "opened"


@settings(max_examples=40 * SCALE, deadline=None)
@given(
    columns=st.lists(st.tuples(st.sampled_from(DATASETS), COLUMN_DAMAGE), max_size=2, unique_by=lambda c: c[0]),
    attributes=st.lists(st.tuples(st.sampled_from(ATTRIBUTES), st.none() | ATTRIBUTE_VALUES), max_size=2),
    groups=st.lists(st.sampled_from(GROUPS), max_size=1),
)
def test_structurally_damaged_stores_are_refused_or_work(columns, attributes, groups):
    TRIED["store file (HDF5 structure)"] += 1
    with _template_copy() as path:
        with h5py.File(path, "a") as handle:
            for name, damage in columns:
                if name in handle:
                    _damage_column(handle, name, damage)
            for (owner, key), value in attributes:
                if owner in handle and (value is not None or key in handle[owner].attrs):
                    _damage_attribute(handle, owner, key, value)
            for name in groups:
                if name in handle:
                    del handle[name]
        _check_opens_or_refuses(path)


def test_a_column_declaring_eight_terabytes_is_refused_without_reading_it(tmp_path):
    path = tmp_path / "s.h5"
    shutil.copy(TEMPLATE, path)
    with h5py.File(path, "a") as handle:
        del handle["records/rec/beats/sample"]
        handle.create_dataset("records/rec/beats/sample", shape=(2**40,), dtype=np.int64, chunks=(1024,))
    try:
        AnnotationStore.open(path)
    except StoreError as error:
        assert "declares 1099511627776 values" in str(error)
    else:
        raise AssertionError("a column of 2**40 beats in a small file opened")


def _journal_line(entry: object) -> bytes:
    body = json.dumps(entry).encode()
    return b"%08x %s\n" % (zlib.crc32(body), body)


def _valid_entry(store_id: str, seq: int) -> dict:
    audit = {"seq": seq, "time": "2024-01-01T00:00:00Z", "who": "dr", "action": "label", "record": "rec",
             "sample": 400, "before": "", "after": "V"}
    args = {"record": "rec", "sample": 400, "symbol": "V", "reviewer": "dr", "time": "2024-01-01T00:00:00Z"}
    return {"store_id": store_id, "seq": seq, "op": "review", "args": args, "audit": audit}


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3),
    max_leaves=8,
)
ENTRY_FIELDS = ["store_id", "seq", "op", "args", "audit", "args.record", "args.sample", "args.symbol", "audit.seq",
                "audit.who"]
ENTRY_EDITS = st.lists(st.tuples(st.sampled_from(ENTRY_FIELDS), st.none() | JSON_VALUES), max_size=3)


def _edited(entry: dict, edits: list[tuple[str, object]]) -> dict:
    for key, value in edits:
        target, _, leaf = key.rpartition(".")
        holder = entry[target] if target and isinstance(entry.get(target), dict) else entry
        if value is None:
            holder.pop(leaf or key, None)
        else:
            holder[leaf or key] = value
    return entry


@settings(max_examples=40 * SCALE, deadline=None)
@given(
    edits=st.lists(ENTRY_EDITS, min_size=1, max_size=3),
    raw_lines=st.lists(JSON_VALUES, max_size=2),
    tail=st.sampled_from([b"", b"0badc0de {\"half\": ", b"\x00\x00\x00", b"zz\n"]),
)
def test_damaged_journals_are_refused_or_replayed(edits, raw_lines, tail):
    TRIED["store journal"] += 1
    with _template_copy() as path:
        with h5py.File(path, "r") as handle:
            store_id, last_seq = str(handle.attrs["store_id"]), int(handle.attrs["last_seq"])
        lines = [_journal_line(_edited(_valid_entry(store_id, last_seq + 1 + i), entry_edits))
                 for i, entry_edits in enumerate(edits)]
        lines += [_journal_line(value) for value in raw_lines]
        Path(f"{path}.journal").write_bytes(b"".join(lines) + tail)
        _check_opens_or_refuses(path)


def byte_damage_campaign(seed: int, count: int) -> dict:
    """Open ``count`` bit-flipped or truncated copies of the template; tallies, slowest time, peak memory."""
    rng = random.Random(seed)
    original = TEMPLATE.read_bytes()
    outcomes: Counter[str] = Counter()
    slowest = 0.0
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "s.h5"
        for _ in range(count):
            data = bytearray(original)
            for _ in range(rng.randint(1, 8)):
                data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
            if rng.random() < 0.2:
                del data[rng.randrange(len(data)) :]
            path.write_bytes(bytes(data))
            Path(f"{path}.journal").unlink(missing_ok=True)
            started = time.monotonic()
            # A hang inside libhdf5 cannot be interrupted: dump where it hangs and end the campaign.
            faulthandler.dump_traceback_later(MAX_SECONDS_PER_INPUT, exit=True)
            outcomes[_check_opens_or_refuses(path)] += 1
            faulthandler.cancel_dump_traceback_later()
            slowest = max(slowest, time.monotonic() - started)
    return {"tried": count, **outcomes, "slowest_s": round(slowest, 3), "peak_rss_mb": round(_peak_rss_mb())}


def _peak_rss_mb() -> float:
    """This process's peak resident memory. Not ru_maxrss: Linux carries a forking parent's peak over exec."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_byte_damage_campaign(seed: int, count: int) -> dict:
    """The byte campaign in a fresh interpreter: a crash in libhdf5 fails it, and its memory is its own."""
    code = ("import json, sys; from tests.core.test_fuzz_store import byte_damage_campaign; "
            "print(json.dumps(byte_damage_campaign(int(sys.argv[1]), int(sys.argv[2]))))")
    done = subprocess.run([sys.executable, "-c", code, str(seed), str(count)], cwd=REPO, capture_output=True,
                          text=True, timeout=60 + count)
    assert done.returncode == 0, f"the campaign died (exit {done.returncode}): {done.stderr[-2000:]}"
    return json.loads(done.stdout.splitlines()[-1])


def test_bit_flipped_and_truncated_stores_are_refused_in_bounded_memory():
    result = run_byte_damage_campaign(seed=7, count=60 * SCALE)
    assert result["tried"] == result.get("opened", 0) + result.get("refused", 0)
    assert result.get("refused", 0) > 0
    assert result["peak_rss_mb"] < MAX_RSS_MB, result
    TRIED["store file (bytes)"] += result["tried"]
