"""The first-run page and the other full-pane messages (type a question, no good match, loading)."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSizePolicy, QVBoxLayout, QWidget

from app.gui import theme


class MessagePage(QWidget):
    """A centred icon, title, explanation and optional button."""

    action = Signal()

    def __init__(self, title: str, detail: str = "", button: str = "", icon: QIcon | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.icon = QLabel()
        self.icon.setAlignment(Qt.AlignmentFlag.AlignCenter)
        if icon is not None and not icon.isNull():
            self.icon.setPixmap(icon.pixmap(QSize(72, 72)))
        else:
            self.icon.hide()
        self.title = QLabel(title)
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        self.title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.title.setWordWrap(True)
        font = self.title.font()
        font.setPointSizeF(font.pointSizeF() * 1.45)
        self.title.setFont(font)
        self.detail = QLabel(detail)
        self.detail.setTextFormat(Qt.TextFormat.PlainText)
        self.detail.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.detail.setWordWrap(True)
        theme.secondary(self.detail)
        # Wrap at a readable width when there is room, narrower when the window is small.
        self.detail.setMaximumWidth(540)
        self.detail.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Minimum)
        self.detail.setMinimumWidth(160)
        self.button = QPushButton(button)
        self.button.setVisible(bool(button))
        self.button.setDefault(True)
        self.button.clicked.connect(self.action)
        layout = QVBoxLayout(self)
        layout.addStretch(2)
        layout.addWidget(self.icon)
        layout.addSpacing(12)
        layout.addWidget(self.title)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.detail, 100)
        row.addStretch(1)
        layout.addLayout(row)
        layout.addSpacing(16)
        layout.addWidget(self.button, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addStretch(3)

    def set_text(self, title: str, detail: str = "") -> None:
        self.title.setText(title)
        self.detail.setText(detail)


def first_run_page(icon: QIcon) -> MessagePage:
    return MessagePage(
        "Drop folders here to search them by meaning",
        "Sift reads the documents, notes, PDFs and code in the folders you choose, and finds "
        "passages by what they mean, not only by their words. Everything stays on this computer.",
        "Add Folder…",
        icon,
    )
