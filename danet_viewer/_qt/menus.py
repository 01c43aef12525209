"""The window's menus, its display toolbar and the recent-files list.

The review menu and the view toggles are built from ``SHORTCUTS``, the one
table that binds keys: a row's handler names a view toggle (``TOGGLES``), an
events-dock action (``events_dock.EVENT_ACTIONS``: bookmarks) or a Templates view one
(``templates_view.TEMPLATE_ACTIONS``) or a beat gallery one (``beat_gallery.GALLERY_ACTIONS``), else the window's
method of that name, else the review model's (navigation and selection need no Qt).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QComboBox, QLabel, QMainWindow, QMenu, QToolBar

from danet_viewer._qt.beat_gallery import GALLERY_ACTIONS, GalleryDock
from danet_viewer._qt.ecg_paper import GAINS_MM_MV, SPEEDS_MM_S, STANDARD_SPEED_MM_S
from danet_viewer._qt.events_dock import EVENT_ACTIONS
from danet_viewer._qt.lead_stack import LeadStackFeed
from danet_viewer._qt.report_action import save_report
from danet_viewer._qt.shortcuts import SHORTCUTS
from danet_viewer._qt.templates_view import TEMPLATE_ACTIONS

SPANS_S = (5.0, 10.0, 30.0, 60.0, 180.0)
MAX_RECENT = 10
# The checkable rows of SHORTCUTS (View menu): whether each starts checked, and what it switches.
TOGGLES: dict[str, tuple[bool, Callable[..., Callable[[bool], None]]]] = {
    "toggle_side_by_side": (False, lambda window: window.view.set_side_by_side),
    "toggle_all_leads": (False, lambda window: window.review.show_all_leads),
    "toggle_attention": (True, lambda window: window.view.set_attention_visible),
    "toggle_regions": (False, lambda window: window.view.set_regions_visible),
    "toggle_grid": (True, lambda window: window.view.set_grid_visible),
    "toggle_calipers": (False, lambda window: window.view.set_calipers_visible),
    "toggle_heart_rate_overview": (False, lambda window: window.overview.show_heart_rate),
    "toggle_templates": (False, lambda window: window.templates.set_shown),
    "toggle_gallery": (False, lambda window: window.gallery.set_shown),
}


class RecentFiles:
    """The records opened last, newest first, kept in the settings and listed in File ▸ Open Recent."""

    def __init__(self, settings: QSettings, menu: QMenu, open_record: Callable[[str], object]) -> None:
        self.settings, self.menu, self.open_record = settings, menu, open_record
        self._rebuild()

    def files(self) -> list[str]:
        value = self.settings.value("recent_files", [])
        return [value] if isinstance(value, str) else list(value or [])

    def remember(self, path: str) -> None:
        recent = [path] + [p for p in self.files() if p != path]
        self.settings.setValue("recent_files", recent[:MAX_RECENT])
        self._rebuild()

    def _rebuild(self) -> None:
        self.menu.clear()
        for path in self.files():
            action = self.menu.addAction(path)
            action.triggered.connect(lambda _=False, p=path: self.open_record(p))
        self.menu.setEnabled(bool(self.files()))


def _action(window: QMainWindow, menu: QMenu, text: str, handler: Callable, shortcut=None) -> QAction:
    action = QAction(text, window)
    if shortcut is not None:
        action.setShortcut(QKeySequence(shortcut))
    action.triggered.connect(lambda _=False: handler())
    menu.addAction(action)
    return action


def build_menus(window) -> dict[str, QAction]:
    """File, View, Review, Model and Help; returns the actions of the key table by their action name."""
    bar = window.menuBar()
    file_menu = bar.addMenu("&File")
    _action(window, file_menu, "&Open…", window.choose_record, QKeySequence.StandardKey.Open)
    window.recent = RecentFiles(window.settings, file_menu.addMenu("Open &Recent"), window.open_record)
    _action(window, file_menu, "Change &reviewer…", lambda: window.reviewer(ask=True))
    _action(window, file_menu, "&Export…", window.show_export)
    file_menu.addSeparator()
    _action(window, file_menu, "&Quit", window.close, QKeySequence.StandardKey.Quit)

    view_menu = bar.addMenu("&View")
    window.gallery = GalleryDock(window)  # View ▸ Beat gallery (Ctrl+B): exceptions, a page of 24 beats at a time
    spans = QActionGroup(window)
    for span in SPANS_S:
        action = QAction(f"{span:g} s span" if span < 60 else f"{span / 60:g} min span", window, checkable=True)
        action.triggered.connect(lambda _=False, s=span: window.review.set_span(s))
        spans.addAction(action)
        view_menu.addAction(action)
    view_menu.addSeparator()
    for dock in (window.review_list, window.events_dock, window.tachogram, window.superimposition):
        view_menu.addAction(dock.toggleViewAction())
    view_menu.addSeparator()
    review_menu = bar.addMenu("&Review")
    _action(window, review_menu, "&Report…", lambda: save_report(window))
    review_menu.addSeparator()
    model_menu = bar.addMenu("&Model")
    _action(window, model_menu, "&Retrain on reviewed labels…", window.show_retrain)
    _action(window, model_menu, "&Manage models…", window.show_model_manager)
    help_menu = bar.addMenu("&Help")

    # One QAction per row of SHORTCUTS: the table is the only place a key is bound.
    actions: dict[str, QAction] = {}
    for shortcut in SHORTCUTS:
        # The menu shows the keys as the help does (after a tab): Qt's own text would say "Backtab" for Shift+Tab.
        action = QAction(f"{shortcut.action}\t{shortcut.key_text}", window)
        action.setIconText(shortcut.action)  # a toolbar button shows the name alone, not the elided key after it
        action.setShortcuts([QKeySequence(key) for key in shortcut.keys])
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.setToolTip(shortcut.description)
        if shortcut.handler in TOGGLES:
            checked, switch = TOGGLES[shortcut.handler]
            action.setCheckable(True)
            action.setChecked(checked)
            action.toggled.connect(switch(window))
            view_menu.addAction(action)
        else:
            named = {**EVENT_ACTIONS, **TEMPLATE_ACTIONS, **GALLERY_ACTIONS}
            handler = (partial(named[shortcut.handler], window) if shortcut.handler in named
                       else getattr(window, shortcut.handler, None) or getattr(window.review, shortcut.handler))
            action.triggered.connect(
                (lambda _=False, h=handler, a=shortcut.argument: h(a)) if shortcut.argument else handler
            )
            (help_menu if shortcut.handler == "show_help" else review_menu).addAction(action)
        window.addAction(action)
        actions[shortcut.action] = action
    return actions


# A span shown at a paper speed within this fraction of a standard one reads as that speed.
SPEED_MATCH = 0.02


def _show_speed(box: QComboBox, speed_mm_s: float | None) -> None:
    """The speed box says the speed on screen: a standard one, or after a zoom the zoomed speed as one more item.
    A pan leaves the speed as it was and the box untouched (this runs on every range change)."""
    if speed_mm_s is not None and speed_mm_s == box.property("shown_speed"):
        return
    box.setProperty("shown_speed", speed_mm_s)
    if box.count() > len(SPEEDS_MM_S):
        box.removeItem(len(SPEEDS_MM_S))
    if speed_mm_s is None:
        return
    standard = [i for i, speed in enumerate(SPEEDS_MM_S) if abs(speed - speed_mm_s) <= SPEED_MATCH * speed]
    if standard:
        box.setCurrentIndex(standard[0])
    else:
        box.addItem(f"{speed_mm_s:.3g} mm/s (zoomed)", speed_mm_s)
        box.setCurrentIndex(box.count() - 1)


def build_display_toolbar(window, actions: dict[str, QAction]) -> tuple[QComboBox, QComboBox, QComboBox]:
    """Lead, paper speed and gain, and the grid and caliper toggles (the same actions as the View menu's)."""
    toolbar = QToolBar("Display", window)
    toolbar.setObjectName("display")
    window.addToolBar(Qt.ToolBarArea.TopToolBarArea, toolbar)
    lead_box = QComboBox()
    lead_box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
    lead_box.setToolTip("the lead drawn as the raw trace, or marked among all leads (the model keeps its analysis "
                        "lead)")
    lead_box.activated.connect(window.show_lead)
    window.lead_stack = LeadStackFeed(window.review, window.view, lead_box)  # View ▸ All leads
    speed_box = QComboBox()
    for speed in SPEEDS_MM_S:
        speed_box.addItem(f"{speed:g} mm/s", speed)
    speed_box.setCurrentIndex(SPEEDS_MM_S.index(STANDARD_SPEED_MM_S))
    speed_box.activated.connect(lambda index: window.view.set_speed(speed_box.itemData(index)))
    window.view.rangeShown.connect(lambda *_: _show_speed(speed_box, window.view.shown_speed_mm_s()))
    gain_box = QComboBox()
    gain_box.addItem("auto mm/mV", None)
    for gain in GAINS_MM_MV:
        gain_box.addItem(f"{gain:g} mm/mV", gain)
    gain_box.activated.connect(lambda index: window.view.set_gain(gain_box.itemData(index)))
    for label, box in (("Lead ", lead_box), ("  Speed ", speed_box), ("  Gain ", gain_box)):
        box.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the review keys stay with the window
        toolbar.addWidget(QLabel(label))
        toolbar.addWidget(box)
    toolbar.addSeparator()
    for name in ("ECG grid", "Calipers"):
        toolbar.addAction(actions[name])
    return lead_box, speed_box, gain_box
