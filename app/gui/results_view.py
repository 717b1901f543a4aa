"""The results list: files with their passages under them, always expanded, with keyboard actions.

Ctrl+L (a context-menu entry too) asks for the files most like the selected one.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from PySide6.QtCore import QEvent, QItemSelectionModel, QModelIndex, QPoint, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QContextMenuEvent, QHelpEvent, QKeyEvent, QKeySequence, QResizeEvent
from PySide6.QtWidgets import QAbstractItemView, QMenu, QToolTip, QTreeView, QWidget

from app.gui.result_delegate import IconCache, ResultDelegate
from app.gui.results_model import KEY_ROLE, PASSAGE_ROLE, PATH_ROLE, ResultsModel, result_key
from app.gui.richtext import MEANING_TIP

SIMILAR_KEY = QKeySequence("Ctrl+L")  # "like": the files most like the selected one


class ResultsView(QTreeView):
    """Enter opens, Ctrl+Enter (Cmd+Enter on macOS) reveals, Ctrl+C copies the path, Esc clears,
    Ctrl+L finds more like it."""

    open_requested = Signal(object)  # the FileHit: an e-mail attachment opens itself, not its mail
    reveal_requested = Signal(str)
    copy_requested = Signal(str)
    escape_pressed = Signal()
    current_moved = Signal(object, int)  # FileHit, passage index (None when nothing is selected)
    similar_requested = Signal(object)  # the FileHit whose neighbours in meaning are wanted

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.results = ResultsModel(self)
        self.setModel(self.results)
        self.delegate = ResultDelegate(self, IconCache())
        self.setItemDelegate(self.delegate)
        self.setHeaderHidden(True)
        self.setRootIsDecorated(False)
        self.setIndentation(0)
        self.setItemsExpandable(False)
        self.setUniformRowHeights(False)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setAllColumnsShowFocus(True)
        self.setAccessibleName("Results")
        self.setObjectName("results")
        # Rich-text rows wrap to the width: lay them out again once a resize settles.
        self._relayout = QTimer(self)
        self._relayout.setSingleShot(True)
        self._relayout.setInterval(60)
        self._relayout.timeout.connect(self._layout_again)
        self.selectionModel().currentChanged.connect(self._current_changed)

    def set_response(self, response: Any, keep: str | None = None) -> None:
        """Show an answer with the first file selected, or the result ``keep`` (a result_key)."""
        self.delegate.clear_cache()
        self.results.set_response(response)
        self.expandAll()
        if self.results.rowCount() == 0:
            self.current_moved.emit(None, 0)
            return
        rows = [self.results.index(r, 0) for r in range(self.results.rowCount())]
        kept = [i for i in rows if keep is not None and i.data(KEY_ROLE) == keep]
        self.select(kept[0] if kept else rows[0])

    def clear(self) -> None:
        self.set_response(None)

    def drop_path(self, path: str) -> bool:
        """Take a file out of the results (it no longer exists); the next one is selected.

        Its e-mail attachments (results at the same path) go with it."""
        response = self.results.response
        if response is None:
            return False
        paths = [h.path for h in response.hits]
        if path not in paths:
            return False
        at = paths.index(path)
        rest = tuple(h for h in response.hits if h.path != path)
        keep = result_key(rest[min(at, len(rest) - 1)]) if rest else None
        self.set_response(replace(response, hits=rest), keep=keep)
        return True

    def select(self, index: QModelIndex) -> None:
        if index.isValid():
            self.selectionModel().setCurrentIndex(
                index, QItemSelectionModel.SelectionFlag.ClearAndSelect)
            self.scrollTo(index)

    def select_passage(self, hit: Any, passage: int) -> None:
        """Follow the preview's next/previous to the matching row."""
        for row in range(self.results.rowCount()):
            file_index = self.results.index(row, 0)
            if self.results.hit_of(file_index) is hit:
                child = self.results.index(passage, 0, file_index)
                if child.isValid() and child != self.currentIndex():
                    self.select(child)
                return

    def move(self, rows: int) -> None:
        """Move the selection by ``rows`` visible rows (from the search box)."""
        index = self.currentIndex()
        if not index.isValid():
            self.select(self.results.index(0, 0))
            return
        for _ in range(abs(rows)):
            step = self.indexBelow(index) if rows > 0 else self.indexAbove(index)
            if not step.isValid():
                break
            index = step
        self.select(index)

    def current_path(self) -> str | None:
        index = self.currentIndex()
        return index.data(PATH_ROLE) if index.isValid() else None

    def current_hit(self) -> Any:
        return self.results.hit_of(self.currentIndex())

    def current_key(self) -> str | None:
        index = self.currentIndex()
        return index.data(KEY_ROLE) if index.isValid() else None

    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        hit = self.results.hit_of(current)
        self.current_moved.emit(hit, self.results.passage_index_of(current))

    def keyPressEvent(self, event: QKeyEvent) -> None:
        path = self.current_path()
        key = event.key()
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and path:
            if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
                self.reveal_requested.emit(path)
            else:
                self.open_requested.emit(self.current_hit())
        elif _is(event, SIMILAR_KEY) and path:
            self.similar_requested.emit(self.current_hit())
        elif event.matches(QKeySequence.StandardKey.Copy) and path:
            self.copy_requested.emit(path)
        elif key == Qt.Key.Key_Escape:
            self.escape_pressed.emit()
        else:
            super().keyPressEvent(event)
            return
        event.accept()

    def context_menu(self, index: QModelIndex) -> QMenu | None:
        """What a right click on a result offers: open, reveal, copy, and more like this."""
        hit = self.results.hit_of(index)
        if hit is None:
            return None
        menu = QMenu(self)
        entries = (("&Open", lambda: self.open_requested.emit(hit), QKeySequence("Return")),
                   ("Show in &Folder", lambda: self.reveal_requested.emit(hit.path),
                    QKeySequence("Ctrl+Return")),
                   ("&Copy Path", lambda: self.copy_requested.emit(hit.path),
                    QKeySequence(QKeySequence.StandardKey.Copy)),
                   ("More &Like This", lambda: self.similar_requested.emit(hit), SIMILAR_KEY))
        for i, (text, slot, keys) in enumerate(entries):
            if i == len(entries) - 1:
                menu.addSeparator()
            action = QAction(text, menu)
            action.setShortcut(keys)  # shown as a hint: the keys themselves are handled above
            action.triggered.connect(slot)
            menu.addAction(action)
        return menu

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        index = self.indexAt(event.pos())
        if index.isValid():
            self.select(index)
        menu = self.context_menu(index)
        if menu is None:
            super().contextMenuEvent(event)
            return
        menu.exec(event.globalPos())
        menu.deleteLater()

    def viewportEvent(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip and isinstance(event, QHelpEvent):
            tip = self.tooltip_at(event.pos())
            if tip:
                QToolTip.showText(event.globalPos(), tip, self.viewport())
                return True
        return super().viewportEvent(event)

    def tooltip_at(self, pos: QPoint) -> str:
        """Why a passage row is underlined: its sentence matched by meaning."""
        passage = self.indexAt(pos).data(PASSAGE_ROLE)
        return MEANING_TIP if passage is not None and getattr(passage, "meaning", ()) else ""

    def mouseDoubleClickEvent(self, event: Any) -> None:
        path = self.current_path()
        if path and self.indexAt(event.position().toPoint()).isValid():
            self.open_requested.emit(self.current_hit())
            event.accept()
            return
        super().mouseDoubleClickEvent(event)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if event.size().width() != event.oldSize().width():
            self._relayout.start()

    def _layout_again(self) -> None:
        self.delegate.clear_cache()
        self.doItemsLayout()


def _is(event: QKeyEvent, keys: QKeySequence) -> bool:
    combo = event.keyCombination().toCombined()
    return keys.count() == 1 and keys[0].toCombined() == combo
