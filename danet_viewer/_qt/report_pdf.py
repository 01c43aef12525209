"""The PDF report of a record (issue 18), drawn with QPainter in true millimetres on A4.

``paint_report`` draws on any paged device whose page is set to A4 portrait with
(0, 0) at the paper's corner: ``write_report_pdf`` gives it a QPdfWriter, and a
printer in full-page mode (``QPrinter.setFullPage(True)``) prints the same pages.
Every length is in millimetres, turned into device units by the device's own
resolution, so a 1 mm box of the ECG paper is 1 mm on the page: strips are drawn
at 25 mm/s and 10 mm/mV, with a 1 mV calibration pulse in front of each.

Pages: the header and summary, with the runs and pauses listed; the hourly table
and the heart-rate trend; then the strips, five a page, and the sign-off.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PySide6.QtCore import QMarginsF, QPointF, QRectF, Qt
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetricsF,
    QGuiApplication,
    QPagedPaintDevice,
    QPageLayout,
    QPageSize,
    QPainter,
    QPdfWriter,
    QPen,
    QPolygonF,
)

from danet_viewer._qt.ecg_paper import (
    LARGE_BOX_MM,
    LARGE_LINE_COLOUR,
    SMALL_LINE_COLOUR,
    STANDARD_GAIN_MM_MV,
    STANDARD_SPEED_MM_S,
)
from danet_viewer.core.atomic import atomic_output
from danet_viewer.core.clock import duration_text
from danet_viewer.core.report import STRIP_S, ReportContent, Strip
from danet_viewer.core.summary import FROM_DETECTOR, FROM_MODEL, FROM_REVIEWER
from danet_viewer.errors import DanetError

PAGE_W_MM, PAGE_H_MM = 210.0, 297.0
LEFT_MM, TOP_MM, BOTTOM_MM = 15.0, 12.0, 12.0
CONTENT_W_MM = PAGE_W_MM - 2 * LEFT_MM
PDF_DPI = 1200
STRIPS_PER_PAGE = 5
# A strip: its caption, the paper, the times under it, and a gap.
CAPTION_MM, PAPER_MM, TIMES_MM, STRIP_GAP_MM = 5.0, 35.0, 4.0, 3.0
# The calibration pulse (1 mV, 0.2 s) stands in front of the trace on the paper.
PULSE_MM = 5.0
# The trace's baseline sits this far below the paper's top: QRS complexes point up more than down.
BASELINE_MM = 23.0
ROW_MM = 4.6
TREND_MM = 70.0
TEXT = QColor(20, 20, 20)
MUTED = QColor(110, 110, 110)
TRACE = QColor(0, 0, 0)
TREND = QColor(30, 80, 160)


def _rate(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.0f}"


class _Page:
    """Drawing in millimetres on the current page of a paged device."""

    def __init__(self, painter: QPainter, device: QPagedPaintDevice) -> None:
        self.painter = painter
        self.x_scale = device.logicalDpiX() / 25.4
        self.y_scale = device.logicalDpiY() / 25.4

    def point(self, x_mm: float, y_mm: float) -> QPointF:
        return QPointF(x_mm * self.x_scale, y_mm * self.y_scale)

    def rect(self, x_mm: float, y_mm: float, w_mm: float, h_mm: float) -> QRectF:
        return QRectF(self.point(x_mm, y_mm), self.point(x_mm + w_mm, y_mm + h_mm))

    def pen(self, colour: QColor, width_mm: float) -> None:
        pen = QPen(colour, width_mm * self.x_scale)
        pen.setCapStyle(Qt.PenCapStyle.FlatCap)
        self.painter.setPen(pen)

    def text(self, x_mm: float, y_mm: float, w_mm: float, h_mm: float, text: str, *, size_pt: float = 9.0,
             bold: bool = False, colour: QColor = TEXT,
             align: Qt.AlignmentFlag = Qt.AlignmentFlag.AlignLeft) -> float:
        """Draw ``text`` in the box, wrapped at word breaks; returns the height it took (mm), at least ``h_mm``."""
        self.painter.setFont(self.font(size_pt, bold))
        self.painter.setPen(colour)
        flags = align | Qt.AlignmentFlag.AlignTop | Qt.TextFlag.TextWordWrap
        needed = self.painter.boundingRect(self.rect(x_mm, y_mm, w_mm, h_mm), flags, text).height() / self.y_scale
        # One line sits in the middle of its box; more lines grow the box downwards.
        top = y_mm + max(0.0, (h_mm - needed) / 2)
        self.painter.drawText(self.rect(x_mm, top, w_mm, max(h_mm, needed)), flags, text)
        return max(h_mm, needed)

    @staticmethod
    def font(size_pt: float, bold: bool = False) -> QFont:
        font = QFont("DejaVu Sans")
        # No ligatures: the PDF's text then reads back letter for letter ("ff" in a model hash stays two letters).
        font.setFeature(QFont.Tag("liga"), 0)
        font.setPointSizeF(size_pt)
        font.setBold(bold)
        return font

    def elided(self, text: str, w_mm: float, *, size_pt: float, bold: bool = False) -> str:
        """``text`` cut with an ellipsis to fit ``w_mm`` on one line (a long bookmark comment in a strip's caption)."""
        metrics = QFontMetricsF(self.font(size_pt, bold), self.painter.device())
        return metrics.elidedText(text, Qt.TextElideMode.ElideRight, w_mm * self.x_scale)

    def width_mm(self, text: str, *, size_pt: float, bold: bool = False) -> float:
        return QFontMetricsF(self.font(size_pt, bold), self.painter.device()).horizontalAdvance(text) / self.x_scale

    def line(self, x1: float, y1: float, x2: float, y2: float, colour: QColor = TEXT, width_mm: float = 0.2) -> None:
        self.pen(colour, width_mm)
        self.painter.drawLine(self.point(x1, y1), self.point(x2, y2))

    def table(self, x_mm: float, y_mm: float, widths: list[float], rows: list[list[str]],
              header: list[str] | None = None, *, numbers: bool = False) -> float:
        """Rows of cells, left-aligned (``numbers``: all but the first column right-aligned); returns the y below."""
        if header:
            y_mm += self._row(x_mm, y_mm, widths, header, bold=True, numbers=numbers)
            self.line(x_mm, y_mm, x_mm + sum(widths), y_mm, MUTED, 0.15)
        for row in rows:
            y_mm += self._row(x_mm, y_mm, widths, row, bold=False, numbers=numbers)
        return y_mm

    def _row(self, x_mm: float, y_mm: float, widths: list[float], cells: list[str], *, bold: bool,
             numbers: bool) -> float:
        """One row of a table; returns its height (mm): a row grows to fit a cell's wrapped text."""
        height = ROW_MM
        for column, (width, cell) in enumerate(zip(widths, cells, strict=True)):
            right = numbers and column > 0
            align = Qt.AlignmentFlag.AlignRight if right else Qt.AlignmentFlag.AlignLeft
            height = max(height, self.text(x_mm + 1, y_mm, width - 2, ROW_MM, cell, size_pt=8.5, bold=bold,
                                           align=align))
            x_mm += width
        return height


def _summary_rows(content: ReportContent) -> list[list[str]]:
    summary, at = content.summary, content.time
    beats = max(summary.beats, 1)
    counts = summary.counts
    by = summary.beats_by_source
    label_source = (f"{by[FROM_REVIEWER]:,} by a person, {by[FROM_MODEL]:,} by the model's verdict"
                    + (f", {by[FROM_DETECTOR]:,} detections never scored (counted as N)" if by[FROM_DETECTOR] else ""))
    longest, fastest, pause = summary.longest_run, summary.fastest_run, summary.longest_pause
    rows = [
        ["Total beats", f"{summary.beats:,}"],
        ["Labels", label_source],
        *[[f"{name} beats", f"{counts[name]:,} ({100 * counts[name] / beats:.1f} %)"] for name in counts],
        ["SVEB isolated", f"{summary.sveb_isolated:,}"],
        ["SVEB couplets", f"{len(summary.sveb_couplets):,}"],
        ["SVEB runs (3 or more)", f"{len(summary.sveb_runs):,}"],
        ["Longest SVEB run", f"{longest.beats} beats at {longest.rate_bpm:.0f} bpm, {at(longest.start_s)}"
         if longest else "none"],
        ["Fastest SVEB run", f"{fastest.rate_bpm:.0f} bpm ({fastest.beats} beats), {at(fastest.start_s)}"
         if fastest else "none"],
        ["SVEB bigeminy episodes", _episodes(summary.bigeminy, at)],
        ["SVEB trigeminy episodes", _episodes(summary.trigeminy, at)],
        [f"Heart rate ({summary.hr_window_s:g} s means)",
         f"min {_rate(summary.hr_min)} bpm{_at(summary.hr_min_at_s, at)}, mean {_rate(summary.hr_mean)} bpm, "
         f"max {_rate(summary.hr_max)} bpm{_at(summary.hr_max_at_s, at)}"],
        [f"Pauses (RR at least {summary.pause_threshold_s:g} s)",
         f"{len(summary.pauses):,}" + (f"; longest {pause.rr_s:.2f} s, {at(pause.start_s)}" if pause else "")],
    ]
    return rows


def _at(seconds: float | None, at: Callable[[float], str]) -> str:
    return "" if seconds is None else f" at {at(seconds)}"


def _episodes(episodes: tuple, at: Callable[[float], str]) -> str:
    if not episodes:
        return "none"
    return f"{len(episodes):,}, the first at {at(episodes[0].start_s)}"


def _draw_summary_page(page: _Page, content: ReportContent) -> None:
    summary = content.summary
    y = TOP_MM
    page.text(LEFT_MM, y, CONTENT_W_MM, 9, f"ECG report: record {summary.record}", size_pt=16, bold=True)
    y += 12
    header = [
        ["Record", summary.record],
        *[[what, value] for what, value in content.identification],
        ["Recording start", content.clock.start_text()],
        ["Duration", f"{duration_text(summary.duration_s)} (hh:mm:ss)"],
        ["Analysed", f"{duration_text(summary.analysed_s)}; "
                     f"excluded (flat, lead off) {duration_text(summary.excluded_s)}"],
        ["Lead analysed", content.lead],
        ["Reviewer", ", ".join(summary.reviewers) or "none: no beat was reviewed by a person"],
        ["Model", summary.model_id or "none ran"],
        ["Software", f"{content.software}; report made {content.created_at}"],
    ]
    y = page.table(LEFT_MM, y, [45, CONTENT_W_MM - 45], header)
    y += 4
    page.text(LEFT_MM, y, CONTENT_W_MM, 7, "Summary", size_pt=12, bold=True)
    y = page.table(LEFT_MM, y + 8, [55, CONTENT_W_MM - 55], _summary_rows(content))
    y += 4
    events = sorted([(r.start_s, "SVEB run", f"{r.beats} beats at {r.rate_bpm:.0f} bpm") for r in summary.sveb_runs]
                    + [(p.start_s, "Pause", f"{p.rr_s:.2f} s") for p in summary.pauses])
    page.text(LEFT_MM, y, CONTENT_W_MM, 7, "SVEB runs and pauses", size_pt=12, bold=True)
    # As many as fit above the footer, less the table's header and the line that counts the rest.
    listed = max(0, int((PAGE_H_MM - BOTTOM_MM - 3 - (y + 8)) // ROW_MM) - 2)
    if len(events) <= listed + 1:
        listed = len(events)
    rows = [[content.time(start_s), what, detail] for start_s, what, detail in events[:listed]]
    if len(events) > listed:
        rows.append([f"... and {len(events) - listed:,} more", "", ""])
    if not rows:
        rows = [["none", "", ""]]
    page.table(LEFT_MM, y + 8, [40, 40, 60], rows, header=["Time", "Event", ""])


def _draw_hourly_page(page: _Page, content: ReportContent) -> None:
    summary = content.summary
    y = TOP_MM
    page.text(LEFT_MM, y, CONTENT_W_MM, 7, "Hour by hour", size_pt=12, bold=True)
    rows = [[content.time(row.start_s), f"{row.beats:,}", _rate(row.hr_min), _rate(row.hr_mean), _rate(row.hr_max),
             f"{row.sveb:,}", f"{row.veb:,}"] for row in summary.hourly]
    y = page.table(LEFT_MM, y + 8, [30, 30, 24, 24, 24, 24, 24], rows,
                   header=["From", "Beats", "HR min", "HR mean", "HR max", "SVEB", "VEB"], numbers=True)
    y += 6
    page.text(LEFT_MM, y, CONTENT_W_MM, 7, f"Heart rate ({summary.hr_window_s:g} s means, bpm)", size_pt=12, bold=True)
    _draw_trend(page, content, y + 10)


def _draw_trend(page: _Page, content: ReportContent, top_mm: float) -> None:
    """The heart rate of every window over the whole recording, with its minimum and maximum marked."""
    summary = content.summary
    trend = summary.hr_trend_bpm
    valid = trend[~np.isnan(trend)]
    low = 20 * math.floor((min(valid.min(), 60) - 5) / 20) if len(valid) else 40
    high = 20 * math.ceil((max(valid.max(), 100) + 5) / 20) if len(valid) else 120
    duration = max(summary.duration_s, 1.0)
    left_mm, width_mm, height_mm = LEFT_MM + 12, CONTENT_W_MM - 14, TREND_MM

    def to_mm(t_s: float, bpm: float) -> tuple[float, float]:
        return left_mm + width_mm * t_s / duration, top_mm + height_mm * (high - bpm) / (high - low)

    for bpm in range(low, high + 1, 20):
        _, y = to_mm(0, bpm)
        page.line(left_mm, y, left_mm + width_mm, y, QColor(215, 215, 215), 0.15)
        page.text(left_mm - 12, y - 2, 10, 4, str(bpm), size_pt=7, colour=MUTED, align=Qt.AlignmentFlag.AlignRight)
    step = next(s for s in (600, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 1e12) if duration / s <= 12)
    for tick in np.arange(0.0, duration + 1e-9, step):
        x, _ = to_mm(tick, low)
        page.line(x, top_mm + height_mm, x, top_mm + height_mm + 1.5, MUTED, 0.15)
        page.text(x - 10, top_mm + height_mm + 1.5, 20, 4, content.time(tick)[:-3] if content.start else
                  content.time(tick), size_pt=7, colour=MUTED, align=Qt.AlignmentFlag.AlignHCenter)
    page.pen(MUTED, 0.2)
    page.painter.setBrush(Qt.BrushStyle.NoBrush)
    page.painter.drawRect(page.rect(left_mm, top_mm, width_mm, height_mm))
    middles = (np.arange(len(trend)) + 0.5) * summary.hr_window_s
    page.pen(TREND, 0.3)
    # One polyline per stretch of windows with a rate: no line is drawn across a gap.
    for piece in np.split(np.arange(len(trend)), np.flatnonzero(np.isnan(trend)) + 1):
        piece = piece[~np.isnan(trend[piece])]
        if len(piece) > 1:
            page.painter.drawPolyline(QPolygonF([page.point(*to_mm(middles[i], trend[i])) for i in piece]))
        elif len(piece) == 1:
            page.painter.drawPoint(page.point(*to_mm(middles[piece[0]], trend[piece[0]])))
    for at_s, bpm, name in ((summary.hr_max_at_s, summary.hr_max, "max"), (summary.hr_min_at_s, summary.hr_min, "min")):
        if at_s is None:
            continue
        x, y = to_mm(at_s + summary.hr_window_s / 2, bpm)
        page.pen(TEXT, 0.25)
        page.painter.drawEllipse(page.point(x, y), 0.8 * page.x_scale, 0.8 * page.y_scale)
        label_y = y - 5 if name == "max" else y + 1
        page.text(min(x + 1, left_mm + width_mm - 40), label_y, 40, 4, f"{name} {bpm:.0f} bpm, {content.time(at_s)}",
                  size_pt=7)


def _draw_strip(page: _Page, content: ReportContent, strip: Strip, top_mm: float) -> None:
    """One strip on ECG paper: 1 mm and 5 mm boxes at 25 mm/s and 10 mm/mV, the calibration pulse, the trace, the
    beats' labels (a person's in black, the model's in grey) and the clock times of its ends."""
    paper_w = PULSE_MM + STRIP_S * STANDARD_SPEED_MM_S
    left = (PAGE_W_MM - paper_w) / 2
    end_s = strip.start_s + STRIP_S
    details = (f"  ·  {content.time(strip.start_s)}  ·  lead {strip.lead}  ·  "
               f"{STANDARD_SPEED_MM_S:g} mm/s, {STANDARD_GAIN_MM_MV:g} mm/mV")
    room = paper_w - page.width_mm(details, size_pt=8.5, bold=True) - 1.0
    page.text(left, top_mm, paper_w, CAPTION_MM, page.elided(strip.title, room, size_pt=8.5, bold=True) + details,
              size_pt=8.5, bold=True)
    paper_top = top_mm + CAPTION_MM
    painter = page.painter
    painter.fillRect(page.rect(left, paper_top, paper_w, PAPER_MM), QColor(255, 252, 252))
    for level, colour, width in ((1, SMALL_LINE_COLOUR, 0.08), (LARGE_BOX_MM, LARGE_LINE_COLOUR, 0.16)):
        for x in np.arange(0.0, paper_w + 1e-9, level):
            page.line(left + x, paper_top, left + x, paper_top + PAPER_MM, QColor(*colour), width)
        for y in np.arange(0.0, PAPER_MM + 1e-9, level):
            page.line(left, paper_top + y, left + paper_w, paper_top + y, QColor(*colour), width)
    baseline = paper_top + BASELINE_MM
    pulse = [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (4.0, 1.0), (4.0, 0.0), (PULSE_MM, 0.0)]
    page.pen(TRACE, 0.25)
    painter.drawPolyline(QPolygonF([page.point(left + x, baseline - mv * STANDARD_GAIN_MM_MV) for x, mv in pulse]))
    trace_left = left + PULSE_MM
    signal = strip.signal_mv
    if len(signal):
        level = float(np.median(signal))
        x = trace_left + np.arange(len(signal)) / strip.fs * STANDARD_SPEED_MM_S
        y = baseline - (signal - level) * STANDARD_GAIN_MM_MV
        painter.save()
        painter.setClipRect(page.rect(trace_left, paper_top, paper_w - PULSE_MM, PAPER_MM))
        painter.drawPolyline(QPolygonF([page.point(a, b) for a, b in zip(x.tolist(), y.tolist(), strict=True)]))
        painter.restore()
    beats = zip(strip.beat_s.tolist(), strip.beat_label, strip.beat_reviewed.tolist(), strict=True)
    for at_s, label, reviewed in beats:
        x = trace_left + (at_s - strip.start_s) * STANDARD_SPEED_MM_S
        page.text(x - 3, paper_top + 0.5, 6, 4, label, size_pt=8, bold=reviewed, colour=TEXT if reviewed else MUTED,
                  align=Qt.AlignmentFlag.AlignHCenter)
    below = paper_top + PAPER_MM
    page.text(trace_left, below, 40, TIMES_MM, content.time(strip.start_s), size_pt=7, colour=MUTED)
    page.text(left + paper_w - 40, below, 40, TIMES_MM, content.time(end_s), size_pt=7, colour=MUTED,
              align=Qt.AlignmentFlag.AlignRight)


def _draw_strips_page(page: _Page, content: ReportContent, strips: tuple[Strip, ...], *, last: bool) -> None:
    y = TOP_MM
    page.text(LEFT_MM, y, CONTENT_W_MM, 7, "Strips", size_pt=12, bold=True)
    y += 8
    if not strips:
        page.text(LEFT_MM, y, CONTENT_W_MM, 6, "No events to show: no heart rate, pause or SVEB in the record.")
        y += 8
    for strip in strips:
        _draw_strip(page, content, strip, y)
        y += CAPTION_MM + PAPER_MM + TIMES_MM + STRIP_GAP_MM
    if last:
        _draw_sign_off(page, content, y + 2)


def _draw_sign_off(page: _Page, content: ReportContent, y: float) -> None:
    summary = content.summary
    by_person = content.beats_reviewed
    who = ", ".join(summary.reviewers)
    if not by_person:
        statement = f"No beat was reviewed by a person: all {summary.beats:,} labels are the model's verdict."
    else:
        statement = f"Reviewed by {who}: {by_person:,} of {summary.beats:,} beats were reviewed by a person."
    page.line(LEFT_MM, y, LEFT_MM + CONTENT_W_MM, y, MUTED, 0.15)
    page.text(LEFT_MM, y + 1, CONTENT_W_MM, 6, statement, size_pt=9)
    page.text(LEFT_MM, y + 8, CONTENT_W_MM, 6, "Signed: ______________________________    Date: ______________",
              size_pt=9)


def paint_report(content: ReportContent, device: QPagedPaintDevice) -> int:
    """Draw the report's pages on ``device`` (set here to A4 portrait without margins); returns the page count."""
    device.setPageLayout(QPageLayout(QPageSize(QPageSize.PageSizeId.A4), QPageLayout.Orientation.Portrait,
                                     QMarginsF(0, 0, 0, 0), QPageLayout.Unit.Millimeter))
    strip_pages = [content.strips[i : i + STRIPS_PER_PAGE] for i in range(0, len(content.strips), STRIPS_PER_PAGE)]
    draws: list[Callable[[_Page], None]] = [
        lambda page: _draw_summary_page(page, content),
        lambda page: _draw_hourly_page(page, content),
    ]
    for number, strips in enumerate(strip_pages or [()]):
        last = number == max(len(strip_pages), 1) - 1
        draws.append(lambda page, strips=strips, last=last: _draw_strips_page(page, content, strips, last=last))
    painter = QPainter()
    if not painter.begin(device):
        raise DanetError("cannot draw the report on the output device")
    try:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        page = _Page(painter, device)
        for number, draw in enumerate(draws, 1):
            if number > 1:
                device.newPage()
            draw(page)
            page.text(LEFT_MM, PAGE_H_MM - BOTTOM_MM, CONTENT_W_MM / 2, 5,
                      f"Record {content.summary.record} · {content.software}", size_pt=7, colour=MUTED)
            page.text(LEFT_MM + CONTENT_W_MM / 2, PAGE_H_MM - BOTTOM_MM, CONTENT_W_MM / 2, 5,
                      f"Page {number} of {len(draws)}", size_pt=7, colour=MUTED,
                      align=Qt.AlignmentFlag.AlignRight)
    finally:
        painter.end()
    return len(draws)


def write_report_pdf(content: ReportContent, out: Path) -> int:
    """Write the report to the PDF ``out`` whole or not at all; returns its page count.

    Runs headless: a QGuiApplication (offscreen where no display is set) is made if none exists, for the fonts.
    """
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    _app = QGuiApplication.instance() or QGuiApplication([])  # noqa: F841 - kept alive while the PDF is drawn
    out = Path(out)
    if not out.parent.is_dir():
        raise DanetError(f"{out}: no such folder {out.parent}")
    try:
        with atomic_output(out) as temporary:
            temporary.touch()  # a folder that refuses the file says so here, with its reason
            writer = QPdfWriter(str(temporary))
            writer.setResolution(PDF_DPI)
            writer.setTitle(f"ECG report: record {content.summary.record}")
            writer.setCreator(content.software)
            pages = paint_report(content, writer)
            del writer  # closes the file before it is moved into place
    except OSError as error:
        raise DanetError(f"{out}: cannot write the PDF: {error.strerror or error}") from None
    return pages
