"""Handing files to the platform: open with the default app, show in the file manager, copy the path."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable

from PySide6.QtCore import QMimeData, QUrl
from PySide6.QtGui import QDesktopServices, QGuiApplication

from app.gui.shown_paths import actual, file_url, is_exact_text, shown, terminal_text

log = logging.getLogger(__name__)

# xdg-open hands the file to its application and returns; an opener still running after this
# long is the application itself (some desktops run it in the foreground): it worked.
OPENER_WAIT_S = 10.0

Failed = Callable[[str], None]  # called with a sentence for the window, from any thread


def open_path(path: str, failed: Failed) -> None:
    """Open a file (or folder) with the application the desktop associates with it."""
    path = actual(path)
    if _xdg_open() is not None:
        _run_opener(path, f"Could not open {shown(path)}", failed)
    elif not QDesktopServices.openUrl(QUrl.fromLocalFile(path)):
        failed(f"Could not open {shown(path)}: no application is set up for it.")


def reveal_path(path: str, failed: Failed) -> None:
    """Show the file in its folder, selected where the platform's file manager allows it."""
    path = actual(path)
    doing = f"Could not show {shown(path)} in its folder"
    try:
        if sys.platform == "win32":
            # explorer wants "/select," and the path as one argument; it returns 1 even on success.
            subprocess.Popen(["explorer", f"/select,{os.path.normpath(path)}"])
            return
        if sys.platform == "darwin":
            subprocess.Popen(["open", "-R", path])
            return
    except OSError as exc:
        log.warning("could not show %s in its folder: %s", shown(path), exc)
        failed(f"{doing}: {exc.strerror or exc}.")
        return
    # Linux and the rest: no portable way to select a file, so open its folder.
    folder = path if os.path.isdir(path) else os.path.dirname(path)
    if _xdg_open() is not None:
        _run_opener(folder, doing, failed)
    elif not QDesktopServices.openUrl(QUrl.fromLocalFile(folder)):
        failed(f"{doing}: no file manager is set up.")


def _xdg_open() -> str | None:
    """The desktop's opener where Qt would use it (Linux and BSDs); None elsewhere."""
    if sys.platform in ("win32", "darwin"):
        return None
    return shutil.which("xdg-open")


def _run_opener(path: str, doing: str, failed: Failed) -> None:
    """xdg-open the path's exact bytes and tell the window if it fails (Qt's own call only logs
    the opener's error on the terminal, and drops the bytes of a name that is not UTF-8)."""
    opener = _xdg_open()
    if opener is None:
        failed(f"{doing}: no opener (xdg-open) is installed.")
        return
    # A file, not a pipe: an opener that talks a lot never blocks; the watcher thread closes it.
    errors = tempfile.TemporaryFile()  # noqa: SIM115
    try:
        proc = subprocess.Popen([os.fsencode(opener), os.fsencode(path)], stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=errors, start_new_session=True)
    except OSError as exc:
        errors.close()
        failed(f"{doing}: {exc.strerror or exc}.")
        return

    def watch() -> None:
        with errors:
            try:
                code = proc.wait(OPENER_WAIT_S)
            except subprocess.TimeoutExpired:
                proc.wait()  # the application runs in the opener's place: reap it when it ends
                return
            if code != 0:
                errors.seek(0)
                said = errors.read().decode("utf-8", "replace").strip().splitlines()
                reason = said[-1].strip() if said else "no application is set up for it"
                log.warning("%s: xdg-open exited with %s: %s", doing, code, reason)
                failed(f"{doing}: {_plain(reason)}")

    threading.Thread(target=watch, name="sift-opener", daemon=True).start()


def _plain(reason: str) -> str:
    """xdg-open's last word, as a sentence ('xdg-open: no method available for opening …')."""
    reason = reason.removeprefix("xdg-open:").strip() or "the opener failed"
    return reason[0].upper() + reason[1:] + ("" if reason.endswith(".") else ".")


def copy_path(path: str) -> str:
    """Put the path on the clipboard exactly; returns the text a user will paste."""
    path = actual(path)
    if is_exact_text(path):
        QGuiApplication.clipboard().setText(path)
        return path
    # Plain text cannot hold bytes that are not UTF-8: the text is the shell's exact spelling of
    # them, and file managers and file dialogs get the file's URL, which carries the bytes.
    text = terminal_text(path)
    mime = QMimeData()
    mime.setText(text)
    mime.setData("text/uri-list", file_url(path) + b"\r\n")
    QGuiApplication.clipboard().setMimeData(mime)
    return text


def reveal_label() -> str:
    """What 'show in folder' is called on this platform."""
    if sys.platform == "darwin":
        return "Show in Finder"
    if sys.platform == "win32":
        return "Show in Explorer"
    return "Show in Folder"
