"""The preview pane: the selected passage in its surrounding text, matches marked, with next/previous."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTextBrowser,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.gui import desktop, theme
from app.gui.richtext import context_html, plain_message_html, snippet_html
from app.gui.shown_paths import carried, shown
from app.gui.status_bar import ElidedLabel
from app.gui.workers import TaskRunner

Span = tuple[int, int]


@dataclass(frozen=True)
class PreviewContext:
    """A passage with its neighbours, as one text; ``region`` is the passage inside it."""

    text: str
    region: Span
    spans: tuple[Span, ...]
    before_gap: bool
    after_gap: bool


def build_context(rows: Sequence[Any], chunk_id: int, query: str,
                  neighbours: int = 1) -> PreviewContext | None:
    """Join a chunk with its neighbours of the same section (chunks overlap: use their offsets)."""
    pos = next((i for i, r in enumerate(rows) if r.id == chunk_id), None)
    if pos is None:
        return None
    cur = rows[pos]
    same = [r for r in rows if r.section == cur.section and r.page == cur.page]
    at = same.index(cur)
    window = sorted(same[max(0, at - neighbours):at + neighbours + 1], key=lambda r: r.char_start)
    base = window[0].char_start
    text, end = window[0].text, window[0].char_end
    for r in window[1:]:
        if r.char_start >= end:  # a gap of white space between chunks, not stored
            text += ("\n" if r.char_start - end > 1 else " ") + r.text
        else:
            text += r.text[end - r.char_start:]
        end = max(end, r.char_end)
    # Offsets in ``text`` drift by the gaps we shortened; locate the passage by its own text.
    start = text.find(cur.text, max(0, cur.char_start - base - 2 * len(window)))
    if start < 0:
        start = text.find(cur.text)
    region = (start, start + len(cur.text)) if start >= 0 else (0, len(text))
    from app.core.search.query import parse_query
    from app.core.search.snippets import highlight_spans

    spans = tuple(highlight_spans(text, parse_query(query))) if query else ()
    return PreviewContext(text=text, region=region, spans=spans,
                          before_gap=window[0] is not same[0], after_gap=window[-1] is not same[-1])


def keeps_lines(path: str) -> bool:
    """Whether a file's line breaks mean something (code, data) or are just wrapping (prose)."""
    from app.core.extract import kind_of

    return kind_of(Path(path)) not in ("text", "markdown", "pdf", "docx", "html") or \
        Path(path).suffix.lower() in (".csv", ".tsv", ".json", ".yaml", ".yml", ".toml", ".ini", ".xml")


def load_context(catalog_file: Path, chunk_id: int, query: str) -> PreviewContext | None:
    """Read a chunk's neighbours through a private read-only connection (any thread)."""
    from app.core.storage.catalog import Catalog

    if not catalog_file.exists():
        return None
    cat = Catalog(catalog_file, readonly=True)
    try:
        row = cat.chunk_rows([chunk_id]).get(chunk_id)
        if row is None:  # re-indexed since the search ran
            return None
        return build_context(cat.chunks_of_file(row.file_id), chunk_id, query)
    finally:
        cat.close()


