"""Axis labels with physical units, as a clinician reads them."""

from __future__ import annotations

import pyqtgraph as pg


def label_axis(axis: pg.AxisItem, text: str, units: str = "") -> None:
    """Label ``axis`` '<text> (<units>)' with its tick values in those very units.

    pyqtgraph prefixes a unit by the values' magnitude and rescales the ticks: a lead in mV read '(mmV)' from -600 to
    600, a µV lead '(kuV)', a long time axis '(ks)'. The recording's own units are what a reader expects.
    """
    axis.enableAutoSIPrefix(False)
    axis.setLabel(text, units=units or None)
