"""Qt's own files (window state, the file dialog's history) kept in Sift's data folder, user-only."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from PySide6.QtCore import QSettings

WINDOW_STATE = "window.ini"
# QFileDialog saves its history with QSettings(UserScope, "QtProject") whatever we do; with the
# user scope's path pointed at the data folder, that file lands there instead of ~/.config.
QT_DIALOG_STATE = "QtProject.conf"


def keep_qt_files_in(folder: Path) -> None:
    """Point every user-scope QSettings of this process at ``folder`` (before any is created)."""
    for fmt in (QSettings.Format.NativeFormat, QSettings.Format.IniFormat):
        QSettings.setPath(fmt, QSettings.Scope.UserScope, str(folder))
    for name in (WINDOW_STATE, QT_DIALOG_STATE):
        make_private_file(folder / name)


def make_private_file(path: Path) -> None:
    """Create ``path`` empty and user-only if missing, else make it user-only.

    Qt writes settings through QSaveFile, which keeps the mode of the file it replaces: a file
    made private first stays private after every later save.
    """
    with contextlib.suppress(OSError):  # FAT and some shares have no modes; not worth failing
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.close(fd)
        os.chmod(path, 0o600)


def window_state(folder: Path) -> QSettings:
    """The window's geometry and splitters, beside Sift's settings (a --data-dir copy is portable)."""
    path = folder / WINDOW_STATE
    make_private_file(path)
    return QSettings(str(path), QSettings.Format.IniFormat)


def tidy(folder: Path) -> None:
    """After Qt's last write: every file Qt may have written there is user-only."""
    for name in (WINDOW_STATE, QT_DIALOG_STATE):
        path = folder / name
        if path.exists():
            make_private_file(path)
