"""The set-up scripts: Qt's system libraries are found from the platform plugins themselves, and after set-up
the window plugin lacks none (issue: a fresh desktop aborted with 'Could not load the Qt platform plugin xcb')."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux") or not shutil.which("ldd"),
                                reason="the xcb platform plugin and ldd are Linux's")


def _bash(snippet: str) -> str:
    script = f". scripts/qt_system_libs.sh\n{snippet}"
    return subprocess.run(["bash", "-c", script], cwd=REPO, capture_output=True, text=True, check=True).stdout.strip()


@pytest.mark.parametrize("soname, package", [
    ("libxcb-icccm.so.4", "libxcb-icccm4"), ("libxcb-keysyms.so.1", "libxcb-keysyms1"),
    ("libxcb-cursor.so.0", "libxcb-cursor0"), ("libxkbcommon-x11.so.0", "libxkbcommon-x11-0"),
    ("libdbus-1.so.3", "libdbus-1-3"), ("libEGL.so.1", "libegl1"), ("libX11-xcb.so.1", "libx11-xcb1"),
    ("libglib-2.0.so.0", "libglib2.0-0"), ("libfontconfig.so.1", "libfontconfig1"),
])
def test_a_missing_library_names_its_debian_package(soname, package):
    assert _bash(f"soname_package {soname}") == package


def test_after_setup_the_window_plugin_finds_every_library():
    """CI runs setup.sh as root on Debian, so whatever the xcb plugin links is installed; ldd says so."""
    import PySide6

    plugin = os.path.join(os.path.dirname(PySide6.__file__), "Qt", "plugins", "platforms", "libqxcb.so")
    linked = subprocess.run(["ldd", plugin], capture_output=True, text=True, check=True).stdout
    assert "not found" not in linked, linked
    assert _bash(f"qt_missing_packages {os.path.dirname(PySide6.__file__)}") == ""


def test_without_root_setup_names_the_packages_and_the_command():
    """Not root (or no apt): one line naming what is missing and how to install it, and a failing status."""
    result = subprocess.run(["bash", "-c", ". scripts/qt_system_libs.sh\n"
                             "qt_missing_libraries() { echo libxcb-icccm.so.4; echo libxcb-keysyms.so.1; }\n"
                             "id() { echo 1000; }\n"
                             "qt_install_system_libs /nowhere setup"], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "setup: Qt cannot open a window without the system libraries of: libxcb-icccm4 libxcb-keysyms1;"
        " install them with: sudo apt-get install libxcb-icccm4 libxcb-keysyms1"]
