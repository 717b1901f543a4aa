"""The folder list: each indexed folder with its state and counts, plus add, remove and re-index."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, QSize, Qt, Signal
from PySide6.QtGui import QAction, QFont, QIcon, QPainter, QPalette
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPushButton,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.gui import theme

STATE_ROLE = Qt.ItemDataRole.UserRole + 1

# The words the service uses, as shown to the user, and the style icon that goes with each.
STATE_ICONS = {
    "indexing": QStyle.StandardPixmap.SP_BrowserReload,
    "queued": QStyle.StandardPixmap.SP_FileDialogListView,
    "cancelled": QStyle.StandardPixmap.SP_MessageBoxWarning,
    "incomplete": QStyle.StandardPixmap.SP_MessageBoxWarning,
    "paused": QStyle.StandardPixmap.SP_MediaPause,
    "up to date": QStyle.StandardPixmap.SP_DialogApplyButton,
    "watching": QStyle.StandardPixmap.SP_DialogApplyButton,
    "not watchable": QStyle.StandardPixmap.SP_MessageBoxWarning,
    "unreachable": QStyle.StandardPixmap.SP_MessageBoxWarning,
    "error": QStyle.StandardPixmap.SP_MessageBoxCritical,
}


@dataclass(frozen=True)
class FolderRow:
    """What the panel shows of a folder (the service's FolderState has the same fields)."""

    path: str
    state: str
    files: int = 0
    passages: int = 0
    message: str = ""


def counts_text(files: int, passages: int) -> str:
    f = "1 file" if files == 1 else f"{files:,} files"
    p = "1 passage" if passages == 1 else f"{passages:,} passages"
    return f"{f} · {p}"


class FolderDelegate(QStyledItemDelegate):
    """Two lines per folder: its name and state, then counts (or what went wrong)."""

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> QSize:
        return QSize(60, option.fontMetrics.height() * 2 + 14)  # any width: the list sets it

    def paint(self, painter: QPainter, option: QStyleOptionViewItem,
              index: QModelIndex | QPersistentModelIndex) -> None:
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        row: FolderRow = index.data(STATE_ROLE)
        widget = opt.widget
        style = widget.style() if widget is not None else None
        opt.text = ""
        if style is not None:
            style.drawPrimitive(QStyle.PrimitiveElement.PE_PanelItemViewItem, opt, painter, widget)
        selected = bool(opt.state & QStyle.StateFlag.State_Selected)
        pal = opt.palette
        fg = pal.color(QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text)
        dim = fg if selected else theme.dim_text(pal)
        r = opt.rect.adjusted(8, 5, -8, -5)
        fm = opt.fontMetrics
        line_h = fm.height()
        painter.save()
        # Line 1: the state's icon and the folder's name. Line 2: the state, then counts or a reason.
        icon = _state_icon(row.state, style)
        icon.paint(painter, QRect(r.left(), r.top() + (line_h - 16) // 2, 16, 16))
        x = r.left() + 22
        bold = QFont(opt.font)
        bold.setBold(True)
        painter.setFont(bold)
        painter.setPen(fg)
        name = os.path.basename(row.path.rstrip("/\\")) or row.path
        name = painter.fontMetrics().elidedText(name, Qt.TextElideMode.ElideMiddle, r.right() - x)
        painter.drawText(QRect(x, r.top(), r.right() - x, line_h), Qt.AlignmentFlag.AlignLeft, name)
        painter.setFont(opt.font)
        painter.setPen(dim)
        problem = row.state in ("error", "unreachable", "not watchable", "incomplete") and row.message
        detail = row.message if problem else counts_text(row.files, row.passages)
        second = fm.elidedText(f"{row.state} · {detail}", Qt.TextElideMode.ElideRight, r.right() - x)
        painter.drawText(QRect(x, r.top() + line_h + 2, r.right() - x, line_h),
                         Qt.AlignmentFlag.AlignLeft, second)
        painter.restore()


def _state_icon(state: str, style: QStyle | None) -> QIcon:
    pixmap = STATE_ICONS.get(state)
    if style is None or pixmap is None:
        return QIcon()
    return style.standardIcon(pixmap)


class FoldersPanel(QWidget):
    """The sidebar list of folders. It only asks; the controller does the work off the GUI thread."""

    add_requested = Signal()
    remove_requested = Signal(str)
    reindex_requested = Signal(str)
    reveal_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        title = QLabel("Folders")
        font = title.font()
        font.setBold(True)
        title.setFont(font)
        self.list = QListWidget()
        self.list.setItemDelegate(FolderDelegate(self.list))
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list.setUniformItemSizes(True)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.add_button = QPushButton("Add Folder…")
        # Icon buttons keep the sidebar narrow; the tooltips (and the context menu) name them.
        self.remove_button = QToolButton()
        self.remove_button.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_TrashIcon))
        self.remove_button.setAccessibleName("Remove")
        self.reindex_button = QToolButton()
        self.reindex_button.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_BrowserReload))
        self.reindex_button.setAccessibleName("Re-index")
        self.remove_button.setToolTip("Stop searching this folder and forget its index")
        self.reindex_button.setToolTip("Read every file of this folder again")
        buttons = QHBoxLayout()
        buttons.setSpacing(4)
        buttons.addWidget(self.add_button)
        buttons.addStretch(1)
        buttons.addWidget(self.remove_button)
        buttons.addWidget(self.reindex_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 4, 8)
        layout.addWidget(title)
        layout.addWidget(self.list, 1)
        layout.addLayout(buttons)

        self.add_button.clicked.connect(self.add_requested)
        self.remove_button.clicked.connect(lambda: self._emit_selected(self.remove_requested))
        self.reindex_button.clicked.connect(lambda: self._emit_selected(self.reindex_requested))
        self.list.itemSelectionChanged.connect(self._update_buttons)
        self.list.customContextMenuRequested.connect(self._menu)
        self._update_buttons()

    def set_folders(self, rows: Sequence[Any]) -> None:
        """Show these folders (FolderState or FolderRow), keeping the selection."""
        current = self.selected_folder()
        self.list.clear()
        for row in rows:
            shown = FolderRow(row.path, row.state, row.files, row.passages, getattr(row, "message", ""))
            item = QListWidgetItem()
            item.setData(STATE_ROLE, shown)
            item.setToolTip(shown.path + (f"\n{shown.message}" if shown.message else ""))
            item.setData(Qt.ItemDataRole.AccessibleTextRole,
                         f"{shown.path}, {shown.state}, {counts_text(shown.files, shown.passages)}")
            self.list.addItem(item)
            if shown.path == current:
                item.setSelected(True)
        self._update_buttons()

    def folders(self) -> list[str]:
        return [self.list.item(i).data(STATE_ROLE).path for i in range(self.list.count())]

    def row(self, path: str) -> FolderRow | None:
        for i in range(self.list.count()):
            shown = self.list.item(i).data(STATE_ROLE)
            if shown.path == path:
                return shown
        return None

    def selected_folder(self) -> str | None:
        items = self.list.selectedItems()
        return items[0].data(STATE_ROLE).path if items else None

    def _emit_selected(self, signal: Any) -> None:
        folder = self.selected_folder()
        if folder is not None:
            signal.emit(folder)

    def _update_buttons(self) -> None:
        chosen = self.selected_folder() is not None
        self.remove_button.setEnabled(chosen)
        self.reindex_button.setEnabled(chosen)

    def _menu(self, pos: Any) -> None:
        item = self.list.itemAt(pos)
        if item is None:
            return
        path = item.data(STATE_ROLE).path
        menu = QMenu(self)
        for text, signal in (("Re-index", self.reindex_requested), ("Open Folder", self.reveal_requested),
                             ("Remove", self.remove_requested)):
            action = QAction(text, menu)
            action.triggered.connect(lambda _=False, s=signal: s.emit(path))
            menu.addAction(action)
        menu.exec(self.list.viewport().mapToGlobal(pos))
        menu.deleteLater()  # one menu per right-click: none piles up under the panel
