"""The results column: a hint before searching, the grouped results, or an honest "nothing found"."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QLabel, QSizePolicy, QStackedWidget, QVBoxLayout, QWidget

from app.gui import theme
from app.gui.empty_state import MessagePage
from app.gui.results_view import ResultsView

WEAK_SHOWN = 3  # "closest" files shown under a no-good-match message

HINT = ("Type a question or a few words. Put \"quotes\" around words that must appear. "
        "Up and Down move, Enter opens, Ctrl+Enter shows the file in its folder, Esc clears.")


INDEXING_BANNER = "Indexing — results may be incomplete until every file is read."


def while_indexing_text(query: str, p: Any) -> tuple[str, str]:
    """Nothing found while indexing runs: how far it got, instead of a flat "Nothing found"."""
    total = p.words_total or p.files_total
    done = p.words_done if p.words_total else p.files_done
    if total and done >= total and p.meaning_total:
        return (f"Nothing found for “{query}” yet",
                f"Every file can be found by its words; matching by meaning is ready for "
                f"{p.meaning_done:,} of {p.meaning_total:,} files so far. Try again in a moment.")
    so_far = f"only {done:,} of {total:,} files are read so far" if total else "few files are read yet"
    title = "Indexing has barely started" if not total or done * 2 < total else "Indexing is still under way"
    return (title, f"Nothing for “{query}” yet: {so_far}. Answers appear as files are read; "
                   "try again in a moment.")

MIN_WIDTH = 340


class ResultsArea(QStackedWidget):
    """Pages: 0 the hint, 1 the results (with a no-good-match banner when weak), 2 nothing found,
    3 searching."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        # The results are what a user came for: at the smallest window they keep a readable
        # column, wider than the preview beside them (whose buttons set its own minimum).
        self.setMinimumWidth(MIN_WIDTH)
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
        # While the first pass runs, answers come from part of the files: say so above them.
        self.indexing_banner = QLabel(INDEXING_BANNER)
        self.indexing_banner.setTextFormat(Qt.TextFormat.PlainText)
        self.indexing_banner.setWordWrap(True)
        self.indexing_banner.setContentsMargins(6, 4, 6, 4)
        self.indexing_banner.setObjectName("indexingBanner")
        self.indexing_banner.setAutoFillBackground(True)
        self.indexing_banner.setBackgroundRole(QPalette.ColorRole.AlternateBase)
        self.indexing_banner.hide()
        page = QWidget()
        col = QVBoxLayout(page)
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(2)
        col.addWidget(self.indexing_banner)
        col.addWidget(self.header)
        col.addWidget(self.weak_banner)
        col.addWidget(self.view, 1)
        self.hint_page = MessagePage("Ask in your own words", HINT)
        self.nothing_page = MessagePage("Nothing found")
        self.searching_page = MessagePage("Searching…")
        for widget in (self.hint_page, page, self.nothing_page, self.searching_page):
            self.addWidget(widget)
        self.indexing: Any = None  # the latest Progress while the first pass runs, else None

    @property
    def results_page(self) -> QWidget:
        return self.widget(1)

    def clear(self) -> None:
        self.view.clear()
        self.setCurrentIndex(0)

    def set_indexing(self, progress: Any) -> None:
        """Indexing runs (a Progress) or is over (None): answers may be incomplete meanwhile."""
        self.indexing = progress
        self.indexing_banner.setVisible(progress is not None)

    def show_searching(self, query: str) -> None:
        """A query is running: never the hint meanwhile, and shown results say they are old."""
        if self.currentWidget() is self.results_page and self.view.results.rowCount():
            self.header.setText(f"Searching for “{query}”…")
            return
        self.searching_page.set_text("Searching…", f"Looking for “{query}”.")
        self.setCurrentWidget(self.searching_page)

    def show_response(self, response: Any, narrowed: bool, keep: str | None = None) -> None:
        if not response.hits:
            where = " with these filters" if narrowed else ""
            title, detail = (f"Nothing found for “{response.query}”{where}",
                             "Try other words, fewer quoted phrases, or wider filters.")
            if self.indexing is not None:
                title, detail = while_indexing_text(response.query, self.indexing)
            self.nothing_page.set_text(title, detail)
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
        parts = [label, f"{n} file{'s' if n != 1 else ''}", f"{response.elapsed_ms:.0f} ms"]
        if not getattr(response, "semantic", True):
            parts.append("by words only: matching by meaning starts once the model is loaded")
        missing = getattr(response, "unmatched_phrases", ())
        if missing:
            parts.append("no file holds " + ", ".join(f"“{p}”" for p in missing))
        self.header.setText("  ·  ".join(parts))
        self.setCurrentIndex(1)
        self.view.set_response(response, keep=keep)
