"""The skipped-files dialog: every file that could not be read, and why."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.gui import desktop
from app.gui.shown_paths import carried, shown, terminal_text


class SkippedDialog(QDialog):
    """A filterable list; double-click shows the file in its folder."""

    reveal_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Skipped Files")
        self.resize(760, 420)
        self.summary = QLabel("Reading the list…")
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Filter by name or reason")
        self.filter.setClearButtonEnabled(True)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["File", "Why it was skipped", "Folder"])
        self.tree.setRootIsDecorated(False)
        self.tree.setUniformRowHeights(True)
        self.tree.setSortingEnabled(True)
        self.tree.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        header = self.tree.header()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setStretchLastSection(False)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.copy_button = QPushButton("Copy List")
        self.reveal_button = QPushButton(desktop.reveal_label())
        buttons.addButton(self.copy_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.reveal_button, QDialogButtonBox.ButtonRole.ActionRole)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.filter)
        layout.addWidget(self.tree, 1)
        layout.addWidget(buttons)
        buttons.rejected.connect(self.reject)
        self.copy_button.clicked.connect(self.copy_list)
        self.reveal_button.clicked.connect(self._reveal_current)
        self.filter.textChanged.connect(self._apply_filter)
        self.tree.itemDoubleClicked.connect(lambda item, _col: self.reveal_requested.emit(item.toolTip(0)))
        self._files: list[Any] = []

    def set_files(self, files: Sequence[Any]) -> None:
        self._files = list(files)
        self.tree.setSortingEnabled(False)
        self.tree.clear()
        for f in self._files:
            item = QTreeWidgetItem([shown(os.path.basename(f.path)), f.reason or "unknown reason",
                                    shown(os.path.dirname(f.path))])
            item.setToolTip(0, shown(f.path))
            item.setData(0, Qt.ItemDataRole.UserRole, carried(f.path))  # the path, for Show in Folder
            item.setToolTip(1, f.reason)
            self.tree.addTopLevelItem(item)
        self.tree.setSortingEnabled(True)
        n = len(self._files)
        self.summary.setText("Every file was read." if n == 0 else
                             f"{n:,} file{'s' if n != 1 else ''} could not be read. "
                             "They are left out of the search until they change.")
        self._apply_filter(self.filter.text())

    def _apply_filter(self, text: str) -> None:
        needle = text.strip().lower()
        for i in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(i)
            hay = f"{item.toolTip(0)} {item.text(1)}".lower()
            item.setHidden(bool(needle) and needle not in hay)

    def copy_list(self) -> None:
        lines = [f"{terminal_text(f.path)}\t{f.reason}" for f in self._files]
        QGuiApplication.clipboard().setText("\n".join(lines))

    def _reveal_current(self) -> None:
        item = self.tree.currentItem()
        if item is not None:
            self.reveal_requested.emit(item.data(0, Qt.ItemDataRole.UserRole))
