#!/usr/bin/env bash
# Qt's platform plugins link system libraries that the PySide6 wheels leave out. Which ones a machine lacks is read
# from `ldd` of the plugins themselves, not from a list kept by hand: a new PySide6 release that links one more
# library is covered without an edit here.
#
# Sourced by setup.sh and build_exe.sh:
#   qt_missing_packages PYSIDE6_DIR   prints the Debian packages that would supply the "not found" libraries
#   qt_install_system_libs PYSIDE6_DIR WHO   installs them where we may (root with apt-get); elsewhere prints
#                                     one line naming them and the command that installs them, and returns 1

# The platform plugins the app uses: xcb for a window on an X11 desktop, offscreen for tests and headless renders.
QT_PLATFORM_PLUGINS=(libqxcb.so libqoffscreen.so)

qt_missing_libraries() {  # sonames that the dynamic loader cannot find for the platform plugins
    local plugins=$1/Qt/plugins/platforms plugin
    for plugin in "${QT_PLATFORM_PLUGINS[@]}"; do
        [ -f "$plugins/$plugin" ] && ldd "$plugins/$plugin" | awk '/=> not found/ {print $1}'
    done | sort -u
}

soname_package() {  # the Debian package of a shared library, by Debian's library-package naming policy
    local soname=$1 stem version
    stem=${soname%%.so*}
    version=${soname##*.so.}
    version=${version%%.*}
    stem=$(echo "$stem" | tr '[:upper:]' '[:lower:]')
    case $stem in
        libglib-2.0 | libgobject-2.0 | libgthread-2.0 | libgio-2.0) echo "libglib2.0-$version" ;;  # one package
        *[0-9]) echo "$stem-$version" ;;  # libdbus-1.so.3 -> libdbus-1-3: a stem ending in a digit takes a dash
        *) echo "$stem$version" ;;         # libxcb-icccm.so.4 -> libxcb-icccm4
    esac
}

qt_missing_packages() {
    local soname
    for soname in $(qt_missing_libraries "$1"); do soname_package "$soname"; done | sort -u | xargs
}

qt_install_system_libs() {
    local pyside=$1 who=$2 packages round
    # A library installed now may itself need one that was not reported before (ldd cannot look inside a library
    # it did not find): a few rounds reach the closure.
    for round in 1 2 3; do
        packages=$(qt_missing_packages "$pyside")
        [ -z "$packages" ] && return 0
        if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
            # shellcheck disable=SC2086  # one word per package
            apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $packages >/dev/null
        else
            break
        fi
    done
    packages=$(qt_missing_packages "$pyside")
    [ -z "$packages" ] && return 0
    echo "$who: Qt cannot open a window without the system libraries of: $packages;" \
        "install them with: sudo apt-get install $packages" >&2
    return 1
}
