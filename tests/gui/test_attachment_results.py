"""An e-mail attachment in the window: its own row, named for it and its mail; Open opens the attachment."""

from __future__ import annotations

import os
import stat
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QDesktopServices

from app.gui import desktop
from app.gui.results_model import FOLDER_ROLE, HIT_ROLE, NAME_ROLE
from tests.gui.test_window import TIMEOUT, _drop, _indexed, _search
from tests.pdf_samples import pdf_bytes

ROOF = "The roofer quotes slate tiles and copper gutters for the north side."


def write_offer(folder: Path) -> Path:
    message = EmailMessage()
    message["Subject"] = "Offer for the roof"
    message["From"] = "Ann Lee <ann@example.org>"
    message.set_content("Hello, please find our offer attached.")
    message.add_attachment(pdf_bytes(["Cover page", ROOF]), maintype="application",
                           subtype="pdf", filename="report.pdf")
    path = folder / "2024-03 offer.eml"
    path.write_bytes(bytes(message))
    return path


def test_an_attachment_row_opens_a_private_copy_and_reveals_its_mail(
        qtbot: Any, window: Any, tmp_path: Path, monkeypatch: Any) -> None:
    opened: list[str] = []
    revealed: list[str] = []
    monkeypatch.setattr(QDesktopServices, "openUrl",
                        staticmethod(lambda url: opened.append(url.toLocalFile()) or True))
    monkeypatch.setattr(desktop, "reveal_path", lambda path, _failed: revealed.append(path))
    folder = tmp_path / "mail"
    folder.mkdir()
    mail = write_offer(folder)
    _drop(window, folder)
    _indexed(qtbot, window, folder, 1)  # one file on disk; its attachment is a result of its own
    model = _search(qtbot, window, '"copper gutters"')
    assert model.rowCount() == 1
    row = model.index(0, 0)
    assert row.data(Qt.ItemDataRole.DisplayRole) == \
        "report.pdf — attached to “Offer for the roof” (2024-03 offer.eml)"
    assert row.data(HIT_ROLE).path == str(mail)
    # Painted: the attachment's name in bold, then which mail holds it and where that lives.
    assert row.data(NAME_ROLE) == "report.pdf"
    assert row.data(FOLDER_ROLE).startswith("attached to “Offer for the roof” (2024-03 offer.eml)")
    assert model.index(0, 0, row).data(Qt.ItemDataRole.DisplayRole)  # its passage, page 2
    assert not window.results_view.grab().isNull()
    qtbot.waitUntil(lambda: "copper" in window.preview.text.toPlainText(), timeout=TIMEOUT)
    assert window.preview.title.full_text() == "report.pdf"
    assert window.preview.where.full_text() == \
        "attached to “Offer for the roof” (2024-03 offer.eml)  ·  page 2"
    # Enter opens the attachment itself: a copy only this user can read, under the data folder.
    qtbot.keyClick(window.search_box, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: len(opened) == 1, timeout=TIMEOUT)
    copy = Path(opened[0])
    data_dir = window.controller.current_library.paths.data_dir
    assert copy.name == "report.pdf" and copy.is_relative_to(data_dir)
    assert copy.read_bytes() == pdf_bytes(["Cover page", ROOF])
    assert stat.S_IMODE(copy.stat().st_mode) == 0o600
    assert stat.S_IMODE(copy.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(copy.parent.parent.stat().st_mode) == 0o700
    # Show in folder shows the mail file.
    qtbot.keyClick(window.search_box, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert revealed == [str(mail)]
    # A mail deleted since: the attachment result goes with it, with a message in words.
    os.unlink(mail)
    window.results_view.setFocus()
    qtbot.keyClick(window.results_view, Qt.Key.Key_Return)
    assert window.results_view.results.rowCount() == 0
    assert "no longer exists" in window.status.error
    assert len(opened) == 1
