"""HTML and XHTML: the text a browser would show, one line per block element."""

from __future__ import annotations

import codecs
import re
import warnings
from pathlib import Path

from bs4 import (
    BeautifulSoup,
    MarkupResemblesLocatorWarning,
    NavigableString,
    Tag,
    XMLParsedAsHTMLWarning,
)

from app.core.errors import SkipFile
from app.core.extract.text import decode_bytes, read_bytes
from app.core.records import Section

_HIDDEN_TAGS = ("script", "style", "noscript", "template", "head")
_BLOCK_TAGS = (
    "address", "article", "aside", "blockquote", "body", "caption", "dd", "details", "dialog",
    "div", "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3",
    "h4", "h5", "h6", "header", "hr", "li", "main", "nav", "ol", "p", "pre", "section",
    "summary", "table", "tbody", "tfoot", "thead", "tr", "ul",
)  # fmt: skip
# A private-use character marks real line breaks, so that source newlines inside text (which
# a browser renders as spaces) can be collapsed without losing the breaks we inserted.
_BREAK = "\ue000"
_SPACES = re.compile(r"\s+")
_SNIFF_BYTES = 8 * 1024
_DECLARED = re.compile(
    rb"""(?:<meta[^>]*?charset|<\?xml[^>]*?encoding)\s*=\s*["']?([\w.:-]+)""", re.IGNORECASE
)
_BOMS = (codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)

# Both are advice for programmers ("this looks like a filename", "this is XML"); for files
# that merely have an .html name they are noise.
warnings.filterwarnings("ignore", category=MarkupResemblesLocatorWarning)
warnings.filterwarnings("ignore", category=XMLParsedAsHTMLWarning)


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


def _parse(text: str) -> BeautifulSoup:
    try:
        return BeautifulSoup(text, "html.parser")
    except Exception as exc:  # html.parser is lenient; anything here is a broken file
        raise SkipFile(f"could not read the HTML: {exc}") from exc


def _mark_breaks(soup: BeautifulSoup) -> None:
    for pre in soup.find_all("pre"):
        for string in list(pre.find_all(string=True)):
            string.replace_with(NavigableString(string.replace("\n", _BREAK)))
    for br in soup.find_all("br"):
        br.replace_with(NavigableString(_BREAK))
    for cell in soup.find_all(("td", "th")):
        # Cells of a row share a line; the space keeps "<td>a</td><td>b</td>" from reading "ab".
        if isinstance(cell, Tag):
            cell.append(NavigableString(" "))
    for block in soup.find_all(_BLOCK_TAGS):
        if isinstance(block, Tag):
            block.insert_before(NavigableString(_BREAK))
            block.append(NavigableString(_BREAK))


def _tidy(raw: str) -> str:
    """Collapse whitespace like a browser and keep one line per block, without blank lines."""
    lines = (_SPACES.sub(" ", line).strip() for line in raw.split(_BREAK))
    return "\n".join(line for line in lines if line)


def visible_text(data: bytes) -> str:
    """The visible text of an HTML document given as bytes."""
    soup = _parse(_decode(data))
    for tag in soup.find_all(_HIDDEN_TAGS):
        tag.decompose()
    _mark_breaks(soup)
    return _tidy(soup.get_text())


def extract_html(path: Path, max_bytes: int) -> list[Section]:
    """One Section of visible text; its line numbers are those of the extracted text."""
    text = visible_text(read_bytes(path, max_bytes))
    if not text:
        raise SkipFile("no text found")
    return [Section(text, page=None, first_line=1)]
