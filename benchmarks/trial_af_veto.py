"""The record rule's atrial fibrillation veto, read from P waves too, tried on the 74 training patients (issue 16,
session 15), with network calls that never saw the record.

Session 14's rule vetoed only its own added calls, with Dash et al. 2009's RR-only AF detector, because as a veto on
the network that detector also silenced 41 % of svdb's SVEB beats: runs of APCs look like fibrillation by RR alone.
Their P waves repeat from beat to beat; fibrillatory waves do not. So here AF is Dash's verdict *and* a median
P-region coherence (``record_rule.atrial_coherence``) under c, and the veto is tried

1. on the rule's added calls only (session 14's place for it),
2. on every call, the network's and the rule's (the rule ``PREMATURE_CLASSES_AF_VETO`` ships this),
3. on the network's calls, the added ones keeping Dash's veto alone,

for c in 0.3, 0.4 and 0.5, each with the network calls of every ``--network NAME=DIR``: a folder of ``crossval``
out-of-fold scores (``RECORD.npz``: ``sample``, ``p_all``, ``threshold_all``), so no network judges a record it
trained or chose a threshold on. A record the folder does not hold takes the bundled network's calls from its
analysed store: a DS1 cross-validation's folder gives the bundled DS1 network's out-of-fold calls on DS1 and its own
on svdb, which it never saw. Session 14's table took the bundled network's calls on DS1, its own training set, which
made every veto on the network look costly there.

Detected beats of the analysed stores ``bench_review_effort.py`` caches (``.atr`` beats matched within 150 ms;
reference beats no detection matched are not counted). Two to three minutes on 2 cores once the stores are cached;
DS2 is refused: it chooses nothing.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from benchmarks.bench_review_effort import Player, analysed_store  # noqa: E402
from danet_viewer.core.beat_classes import compute_beat_classes  # noqa: E402
from danet_viewer.core.readers import open_recording  # noqa: E402
from danet_viewer.core.record_rule import (  # noqa: E402
    abrupt_beats,
    atrial_coherence,
    atrial_fibrillation_beats,
    premature_classes,
)
from danet_viewer.core.rr_rule import rr_rule_calls  # noqa: E402
from danet_viewer.core.store import AnnotationStore, locate  # noqa: E402
from training.databases import SVDB  # noqa: E402
from training.mitdb import DS1, DS2, mitdb_dir  # noqa: E402
from training.rhythm import atrial_fibrillation_beats as marked_af_beats  # noqa: E402

COHERENCES = (0.3, 0.4, 0.5)
GROUPS = ("all 74", "DS1", "svdb")


def network_calls(folder: Path, name: str, samples: np.ndarray, bundled: np.ndarray) -> np.ndarray:
    """The out-of-fold network's calls on ``samples`` (a detection it did not score is not called), or the bundled
    network's (``bundled``) where the folder holds none for the record."""
    if not (folder / f"{name}.npz").exists():
        return bundled
    scores = np.load(folder / f"{name}.npz")
    at, hit = locate(scores["sample"], samples)
    return np.where(hit, scores["p_all"][at] >= float(scores["threshold_all"]), False)


