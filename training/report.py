"""Markdown results from the ablation runs: variants over seeds, the default model per record, literature."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from danet_viewer.core.record_rule import ATRIAL_COHERENCE
from danet_viewer.core.rr_rule import RR_RULE_NAME
from danet_viewer.model.second_pass import SECOND_PASS_FILE
from training.evaluate import LITERATURE, evaluate_model
from training.metrics import FALSE_ALARM_RATE
from training.second_pass import AF_WEIGHT, SECOND_PASS_FOLDS_FILE

VARIANTS = ("backbone", "hard", "soft")


def _mean_sd(values: list[float], scale: float = 1.0, digits: int = 2) -> str:
    values = np.asarray(values, float) * scale
    return f"{values.mean():.{digits}f} ± {values.std(ddof=1) if len(values) > 1 else 0:.{digits}f}"


def _beat_cells(results: list[dict], set_aside: str) -> str:
    """Se, +P, F1 and F1 without ``set_aside`` of summaries (``evaluate.summarise``), mean ± sd, as table cells."""

    def column(key: str, field: str) -> list[float]:
        return [r[key][field] for r in results]

    return (f"{_mean_sd(column('all', 'se'), 100, 1)} | {_mean_sd(column('all', 'ppv'), 100, 1)} | "
            f"{_mean_sd(column('all', 'f1'))} | {_mean_sd(column(f'without_{set_aside}', 'f1'))}")


def ablation_table(runs: Path) -> list[str]:
    lines = [
        "| variant | seeds | Se % | +P % | F1 | F1 without 232 | strip accuracy % | strip Se % | strip Sp % "
        "| validation AP |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    floor = None
    for variant in VARIANTS:
        results = [json.loads(p.read_text()) for p in sorted(runs.glob(f"{variant}-s*/ds2.json"))]
        floor = floor or next((r["rr_rule"] for r in results if "rr_rule" in r), None)
        if results:
            strips = [r["strips"] for r in results]
            lines.append(
                f"| {variant} | {len(results)} | {_beat_cells(results, '232')} | "
                f"{_mean_sd([s['accuracy'] for s in strips], 100, 1)} | "
                f"{_mean_sd([s['se'] for s in strips], 100, 1)} | "
                f"{_mean_sd([s['specificity'] for s in strips], 100, 1)} | "
                f"{_mean_sd([r['validation'].get('average_precision', float('nan')) for r in results])} |"
            )
    if floor:  # the same beats, the same scoring code
        strips = floor["strips"]
        lines.append(f"| {RR_RULE_NAME} | – | {_beat_cells([floor], '232')} | {100 * strips['accuracy']:.1f} | "
                     f"{100 * strips['se']:.1f} | {100 * strips['specificity']:.1f} | – |")
    return lines


def crossval_table(folder: Path) -> list[str]:
    """Out-of-fold DS1 figures of ``danet-train crossval`` runs (``folder/VARIANT-sSEED``), mean ± sd over
    seeds, per variant, scoring and threshold rule."""
    from training.crossval import SCORINGS, SET_ASIDE, summary_name
    from training.metrics import THRESHOLD_RULES

    lines = [f"| variant | scoring | threshold | seeds | Se % | +P % | F1 | F1 without {SET_ASIDE} | AP |",
             "|---|---|---|---|---|---|---|---|---|"]
    floor = None
    for variant, scoring, rule in ((v, s, r) for v in VARIANTS for s in SCORINGS for r in THRESHOLD_RULES):
        summaries = [json.loads(p.read_text()) for p in sorted(folder.glob(f"{variant}-s*/{summary_name(rule)}"))]
        floor = floor or next((summary["rr_rule"] for summary in summaries if "rr_rule" in summary), None)
        runs = [summary["scorings"] for summary in summaries]
        rows = [run[scoring] for run in runs if scoring in run]
        if rows:
            lines.append(f"| {variant} | {scoring} | {rule} | {len(rows)} | {_beat_cells(rows, SET_ASIDE)} | "
                         f"{_mean_sd([row['average_precision'] for row in rows], digits=3)} |")
    if floor:  # the same records and beats
        lines.append(f"| {RR_RULE_NAME} | – | – | – | {_beat_cells([floor], SET_ASIDE)} | – |")
    return lines


def crossval_groups_table(summary: dict, label: str = "") -> list[str]:
    """One ``crossval`` summary's out-of-fold SVEB F1 (Se / +P) over each record group (all, each database,
    DS1 without 209) and the false APCs in atrial fibrillation/flutter beats, each fold at the threshold its
    validation fold chose and at the one the other folds' pooled scores chose; the RR rule's row beneath."""
    rows = {}
    for scoring, row in summary["scorings"].items():
        rows[f"{label or 'network'}, {scoring}"] = row["groups"]
        if "other_folds" in row:
            rows[f"{label or 'network'}, {scoring}, threshold from the other folds"] = row["other_folds"]["groups"]
    rows[RR_RULE_NAME] = summary["rr_rule"]["groups"]
    groups = list(next(iter(rows.values())))
    lines = ["| out of fold | " + " | ".join(f"{g} F1 (Se / +P %)" for g in groups) + " | FP in AF beats |",
             "|---" * (len(groups) + 2) + "|"]
    for name, row in rows.items():
        cells = " | ".join(f"{row[g]['f1']:.3f} ({100 * row[g]['se']:.1f} / {100 * row[g]['ppv']:.1f})"
                           for g in groups)
        lines.append(f"| {name} | {cells} | {row['all']['false_in_fibrillation']} |")
    return lines


def per_record_table(result: dict) -> list[str]:
    lines = ["| record | SVEB beats | TP | FN | FP | Se % | +P % | F1 |", "|---|---|---|---|---|---|---|---|"]
    for name, row in sorted(result["per_record"].items()):
        se = f"{100 * row['se']:.1f}" if row["tp"] + row["fn"] else "–"
        ppv = f"{100 * row['ppv']:.1f}" if row["tp"] + row["fp"] else "–"
        lines.append(f"| {name} | {row['tp'] + row['fn']} | {row['tp']} | {row['fn']} | {row['fp']} | {se} | {ppv} | "
                     f"{row['f1']:.2f} |")
    floor = result["rr_rule"]
    for title, row in (("**DS2**", result["all"]), ("**DS2 without 232**", result["without_232"]),
                       ("RR rule, DS2", floor["all"]), ("RR rule, DS2 without 232", floor["without_232"])):
        lines.append(f"| {title} | {row['tp'] + row['fn']} | {row['tp']} | {row['fn']} | {row['fp']} | "
                     f"{100 * row['se']:.1f} | {100 * row['ppv']:.1f} | {row['f1']:.2f} |")
    return lines


def literature_table(result: dict, name: str) -> list[str]:
    lines = ["| method | Se % | +P % | F1 |", "|---|---|---|---|"]
    for method, se, ppv in LITERATURE:
        lines.append(f"| {method} | {se} | {ppv} | {2 * se * ppv / (se + ppv) / 100:.2f} |")
    row = result["rr_rule"]["all"]
    lines.append(f"| {RR_RULE_NAME} | {100 * row['se']:.1f} | {100 * row['ppv']:.1f} | {row['f1']:.2f} |")
    row = result["all"]
    lines.append(f"| **{name} (this project)** | {100 * row['se']:.1f} | {100 * row['ppv']:.1f} | {row['f1']:.2f} |")
    return lines


def second_pass_lines(second_pass: dict, folds: dict) -> list[str]:
    """The card's account of the record-level second pass and its out-of-fold table (RR rule row included)."""
    groups = list(next(iter(folds["rows"].values())))
    lines = [
        f"- Record-level second pass (`second_pass.json`, a logistic regression over {len(second_pass['features'])} "
        "record-relative features: the network's logit, coupling interval and pause against the patient's "
        "underlying cycle found by regularity, QRS and P-region likeness to the dominant-rhythm template, rhythm "
        "irregularity, and the same timing and network logit averaged over the beat's kin, the beats of its record "
        "most like it in P region and QRS; beats inside atrial fibrillation marks weigh "
        f"{AF_WEIGHT:g} times in the fit): it replaces the record-relative scoring above. Operating threshold p(APC) ≥ "
        f"{second_pass['threshold']:.4f}, chosen {second_pass['chosen_by']}. Fitted on the "
        f"{len(folds['records'])} training patients: mitdb DS1 ({list(folds['records'].values()).count('mitdb')} "
        f"records) and svdb ({list(folds['records'].values()).count('svdb')} records); "
        f"`danet-train second-pass` took {folds['seconds']:.0f} s on 2 CPU cores, folds included. A model retrained "
        "on reviewed beats drops the pass (fine-tuning moves the scores it was fitted to) and keeps the network "
        "thresholds above.",
        "",
        "## Figures",
        "",
        f"Out of fold over the {len(folds['records'])} training patients ({folds['folds']} record-wise folds; each "
        "fold's threshold chosen on the other folds' inner out-of-fold scores). The network was trained on DS1, so "
        "its own DS1 row is in-sample and the pass's DS1 figures lean on it; svdb is new to both.",
        "",
        "| out of fold | " + " | ".join(f"{g} F1" for g in groups) + " | false APCs in AF beats |",
        "|---" * (len(groups) + 2) + "|",
    ]
    af_alarms = folds.get("false_apcs_in_af", {})  # absent from passes fitted before session 11
    for name, row in folds["rows"].items():
        label = {"network": "network alone (record-relative)", "RR rule": RR_RULE_NAME}.get(name, name)
        lines.append(f"| {label} | " + " | ".join(f"{row[g]['f1']:.3f}" for g in groups)
                     + f" | {af_alarms.get(name, '–')} |")
    return lines


