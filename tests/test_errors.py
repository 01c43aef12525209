"""The one line a user sees for a failure, the same from a worker thread as from the command line."""

from __future__ import annotations

import errno
from pathlib import Path

from danet_viewer.errors import RecordError, describe_failure, run_reporting_errors


def test_describe_failure_names_the_file_for_the_users_errors_and_the_type_for_bugs():
    out = Path("/exports/beats.csv")
    record_error = RecordError("/data/100.hea", "no such file")
    disk_full = OSError(errno.ENOSPC, "No space left on device")
    assert describe_failure(record_error) == describe_failure(record_error, out) == "/data/100.hea: no such file"
    assert describe_failure(disk_full, out) == "/exports/beats.csv: No space left on device"
    # Without an output to blame, an OSError is as unexpected as any other exception.
    assert describe_failure(disk_full) == "internal error: OSError: [Errno 28] No space left on device"
    assert describe_failure(ValueError("bad"), out) == "internal error: ValueError: bad"


def test_the_command_line_reports_through_the_same_line(capsys):
    def fail(error: Exception):
        def command() -> int:
            raise error
        return command

    assert run_reporting_errors("prog", fail(RecordError("x.edf", "truncated"))) == 1
    assert run_reporting_errors("prog", fail(KeyError("lead"))) == 3
    assert capsys.readouterr().err.splitlines() == [
        "prog: error: x.edf: truncated",
        "prog: internal error: KeyError: 'lead' (rerun with --debug for details)",
    ]
