"""The results column: a hint before searching, the grouped results, or an honest "nothing found"."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QSizePolicy, QStackedWidget, QVBoxLayout, QWidget

from app.gui import theme
from app.gui.empty_state import MessagePage
from app.gui.results_view import ResultsView

WEAK_SHOWN = 3  # "closest" files shown under a no-good-match message

HINT = ("Type a question or a few words. Put \"quotes\" around words that must appear. "
        "Up and Down move, Enter opens, Ctrl+Enter shows the file in its folder, Esc clears.")


class ResultsArea(QStackedWidget):
    """Pages: 0 the hint, 1 the results (with a no-good-match banner when weak), 2 nothing found."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.view = ResultsView()
        self.header = QLabel()
        self.header.setTextFormat(Qt.TextFormat.PlainText)
        self.header.setContentsMargins(4, 2, 4, 2)
        theme.secondary(self.header)
        self.weak_banner = MessagePage("No good match")
        self.weak_banner.layout().setContentsMargins(8, 4, 8, 8)
        font = self.weak_banner.title.font()
        font.setPointSizeF(font.pointSizeF() / 1.45 * 1.2)  # a heading over results, not a page title
        self.weak_banner.title.setFont(font)
        self.weak_banner.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        self.weak_banner.hide()
        page = QWidget()
        col = QVBoxLayout(page)
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(2)
        col.addWidget(self.header)
        col.addWidget(self.weak_banner)
        col.addWidget(self.view, 1)
        self.hint_page = MessagePage("Ask in your own words", HINT)
        self.nothing_page = MessagePage("Nothing found")
        for widget in (self.hint_page, page, self.nothing_page):
            self.addWidget(widget)

    def clear(self) -> None:
        self.view.clear()
        self.setCurrentIndex(0)

    def show_response(self, response: Any, narrowed: bool, keep: str | None = None) -> None:
        if not response.hits:
            where = " with these filters" if narrowed else ""
            self.nothing_page.set_text(f"Nothing found for “{response.query}”{where}",
                                       "Try other words, fewer quoted phrases, or wider filters.")
            self.view.clear()
            self.setCurrentWidget(self.nothing_page)
            return
        if response.weak:
            # A page of weak neighbours would look like answers: say so, and show only a few, dimmed.
            response = replace(response, hits=response.hits[:WEAK_SHOWN])
            self.weak_banner.set_text(f"No good match for “{response.query}”",
                                      "Nothing indexed seems to be about this. The closest passages "
                                      "are below, dimmed.")
        self.weak_banner.setVisible(response.weak)
        n = len(response.hits)
        label = "Closest" if response.weak else "Best matches"
        self.header.setText(f"{label}  ·  {n} file{'s' if n != 1 else ''}  ·  {response.elapsed_ms:.0f} ms")
        self.setCurrentIndex(1)
        self.view.set_response(response, keep=keep)
