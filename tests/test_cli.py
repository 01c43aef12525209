"""The danet-viewer command line: sub-commands, summaries, exit codes, one-line errors."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from danet_viewer import __version__
from danet_viewer.cli import main
from tests.conftest import REPO, SAMPLE


def test_annotate_import_export_on_the_sample(tmp_path, capsys):
    store = tmp_path / "s.h5"
    assert main(["annotate", str(SAMPLE), "--store", str(store)]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith("209_excerpt: ") and "beats on MLII" in line and "real time" in line
    assert main(["import", str(SAMPLE.with_suffix("")), "--annotations", "atr", "--store", str(store),
                 "--as-review", "--reviewer", "dr_x"]) == 0  # fmt: skip
    assert "matched" in capsys.readouterr().out
    for fmt, out in (("csv", tmp_path / "b.csv"), ("wfdb", tmp_path / "ann"), ("hdf5", tmp_path / "d.h5")):
        assert main(["export", str(store), "--format", fmt, "--out", str(out), "--reviewed-only"]) == 0
        assert out.exists()
    assert len(open(tmp_path / "b.csv").readlines()) > 300  # every reviewed beat of the 3 min excerpt


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
                             text=True, cwd=REPO)  # fmt: skip
    assert version.returncode == 0 and version.stdout.strip() == f"danet-viewer {__version__}"
    bad = tmp_path / "bad.hea"
    bad.write_text("this is not a header\n")
    result = subprocess.run([sys.executable, "-m", "danet_viewer", "annotate", str(bad), "--store",
                             str(tmp_path / "s.h5")], capture_output=True, text=True, cwd=REPO)  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "bad.hea" in result.stderr and "Traceback" not in result.stderr


def test_annotate_reads_the_csv_column_asked_for_and_warns_when_it_is_not_ecg(tmp_path, capsys):
    t = np.arange(0, 20, 1 / 250)
    rows = "".join(f"{x:.4f},{np.sin(2 * np.pi * 1.2 * x):.4f},0\n" for x in t)
    (tmp_path / "monitor.csv").write_text("time,PLETH,II\n" + rows)
    store = tmp_path / "s.h5"
    assert main(["annotate", str(tmp_path / "monitor.csv"), "--store", str(store), "--column", "PLETH"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "beats on PLETH" in lines[0]
    assert lines[1] == "  warning: lead 'PLETH' (no unit) does not look like ECG by its name or unit"
