"""Narrowing a search: folder, file type and modification date, as plain values for core Filters."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QWidget

from app.gui import theme

DAY = 86400.0
PERIODS = (("Any time", None), ("Past day", DAY), ("Past week", 7 * DAY), ("Past month", 31 * DAY),
           ("Past year", 366 * DAY))


def type_choices() -> list[tuple[str, tuple[str, ...]]]:
    """The type filter's entries, (label, extensions), from the one list of kinds Sift reads."""
    from app.core.extract.kinds import GROUPS, extensions_by_group

    exts = extensions_by_group()
    return [(label, exts[key]) for key, label in GROUPS if key in exts]


class FiltersBar(QWidget):
    """Three combo boxes; ``changed`` fires when any of them does."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.folder = QComboBox()
        self.folder.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.folder.setMinimumContentsLength(10)
        self.folder.addItem("All folders", None)
        self.kind = QComboBox()
        self.kind.addItem("All types", ())
        for label, exts in type_choices():
            self.kind.addItem(label, exts)
            self.kind.setItemData(self.kind.count() - 1, " ".join(exts), Qt.ItemDataRole.ToolTipRole)
        self.period = QComboBox()
        for label, seconds in PERIODS:
            self.period.addItem(label, seconds)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        for text, box in (("In", self.folder), ("Type", self.kind), ("Modified", self.period)):
            label = QLabel(text)
            label.setBuddy(box)
            theme.secondary(label)
            layout.addWidget(label)
            layout.addWidget(box)
            layout.addSpacing(6)
            box.currentIndexChanged.connect(self.changed)
        layout.addStretch(1)

    def set_folders(self, folders: Sequence[str]) -> None:
        """Offer these folders, keeping the current choice while it still exists."""
        current = self.folder.currentData()
        self.folder.blockSignals(True)
        self.folder.clear()
        self.folder.addItem("All folders", None)
        for f in folders:
            self.folder.addItem(os.path.basename(f.rstrip("/\\")) or f, f)
            self.folder.setItemData(self.folder.count() - 1, f, Qt.ItemDataRole.ToolTipRole)
        idx = self.folder.findData(current) if current else 0
        self.folder.setCurrentIndex(max(0, idx))
        self.folder.blockSignals(False)
        if current and idx < 0:
            self.changed.emit()  # the chosen folder was removed: the narrowing changed

    def values(self, now: float | None = None) -> dict[str, Any]:
        """Keyword arguments for ``app.core.search.searcher.Filters`` (built on the search thread)."""
        seconds = self.period.currentData()
        return {
            "folder": self.folder.currentData(),
            "types": tuple(self.kind.currentData() or ()),
            "modified_after": (now or time.time()) - seconds if seconds else None,
        }

    @property
    def active(self) -> bool:
        v = self.values()
        return bool(v["folder"] or v["types"] or v["modified_after"])

    def reset(self) -> None:
        for box in (self.folder, self.kind, self.period):
            box.setCurrentIndex(0)
