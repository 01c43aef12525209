"""The status bar's context leaves room for messages: at most half the bar, elided, its whole text in the tooltip."""

from __future__ import annotations

from PySide6.QtWidgets import QMainWindow

from danet_viewer._qt.status_context import CONTEXT_SHARE, StatusContext

LONG = "record 209_excerpt  |  reviewer dr test  |  store " + "/very/long/folder" * 20 + "/209_excerpt.danet.h5"


def test_a_long_context_leaves_the_message_half_the_bar(qtbot):
    window = QMainWindow()
    qtbot.addWidget(window)
    bar = window.statusBar()
    context = StatusContext(bar)
    bar.addPermanentWidget(context)
    context.setText(LONG)
    window.resize(1000, 300)
    window.show()
    qtbot.waitExposed(window)
    bar.showMessage("Replaced dr first's label N with A (Ctrl+Z puts it back)")
    # The message is drawn left of the context: half the bar, where the whole text would take all of it.
    assert context.fontMetrics().horizontalAdvance(LONG) > bar.width()
    qtbot.waitUntil(lambda: 0 < context.width() <= CONTEXT_SHARE * bar.width()
                    and context.geometry().left() >= bar.width() * (1 - CONTEXT_SHARE) - 30)
    assert context.text() == LONG and context.toolTip() == LONG
    window.resize(1400, 300)
    qtbot.waitUntil(lambda: context.maximumWidth() == int(CONTEXT_SHARE * bar.width()))
