"""OpenDocument text (.odt) and presentations (.odp), read from content.xml with a safe lxml parser."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from app.core.errors import SkipFile
from app.core.extract.ziplimits import open_package, read_member
from app.core.records import Section

MAX_PARAGRAPHS = 300_000
_LABEL_CHARS = 60

_NS = {
    "text": "urn:oasis:names:tc:opendocument:xmlns:text:1.0",
    "draw": "urn:oasis:names:tc:opendocument:xmlns:drawing:1.0",
    "office": "urn:oasis:names:tc:opendocument:xmlns:office:1.0",
    "presentation": "urn:oasis:names:tc:opendocument:xmlns:presentation:1.0",
    "manifest": "urn:oasis:names:tc:opendocument:xmlns:manifest:1.0",
}
_P, _H = f"{{{_NS['text']}}}p", f"{{{_NS['text']}}}h"
_SPACE, _TAB, _BREAK = (f"{{{_NS['text']}}}{n}" for n in ("s", "tab", "line-break"))
_PAGE = f"{{{_NS['draw']}}}page"


def safe_parser() -> Any:
    """An lxml parser that never resolves entities nor reaches the network (no XML bombs)."""
    from lxml import etree

    return etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False,
                           remove_comments=True, remove_pis=True)


def read_content(path: Path, max_bytes: int, what: str,
                 cap: tuple[tuple[bytes, ...], int, str]) -> bytes:
    """content.xml of a checked, unencrypted OpenDocument package."""
    zf, _data = open_package(path, max_bytes, what, element_caps={"content.xml": cap})
    try:
        try:
            manifest = read_member(zf, "META-INF/manifest.xml")
        except KeyError:
            manifest = b""
        if b"encryption-data" in manifest:
            raise SkipFile(f"the {what} is password-protected (encrypted)")
        try:
            return read_member(zf, "content.xml")
        except KeyError as exc:
            raise SkipFile(f"not a valid {what} (no content.xml)") from exc
    finally:
        zf.close()


def _text(element: Any) -> str:
    """A paragraph's text with ODF's spaces, tabs and breaks, without nested paragraphs."""
    parts = [element.text or ""]
    for child in element:
        tag = child.tag
        if tag == _SPACE:
            parts.append(" " * int(child.get(f"{{{_NS['text']}}}c", "1") or 1))
        elif tag in (_TAB, _BREAK):
            parts.append(" ")
        elif tag not in (_P, _H):
            parts.append(_text(child))
        parts.append(child.tail or "")
    return "".join(parts)


def _paragraphs(root: Any) -> Iterator[tuple[str, bool]]:
    """(text, is heading) for every paragraph and heading in document order."""
    for element in root.iter(_P, _H):
        text = " ".join(_text(element).split())
        if text:
            yield text, element.tag == _H


def _short(text: str) -> str:
    return text if len(text) <= _LABEL_CHARS else text[: _LABEL_CHARS - 1] + "…"


def _odt_sections(body: Any) -> list[Section]:
    sections: list[Section] = []
    lines: list[str] = []
    label, first = "", 1
    for number, (text, heading) in enumerate(_paragraphs(body), start=1):
        if heading and lines:
            sections.append(Section("\n".join(lines), first_line=first, label=label, unit="paragraph"))
            lines = []
        if heading or not lines:
            first = number
        if heading:
            label = f"“{_short(text)}”"
        lines.append(text)
    if lines:
        sections.append(Section("\n".join(lines), first_line=first, label=label, unit="paragraph"))
    return sections


def _slide_title(page: Any) -> str:
    for frame in page.iter(f"{{{_NS['draw']}}}frame"):
        if frame.get(f"{{{_NS['presentation']}}}class") == "title":
            return " ".join(text for text, _ in _paragraphs(frame))
    return ""


def _odp_sections(body: Any) -> list[Section]:
    sections = []
    for number, page in enumerate(body.iter(_PAGE), start=1):
        title = _short(_slide_title(page))
        label = f"slide {number} “{title}”" if title else f"slide {number}"
        text = "\n".join(text for text, _ in _paragraphs(page))
        sections.append(Section(text, page=number, label=label, unit=""))
    return sections


def extract_odf(kind: str, path: Path, max_bytes: int) -> list[Section]:
    """.odt: Sections by heading, lines are paragraphs; .odp: one Section per slide."""
    from lxml import etree

    what = "OpenDocument text" if kind == "odt" else "OpenDocument presentation"
    content = read_content(path, max_bytes, what,
                           ((b"<text:p>", b"<text:p ", b"<text:h "), MAX_PARAGRAPHS, "paragraphs"))
    try:
        root = etree.fromstring(content, safe_parser())
    except etree.XMLSyntaxError as exc:
        raise SkipFile(f"the {what} is damaged: {exc}") from exc
    body = root.find(f"{{{_NS['office']}}}body")
    if body is None:
        raise SkipFile(f"not a valid {what} (no document body)")
    sections = _odt_sections(body) if kind == "odt" else _odp_sections(body)
    if not any(s.text.strip() for s in sections):
        raise SkipFile("no text found")
    return sections
