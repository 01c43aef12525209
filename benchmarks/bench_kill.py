"""Kill benchmark: a store writer SIGKILLed at random instants loses no label it reported saved.

Run: .venv/bin/python benchmarks/bench_kill.py            (500 kills, about 1 min on 2 cores)
     .venv/bin/python benchmarks/bench_kill.py --kills 12 --no-results   (what the test suite runs)

Each round forks a writer from this process (so it starts in milliseconds,
with the model already loaded) on one annotation store of the bundled sample
record. The writer opens the store for writing (recovering whatever the last
kill left), then loops over one kind of operation, interleaved with label
edits: label edits (set or clear one beat's label), imports of the record's
reference annotations as reviews over a random time range, or re-analysis
(beat detection and DANet scoring, under a new model id each time). Before an
operation it reports "begin", after it "done" with what it saved, one line
each on a pipe; only a complete "done" line counts as reported. The round's
kill lands at a random instant within the kind of operation it targets (a
fraction of its measured duration after it began), or during the opening.

After every kill the store must open, and:
- every label whose save was reported is there with its symbol, except on the
  beats the operation in flight at the kill could touch;
- the model output is the last reported run's, or the one in flight;
- re-analysis never changed a label.

Prints the counts; writes them to benchmarks/results/reliability.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import select
import shutil
import signal
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import torch  # noqa: E402

from danet_viewer.core.analysis import analyse_recording, import_annotations  # noqa: E402
from danet_viewer.core.readers import open_recording  # noqa: E402
from danet_viewer.core.store import NOT_A_BEAT, AnnotationStore  # noqa: E402
from danet_viewer.model.inference import BeatModel  # noqa: E402

RESULTS = REPO / "benchmarks" / "results" / "reliability.md"
SAMPLE = REPO / "resources" / "sample"
RECORD = "209_excerpt"
TARGETS = ("label edit", "import", "re-analysis", "opening")
SYMBOLS = ("N", "A", "V", "S", NOT_A_BEAT, None)  # None clears the label (an undo)
# First guesses of each operation's duration in seconds; the measured mean replaces them.
FIRST_DURATION_S = {"label edit": 0.002, "import": 0.03, "re-analysis": 0.4, "opening": 0.05}
ROUND_TIMEOUT_S = 60.0


class _RenamedModel:
    """The loaded model under another id, so each re-analysis is told apart in the store."""

    def __init__(self, model: BeatModel, model_id: str) -> None:
        self.model, self.model_id, self.threshold = model, model_id, model.threshold
        self.record_rule = model.record_rule

    def score_recording(self, *args, **kwargs):
        return self.model.score_recording(*args, **kwargs)


def _emit(fd: int, **event) -> None:
    line = memoryview((json.dumps(event) + "\n").encode())
    while line:
        line = line[os.write(fd, line) :]


def _writer(fd: int, store_path: Path, record_path: Path, target: str, seed: int, model: BeatModel) -> None:
    """The forked writer: open the store, then edit, import or re-analyse until killed."""
    rng = random.Random(seed)
    recording = open_recording(record_path)
    _emit(fd, event="begin", op="opening")
    store = AnnotationStore.open(store_path, "a")
    _emit(fd, event="done", op="opening")
    run = 0
    while True:
        run += 1
        op = target if target != "opening" and rng.random() < 0.5 else "label edit"
        if op == "label edit":
            sample, symbol = rng.randrange(recording.n_samples), rng.choice(SYMBOLS)
            _emit(fd, event="begin", op=op, sample=sample)
            if symbol is None:
                store.clear_label(RECORD, sample, "dr_kill")
            else:
                store.set_label(RECORD, sample, symbol, "dr_kill")
            _emit(fd, event="done", op=op, labels={sample: symbol}, span=[sample, sample + 1])
        elif op == "import":
            start = rng.randrange(recording.n_samples // 2)
            stop = start + rng.randrange(recording.n_samples // 10, recording.n_samples // 2)
            _emit(fd, event="begin", op=op, span=[start, stop])
            import_annotations(recording, store, "atr", as_review=True, who="importer", start_s=start / recording.fs,
                               stop_s=stop / recording.fs, replace_reviews=True)
            labels = {s: r.symbol for s, r in store.record(RECORD).reviews.items() if start <= s < stop}
            _emit(fd, event="done", op=op, labels=labels, span=[start, stop])
        else:
            model_id = f"run-{seed}-{run}"
            _emit(fd, event="begin", op=op, model_id=model_id)
            analyse_recording(recording, store, who="analyst", model=_RenamedModel(model, model_id))
            _emit(fd, event="done", op=op, model_id=model_id)


def _fork_writer(store_path: Path, record_path: Path, target: str, seed: int, model: BeatModel) -> tuple[int, int]:
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        try:
            _writer(write_end, store_path, record_path, target, seed, model)
        except BaseException as error:  # noqa: BLE001 - a child must report and exit, never return into the parent's code
            _emit(write_end, event="error", message=f"{type(error).__name__}: {error}")
        os._exit(1)
    os.close(write_end)
    return pid, read_end


class Ledger:
    """What the writers reported saved, and what the operation in flight at a kill may have changed."""

    def __init__(self) -> None:
        self.labels: dict[int, str | None] = {}  # last reported symbol per beat; None: reported cleared
        self.model_id = ""
        self.in_flight: dict | None = None

    def apply(self, event: dict) -> None:
        if event["event"] == "begin":
            self.in_flight = event
            return
        self.in_flight = None
        if "span" in event:
            start, stop = event["span"]
            if event["op"] == "import":  # an import replaces every review in its span
                self.labels.update({s: None for s in self.labels if start <= s < stop})
            self.labels.update({int(s): symbol for s, symbol in event["labels"].items()})
        if "model_id" in event:
            self.model_id = event["model_id"]

    def check_and_adopt(self, store: AnnotationStore) -> tuple[int, list[str]]:
        """Labels checked, and every broken promise, against the store after a kill.

        What the operation in flight may have changed is not checked but adopted
        from the store: whether it finished before the kill is not known.
        """
        in_flight = self.in_flight or {}
        if "sample" in in_flight:
            start, stop = in_flight["sample"], in_flight["sample"] + 1
        else:
            start, stop = in_flight.get("span", (0, 0))
        reviews = store.record(RECORD).reviews
        problems, checked = [], 0
        for sample, symbol in self.labels.items():
            if start <= sample < stop:
                continue
            checked += 1
            found = reviews[sample].symbol if sample in reviews else None
            if found != symbol:
                problems.append(f"beat {sample}: reported {symbol!r}, store has {found!r}")
        self.labels.update({s: None for s in self.labels if start <= s < stop})
        self.labels.update({s: review.symbol for s, review in reviews.items() if start <= s < stop})
        model_id = store.record(RECORD).model.model_id
        if model_id not in (self.model_id, in_flight.get("model_id")):
            problems.append(f"model output {model_id!r}, reported {self.model_id!r}")
        self.model_id = model_id
        self.in_flight = None
        return checked, problems


def _read_events(fd: int, buffer: bytearray, timeout: float) -> list[dict]:
    """Complete lines from the writer within ``timeout`` (a torn last line stays in ``buffer``)."""
    events = []
    ready, _, _ = select.select([fd], [], [], max(0.0, timeout))
    if ready:
        chunk = os.read(fd, 1 << 16)
        buffer += chunk
    while b"\n" in buffer:
        line, _, rest = bytes(buffer).partition(b"\n")
        buffer[:] = rest
        events.append(json.loads(line))
    return events


def run(kills: int, seed: int, folder: Path) -> dict:
    torch.set_num_threads(1)  # no OpenMP pool in this process: forked writers must not inherit one
    model = BeatModel()
    for part in SAMPLE.glob(f"{RECORD}.*"):
        shutil.copy(part, folder)
    record_path, store_path = folder / f"{RECORD}.hea", folder / "kill.danet.h5"
    with AnnotationStore.open(store_path, "a") as store:
        analyse_recording(open_recording(record_path), store, who="setup", model=_RenamedModel(model, "setup"))
    ledger = Ledger()
    ledger.model_id = "setup"
    rng = random.Random(seed)
    durations: dict[str, list[float]] = {op: [] for op in TARGETS}
    tally: Counter[str] = Counter()
    problems: list[str] = []
    labels_checked = reported = 0
    started = time.monotonic()
    for round_number in range(kills):
        target = TARGETS[round_number % len(TARGETS)]
        pid, fd = _fork_writer(store_path, record_path, target, seed * 100_000 + round_number, model)
        buffer = bytearray()
        kill_at, began = None, time.monotonic()
        deadline = began + ROUND_TIMEOUT_S
        while kill_at is None or time.monotonic() < kill_at:
            wait = 0.5 if kill_at is None else kill_at - time.monotonic()
            for event in _read_events(fd, buffer, wait):
                if event["event"] == "error":
                    problems.append(f"round {round_number}: the writer failed: {event['message']}")
                    kill_at = time.monotonic()
                    continue
                if event["event"] == "begin":
                    began = time.monotonic()
                    if event["op"] == target and kill_at is None:
                        measured = durations[target][-20:] or [FIRST_DURATION_S[target]]
                        kill_at = began + rng.uniform(0, 1.3 * sum(measured) / len(measured))
                else:
                    durations[event["op"]].append(time.monotonic() - began)
                    reported += 1
                ledger.apply(event)
            if time.monotonic() > deadline:
                problems.append(f"round {round_number}: no {target} within {ROUND_TIMEOUT_S:.0f} s")
                break
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        while events := _read_events(fd, buffer, 0.0):  # what the writer reported before it died
            for event in events:
                if event["event"] == "done":
                    reported += 1
                if event["event"] != "error":
                    ledger.apply(event)
        os.close(fd)
        tally[ledger.in_flight["op"] if ledger.in_flight else "between operations"] += 1
        try:
            with AnnotationStore.open(store_path) as store:
                checked, broken = ledger.check_and_adopt(store)
        except Exception as error:  # noqa: BLE001 - counted and reported, never a crash of the benchmark
            problems.append(f"round {round_number}: the store did not open: {error}")
            continue
        labels_checked += checked
        problems += [f"round {round_number} ({target}): {problem}" for problem in broken]
    return {
        "kills": kills,
        "kills_by_operation": dict(tally),
        "operations_reported": reported,
        "labels_checked": labels_checked,
        "labels_at_end": sum(symbol is not None for symbol in ledger.labels.values()),
        "problems": problems,
        "seconds": round(time.monotonic() - started, 1),
    }


def write_results_section(name: str, text: str) -> None:
    """Replace this benchmark's section of reliability.md (each benchmark owns one)."""
    begin, end = f"<!-- {name} -->", f"<!-- /{name} -->"
    old = RESULTS.read_text() if RESULTS.exists() else "# Reliability benchmarks\n\nSee docs/reliability.md.\n"
    section = f"{begin}\n{text.rstrip()}\n{end}"
    if begin in old and end in old:
        new = old[: old.index(begin)] + section + old[old.index(end) + len(end) :]
    else:
        new = old.rstrip() + "\n\n" + section + "\n"
    RESULTS.write_text(new)


