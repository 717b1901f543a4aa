"""HTML and XHTML: the text a browser would show, one line per block element."""

from __future__ import annotations

import codecs
import re
from html.parser import HTMLParser
from pathlib import Path

from app.core.errors import SkipFile
from app.core.extract.text import decode_bytes, read_bytes
from app.core.records import Section

_HIDDEN_TAGS = frozenset(("script", "style", "noscript", "template", "head"))
_BLOCKS = frozenset((
    "address", "article", "aside", "blockquote", "body", "caption", "dd", "details", "dialog",
    "div", "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3",
    "h4", "h5", "h6", "header", "hr", "li", "main", "nav", "ol", "p", "pre", "section",
    "summary", "table", "tbody", "tfoot", "thead", "tr", "ul",
))  # fmt: skip
# A private-use character marks real line breaks, so that source newlines inside text (which
# a browser renders as spaces) can be collapsed without losing the breaks we inserted.
_BREAK = "\ue000"
_SPACES = re.compile(r"\s+")
_SNIFF_BYTES = 8 * 1024
_DECLARED = re.compile(
    rb"""(?:<meta[^>]*?charset|<\?xml[^>]*?encoding)\s*=\s*["']?([\w.:-]+)""", re.IGNORECASE
)
_BOMS = (codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


def _declared_encoding(data: bytes) -> str | None:
    """The encoding named by <meta charset> or an XML declaration, if Python knows it."""
    match = _DECLARED.search(data[:_SNIFF_BYTES])
    if match is None:
        return None
    name = match.group(1).decode("ascii")
    try:
        codecs.lookup(name)
    except LookupError:
        return None
    # UTF-16 declared in an 8-bit readable head is a lie that browsers ignore too.
    return None if name.lower().startswith("utf-16") else name


def _decode(data: bytes) -> str:
    """Decode like a browser: BOM first, then the declared charset, then a guess."""
    encoding = _declared_encoding(data)
    if encoding is None or data.startswith(_BOMS) or b"\x00" in data[:_SNIFF_BYTES]:
        return decode_bytes(data)
    return data.decode(encoding, errors="replace")


class _VisibleText(HTMLParser):
    """One pass over the tags, no tree: linear in the input however deep the nesting.

    A tree (BeautifulSoup's) took quadratic time to mark the breaks of deeply nested blocks:
    1M nested <div> (11 MB) never finished (issue 21).
    """

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden: list[str] = []  # open hidden elements, innermost last
        self._pre = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "body" and "head" in self._hidden:  # a head left open ends where the body starts
            del self._hidden[self._hidden.index("head"):]
        if tag in _HIDDEN_TAGS:
            self._hidden.append(tag)
        elif tag == "pre":
            self._pre += 1
        self._mark(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._mark(tag)  # <br/>, <hr/>, or an empty <p/> in XHTML: nothing opens

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN_TAGS:
            if tag in self._hidden:
                depth = len(self._hidden) - 1 - self._hidden[::-1].index(tag)
                del self._hidden[depth:]
            return
        if tag == "pre" and self._pre:
            self._pre -= 1
        if not self._hidden and tag != "br":
            self._mark(tag)

    def _mark(self, tag: str) -> None:
        if self._hidden:
            return
        if tag == "br" or tag in _BLOCKS:
            self.parts.append(_BREAK)
        elif tag in ("td", "th"):
            # Cells of a row share a line; the space keeps "<td>a</td><td>b</td>" from reading "ab".
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data.replace("\n", _BREAK) if self._pre else data)

    def unknown_decl(self, data: str) -> None:
        if data.startswith("CDATA["):  # XHTML's character data reads as text
            self.handle_data(data[6:])


def _tidy(raw: str) -> str:
    """Collapse whitespace like a browser and keep one line per block, without blank lines."""
    lines = (_SPACES.sub(" ", line).strip() for line in raw.split(_BREAK))
    return "\n".join(line for line in lines if line)


def visible_text(data: bytes) -> str:
    """The visible text of an HTML document given as bytes."""
    parser = _VisibleText()
    try:
        parser.feed(_decode(data))
        parser.close()
    except MemoryError:
        raise
    except Exception as exc:  # html.parser is lenient; anything here is a broken file
        raise SkipFile(f"could not read the HTML: {exc}") from exc
    return _tidy("".join(parser.parts))


def extract_html(path: Path, max_bytes: int) -> list[Section]:
    """One Section of visible text; its line numbers are those of the extracted text."""
    text = visible_text(read_bytes(path, max_bytes))
    if not text:
        raise SkipFile("no text found")
    return [Section(text, page=None, first_line=1)]
