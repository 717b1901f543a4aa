"""DOCX: paragraphs and table cells in document order, with python-docx."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from app.core.errors import SkipFile
from app.core.extract.text import read_bytes
from app.core.records import Section


def _table_lines(table: Any) -> Iterator[str]:
    """One line per row (cells joined by tabs), with nested tables inline."""
    for row in table.rows:
        seen: set[int] = set()
        cells: list[str] = []
        for cell in row.cells:
            # A merged cell is returned once per grid column it spans; read it once.
            if id(cell._tc) in seen:
                continue
            seen.add(id(cell._tc))
            cells.append(" ".join(_block_lines(cell)))
        line = "\t".join(c for c in cells if c.strip())
        if line:
            yield line


def _block_lines(container: Any) -> Iterator[str]:
    """Lines of a document body or table cell, paragraphs and tables interleaved as written."""
    from docx.table import Table

    for item in container.iter_inner_content():
        if isinstance(item, Table):
            yield from _table_lines(item)
        elif item.text.strip():
            yield item.text


def _open(data: bytes) -> Any:
    import docx

    try:
        return docx.Document(io.BytesIO(data))
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        # python-docx raises these for a file that is not a Word package at all.
        raise SkipFile("not a valid DOCX file") from exc
    except Exception as exc:  # PackageNotFoundError, lxml errors, ...
        raise SkipFile(f"could not read the DOCX: {_first_line(exc)}") from exc


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]


def extract_docx(path: Path, max_bytes: int) -> list[Section]:
    """One Section: paragraph and table-row lines joined by newlines."""
    # Reading the bytes ourselves gives real OS errors: python-docx reports an unreadable file
    # as "package not found".
    document = _open(read_bytes(path, max_bytes))
    try:
        text = "\n".join(_block_lines(document))
    except Exception as exc:  # malformed XML surfaces lazily while walking the body
        raise SkipFile(f"could not read the DOCX: {_first_line(exc)}") from exc
    if not text.strip():
        raise SkipFile("no text found")
    return [Section(text.replace("\r\n", "\n").replace("\r", "\n"), page=None, first_line=1)]
