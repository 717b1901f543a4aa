"""Before Qt starts on Linux/X11: find the system libraries its xcb plugin needs and say what to install.

Without them Qt prints a cryptic "could not load the Qt platform plugin" (or nothing) and aborts.
This module imports no Qt, so it runs before anything could fail that way.
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

# Library file → the Debian/Ubuntu package that has it (Qt 6's xcb plugin and what it links).
DEBIAN_PACKAGES = {
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-xinerama.so.0": "libxcb-xinerama0",
    "libxcb-xinput.so.0": "libxcb-xinput0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxcb.so.1": "libxcb1",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libX11.so.6": "libx11-6",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libSM.so.6": "libsm6",
    "libICE.so.6": "libice6",
    "libEGL.so.1": "libegl1",
    "libGL.so.1": "libgl1",
    "libOpenGL.so.0": "libopengl0",
    "libGLX.so.0": "libglx0",
    "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6",
    "libdbus-1.so.3": "libdbus-1-3",
    "libglib-2.0.so.0": "libglib2.0-0",
}
# Checked one by one where ldd is missing: what Qt 6.5+ loads for X11 beyond a minimal system.
ESSENTIAL = ("libxcb-cursor.so.0", "libxcb-icccm.so.4", "libxcb-image.so.0", "libxcb-keysyms.so.1",
             "libxcb-randr.so.0", "libxcb-render-util.so.0", "libxcb-shape.so.0",
             "libxcb-xinerama.so.0", "libxcb-xkb.so.1", "libxkbcommon-x11.so.0", "libEGL.so.1",
             "libfontconfig.so.1")

NOT_FOUND = re.compile(r"^\s*(\S+)\s+=>\s+not found", re.MULTILINE)


def platform_in_use(argv: Sequence[str], env: dict[str, str] | os._Environ[str] = os.environ) -> str:
    """The Qt platform plugin that will load: ``-platform``, then $QT_QPA_PLATFORM, then Qt's default."""
    args = list(argv)
    for i, arg in enumerate(args):
        if arg in ("-platform", "--platform") and i + 1 < len(args):
            return args[i + 1].split(":", 1)[0]
        if arg.startswith("-platform="):
            return arg.split("=", 1)[1].split(":", 1)[0]
    chosen = env.get("QT_QPA_PLATFORM", "").split(";", 1)[0].split(":", 1)[0]
    if chosen:
        return chosen
    if env.get("WAYLAND_DISPLAY") and env.get("XDG_SESSION_TYPE") == "wayland":
        return "wayland"
    return "xcb"


def xcb_plugin() -> Path | None:
    """PySide6's xcb platform plugin, found without importing Qt."""
    spec = importlib.util.find_spec("PySide6")
    if spec is None or not spec.submodule_search_locations:
        return None
    for root in spec.submodule_search_locations:
        plugin = Path(root) / "Qt" / "plugins" / "platforms" / "libqxcb.so"
        if plugin.exists():
            return plugin
    return None


def missing_with_ldd(plugin: Path) -> list[str] | None:
    """The libraries the plugin (and what it links) cannot find; None where ldd cannot tell."""
    ldd = shutil.which("ldd")
    if ldd is None:
        return None
    env = dict(os.environ)
    qt_lib = plugin.parents[2] / "lib"
    env["LD_LIBRARY_PATH"] = os.pathsep.join(p for p in (str(qt_lib), env.get("LD_LIBRARY_PATH", "")) if p)
    try:
        out = subprocess.run([ldd, str(plugin)], capture_output=True, text=True, timeout=10,
                             env=env, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return list(dict.fromkeys(NOT_FOUND.findall(out)))


def missing_by_loading(names: Sequence[str] = ESSENTIAL) -> list[str]:
    """Without ldd: try to load each library Qt's xcb plugin needs."""
    missing = []
    for name in names:
        try:
            ctypes.CDLL(name)
        except OSError:
            missing.append(name)
    return missing


def advice(missing: Sequence[str]) -> str:
    """What to tell the user: the missing files and the command that installs them."""
    packages = list(dict.fromkeys(DEBIAN_PACKAGES.get(name, "") for name in missing))
    unknown = [name for name in missing if name not in DEBIAN_PACKAGES]
    lines = ["Sift's window cannot start: Qt needs these system libraries to open a window on X11, "
             "and they are missing:", *(f"  {name}" for name in missing), ""]
    if any(packages):
        lines += ["Install them on Debian or Ubuntu with:",
                  f"  sudo apt install {' '.join(p for p in packages if p)}", ""]
    if unknown:
        lines += ["Your distribution's package manager can tell which packages have the others."]
    lines += ["(Fedora: sudo dnf install xcb-util-cursor xcb-util-wm xcb-util-keysyms "
              "xcb-util-renderutil xcb-util-image libxkbcommon-x11.)",
              "The command line works without them: sift --help"]
    return "\n".join(lines)


def check_window_libraries(argv: Sequence[str],
                           find_missing: Callable[[Path], list[str] | None] = missing_with_ldd,
                           env: dict[str, str] | os._Environ[str] = os.environ) -> str | None:
    """None if the window can start as far as libraries go, else the message to print."""
    if not sys.platform.startswith("linux") or platform_in_use(argv, env) != "xcb":
        return None
    plugin = xcb_plugin()
    if plugin is None:  # a bundle or a build of Qt that places it elsewhere: Qt will say
        return None
    missing = find_missing(plugin)
    if missing is None:
        missing = missing_by_loading()
    return advice(missing) if missing else None
