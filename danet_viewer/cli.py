"""The ``danet-viewer`` command: the GUI with no sub-command, headless sub-commands otherwise.

Every failure the user can act on is reported as one line on stderr with a
non-zero exit; tracebacks are for ``--debug`` only.
"""

from __future__ import annotations

import argparse
import getpass
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from danet_viewer import __version__
from danet_viewer.errors import DanetError, RecordError, run_reporting_errors

PROG = "danet-viewer"
SUBCOMMANDS = ("annotate", "import", "export", "render", "report")


def _who() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _build_parser() -> argparse.ArgumentParser:
    # Here, not at the top: the GUI path never builds this parser and need not load the exporters.
    from danet_viewer.core.export import EXPORT_FORMATS

    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Review ECG recordings with the DANet APC model. With no sub-command, opens the GUI.",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    parser.add_argument("--debug", action="store_true", help="show a traceback on unexpected errors")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    annotate = commands.add_parser("annotate", help="detect beats (and run the model) into a store")
    annotate.add_argument("records", nargs="+", metavar="RECORD", help="WFDB record (.hea or no extension), EDF or CSV")
    annotate.add_argument("--store", required=True, type=Path, help="HDF5 annotation store (created if missing)")
    annotate.add_argument("--lead", help="lead to analyse (default: II, MLII, ECG1, else the first)")
    annotate.add_argument("--fs", type=float, help="sampling rate of CSV files without one")
    annotate.add_argument("--no-header", action="store_true", help="the first row of a CSV file is data")
    annotate.add_argument("--column", help="the one CSV column to read (name or 1-based number)")
    annotate.add_argument("--model", type=Path, help="model folder (weights + card; default: the active model)")
    annotate.add_argument("--device", default="cpu", help="cpu, or cuda where a GPU exists")

    imp = commands.add_parser("import", help="import existing WFDB annotations into a store")
    imp.add_argument("record", metavar="RECORD")
    imp.add_argument("--annotations", required=True, metavar="EXT", help="annotation extension, e.g. atr")
    imp.add_argument("--store", required=True, type=Path)
    imp.add_argument("--as-review", action="store_true", help="import as a reviewer's labels (else as reference)")
    imp.add_argument("--reviewer", help="reviewer name for --as-review")
    imp.add_argument("--from", dest="start_s", type=float, metavar="SEC", help="start of the range (s)")
    imp.add_argument("--to", dest="stop_s", type=float, metavar="SEC", help="end of the range (s)")
    imp.add_argument("--replace-reviews", action="store_true", help="overwrite existing reviews in the range")
    imp.add_argument("--fs", type=float, help="sampling rate of CSV files without one")
    imp.add_argument("--no-header", action="store_true", help="the first row of a CSV file is data")
    imp.add_argument("--column", help="the one CSV column to read (name or 1-based number)")

    export = commands.add_parser("export", help="export a store as csv, WFDB annotations or an HDF5 dataset")
    export.add_argument("store", type=Path, metavar="S.h5")
    export.add_argument("--format", required=True, choices=tuple(EXPORT_FORMATS))
    export.add_argument("--out", required=True, type=Path, help="output file (csv, hdf5) or folder (wfdb)")
    export.add_argument("--reviewed-only", action="store_true", help="only beats a reviewer has labelled")

    render = commands.add_parser("render", help="draw the review view of a stretch of a record to a PNG")
    render.add_argument("record", metavar="RECORD")
    render.add_argument("--start", type=float, default=0.0, metavar="SEC", help="start of the stretch (s)")
    render.add_argument("--span", type=float, default=10.0, metavar="SEC", help="length of the stretch (s)")
    render.add_argument("--out", required=True, type=Path, help="PNG file to write")
    render.add_argument("--store", type=Path, help="annotation store (default: <record>.danet.h5 beside it)")
    render.add_argument("--model", type=Path, help="model folder (default: the bundled model)")
    render.add_argument("--fs", type=float, help="sampling rate of CSV files without one")
    _add_report_parser(commands)
    return parser


def _add_report_parser(commands: argparse._SubParsersAction) -> None:
    report = commands.add_parser("report", help="write a record's summary, hourly table and ECG strips to a PDF")
    report.add_argument("store", type=Path, metavar="S.h5")
    report.add_argument("--record", metavar="NAME", help="record to report (needed when the store holds several)")
    report.add_argument("--out", required=True, type=Path, help="PDF file to write")
    report.add_argument("--recording", type=Path, metavar="RECORD",
                        help="the record's signal file (default: where the store says it was read from)")


