"""Search results as a two-level model (files, then their passages); result_delegate.py paints them."""

from __future__ import annotations

import os
from typing import Any

from PySide6.QtCore import QAbstractItemModel, QModelIndex, QPersistentModelIndex, Qt

from app.gui.shown_paths import carried, shown

HIT_ROLE = Qt.ItemDataRole.UserRole + 1
PASSAGE_ROLE = Qt.ItemDataRole.UserRole + 2
PATH_ROLE = Qt.ItemDataRole.UserRole + 3
FOLDER_ROLE = Qt.ItemDataRole.UserRole + 4
LOCATION_ROLE = Qt.ItemDataRole.UserRole + 5
SCORE_ROLE = Qt.ItemDataRole.UserRole + 6
KEY_ROLE = Qt.ItemDataRole.UserRole + 7  # which result a row belongs to (see result_key)
NAME_ROLE = Qt.ItemDataRole.UserRole + 8  # the name in bold: the file's, or the attachment's

AnyIndex = QModelIndex | QPersistentModelIndex
SNIPPET_LINES = 3  # a row shows this much; the preview shows the rest


def location_text(passage: Any) -> str:
    """Where the passage is, as a user reads it: 'slide 2 “Numbers”', 'page 3', 'line 12'."""
    if getattr(passage, "location", ""):
        return str(passage.location)
    if passage.page is not None:
        return f"page {passage.page}"
    return f"line {passage.line}"


def result_key(hit: Any) -> str:
    """One result among others: its path, and for an e-mail attachment which part of the mail."""
    part = getattr(hit, "part", "")
    return f"{carried(hit.path)}\0{part}" if part else carried(str(hit.path))


def title_text(hit: Any) -> str:
    """What a result is called: its file name, or 'report.pdf — attached to “Offer” (offer.eml)'."""
    return shown(str(getattr(hit, "title", "") or os.path.basename(hit.path)))


def attached_text(hit: Any) -> str:
    """'attached to “Offer” (offer.eml)' for an e-mail attachment, else ''."""
    if not getattr(hit, "attachment", ""):
        return ""
    return f"attached to “{hit.attached_to}” ({shown(os.path.basename(hit.path))})"


def tooltip_text(hit: Any) -> str:
    if getattr(hit, "attachment", ""):
        return f"{hit.attachment}, attached to “{hit.attached_to}” in {shown(hit.path)}"
    return shown(str(hit.path))


def folder_text(path: str) -> str:
    """The file's folder, with the home folder shortened to ~ (as file managers show it)."""
    folder = shown(os.path.dirname(path))
    home = os.path.expanduser("~")
    if home and home != os.sep and (folder == home or folder.startswith(home + os.sep)):
        return "~" + folder[len(home):]
    return folder


class ResultsModel(QAbstractItemModel):
    """Top-level rows are files (FileHit); each has its passages as children.

    Internal ids: 0 for a file row, file row + 1 for its passages, so parents need no objects.
    """

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.response: Any = None
        self.hits: tuple[Any, ...] = ()

    @property
    def weak(self) -> bool:
        return bool(self.response is not None and self.response.weak)

    def set_response(self, response: Any) -> None:
        self.beginResetModel()
        self.response = response
        self.hits = tuple(response.hits) if response is not None else ()
        self.endResetModel()

    def clear(self) -> None:
        self.set_response(None)

    # -- structure ---------------------------------------------------------------------------
    def index(self, row: int, column: int = 0, parent: AnyIndex = QModelIndex()) -> QModelIndex:  # noqa: B008
        if column != 0 or row < 0:
            return QModelIndex()
        if not parent.isValid():
            return self.createIndex(row, 0, 0) if row < len(self.hits) else QModelIndex()
        if parent.internalId() == 0 and row < len(self.hits[parent.row()].passages):
            return self.createIndex(row, 0, parent.row() + 1)
        return QModelIndex()

    def parent(self, index: AnyIndex = QModelIndex()) -> QModelIndex:  # type: ignore[override]  # noqa: B008
        if not index.isValid() or index.internalId() == 0:
            return QModelIndex()
        return self.createIndex(int(index.internalId()) - 1, 0, 0)

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        if not parent.isValid():
            return len(self.hits)
        if parent.internalId() == 0:
            return len(self.hits[parent.row()].passages)
        return 0

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 1

    def flags(self, index: AnyIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    # -- content -----------------------------------------------------------------------------
    def hit_of(self, index: AnyIndex) -> Any:
        if not index.isValid():
            return None
        file_row = index.row() if index.internalId() == 0 else int(index.internalId()) - 1
        return self.hits[file_row] if file_row < len(self.hits) else None

    def passage_index_of(self, index: AnyIndex) -> int:
        """Which passage of its file a row is (a file row stands for its best passage, 0)."""
        return 0 if not index.isValid() or index.internalId() == 0 else index.row()

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        hit = self.hit_of(index)
        if hit is None:
            return None
        is_file = index.internalId() == 0
        passage = None if is_file else hit.passages[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return title_text(hit) if is_file else passage.text
        if role == Qt.ItemDataRole.ToolTipRole:
            return tooltip_text(hit)
        if role == PATH_ROLE:  # what Qt carries intact; FileActions takes the real path back
            return carried(hit.path)
        if role == KEY_ROLE:
            return result_key(hit)
        if role == HIT_ROLE:
            return hit
        if role == PASSAGE_ROLE:
            return passage
        if role == NAME_ROLE:
            return getattr(hit, "attachment", "") or shown(os.path.basename(hit.path))
        if role == FOLDER_ROLE:
            # An attachment says which mail holds it first, then where that mail lives.
            attached = attached_text(hit)
            return f"{attached}  ·  {folder_text(hit.path)}" if attached else folder_text(hit.path)
        if role == LOCATION_ROLE:
            return location_text(passage) if passage is not None else ""
        if role == SCORE_ROLE:
            return max(0.0, min(1.0, float(hit.score)))
        return None