def report(result: dict) -> str:
    by_operation = result["kills_by_operation"]
    rows = "\n".join(f"| {op} | {by_operation.get(op, 0)} |" for op in (*TARGETS, "between operations"))
    return f"""## Kill test (benchmarks/bench_kill.py)

Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; {result['seconds']} s.

{result['kills']} SIGKILLs of a store writer; each time the store opened and was checked.

| operation in flight at the kill | kills |
|---|---|
{rows}

Operations reported saved: {result['operations_reported']}; label checks after kills: {result['labels_checked']};
labels in the store at the end: {result['labels_at_end']}.
**Store failed to open: {sum('did not open' in p for p in result['problems'])}. Broken promises (a reported
label missing or wrong, a model output from nowhere): {len(result['problems'])}.**
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=500)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="print the result as JSON (for the test suite)")
    parser.add_argument("--no-results", action="store_true", help="do not write benchmarks/results/reliability.md")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="danet-kill-") as folder:
        result = run(args.kills, args.seed, Path(folder))
    print(json.dumps(result) if args.json else report(result))
    for problem in result["problems"][:20]:
        print("PROBLEM:", problem, file=sys.stderr)
    if not args.no_results:
        write_results_section("bench_kill", report(result))
    return 1 if result["problems"] else 0


if __name__ == "__main__":
    sys.exit(main())