def record_rules(name: str, folder: Path, networks: dict[str, Path], scratch: Path
                 ) -> tuple[dict[tuple[str, str], np.ndarray], np.ndarray, np.ndarray, np.ndarray]:
    """({(network, rule): calls}, SVEB truth, the .atr AF/flutter marks, P coherence), per live detected beat."""
    path = analysed_store(name, folder, scratch, False)
    recording = open_recording(folder / name)
    with AnnotationStore.open(path, "r") as store:
        record = store.record(name)
        table = store.beat_table(name)
        live = ~table.deleted
        samples = table.sample[live]
        lead = recording.lead_index(record.analysis_lead)
        classes = compute_beat_classes(recording, lead, samples, table)
        truth = Player(store, name, record.fs).truth[live]
        # The network's own calls, whatever record rule the cached store was analysed with.
        bundled = table.p_apc[live] >= record.model.threshold
    rr = rr_rule_calls(samples)
    dash = atrial_fibrillation_beats(samples, record.fs)
    coherence = atrial_coherence(recording, lead, samples)
    candidates = premature_classes(classes)[classes.class_id] & rr
    added = candidates & abrupt_beats(samples)
    added_with_runs = with_runs(candidates, added)
    rules = {}
    for network, scores in networks.items():
        model = network_calls(scores, name, samples, bundled)
        rules[(network, "network")] = model
        rules[(network, "RR rule")] = rr
        rules[(network, "+ rule, Dash veto on the added calls (session 14)")] = model | (added & ~dash)
        for c in COHERENCES:
            veto = dash & (coherence < c)
            rules[(network, f"+ rule, the P-aware veto on the added calls, c = {c}")] = model | (added & ~veto)
            rules[(network, f"+ rule, the P-aware veto on every call, c = {c}")] = (model | added) & ~veto
            rules[(network, f"+ rule, the P-aware veto on the network's calls, c = {c}")] = \
                (model & ~veto) | (added & ~dash)
        veto = dash & (coherence < COHERENCES[0])
        rules[(network, f"+ rule with the runs abrupt beats start, the P-aware veto on every call, c = "
                        f"{COHERENCES[0]}")] = (model | added_with_runs) & ~veto
    return rules, truth, marked_af_beats(folder / f"{name}.hea", samples), coherence


def with_runs(candidates: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """``starts`` (abrupt candidates), and every candidate that follows a called beat without a break: the rest of
    the run an abrupt beat starts (AAMI counts each beat of a supraventricular run as SVEB)."""
    called = starts.copy()
    for i in range(1, len(called)):
        called[i] |= candidates[i] and called[i - 1]
    return called


def f1(tp: int, fp: int, fn: int) -> float:
    return 2 * tp / max(1, 2 * tp + fp + fn)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--network", action="append", required=True, metavar="NAME=DIR",
                        help="out-of-fold scores of one network (a crossval run's out_of_fold folder); repeatable")
    args = parser.parse_args()
    networks = {text.split("=", 1)[0]: Path(text.split("=", 1)[1]) for text in args.network}
    records = [("DS1", name, mitdb_dir()) for name in DS1] + [("svdb", name, SVDB.folder()) for name in SVDB.records()]
    assert not {name for _, name, _ in records} & set(DS2), "DS2 is never used to choose"
    totals: dict[tuple[str, str, str], np.ndarray] = {}
    coherence_in = {"DS1 AF/flutter marks": [], "DS1 outside them": [], "svdb": []}
    with tempfile.TemporaryDirectory() as scratch:
        for database, name, folder in records:
            rules, truth, marks, coherence = record_rules(name, folder, networks, Path(scratch))
            if database == "DS1":
                coherence_in["DS1 AF/flutter marks"].append(coherence[marks])
                coherence_in["DS1 outside them"].append(coherence[~marks])
            else:
                coherence_in["svdb"].append(coherence)
            for (network, rule), called in rules.items():
                row = np.array([np.sum(truth & called), np.sum(~truth & called), np.sum(truth & ~called),
                                np.sum(~truth & called & marks)])
                for group in ("all 74", database):
                    totals[(network, rule, group)] = totals.get((network, rule, group), 0) + row
            print(name, end=" ", flush=True)
    print("\n\n| P coherence, beats in | 10th | 25th | 50th | 75th | 90th percentile |\n|---|---|---|---|---|---|")
    for where, parts in coherence_in.items():
        percentiles = np.percentile(np.concatenate(parts), [10, 25, 50, 75, 90])
        print(f"| {where} | {' | '.join(f'{v:.2f}' for v in percentiles)} |")
    for network in networks:
        print(f"\n{network}\n\n| SVEB F1 (TP / FP / FN) | {' | '.join(GROUPS)} | false APCs in DS1's AF marks |")
        print("|---|---|---|---|---|")
        for rule in dict.fromkeys(rule for n, rule, _ in totals if n == network):
            counts = [totals[(network, rule, group)][:3] for group in GROUPS]
            cells = [f"{f1(*tp_fp_fn):.3f} ({' / '.join(map(str, tp_fp_fn))})" for tp_fp_fn in counts]
            print(f"| {rule} | {' | '.join(cells)} | {totals[(network, rule, 'all 74')][3]} |")


if __name__ == "__main__":
    main()
