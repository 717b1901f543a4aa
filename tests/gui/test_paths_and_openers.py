"""Names that are not UTF-8 are shown with their bytes visible and copied exactly; a failing opener
says so in the window."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import unquote_to_bytes

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication

from app.gui import desktop

TIMEOUT = 30_000
NAME = b"latin1-\xe9t\xe9.txt"  # Latin-1 bytes: not UTF-8

posix_only = pytest.mark.skipif(sys.platform in ("win32", "darwin"),
                                reason="names are bytes, and xdg-open the opener, on Linux and BSDs")


def _odd_file(folder: Path) -> bytes:
    raw = os.fsencode(folder) + b"/" + NAME
    try:
        with open(raw, "wb") as f:
            f.write(b"The lighthouse keeper wrote a note about the harbour.\n")
    except OSError as exc:
        pytest.skip(f"this file system refuses names that are not UTF-8 ({exc})")
    return raw


@posix_only
def test_a_name_that_is_not_utf8_is_shown_with_its_bytes_and_copied_and_opened_exactly(
        qtbot: Any, window: Any, tmp_path: Path, monkeypatch: Any) -> None:
    folder = tmp_path / "odd"
    folder.mkdir()
    raw = _odd_file(folder)
    opened: list[bytes] = []
    monkeypatch.setattr(desktop, "open_path", lambda path, _failed: opened.append(os.fsencode(path)))
    window.add_folders([str(folder)])
    window.search_box.setText("lighthouse keeper harbour")
    qtbot.waitUntil(lambda: window.results_view.results.rowCount() == 1, timeout=TIMEOUT)
    row = window.results_view.results.index(0, 0)
    assert row.data(Qt.ItemDataRole.DisplayRole) == "latin1-\\xe9t\\xe9.txt"  # not "latin1-t.txt"
    qtbot.waitUntil(lambda: window.preview.title.full_text() == "latin1-\\xe9t\\xe9.txt", timeout=TIMEOUT)
    # Copy path: a terminal pastes the exact bytes, a file manager gets the file's exact URL.
    view = window.results_view
    view.setFocus()
    qtbot.keyClick(view, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    mime = QGuiApplication.clipboard().mimeData()
    shell = shutil.which("bash") or shutil.which("zsh")
    if shell is None:
        pytest.skip("no shell that reads $'…' quoting (bash, zsh) to paste into")
    pasted = subprocess.run([shell, "-c", f"printf %s {mime.text()}"], capture_output=True, check=True)
    assert pasted.stdout == raw
    url = bytes(mime.data("text/uri-list")).strip()
    assert unquote_to_bytes(url.removeprefix(b"file://")) == raw
    assert window.status.currentMessage().startswith("Copied $'")
    qtbot.keyClick(view, Qt.Key.Key_Return)
    assert opened == [raw]  # the file that exists, not a path without its odd bytes


def _fake_opener(tmp_path: Path) -> str:
    script = tmp_path / "xdg-open"
    script.write_text("#!/bin/sh\necho \"xdg-open: no method available for opening '$1'\" >&2\nexit 3\n",
                      encoding="utf-8")
    script.chmod(0o755)
    return str(script)


@posix_only
def test_a_failing_opener_says_so_in_the_window(qtbot: Any, make_window: Any, tmp_path: Path,
                                                monkeypatch: Any) -> None:
    window = make_window(engine=False)
    opener = _fake_opener(tmp_path)
    monkeypatch.setattr(desktop, "_xdg_open", lambda: opener)
    target = tmp_path / "plan.odg"
    target.write_text("a drawing", encoding="utf-8")
    window.open_path(str(target))
    qtbot.waitUntil(lambda: window.status.error.startswith("Could not open"), timeout=TIMEOUT)
    assert "plan.odg" in window.status.error and "No method available" in window.status.error
    window.status.clear_error()
    window.reveal_path(str(target))
    qtbot.waitUntil(lambda: window.status.error.startswith(f"Could not show {target} in its folder"),
                    timeout=TIMEOUT)
