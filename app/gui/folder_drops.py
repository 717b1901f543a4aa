"""Folders dropped on the window: accepted while dragged over it, added when dropped; files refused."""

from __future__ import annotations

import os
from typing import Any

from PySide6.QtCore import QMimeData
from PySide6.QtGui import QDragEnterEvent, QDropEvent


def dropped_folders(mime: QMimeData) -> list[str]:
    """The local folders in a drag (files are ignored: Sift indexes folders)."""
    if not mime.hasUrls():
        return []
    paths = [u.toLocalFile() for u in mime.urls() if u.isLocalFile()]
    return [os.path.normpath(p) for p in paths if p and os.path.isdir(p)]


class FolderDrops:
    """The main window's drag and drop (a mixin of MainWindow, which provides the attributes below)."""

    status: Any
    messages: Any
    add_folders: Any  # MainWindow's: queue the folders and show them

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        folders = dropped_folders(event.mimeData())
        if folders:
            event.acceptProposedAction()
            n = len(folders)
            self.status.showMessage(f"Drop to search {'this folder' if n == 1 else f'these {n} folders'}")

    def dragLeaveEvent(self, event: Any) -> None:
        self.status.clearMessage()

    def dragMoveEvent(self, event: Any) -> None:
        if dropped_folders(event.mimeData()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        if self.handle_drop(event.mimeData()):
            event.acceptProposedAction()

    def handle_drop(self, mime: QMimeData) -> bool:
        self.status.clearMessage()
        folders = dropped_folders(mime)
        if folders:
            self.add_folders(folders)
        elif mime.hasUrls():
            self.messages.warning("Drop folders to search them; single files are not added.")
        return bool(folders)
