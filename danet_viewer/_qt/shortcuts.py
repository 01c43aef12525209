"""The review keys, declared once: the same table builds the window's actions and the help dialog.

Symbol keys follow WAVE: the key is the WFDB symbol (lower-case keys for the
common A, N, V; shifted letters for the rarer J, S, F, Q), so a reviewer who
knows WAVE needs no new habits.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget


@dataclass(frozen=True)
class Shortcut:
    """One row of the key table: keys (QKeySequence strings), what it does, and the handler it calls."""

    keys: tuple[str, ...]
    action: str
    description: str
    handler: str  # a view toggle of menus.TOGGLES, an events_dock.EVENT_ACTIONS, else the window's method,
    # else its review model's
    argument: str | None = None  # passed to the handler (the symbol for labelling keys)

    @property
    def key_text(self) -> str:
        # Qt names Shift+Tab "Backtab"; the reviewer presses Shift+Tab.
        names = (QKeySequence(key).toString(QKeySequence.SequenceFormat.NativeText) for key in self.keys)
        return ", ".join("Shift+Tab" if name == "Backtab" else name for name in names)


SHORTCUTS: tuple[Shortcut, ...] = (
    Shortcut(("Space", "Return", "Enter"), "Confirm", "accept the model's verdict: A if it says APC, else N",
             "confirm_model"),
    Shortcut(("A",), "APC", "label the selected beat A (atrial premature)", "set_symbol", "A"),
    Shortcut(("N",), "Normal", "label the selected beat N", "set_symbol", "N"),
    Shortcut(("V",), "PVC", "label the selected beat V (ventricular premature)", "set_symbol", "V"),
    Shortcut(("L",), "LBBB", "label the selected beat L (left bundle branch block)", "set_symbol", "L"),
    Shortcut(("R",), "RBBB", "label the selected beat R (right bundle branch block)", "set_symbol", "R"),
    Shortcut(("Shift+J",), "Junctional premature", "label the selected beat J", "set_symbol", "J"),
    Shortcut(("Shift+S",), "SV premature", "label the selected beat S (supraventricular premature)",
             "set_symbol", "S"),
    Shortcut(("Shift+F",), "Fusion", "label the selected beat F (fusion of ventricular and normal)",
             "set_symbol", "F"),
    Shortcut(("Shift+Q",), "Unclassifiable", "label the selected beat Q", "set_symbol", "Q"),
    Shortcut(("Delete", "X"), "Not a beat", "mark the selected detection as not a beat", "mark_not_a_beat"),
    Shortcut(("+", "Insert"), "Add beat", "add a missed beat at the mouse, on the nearest peak", "add_beat_at_cursor"),
    Shortcut(("Tab", "]"), "Next candidate", "select the next unreviewed APC candidate", "next_unreviewed"),
    Shortcut(("Backtab", "["), "Previous candidate", "select the previous unreviewed APC candidate",
             "previous_unreviewed"),
    Shortcut(("}",), "Next APC", "select the next APC (model or reviewed)", "next_apc"),
    Shortcut(("{",), "Previous APC", "select the previous APC (model or reviewed)", "previous_apc"),
    Shortcut(("Right",), "Next beat", "select the next beat", "next_beat"),
    Shortcut(("Left",), "Previous beat", "select the previous beat", "previous_beat"),
    Shortcut(("B",), "Bookmark", "bookmark the selected beat (else the view's centre) with a comment: in the "
             "events list and as a report strip", "bookmark_view"),
    Shortcut(("Shift+B",), "Add view to report", "the stretch on screen (up to 42 s) as strips of the report, "
             "with a comment", "add_view_to_report"),
    Shortcut(("Ctrl+Z",), "Undo", "undo the last edit: a label, bookmark, class label, split or merge (saved at once)",
             "undo"),
    Shortcut(("Ctrl+Shift+Z", "Ctrl+Y"), "Redo", "redo the last undone edit", "redo"),
    Shortcut(("Ctrl+L",), "Side by side", "raw and enhanced traces stacked or left | right", "toggle_side_by_side"),
    Shortcut(("Ctrl+Shift+A",), "All leads", "show every lead of the record stacked, the lead chosen in the lead box "
             "marked (it carries the beat marks)", "toggle_all_leads"),
    Shortcut(("Ctrl+H",), "Attention band", "show or hide the attention w(t) band", "toggle_attention"),
    Shortcut(("Ctrl+R",), "P/QRS/T regions", "show or hide the delineated wave regions under the raw trace",
             "toggle_regions"),
    Shortcut(("PgDown",), "Page forward", "move the view on by one span", "page_forward"),
    Shortcut(("PgUp",), "Page back", "move the view back by one span", "page_back"),
    Shortcut(("Ctrl++", "Ctrl+="), "Zoom in", "halve the span around its centre", "zoom_in"),
    Shortcut(("Ctrl+-",), "Zoom out", "double the span around its centre", "zoom_out"),
    Shortcut(("Home",), "Start", "go to the start of the recording", "go_to_start"),
    Shortcut(("End",), "End", "go to the end of the recording", "go_to_end"),
    Shortcut(("Ctrl+G",), "ECG grid", "show or hide the millimetre grid (1 mm and 5 mm boxes)", "toggle_grid"),
    Shortcut(("Ctrl+K",), "Calipers", "show or hide calipers: drag the lines, read Δt, bpm and ΔmV",
             "toggle_calipers"),
    Shortcut(("Ctrl+E",), "Overview: heart rate", "the overview strip shows heart rate instead of APCs/min",
             "toggle_heart_rate_overview"),
    Shortcut(("Ctrl+T",), "Templates", "show or hide the Templates view: the record's beat classes; while it has "
             "the keys, a beat key labels the current class and Left/Right page through its beats",
             "toggle_templates"),
    Shortcut(("E",), "Split off early beats", "Templates view: split the current class's early beats into a class of "
             "their own, where the early half of its coupling histogram has two modes; a beat key then labels them",
             "split_at_proposal"),
    Shortcut(("Ctrl+Return", "Ctrl+Enter"), "Accept proposals", "Templates view: label every class's unreviewed "
             "beats with its proposal (the model's call on most of its beats), after a question that says what will "
             "be labelled; one step, beats reviewers labelled keep theirs", "accept_proposals"),
    Shortcut(("Ctrl+B",), "Beat gallery", "show or hide the beat gallery: exceptions a page of 24 beats at a time, "
             "each class the most doubtful beats first, then the whole record; while it has the keys, the arrows move "
             "its cursor, a beat key (Space: the model's call, X: not a beat) labels the cursor's beat, PgDown/PgUp "
             "turn the page, Enter shows the beat in the main view; Ctrl+click toggles a tile, Shift+click or "
             "Shift+arrows select a range, Ctrl+A the page, Esc none, and a beat key then labels the selected beats "
             "as one step", "toggle_gallery"),
    Shortcut(("Ctrl+PgDown",), "Gallery: next section", "beat gallery: leave this class for the next section's first "
             "page (when its page had nothing to correct)", "gallery_next_section"),
    Shortcut(("Ctrl+PgUp",), "Gallery: previous section", "beat gallery: the previous section's first page",
             "gallery_previous_section"),
    Shortcut(("F1", "?"), "Help", "show this table", "show_help"),
)


class ShortcutHelp(QDialog):
    """The key table as the reviewer sees it (F1 or ?)."""

    def __init__(self, shortcuts: tuple[Shortcut, ...], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Review keys")
        table = QTableWidget(len(shortcuts), 3, self)
        table.setHorizontalHeaderLabels(["Keys", "Action", "What it does"])
        table.verticalHeader().hide()
        table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        for row, shortcut in enumerate(shortcuts):
            for column, text in enumerate((shortcut.key_text, shortcut.action, shortcut.description)):
                table.setItem(row, column, QTableWidgetItem(text))
        table.resizeColumnsToContents()
        table.horizontalHeader().setStretchLastSection(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(table)
        layout.addWidget(buttons)
        self.table = table
        self.resize(720, 640)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
