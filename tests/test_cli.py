"""The danet-viewer command line: sub-commands, summaries, exit codes, one-line errors."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from danet_viewer import __version__
from danet_viewer.cli import main
from danet_viewer.core.store import AnnotationStore
from tests.conftest import REPO, SAMPLE, synthetic_ecg, write_wfdb_record


def test_annotate_import_export_on_the_sample(tmp_path, capsys):
    store = tmp_path / "s.h5"
    assert main(["annotate", str(SAMPLE), "--store", str(store)]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith("209_excerpt: ") and "beats on MLII" in line and "real time" in line
    assert main(["import", str(SAMPLE.with_suffix("")), "--annotations", "atr", "--store", str(store),
                 "--as-review", "--reviewer", "dr_x"]) == 0
    assert "matched" in capsys.readouterr().out
    for fmt, out in (("csv", tmp_path / "b.csv"), ("wfdb", tmp_path / "ann"), ("hdf5", tmp_path / "d.h5")):
        assert main(["export", str(store), "--format", fmt, "--out", str(out), "--reviewed-only"]) == 0
        assert out.exists()
    assert len((tmp_path / "b.csv").read_text().splitlines()) > 300  # every reviewed beat of the 3 min excerpt


@pytest.mark.parametrize(
    "argv, message",
    [
        (["annotate", "missing.hea", "--store", "{tmp}/s.h5"], "missing.hea"),
        (["export", "{tmp}/none.h5", "--format", "csv", "--out", "{tmp}/x.csv"], "no such annotation store"),
        (["import", str(SAMPLE), "--annotations", "zzz", "--store", "{tmp}/s.h5"], "zzz"),
        (["import", str(SAMPLE), "--annotations", "atr", "--store", "{tmp}/s.h5", "--as-review"], "--reviewer"),
    ],
)
def test_errors_are_one_line_with_nonzero_exit(argv, message, tmp_path, capsys):
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    assert main(argv) != 0
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err and "Traceback" not in err


def test_executable_module_version_and_bad_file(tmp_path):
    version = subprocess.run([sys.executable, "-m", "danet_viewer", "--version"], capture_output=True,
                             text=True, cwd=REPO)
    assert version.returncode == 0 and version.stdout.strip() == f"danet-viewer {__version__}"
    bad = tmp_path / "bad.hea"
    bad.write_text("this is not a header\n")
    result = subprocess.run([sys.executable, "-m", "danet_viewer", "annotate", str(bad), "--store",
                             str(tmp_path / "s.h5")], capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "bad.hea" in result.stderr and "Traceback" not in result.stderr


def test_annotate_goes_past_a_flat_record_and_a_bad_one(tmp_path, capsys):
    fs = 360
    signal, _ = synthetic_ecg(fs, 60)
    flat = write_wfdb_record(tmp_path, "flat", np.zeros_like(signal), fs)
    gap = signal.copy()
    gap[20 * fs : 50 * fs] = 0.0  # 30 s of lead-off mid-record
    lead_off = write_wfdb_record(tmp_path, "lead_off", gap, fs)
    good = write_wfdb_record(tmp_path, "good", signal, fs)
    bad = tmp_path / "bad.hea"
    bad.write_text("this is not a header\n")
    store_path = tmp_path / "s.h5"

    code = main(["annotate", str(flat), str(bad), str(lead_off), str(good), "--store", str(store_path)])
    out, err = capsys.readouterr()
    assert code == 1  # the bad record; a flat one is a result, not a failure
    assert len(err.splitlines()) == 1 and "bad.hea" in err and "Traceback" not in err
    lines = dict(line.split(": ", 1) for line in out.splitlines())
    assert lines.keys() == {"flat", "lead_off", "good"}
    assert lines["flat"].startswith("no analysable signal on MLII")
    assert "00:00:30 flat or lead-off excluded" in lines["lead_off"]
    assert "excluded" not in lines["good"] and "real time" in lines["good"]
    with AnnotationStore.open(store_path) as store:
        assert store.records() == ["flat", "good", "lead_off"]
        assert not len(store.record("flat").beats)
        assert store.record("flat").unanalysable.tolist() == [[0, 60 * fs]]
        assert store.record("lead_off").unanalysable.tolist() == [[20 * fs, 50 * fs]]
        assert len(store.record("good").beats) > 70
    assert main(["annotate", str(flat), "--store", str(tmp_path / "t.h5")]) == 0


def test_report_names_the_record_and_the_csv_exports_beat_count(tmp_path, capsys):
    import csv

    import pypdf

    store, pdf = tmp_path / "s.h5", tmp_path / "report.pdf"
    assert main(["annotate", str(SAMPLE), "--store", str(store)]) == 0
    assert main(["import", str(SAMPLE), "--annotations", "atr", "--store", str(store), "--as-review",
                 "--reviewer", "dr_x", "--to", "60"]) == 0
    assert main(["export", str(store), "--format", "csv", "--out", str(tmp_path / "b.csv")]) == 0
    capsys.readouterr()
    assert main(["report", str(store), "--out", str(pdf)]) == 0
    rows = csv.DictReader((tmp_path / "b.csv").read_text().splitlines())
    beats = sum(row["review_symbol"] != "not-a-beat" for row in rows)
    assert capsys.readouterr().out.startswith(f"209_excerpt: {beats} beats, ")
    reader = pypdf.PdfReader(pdf)
    first = " ".join(reader.pages[0].extract_text().split())
    assert len(reader.pages) >= 3 and "record 209_excerpt" in first and f"Total beats {beats:,}" in first


@pytest.mark.parametrize(
    "argv, message",
    [
        (["report", "{tmp}/none.h5", "--out", "{tmp}/r.pdf"], "no such annotation store"),
        (["report", "{tmp}/two.h5", "--out", "{tmp}/r.pdf"], "holds 2 records (a, b); name one with --record"),
        (["report", "{tmp}/two.h5", "--record", "c", "--out", "{tmp}/r.pdf"], "holds no record named 'c'"),
        (["report", "{tmp}/two.h5", "--record", "a", "--out", "{tmp}/r.pdf"], "missing.hea"),
    ],
)
def test_report_errors_are_one_line(argv, message, tmp_path, capsys):
    from danet_viewer.core.store import AnnotationStore

    with AnnotationStore.open(tmp_path / "two.h5", "a") as store:
        for name in ("a", "b"):
            store.put_recording(name=name, source_path=str(tmp_path / "missing.hea"), content_hash="0", fs=360,
                                lead_names=["MLII"], units=["mV"], n_samples=3600, who="t")
    assert main([a.replace("{tmp}", str(tmp_path)) for a in argv]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err and "Traceback" not in err
    assert not (tmp_path / "r.pdf").exists()


def test_annotate_reads_the_csv_column_asked_for_and_warns_when_it_is_not_ecg(tmp_path, capsys):
    t = np.arange(0, 20, 1 / 250)
    rows = "".join(f"{x:.4f},{np.sin(2 * np.pi * 1.2 * x):.4f},0\n" for x in t)
    (tmp_path / "monitor.csv").write_text("time,PLETH,II\n" + rows)
    store = tmp_path / "s.h5"
    assert main(["annotate", str(tmp_path / "monitor.csv"), "--store", str(store), "--column", "PLETH"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "beats on PLETH" in lines[0]
    assert lines[1] == "  warning: lead 'PLETH' (no unit) does not look like ECG by its name or unit"
