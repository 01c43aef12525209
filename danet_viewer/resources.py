"""Where bundled resources live, from a source checkout and from a frozen executable alike."""

from __future__ import annotations

import sys
from pathlib import Path


def resource_root() -> Path:
    """The ``resources/`` folder: beside the package in a checkout, inside the bundle when frozen."""
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle is not None:
        return Path(bundle) / "resources"
    return Path(__file__).resolve().parent.parent / "resources"


def resource_path(*parts: str) -> Path:
    return resource_root().joinpath(*parts)


def sample_record() -> Path:
    """The bundled sample record's header (an excerpt of MIT-BIH record 209, see resources/sample/README.md)."""
    return resource_path("sample", "209_excerpt.hea")
