"""The search field: keys for moving through results, opening, revealing and clearing without leaving it."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent, QKeySequence
from PySide6.QtWidgets import QLineEdit, QWidget


class SearchBox(QLineEdit):
    """A line edit that hands navigation keys to the results (Spotlight-style).

    Up/Down move through the results while typing continues; Enter runs the search at once, or opens
    the selected result when its answer is already on screen; Ctrl+Enter reveals; Esc clears.
    """

    navigate = Signal(int)          # rows to move: -1, +1, or a page
    submitted = Signal(bool)        # True with Ctrl (Cmd on macOS): show in folder
    escape_pressed = Signal()
    copy_requested = Signal()       # Ctrl+C with no text selected: copy the result's path

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setPlaceholderText("Ask a question or type words, e.g. when does the lease end?")
        self.setClearButtonEnabled(True)
        self.setObjectName("searchBox")
        self.setAccessibleName("Search")
        # The one control that matters most: a little larger than the platform's default field.
        font = self.font()
        font.setPointSizeF(font.pointSizeF() * 1.2)
        self.setFont(font)
        self.setTextMargins(4, 3, 4, 3)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        ctrl = bool(event.modifiers() & Qt.KeyboardModifier.ControlModifier)
        if key in (Qt.Key.Key_Up, Qt.Key.Key_Down):
            self.navigate.emit(-1 if key == Qt.Key.Key_Up else 1)
        elif key in (Qt.Key.Key_PageUp, Qt.Key.Key_PageDown):
            self.navigate.emit(-10 if key == Qt.Key.Key_PageUp else 10)
        elif key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.submitted.emit(ctrl)
        elif key == Qt.Key.Key_Escape:
            self.escape_pressed.emit()
        elif event.matches(QKeySequence.StandardKey.Copy) and not self.hasSelectedText():
            self.copy_requested.emit()
        else:
            super().keyPressEvent(event)
            return
        event.accept()
