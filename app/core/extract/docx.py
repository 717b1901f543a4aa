"""DOCX: paragraphs and table rows in document order with python-docx, one Section per heading."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from app.core.errors import SkipFile
from app.core.extract.ziplimits import open_package
from app.core.records import Section

# About 2,000 pages of prose; python-docx reads some 15,000 paragraphs a second.
MAX_PARAGRAPHS = 100_000
_PARAGRAPH_TAGS = (b"<w:p>", b"<w:p ", b"<w:p/>")
_LABEL_CHARS = 60


def _table_lines(table: Any, headings: frozenset[str]) -> Iterator[tuple[str, bool]]:
    """One line per row (cells joined by tabs), with nested tables inline."""
    for row in table.rows:
        seen: set[int] = set()
        cells: list[str] = []
        for cell in row.cells:
            # A merged cell is returned once per grid column it spans; read it once.
            if id(cell._tc) in seen:
                continue
            seen.add(id(cell._tc))
            cells.append(" ".join(line for line, _ in _block_lines(cell, headings)))
        line = "\t".join(c for c in cells if c.strip())
        if line:
            yield line, False


def _heading_style_ids(document: Any) -> frozenset[str]:
    """Ids of the heading styles. Read once: python-docx's paragraph.style searches every
    style on each call, a millisecond per paragraph."""
    ids = set()
    for style in document.styles:
        name = getattr(style, "name", None) or ""
        if name.startswith(("Heading", "Title")) and style.style_id:
            ids.add(style.style_id)
    return frozenset(ids)


def _block_lines(container: Any, headings: frozenset[str]) -> Iterator[tuple[str, bool]]:
    """(line, is heading) for a body or cell, paragraphs and tables interleaved as written."""
    from docx.table import Table

    for item in container.iter_inner_content():
        if isinstance(item, Table):
            yield from _table_lines(item, headings)
        elif item.text.strip():
            yield item.text.replace("\n", " ").replace("\r", " "), item._p.style in headings


def _open(data: bytes) -> Any:
    import docx

    try:
        return docx.Document(io.BytesIO(data))
    except Exception as exc:  # PackageNotFoundError, KeyError, lxml errors, ...
        raise SkipFile(f"not a valid DOCX file: {_first_line(exc)}") from exc


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]


def _label(heading: str) -> str:
    heading = " ".join(heading.split())
    if len(heading) > _LABEL_CHARS:
        heading = heading[: _LABEL_CHARS - 1] + "…"
    return f"“{heading}”"


def extract_docx(path: Path, max_bytes: int) -> list[Section]:
    """One Section per heading's part; each line is a paragraph (or table row), numbered from 1."""
    zf, data = open_package(path, max_bytes, "DOCX file",
                            element_caps={"word/document.xml": (_PARAGRAPH_TAGS, MAX_PARAGRAPHS,
                                                                "paragraphs")})
    zf.close()
    document = _open(data)
    sections: list[Section] = []
    lines: list[str] = []
    label, first = "", 1
    number = 0
    try:
        for line, heading in _block_lines(document, _heading_style_ids(document)):
            number += 1
            if heading and lines:
                sections.append(Section("\n".join(lines), first_line=first, label=label,
                                        unit="paragraph"))
                lines = []
            if heading or not lines:
                first = number
            if heading:
                label = _label(line)
            lines.append(line)
    except SkipFile:
        raise
    except Exception as exc:  # malformed XML surfaces lazily while walking the body
        raise SkipFile(f"could not read the DOCX: {_first_line(exc)}") from exc
    if lines:
        sections.append(Section("\n".join(lines), first_line=first, label=label, unit="paragraph"))
    if not any(s.text.strip() for s in sections):
        raise SkipFile("no text found")
    return sections