class PreviewPane(QWidget):
    """Shows one passage of one result; Open and Show-in-folder act on its file."""

    open_requested = Signal(object)  # the FileHit shown (an attachment opens itself)
    reveal_requested = Signal(str)
    passage_changed = Signal(int)  # next/previous moved to another passage of the same file

    def __init__(self, runner: TaskRunner, context_source: Callable[[int, str], PreviewContext | None],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._runner = runner
        self._source = context_source
        self._hit: Any = None
        self._index = 0
        self._query = ""
        self._token = 0
        self._context: PreviewContext | None = None

        self.title = ElidedLabel()  # plain text: file names are data, never markup
        font = self.title.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.1)
        self.title.setFont(font)
        self.where = ElidedLabel()
        self.open_button = QPushButton("Open")
        self.open_button.setToolTip("Open the file (Enter)")
        self.reveal_button = QPushButton(desktop.reveal_label())
        self.reveal_button.setToolTip("Show the file in its folder (Ctrl+Enter)")
        self.text = QTextBrowser()
        self.text.setOpenLinks(False)
        self.text.setObjectName("previewText")
        self.prev_button = QToolButton()
        self.prev_button.setArrowType(Qt.ArrowType.UpArrow)
        self.prev_button.setToolTip("Previous match in this file")
        self.next_button = QToolButton()
        self.next_button.setArrowType(Qt.ArrowType.DownArrow)
        self.next_button.setToolTip("Next match in this file")
        self.counter = QLabel()

        head = QHBoxLayout()
        names = QVBoxLayout()
        names.setSpacing(2)
        names.addWidget(self.title)
        names.addWidget(self.where)
        head.addLayout(names, 1)
        head.addWidget(self.open_button)
        head.addWidget(self.reveal_button)
        foot = QHBoxLayout()
        foot.addWidget(self.counter, 1)
        foot.addWidget(self.prev_button)
        foot.addWidget(self.next_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addLayout(head)
        layout.addWidget(self.text, 1)
        layout.addLayout(foot)

        self.open_button.clicked.connect(lambda: self._hit and self.open_requested.emit(self._hit))
        self.reveal_button.clicked.connect(
            lambda: self._hit and self.reveal_requested.emit(carried(self._hit.path)))
        self.prev_button.clicked.connect(lambda: self.step(-1))
        self.next_button.clicked.connect(lambda: self.step(1))
        self.clear()

    @property
    def hit(self) -> Any:
        return self._hit

    @property
    def passage_index(self) -> int:
        return self._index

    def clear(self, message: str = "Select a result to see why it matched.") -> None:
        self._hit = None
        self._context = None
        self._token += 1
        self.title.setText("")
        self.where.setText("")
        self.text.setHtml(plain_message_html("", message))
        for w in (self.open_button, self.reveal_button, self.prev_button, self.next_button):
            w.setEnabled(False)
        self.counter.setText("")

    def show_passage(self, hit: Any, index: int, query: str) -> None:
        if not hit.passages:
            return
        if hit is self._hit and index == self._index and query == self._query:
            return  # the list followed the pane's own next/previous
        self._hit, self._query = hit, query
        self._index = max(0, min(index, len(hit.passages) - 1))
        passage = hit.passages[self._index]
        from app.gui.results_model import attached_text, folder_text, location_text, tooltip_text

        # An attachment: its own name, then which mail holds it (the mail's folder in the tip).
        self.title.setText(getattr(hit, "attachment", "") or shown(os.path.basename(hit.path)))
        self.title.setToolTip(tooltip_text(hit))
        self.where.setText(f"{attached_text(hit) or folder_text(hit.path)}  ·  {location_text(passage)}")
        self.where.setToolTip(tooltip_text(hit))
        n = len(hit.passages)
        self.counter.setText(f"Match {self._index + 1} of {n} in this file")
        self.prev_button.setEnabled(self._index > 0)
        self.next_button.setEnabled(self._index < n - 1)
        self.open_button.setEnabled(True)
        self.reveal_button.setEnabled(True)
        # The snippet shows at once; the fuller context replaces it when read from the catalog.
        self._context = None
        self.text.setHtml(snippet_html(passage.text, passage.highlights,
                                       theme.mark_style(self.palette()), passage.meaning))
        self._token += 1
        token, chunk_id = self._token, passage.chunk_id
        self._runner.run(lambda: self._source(chunk_id, query),
                         lambda ctx: self._context_ready(token, ctx), lambda exc: None)

    def step(self, delta: int) -> None:
        if self._hit is None:
            return
        target = self._index + delta
        if 0 <= target < len(self._hit.passages):
            self.show_passage(self._hit, target, self._query)
            self.passage_changed.emit(target)

    def _context_ready(self, token: int, ctx: PreviewContext | None) -> None:
        if token != self._token or ctx is None:  # another passage was chosen meanwhile
            return
        self._context = ctx
        self._render()

    def _render(self) -> None:
        ctx = self._context
        if ctx is None:
            return
        keep_lines = self._hit is not None and keeps_lines(
            getattr(self._hit, "attachment", "") or self._hit.path)
        self.text.setHtml(context_html(ctx.text, ctx.region, ctx.spans, theme.mark_style(self.palette()),
                                       before_gap=ctx.before_gap, after_gap=ctx.after_gap,
                                       keep_lines=keep_lines, meaning=self._meaning_in(ctx)))
        self.text.scrollToAnchor("match")

    def _meaning_in(self, ctx: PreviewContext) -> tuple[int, int] | None:
        """Where the snippet's meaning mark lies in the fuller context (its words, any spacing)."""
        if self._hit is None or not 0 <= self._index < len(self._hit.passages):
            return None
        passage = self._hit.passages[self._index]
        if not getattr(passage, "meaning", ()):
            return None
        a, b = passage.meaning[0]
        words = passage.text[a:b].strip("…").split()
        if not words:
            return None
        found = re.compile(r"\s+".join(map(re.escape, words))).search(ctx.text, *ctx.region)
        return found.span() if found else None

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.PaletteChange and self._context is not None:
            self._render()  # the marks are derived from the palette: light ↔ dark
        super().changeEvent(event)