def _training_set_lines(training: dict) -> list[str]:
    """The card's account of a model trained on several databases (``splits.pooled_split``'s description)."""
    databases = training["databases"]
    sizes = ", ".join(f"{name} {len(d['records'])} records" for name, d in databases.items())
    return [
        f"- Trained on {training['source']}: {sum(len(d['records']) for d in databases.values())} patients "
        f"({sizes}; "
        f"{training['train_beats']} training beats, {training['train_apcs']} SVEB). Validation records "
        f"{', '.join(training['validation_records'])} ({training['validation_chosen_by']}; their SVEB: "
        f"{', '.join(f'{name} {n}' for name, n in training['validation_apcs'].items())}). No mitdb DS2 beat was "
        "used for training, pre-training, thresholds or selection.",
        *(f"- {name}: {d['citation']}" for name, d in databases.items()),
    ]


def _svdb_use(card: dict, second_pass: dict | None) -> str:
    if "svdb" in card["training"].get("databases", {}):
        return "training data"
    return "for the second pass" if second_pass else "for choosing the record rule"


def record_rule_lines(card: dict) -> list[str]:
    """The card's record-level rule, what it does and, where the card records it (``metrics.record_rule``), how it
    was chosen (``danet_viewer.core.record_rule``)."""
    line = (f"- Record rule `{card['record_rule']}` (`danet_viewer/core/record_rule.py`), applied once a record's "
            "beats are grouped into classes: the beats of a class whose median coupling interval is under 0.85 x the "
            "patient's underlying cycle and whose QRS is like the record's reference beat, that the RR rule also "
            "calls premature and that come abruptly (an interval under 0.85 of the one before), are called APC "
            "beside the network's calls; and no beat inside atrial fibrillation is called APC, the network's calls "
            "included, where fibrillation is Dash et al. 2009's detector (Ann Biomed Eng 37:1701) with its published "
            f"thresholds and P regions unalike from beat to beat (median correlation under {ATRIAL_COHERENCE}).")
    chosen = card["metrics"].get("record_rule")
    if chosen:
        svdb = "below" if chosen["svdb_f1"] < chosen["svdb_rr_rule_f1"] else "above"
        line += (f" Chosen on the {chosen['patients']} training patients ({chosen['where']}; {chosen['history']}): "
                 f"SVEB F1 {chosen['f1']:.3f} against the RR rule's {chosen['rr_rule_f1']:.3f} and the network "
                 f"alone's {chosen['network_f1']:.3f}; on svdb's 52 alone {chosen['svdb_f1']:.3f}, {svdb} the RR "
                 f"rule's {chosen['svdb_rr_rule_f1']:.3f}{chosen.get('svdb_note', '')} ({chosen['command']}).")
    return [line]


