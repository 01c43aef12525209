"""Retake the README's screenshots from the running app on the bundled sample (offscreen, the shipped model).

    .venv/bin/python scripts/take_screenshots.py [--out docs/screenshots]

Each picture is the main window (or `danet-viewer render`) as a reviewer sees it; a per-user data folder of its own
keeps the user's registry and stores out of it.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["DANET_REVIEW_DATA"] = tempfile.mkdtemp(prefix="danet-screenshots-")

from PySide6.QtCore import QSettings  # noqa: E402 - after the environment above
from PySide6.QtWidgets import QApplication  # noqa: E402

from danet_viewer._qt.main_window import MainWindow  # noqa: E402
from danet_viewer._qt.render import render_review  # noqa: E402
from danet_viewer.resources import sample_record  # noqa: E402

WINDOW_SIZE = (1600, 1000)
TEMPLATES_SIZE = (1000, 860)
GALLERY_SIZE = (1400, 900)


def _settle(app: QApplication, window: MainWindow) -> None:
    """Let the analysis and the on-demand enhanced trace finish."""
    while window.analysing or not window.trace.ready:
        app.processEvents()
    for _ in range(20):
        app.processEvents()


def templates_shot(app: QApplication, window: MainWindow, path: Path) -> None:
    """The Templates view (View ▸ Templates) on its own, the class that most needs a look current."""
    window.shortcut_actions["Templates"].setChecked(True)
    templates = window.templates
    templates.setFloating(True)
    templates.resize(*TEMPLATES_SIZE)
    _settle(app, window)
    templates.view.tile_clicked(templates.classes.summaries()[0].class_id, False)
    _settle(app, window)
    templates.grab().save(str(path))
    print(path)


def gallery_shot(app: QApplication, window: MainWindow, path: Path) -> None:
    """The beat gallery (View ▸ Beat gallery) on its own: the first page of the class most in doubt, the cursor on
    its third beat."""
    window.shortcut_actions["Beat gallery"].setChecked(True)
    gallery = window.gallery
    gallery.setFloating(True)
    gallery.resize(*GALLERY_SIZE)
    _settle(app, window)
    while gallery.gallery.ordering:  # the order is worked out off the GUI thread
        app.processEvents()
    gallery.gallery.set_cursor(2)
    _settle(app, window)
    gallery.grab().save(str(path))
    print(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    out = parser.parse_args().out
    out.mkdir(parents=True, exist_ok=True)
    app = QApplication.instance() or QApplication([])
    settings = QSettings(str(Path(os.environ["DANET_REVIEW_DATA"]) / "settings.ini"), QSettings.Format.IniFormat)
    settings.setValue("reviewer", "dr example")
    window = MainWindow(settings)
    window.resize(*WINDOW_SIZE)
    window.show()
    window.open_record(str(sample_record()))
    _settle(app, window)

    def shot(name: str, start_s: float, span_s: float, select_near_s: float | None = None) -> None:
        window.review.set_span(span_s)
        window.review.centre_on(start_s + span_s / 2)
        if select_near_s is not None:
            window.review.select_near(select_near_s)
        _settle(app, window)
        window.grab().save(str(out / name))
        print(out / name)

    shot("review-10s.png", 80.0, 10.0, select_near_s=83.3)
    shot("review-3min.png", 0.0, 180.0)
    shot("review-overview-tachogram-superimposed.png", 70.0, 30.0, select_near_s=84.0)
    window.shortcut_actions["All leads"].setChecked(True)
    while not (window.lead_stack.ready and window.view.stack.active):
        app.processEvents()
    shot("review-all-leads.png", 80.0, 10.0, select_near_s=83.3)
    window.shortcut_actions["All leads"].setChecked(False)
    window.shortcut_actions["Calipers"].setChecked(True)
    shot("review-calipers.png", 80.0, 5.0)
    window.shortcut_actions["Calipers"].setChecked(False)
    window.shortcut_actions["Side by side"].setChecked(True)
    shot("review-side-by-side.png", 80.0, 10.0, select_near_s=83.3)
    window.shortcut_actions["Side by side"].setChecked(False)
    templates_shot(app, window, out / "templates.png")
    window.shortcut_actions["Templates"].setChecked(False)
    gallery_shot(app, window, out / "gallery.png")
    window.close()
    print(render_review(str(sample_record()), 60.0, 10.0, out / "render-attention.png",
                        Path(os.environ["DANET_REVIEW_DATA"]) / "render.danet.h5"))


if __name__ == "__main__":
    main()
