"""Handing files to the platform: open with the default app, show in the file manager, copy the path."""

from __future__ import annotations

import logging
import os
import subprocess
import sys

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices, QGuiApplication

log = logging.getLogger(__name__)


def open_path(path: str) -> bool:
    """Open a file (or folder) with the application the desktop associates with it."""
    return bool(QDesktopServices.openUrl(QUrl.fromLocalFile(path)))


def reveal_path(path: str) -> bool:
    """Show the file in its folder, selected where the platform's file manager allows it."""
    try:
        if sys.platform == "win32":
            # explorer wants "/select," and the path as one argument; it returns 1 even on success.
            subprocess.Popen(["explorer", f"/select,{os.path.normpath(path)}"])
            return True
        if sys.platform == "darwin":
            subprocess.Popen(["open", "-R", path])
            return True
    except OSError as exc:
        log.warning("could not show %s in its folder: %s", path, exc)
        return False
    # Linux and the rest: no portable way to select a file, so open its folder.
    folder = path if os.path.isdir(path) else os.path.dirname(path)
    return bool(QDesktopServices.openUrl(QUrl.fromLocalFile(folder)))


def copy_path(path: str) -> None:
    QGuiApplication.clipboard().setText(path)


def reveal_label() -> str:
    """What 'show in folder' is called on this platform."""
    if sys.platform == "darwin":
        return "Show in Finder"
    if sys.platform == "win32":
        return "Show in Explorer"
    return "Show in Folder"