def model_card_markdown(card: dict, ds2: dict, second_pass: dict | None = None, folds: dict | None = None) -> str:
    """The human-readable card shipped beside the weights (resources/model/MODEL_CARD.md)."""
    training = card["training"]
    network = card["network"]
    validation = card["metrics"]["validation"]
    validated_on = "validation records" if "databases" in training else "DS1 validation records"
    chosen = (f"to call {100 * FALSE_ALARM_RATE:g} % of the validation beats that are not SVEB"
              if validation.get("threshold_rule") == "false-alarm" else "for best F1")
    lines = [
        f"# Model card: {card['name']} ({network['variant']} DANet)",
        "",
        f"- Weights: `weights.safetensors`, sha256 `{card['weights_sha256']}` (checked on every load).",
        f"- Created {card['created_at']} by DANet Review {card['code_version']}.",
        f"- Input: one lead (preferred {card['lead']}), any rate, "
        f"conditioned to {card['conditioning']['model_fs']} Hz, "
        f"band-pass {card['conditioning']['band_hz'][0]}–{card['conditioning']['band_hz'][1]} Hz, "
        f"{card['conditioning']['window_length']}-sample window (the beat and the one before it) plus rhythm features.",
        f"- WEM rule weights α (P, QRS, T, previous T): {network['alpha']}; α_max {network['alpha_max']}.",
        *([f"- Scoring: record-relative: each beat's logit less the median logit of its record's beats, so a "
           f"beat is judged against the patient's own rhythm. Operating threshold p(APC) ≥ {card['threshold']:.4f} "
           f"on that score; {card['raw_threshold']:.4f} on raw scores, which a model retrained on a patient whose "
           f"reviewed beats are mostly APCs uses. Both chosen {chosen} on the {validated_on}."]
          if network.get("record_relative") else
          [f"- Operating threshold p(APC) ≥ {card['threshold']:.3f}, chosen {chosen} on the {validated_on}."]),
        *(_training_set_lines(training) if "databases" in training else [
            f"- Trained on MIT-BIH DS1 only ({training['train_beats']} beats, {training['train_apcs']} SVEB): records "
            f"{', '.join(training['train_records'])}; validation records "
            f"{', '.join(training['validation_records'])}. No DS2 beat was used for training, pre-training, "
            "thresholds or selection."]),
        f"- Training took {training['seconds']:.0f} s on CPU (seed {training['config']['seed']}).",
        *([f"- Replay sample for fine-tuning: `replay.npz`, {training['replay']['beats']} of the training beats "
           f"({training['replay']['apcs']} SVEB), sha256 `{training['replay']['sha256']}`."]
          if "replay" in training else []),
        *(record_rule_lines(card) if card.get("record_rule") else []),
        *(second_pass_lines(second_pass, folds) if second_pass else ["", "## Figures"]),
        "",
        f"{validated_on[0].upper()}{validated_on[1:]} (the network alone): Se {100 * validation['se']:.1f} %, "
        f"+P {100 * validation['ppv']:.1f} %, "
        f"F1 {validation['f1']:.2f}, average precision {validation['average_precision']:.2f}.",
        "",
        f"DS2 (inter-patient, never seen): Se {100 * ds2['all']['se']:.1f} %, +P {100 * ds2['all']['ppv']:.1f} %, "
        f"F1 {ds2['all']['f1']:.2f}; without 232: F1 {ds2['without_232']['f1']:.2f}. "
        f"10 s strips: accuracy {100 * ds2['strips']['accuracy']:.2f} %, Se {100 * ds2['strips']['se']:.1f} %, "
        f"specificity {100 * ds2['strips']['specificity']:.1f} %.",
        "",
        f"The floor, {RR_RULE_NAME}, on the same beats: F1 {ds2['rr_rule']['all']['f1']:.2f}; without 232: "
        f"F1 {ds2['rr_rule']['without_232']['f1']:.2f}; "
        f"strip accuracy {100 * ds2['rr_rule']['strips']['accuracy']:.2f} %.",
        "",
        "Per-record DS2 figures and the ablation are in docs/model.md.",
        "",
        "## Intended use and limits",
        "",
        "A second reader for atrial premature contractions (AAMI SVEB) during review: every call is shown to a "
        "cardiologist who confirms or corrects it. Inter-patient accuracy is limited (see the figures); retraining "
        "on a patient's first reviewed minutes is the product's answer. Not validated on paced records, "
        "pediatric ECG, or leads other than a limb/MLII-like lead.",
        "",
        "Data: MIT-BIH Arrhythmia Database (ODC-By 1.0): Moody GB, Mark RG, IEEE EMB 20(3):45-50 (2001); "
        "Goldberger AL et al., Circulation 101(23):e215-e220 (2000).",
        *(["", f"MIT-BIH Supraventricular Arrhythmia Database (ODC-By 1.0), "
           f"{_svdb_use(card, second_pass)}: "
           "Greenwald SD, Patil RS, Mark RG. Improved detection and classification of arrhythmias in "
           "noise-corrupted electrocardiograms using contextual information. Computers in Cardiology "
           "1990;461-464; Goldberger AL et al., Circulation 101(23):e215-e220 (2000)."]
          if second_pass or card.get("record_rule") or "svdb" in training.get("databases", {}) else []),
    ]
    return "\n".join(lines) + "\n"


