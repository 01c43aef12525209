"""ECG paper in a view squeezed to no height (a short window, or a tall dock under the main view) paints nothing
and does not crash: a zero scale made rectangles of NaN pixels, which crashed Qt's rasteriser."""

from __future__ import annotations

import pyqtgraph as pg

from danet_viewer._qt.ecg_paper import EcgGrid


def test_a_view_squeezed_to_no_height_paints_no_grid_and_does_not_crash(qtbot):
    widget = pg.PlotWidget()
    qtbot.addWidget(widget)
    grid = EcgGrid()
    widget.getPlotItem().addItem(grid)
    widget.getPlotItem().setRange(xRange=(0.0, 10.0), yRange=(-0.3, -0.1), padding=0.0)
    widget.resize(800, 10)
    widget.show()
    qtbot.waitExposed(widget)
    assert widget.getPlotItem().getViewBox().height() == 0
    assert not widget.grab().isNull()  # painted (the grid left out) without a segmentation fault
    widget.resize(800, 300)  # room again: the grid's lines are there to paint
    qtbot.waitUntil(lambda: widget.getPlotItem().getViewBox().height() > 100)
    assert len(grid.visible_lines(5)[0]) and not widget.grab().isNull()
