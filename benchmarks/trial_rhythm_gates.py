"""Two rules that choose nothing on this project's data, tried on the 74 training patients (issue 16, session 14).

Their parts are defined once, in ``danet_viewer/core/record_rule.py`` (whose rule, since session 15, also reads the
P waves: ``benchmarks/trial_af_veto.py``):

1. **A published atrial fibrillation detector as an APC veto**: Dash et al. 2009, with the paper's thresholds, so no
   fold chooses them. It is scored against DS1's own (AFIB/(AFL marks (201, 203; svdb has none) and by the SVEB
   beats it would silence.
2. **The RR rule at class level**: a beat class whose median coupling is under 0.85 x the patient's underlying cycle
   and whose QRS is like the record's reference beat is premature; its beats that the RR rule also calls are added
   to the network's calls. It is what 232 (APCs as the majority rhythm) asks for, so it is judged here by what it
   does in DS1's AF, with and without the veto; and with only its abrupt beats (an interval under 0.85 of the one
   before), which sinus arrhythmia's gradual swings do not give.

Detected beats of the analysed stores ``bench_review_effort.py`` caches (``.atr`` beats matched within 150 ms;
reference beats no detection matched are not counted; the network's calls at its threshold). ``python
benchmarks/trial_rhythm_gates.py`` scores the 74 training patients (svdb unpacked in ~/.cache/svdb by
``training.databases``; two minutes on 2 cores once the stores are cached): the rows a decision to measure DS2 rests
on. ``--ds2`` scores DS2 with the same rules, to report once they are fixed, never to choose.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from benchmarks.bench_review_effort import REVIEWER, Player, analysed_store  # noqa: E402
from danet_viewer.core.beat_classes import compute_beat_classes  # noqa: E402
from danet_viewer.core.readers import open_recording  # noqa: E402
from danet_viewer.core.record_rule import abrupt_beats, premature_classes  # noqa: E402
from danet_viewer.core.record_rule import atrial_fibrillation_beats as dash_af_beats  # noqa: E402
from danet_viewer.core.rr_rule import rr_rule_calls  # noqa: E402
from danet_viewer.core.store import AnnotationStore  # noqa: E402
from training.databases import SVDB  # noqa: E402
from training.mitdb import DS1, DS2, mitdb_dir  # noqa: E402
from training.rhythm import atrial_fibrillation_beats  # noqa: E402


def record_rows(name: str, folder: Path, header: Path, scratch: Path) -> tuple[dict[str, np.ndarray], np.ndarray,
                                                                               np.ndarray, np.ndarray]:
    """({rule: calls}, SVEB truth, DS1 AF marks, Dash's AF verdicts), per live detected beat of one record."""
    path = analysed_store(name, folder, scratch, False)
    recording = open_recording(folder / name)
    with AnnotationStore.open(path, "a") as store:
        table = store.beat_table(name)
        live = ~table.deleted
        samples = table.sample[live]
        lead = recording.lead_index(store.record(name).analysis_lead)
        classes = compute_beat_classes(recording, lead, samples, table)
        fs = store.record(name).fs
        player = Player(store, name, fs)
        # The network's own calls, whether or not the cached store was analysed with a record rule.
        truth, model = player.truth[live], table.p_apc[live] >= store.record(name).model.threshold
        store.set_beat_classes(name, classes, who=REVIEWER)
    rr = rr_rule_calls(samples)
    dash = dash_af_beats(samples, fs)
    added = premature_classes(classes)[classes.class_id] & rr
    rules = {
        "bundled network": model,
        "RR rule": rr,
        "Dash AF veto on the network": model & ~dash,
        "network + premature classes (RR rule within them)": model | added,
        "the same, Dash AF veto on the added calls": model | (added & ~dash),
        "the same, Dash AF veto on every call": (model | added) & ~dash,
        "the veto on the added calls, abrupt beats only (session 14's shipped rule)":
            model | (added & abrupt_beats(samples) & ~dash),
    }
    return rules, truth, atrial_fibrillation_beats(header, samples), dash


def f1(tp: int, fp: int, fn: int) -> float:
    return 2 * tp / max(1, 2 * tp + fp + fn)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ds2", action="store_true", help="DS2, to report (the 74 training patients otherwise)")
    args = parser.parse_args()
    if args.ds2:
        records = [("DS2", name, mitdb_dir(), mitdb_dir() / f"{name}.hea") for name in DS2]
        groups = ("DS2", "DS2 without 232")
    else:
        records = [("DS1", name, mitdb_dir(), mitdb_dir() / f"{name}.hea") for name in DS1]
        records += [("svdb", name, SVDB.folder(), SVDB.header(name)) for name in SVDB.records()]
        assert not {name for _, name, _, _ in records} & set(DS2), "DS2 is never used to choose"
        groups = ("all 74", "DS1", "svdb")
    totals: dict[tuple[str, str], np.ndarray] = {}
    detector: dict[str, np.ndarray] = {}
    with tempfile.TemporaryDirectory() as scratch:
        for database, name, folder, header in records:
            rules, truth, marks, dash = record_rows(name, folder, header, Path(scratch))
            detector[database] = detector.get(database, np.zeros(5, int)) + [
                marks.sum(), (dash & marks).sum(), (~marks).sum(), (dash & ~marks).sum(), (dash & truth).sum()]
            mine = [group for group in groups if group in (database, "all 74") or
                    (group == "DS2 without 232" and name != "232")]
            scores = []
            for rule, called in rules.items():
                row = np.array([np.sum(truth & called), np.sum(~truth & called), np.sum(truth & ~called),
                                np.sum(~truth & called & marks)])
                for group in mine:
                    totals[(group, rule)] = totals.get((group, rule), np.zeros(4, int)) + row
                scores.append(f"{f1(*row[:3]):.2f}")
            print(name, int(truth.sum()), *scores, flush=True)  # per record: SVEB beats, each rule's F1
    print("\n| Dash et al. 2009 on | AF/flutter beats flagged | other beats flagged | SVEB beats flagged |")
    print("|---|---|---|---|")
    for database, (af, af_hit, other, other_hit, sveb_hit) in detector.items():
        sveb = int(totals[(database, "RR rule")][[0, 2]].sum())
        af_share = f"{af_hit} of {af}" if af else "no AF marks"
        print(f"| {database} | {af_share} | {other_hit} of {other} ({100 * other_hit / other:.1f} %) | "
              f"{sveb_hit} of {sveb} ({100 * sveb_hit / max(1, sveb):.1f} %) |")
    print(f"\n| SVEB F1 (TP / FP / FN) | {' | '.join(groups)} | false APCs in the AF marks |")
    print("|---|---|---|---|" + "---|" * (len(groups) - 2))
    for rule in dict.fromkeys(rule for _, rule in totals):
        cells = []
        for group in groups:
            tp, fp, fn, _ = totals[(group, rule)]
            cells.append(f"{f1(tp, fp, fn):.3f} ({tp} / {fp} / {fn})")
        print(f"| {rule} | {' | '.join(cells)} | {totals[(groups[0], rule)][3]} |")


if __name__ == "__main__":
    main()
