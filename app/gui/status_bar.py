"""The status bar: index size, model and backend, reranking and why not, messages and skipped files."""

from __future__ import annotations

import os
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QStatusBar, QStyle, QToolButton, QWidget

from app.gui.messages import ERROR, WARNING

ERROR_SECONDS = 20
INFO_MS = 6000


def model_label(name: str) -> str:
    """A model id as people say it: the last part of a hub id or of a folder path."""
    return os.path.basename(name.rstrip("/\\")) or name


class ElidedLabel(QLabel):
    """A one-line label that never widens the window: long text is cut with an ellipsis."""

    clicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._full = ""
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setMinimumWidth(40)

    def setText(self, text: str) -> None:
        self._full = text
        self.setToolTip(text)
        self._elide()

    def full_text(self) -> str:
        return self._full

    def mouseReleaseEvent(self, event: Any) -> None:
        super().mouseReleaseEvent(event)
        self.clicked.emit()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        super().setText(self.fontMetrics().elidedText(self._full, Qt.TextElideMode.ElideRight,
                                                      max(0, self.width())))


class StatusBar(QStatusBar):
    """Permanent facts on the right, the latest message (or error) on the left."""

    skipped_clicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.error_box = QWidget()
        icon = QLabel()
        icon.setPixmap(self.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning).pixmap(16, 16))
        self.error_text = ElidedLabel()
        self.error_text.setCursor(Qt.CursorShape.PointingHandCursor)
        self.error_text.clicked.connect(self.show_error_details)
        box = QHBoxLayout(self.error_box)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(icon)
        box.addWidget(self.error_text, 1)
        self.addWidget(self.error_box, 1)
        self.error_box.hide()
        self._error_timer = QTimer(self)
        self._error_timer.setSingleShot(True)
        self._error_timer.timeout.connect(self.clear_error)

        self.size_label = QLabel()
        self.model_label = QLabel("Loading the model…")
        self.rerank_label = QLabel()
        for label in (self.size_label, self.model_label, self.rerank_label):
            label.setTextFormat(Qt.TextFormat.PlainText)
        self.skipped_button = QToolButton()
        self.skipped_button.setAutoRaise(True)
        self.skipped_button.setToolTip("Files that could not be read, and why")
        self.skipped_button.clicked.connect(self.skipped_clicked)
        self.skipped_button.hide()
        for w in (self.size_label, self.skipped_button, self.model_label, self.rerank_label):
            self.addPermanentWidget(w)

    # -- messages ------------------------------------------------------------------------
    def show_message(self, level: str, text: str) -> None:
        if level in (ERROR, WARNING):
            self.clearMessage()  # a temporary message would hide the error
            self.error_text.setText(text)
            self.error_text.setToolTip(text + "\n\n(click for the whole message)")
            self.error_box.show()
            self._error_timer.start(ERROR_SECONDS * 1000)
        else:
            self.showMessage(text, INFO_MS)

    def show_error_details(self) -> None:
        """The whole message (the bar shows what fits): the hint is often at its end."""
        text = self.error_text.full_text()
        if text:
            from PySide6.QtWidgets import QMessageBox

            box = QMessageBox(QMessageBox.Icon.Warning, "Sift", text, QMessageBox.StandardButton.Close,
                              self.window())
            box.setTextFormat(Qt.TextFormat.PlainText)
            box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)  # Qt owns it; nothing keeps it
            box.open()

    def clear_error(self) -> None:
        self.error_box.hide()
        self.error_text.setText("")

    @property
    def error(self) -> str:
        return self.error_text.full_text() if self.error_box.isVisibleTo(self) else ""

    # -- facts ---------------------------------------------------------------------------
    def set_stats(self, stats: Any) -> None:
        self.size_label.setText(f"{stats.files:,} files · {stats.chunks:,} passages")
        self.size_label.setToolTip(f"Index in {stats.data_dir}")
        self.skipped_button.setText(f"{stats.skipped:,} skipped")
        self.skipped_button.setVisible(stats.skipped > 0)

    def set_model_loading(self, name: str) -> None:
        self.model_label.setText(f"Loading {model_label(name)}…")

    def set_model_checking(self, text: str) -> None:
        """The one-time backend check runs: the label says it briefly, its tip says all of it."""
        self.model_label.setText("Choosing the backend (once)…")
        self.model_label.setToolTip(text)

    def set_model(self, info: Any) -> None:
        self.model_label.setText(f"{model_label(info.name)} · {info.backend}")
        self.model_label.setToolTip(
            f"Embedding model: {info.name}\nFrom: {info.origin}\nRuns on: {info.backend} ({info.reason})\n"
            f"{info.dim} dimensions, up to {info.max_tokens} tokens a passage; "
            f"loaded in {info.load_seconds:.1f} s")

    def set_model_failed(self, text: str) -> None:
        self.model_label.setText("No model")
        self.model_label.setToolTip(text)

    def set_rerank(self, on: bool, note: str = "") -> None:
        """``note`` says why reranking is off (the core's SearchResponse.rerank_note)."""
        self.rerank_label.setText("Reranking on" if on else "Reranking off")
        self.rerank_label.setToolTip(
            "The best results are re-scored by a cross-encoder." if on else (note or "Reranking is off."))
