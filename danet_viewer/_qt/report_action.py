"""Review ▸ Report…: the open record's PDF report (``danet-viewer report`` from the window), on the same path."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QFileDialog, QMainWindow, QMessageBox

from danet_viewer._qt.report_pdf import write_report_pdf
from danet_viewer.components.review_model import ReviewModel
from danet_viewer.core.report import build_report, header_identification
from danet_viewer.errors import DanetError


def write_open_record_report(review: ReviewModel, out: Path) -> str:
    """The report of the record under review, from what its store holds now; returns a one-line summary."""
    record = review.store.record(review.recording.name)
    content = build_report(record, review.recording, start=review.recording.start,
                           identification=header_identification(review.recording))
    pages = write_report_pdf(content, out)
    return f"Report of {record.name}: {content.summary.beats} beats, {pages} pages -> {out}"


def save_report(window: QMainWindow) -> Path | None:
    """Ask where, then write the report; labels the disk has not taken yet are not in it, and the user is told."""
    review = window.review
    if review.session is None:
        QMessageBox.information(window, "Report", "Open and analyse a recording first: the report reads its store.")
        return None
    if review.unsaved:
        QMessageBox.warning(window, "Report", f"{len(review.unsaved)} labels are not saved yet and would be missing "
                            "from the report: retry saving them first (the bar above the trace).")
        return None
    suggested = str(Path.home() / f"{review.recording.name}-report.pdf")
    path, _ = QFileDialog.getSaveFileName(window, "Save the report", suggested, "PDF (*.pdf)")
    if not path:
        return None
    QGuiApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)  # a few seconds: strips are read from the signal
    try:
        window.statusBar().showMessage(write_open_record_report(review, Path(path)), 10000)
    except DanetError as error:
        QMessageBox.warning(window, "Report", str(error))
        return None
    finally:
        QGuiApplication.restoreOverrideCursor()
    return Path(path)
