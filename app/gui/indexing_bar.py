"""The indexing strip: files done of total, the current file, rate and time left; pause, resume, cancel."""

from __future__ import annotations

import os
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

from app.gui import theme


def duration_text(seconds: float | None) -> str:
    """'about 3 min left' style wording; precise seconds would only flicker."""
    if seconds is None or seconds != seconds:  # unknown or NaN
        return ""
    if seconds < 5:
        return "a few seconds left"
    if seconds < 60:
        return f"about {int(round(seconds / 5) * 5)} s left"
    if seconds < 3600:
        return f"about {round(seconds / 60)} min left"
    return f"about {seconds / 3600:.1f} h left"


def progress_text(p: Any) -> tuple[str, str]:
    """The two lines of the strip for a core Progress: what is happening, and how fast."""
    if p.phase == "scanning":
        return (p.message or "Looking for files…"), ""
    if p.phase in ("indexing", "embedding", "model"):
        head = f"Indexing {p.files_done:,} of {p.files_total:,} files"
        if p.phase == "model":
            head = f"Re-embedding for the new model: {p.files_done:,} of {p.files_total:,} files"
        current = os.path.basename(p.current) if p.current else ""
        if current:
            head += f"  ·  {current}"
        detail = []
        if p.rate:
            detail.append(f"{p.rate:.1f} files/s" if p.rate < 10 else f"{p.rate:.0f} files/s")
        eta = duration_text(p.eta_s)
        if eta:
            detail.append(eta)
        return head, "  ·  ".join(detail)
    return (p.message or p.phase.capitalize()), ""


class IndexingBar(QFrame):
    """Visible while the service works; hidden when it is idle."""

    pause_toggled = Signal(bool)   # True: pause
    cancel_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("indexingBar")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.headline = QLabel()
        self.headline.setTextFormat(Qt.TextFormat.PlainText)
        self.detail = QLabel()
        self.detail.setTextFormat(Qt.TextFormat.PlainText)
        theme.secondary(self.detail)
        self.bar = QProgressBar()
        self.bar.setTextVisible(False)
        self.bar.setMaximumHeight(8)
        self.pause_button = QPushButton("Pause")
        self.pause_button.setCheckable(True)
        self.cancel_button = QPushButton("Cancel")
        texts = QVBoxLayout()
        texts.setSpacing(2)
        texts.addWidget(self.headline)
        texts.addWidget(self.bar)
        texts.addWidget(self.detail)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 6)
        layout.addLayout(texts, 1)
        layout.addWidget(self.pause_button)
        layout.addWidget(self.cancel_button)
        self.pause_button.toggled.connect(self._toggled)
        self.cancel_button.clicked.connect(self.cancel_requested)
        self.hide()

    def _toggled(self, paused: bool) -> None:
        self.pause_button.setText("Resume" if paused else "Pause")
        self.pause_toggled.emit(paused)

    def set_paused(self, paused: bool) -> None:
        """Reflect the service's state without asking it again."""
        self.pause_button.blockSignals(True)
        self.pause_button.setChecked(paused)
        self.pause_button.setText("Resume" if paused else "Pause")
        self.pause_button.blockSignals(False)

    def show_busy(self, text: str, controls: bool = False) -> None:
        """An activity without a count (loading the model, scanning)."""
        self.headline.setText(text)
        self.detail.setText("")
        self.bar.setRange(0, 0)
        self.pause_button.setVisible(controls)
        self.cancel_button.setVisible(controls)
        self.show()

    def show_progress(self, p: Any) -> None:
        head, detail = progress_text(p)
        if self.pause_button.isChecked():
            detail = "Paused" + (f"  ·  {detail}" if detail else "")
        self.headline.setText(head)
        self.detail.setText(detail)
        if p.files_total > 0:
            self.bar.setRange(0, p.files_total)
            self.bar.setValue(min(p.files_done, p.files_total))
        else:
            self.bar.setRange(0, 0)
        self.pause_button.setVisible(True)
        self.cancel_button.setVisible(True)
        self.show()

    def finish(self) -> None:
        self.set_paused(False)
        self.hide()