def default_model_report(model: Path, runs: Path, crossval: Path | None, cache: Path) -> str:
    """The ablation and default-model tables (and the crossval runs' table); writes the model's DS2 figures
    (ds2.json) and MODEL_CARD.md beside it."""
    ds2 = evaluate_model(model, "DS2", cache)
    (model / "ds2.json").write_text(json.dumps(ds2, indent=2) + "\n")
    card = json.loads((model / "model.json").read_text())
    passes = [json.loads((model / name).read_text()) if (model / name).exists() else None
              for name in (SECOND_PASS_FILE, SECOND_PASS_FOLDS_FILE)]
    (model / "MODEL_CARD.md").write_text(model_card_markdown(card, ds2, *passes))
    lines = ["## Ablation (DS1 -> DS2, mean ± sd over seeds)", "", *ablation_table(runs), "",
             "## Default model, DS2 per record", "", *per_record_table(ds2), "",
             "## Beside the literature (DS2 SVEB)", "", *literature_table(ds2, card["name"]), "",
             f"Network scoring speed on prepared beats (CPU): {ds2['scoring_x_realtime']:.0f}x real time."]
    if crossval:
        lines += ["", "## DS1 out of fold (crossval), mean ± sd over seeds", "", *crossval_table(crossval)]
    return "\n".join(lines)
