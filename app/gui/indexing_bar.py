"""The indexing strip: files done of total, the current file, rate and time left; pause, resume, cancel."""

from __future__ import annotations

import os
import time
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
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


def stages_text(p: Any) -> str:
    """'words: 200/200 files · meaning: 35/200' once the core reports its two stages, else ''."""
    if not (p.words_total or p.meaning_total):
        return ""
    return (f"words: {p.words_done:,}/{p.words_total:,} files · "
            f"meaning: {p.meaning_done:,}/{p.meaning_total:,}")


def progress_text(p: Any, eta_s: float | None = None) -> tuple[str, str]:
    """The two lines of the strip for a core Progress: what is happening, and how fast.

    ``eta_s`` is the time left as counted down since the progress arrived (default: its own).
    """
    if p.phase == "scanning":
        return (p.message or "Looking for files…"), ""
    if p.phase in ("indexing", "embedding", "model"):
        stages = stages_text(p)
        if p.phase == "model":
            head = f"Re-embedding for the new model: {p.files_done:,} of {p.files_total:,} files"
        elif stages:
            head = f"Indexing  ·  {stages}"
        else:
            head = f"Indexing {p.files_done:,} of {p.files_total:,} files"
        detail = []
        current = os.path.basename(p.current) if p.current else ""
        if current:
            detail.append(current)
        if p.rate and not stages:
            detail.append(f"{p.rate:.1f} files/s" if p.rate < 10 else f"{p.rate:.0f} files/s")
        eta = duration_text(p.eta_s if eta_s is None else eta_s)
        if eta:
            stage = getattr(p, "stage", "")
            detail.append(f"{stage}: {eta}" if stage in ("words", "meaning") else eta)
        return head, "  ·  ".join(detail)
    return (p.message or p.phase.capitalize()), ""


class IndexingBar(QFrame):
    """Visible while the service works; hidden when it is idle. Paused is shown as such."""

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
        for label in (self.headline, self.detail):  # a long notice wraps, it never widens the window
            label.setWordWrap(True)
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
        self._progress: Any = None
        self._progress_at = 0.0
        # The time left counts down between progress reports (a large file sends none for a while).
        self._tick = QTimer(self)
        self._tick.setInterval(1000)
        self._tick.timeout.connect(self._render)
        self.hide()

    @property
    def paused(self) -> bool:
        return self.pause_button.isChecked()

    def _toggled(self, paused: bool) -> None:
        self.pause_button.setText("Resume" if paused else "Pause")
        self._render()
        self.pause_toggled.emit(paused)

    def set_paused(self, paused: bool) -> None:
        """Reflect the service's state without asking it again."""
        self.pause_button.blockSignals(True)
        self.pause_button.setChecked(paused)
        self.pause_button.setText("Resume" if paused else "Pause")
        self.pause_button.blockSignals(False)
        self._render()

    def show_busy(self, text: str, controls: bool = False) -> None:
        """An activity without a count (loading the model, scanning)."""
        self._progress = None
        self._tick.stop()
        self.headline.setText(text)
        self.detail.setText("")
        self.bar.setRange(0, 0)
        self.pause_button.setVisible(controls)
        self.cancel_button.setVisible(controls)
        self.show()

    def show_progress(self, p: Any) -> None:
        self._progress, self._progress_at = p, time.monotonic()
        if p.files_total > 0:
            self.bar.setRange(0, p.files_total)
            self.bar.setValue(min(p.files_done, p.files_total))
        else:
            self.bar.setRange(0, 0)
        self.pause_button.setVisible(True)
        self.cancel_button.setVisible(True)
        self._render()
        if not self._tick.isActive():
            self._tick.start()
        self.show()

    def _render(self) -> None:
        p = self._progress
        if p is None:
            return
        if self.paused:
            stages = stages_text(p)
            done = stages or f"{p.files_done:,} of {p.files_total:,} files"
            self.headline.setText(f"Paused  ·  {done}")
            self.detail.setText("Indexing waits until you resume; searching works meanwhile.")
            return
        eta = None
        if p.eta_s is not None:
            eta = max(0.0, p.eta_s - (time.monotonic() - self._progress_at))
        head, detail = progress_text(p, eta)
        self.headline.setText(head)
        self.detail.setText(detail)

    def finish(self) -> None:
        """Nothing to show. A pause stays: it belongs to the service, not to one job."""
        self._progress = None
        self._tick.stop()
        self.hide()