def _annotate(args: argparse.Namespace) -> int:
    from danet_viewer.core.analysis import analyse_recording
    from danet_viewer.core.clock import duration_text
    from danet_viewer.core.readers import open_recording
    from danet_viewer.core.store import AnnotationStore
    from danet_viewer.model.inference import BeatModel
    from danet_viewer.model.registry import ModelRegistry

    who = _who()
    model = BeatModel(args.model or ModelRegistry().active_folder(), device=args.device)
    failures = 0
    with AnnotationStore.open(args.store, "a") as store:
        for path in args.records:
            # A bad record is reported and skipped: one unreadable file must not cost the rest of a batch.
            try:
                started = time.perf_counter()
                recording = open_recording(path, fs=args.fs, no_header=args.no_header, column=args.column)
                result = analyse_recording(recording, store, lead=args.lead, who=who, model=model)
            except DanetError as error:
                failures += 1
                # A RecordError names the record's file already; any other (the store refusing it) does not.
                print(f"{PROG}: error: {error if isinstance(error, RecordError) else f'{path}: {error}'}",
                      file=sys.stderr)
                continue
            seconds = time.perf_counter() - started
            warnings = "".join(f"\n  warning: {warning}" for warning in recording.lead_warnings(result.lead))
            if not result.analysable:
                print(f"{result.record}: no analysable signal on {result.lead} (flat or lead-off for all "
                      f"{duration_text(result.duration_s)}), no beats{warnings}")
                continue
            excluded = ""
            if result.unanalysable_s:
                excluded = f", {duration_text(result.unanalysable_s)} flat or lead-off excluded"
            print(f"{result.record}: {result.beats} beats on {result.lead}, {result.apcs} APCs "
                  f"({model.model_id}){excluded}, {seconds:.2f} s "
                  f"({recording.duration_s / seconds:.0f}x real time){warnings}")
    return 1 if failures else 0


def _import(args: argparse.Namespace) -> int:
    from danet_viewer.core.analysis import import_annotations
    from danet_viewer.core.readers import open_recording
    from danet_viewer.core.store import AnnotationStore

    if args.as_review and not (args.reviewer and args.reviewer.strip()):
        raise DanetError("--as-review needs --reviewer NAME")
    recording = open_recording(args.record, fs=args.fs, no_header=args.no_header, column=args.column)
    with AnnotationStore.open(args.store, "a") as store:
        result = import_annotations(
            recording, store, args.annotations, as_review=args.as_review,
            who=args.reviewer if args.as_review else _who(), start_s=args.start_s, stop_s=args.stop_s,
            replace_reviews=args.replace_reviews,
        )
    if args.as_review:
        print(f"{result.record}: {result.annotations} reference beats -> {result.matched} matched, "
              f"{result.added} added, {result.not_a_beat} detections marked not-a-beat")
    else:
        print(f"{result.record}: {result.annotations} reference beats kept as reference")
    return 0


def _export(args: argparse.Namespace) -> int:
    from danet_viewer.core.export import export_store
    from danet_viewer.core.store import AnnotationStore

    with AnnotationStore.open(args.store, "r") as store:
        print(export_store(store, args.format, args.out, reviewed_only=args.reviewed_only))
    return 0


def _render(args: argparse.Namespace) -> int:
    # Qt is imported inside the handler, so the headless sub-commands never load it.
    from danet_viewer._qt.render import render_review

    print(render_review(args.record, args.start, args.span, args.out, args.store, args.model, fs=args.fs))
    return 0


def _report(args: argparse.Namespace) -> int:
    from danet_viewer._qt.report_pdf import write_report_pdf
    from danet_viewer.core.readers import open_recording
    from danet_viewer.core.report import build_report, header_identification
    from danet_viewer.core.store import AnnotationStore

    with AnnotationStore.open(args.store, "r") as store:
        names = store.records()
        if args.record is None and len(names) != 1:
            held = f"{len(names)} records ({', '.join(names)})" if names else "no records"
            raise DanetError(f"{args.store}: holds {held}; name one with --record")
        record = store.record(args.record or names[0])
    recording = open_recording(args.recording or record.source_path)
    # Readers that know the recording's start from its header give it as ``Recording.start``.
    content = build_report(record, recording, start=recording.start,
                           identification=header_identification(recording))
    pages = write_report_pdf(content, args.out)
    print(f"{record.name}: {content.summary.beats} beats, {content.beats_reviewed} reviewed by a person, "
          f"{len(content.strips)} strips, {pages} pages -> {args.out}")
    return 0


def _run_gui(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog=PROG, description="Open the review window.")
    parser.add_argument("record", nargs="?", help="recording to open")
    args = parser.parse_args(argv)
    from danet_viewer._qt.app import run_app

    return run_app(args.record)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (argv[0] not in SUBCOMMANDS and not argv[0].startswith("-")):
        return _run_gui(argv)
    args = _build_parser().parse_args(argv)
    handlers = {"annotate": _annotate, "import": _import, "export": _export, "render": _render, "report": _report}
    handler = handlers[args.command]
    return run_reporting_errors(PROG, lambda: handler(args), debug=args.debug)
