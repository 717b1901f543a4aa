"""Spreadsheets: Excel .xlsx (openpyxl, streamed), OpenDocument .ods (streamed XML) and CSV/TSV.

Each row becomes one line (cells joined by tabs, numbers as written), so a passage's lines are
row numbers; a sheet is cut into Sections at gaps of empty rows, labelled with its name.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from app.core.errors import SkipFile
from app.core.extract.text import decode_bytes, read_bytes
from app.core.extract.ziplimits import open_package
from app.core.records import Section

# Rows indexed per file; beyond them the file is capped with a note, not skipped.
MAX_ROWS = 100_000
MAX_CELL_CHARS = 2_000
MAX_SHARED_STRINGS = 2_000_000
MAX_ODS_ROW_ELEMENTS = 1_000_000
# Empty rows that still count as the same block; more start a new Section.
_GAP_ROWS = 3
# A repeated non-empty cell or row in ODS is written out at most this often.
_MAX_REPEAT = 50

Row = tuple[int, str]  # (1-based row number, the row as one line)


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ").removesuffix(" 00:00:00")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    text = " ".join(str(value).split())
    return text[:MAX_CELL_CHARS]


def _line(values: Iterable[Any]) -> str:
    cells = [_cell_text(v) for v in values]
    while cells and not cells[-1]:
        cells.pop()
    return "\t".join(cells) if any(cells) else ""


class _Blocks:
    """Collects rows into Sections, counting towards the file's row cap."""

    def __init__(self) -> None:
        self.sections: list[Section] = []
        self.rows = 0
        self.capped_sheet = ""

    def add_sheet(self, label: str, rows: Iterator[Row]) -> bool:
        """Add a sheet's non-empty rows; False once the cap is reached (stop reading)."""
        lines: list[str] = []
        first = last = 0
        for number, line in rows:
            if not line:
                continue
            if self.rows >= MAX_ROWS:
                self.capped_sheet = label or "the file"
                break
            self.rows += 1
            if lines and number - last > _GAP_ROWS + 1:
                self._flush(label, first, lines)
                lines = []
            if not lines:
                first = number
            else:
                lines.extend([""] * (number - last - 1))
            lines.append(line)
            last = number
        self._flush(label, first, lines)
        return not self.capped_sheet

    def _flush(self, label: str, first: int, lines: list[str]) -> None:
        if lines:
            self.sections.append(Section("\n".join(lines), first_line=first, label=label, unit="row"))

    def notes(self) -> list[str]:
        if not self.capped_sheet:
            return []
        return [f"only the first {MAX_ROWS:,} rows are indexed (the rest, from {self.capped_sheet}"
                " on, is left out)"]


def _xlsx(path: Path, max_bytes: int) -> _Blocks:
    import openpyxl

    zf, data = open_package(path, max_bytes, "Excel file", element_caps={
        "xl/sharedStrings.xml": ((b"<si>", b"<si "), MAX_SHARED_STRINGS, "distinct texts")})
    zf.close()
    blocks = _Blocks()
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds on damaged files
        raise SkipFile(f"could not read the Excel file: {str(exc)[:200] or type(exc).__name__}") from exc
    try:
        for sheet in book.worksheets:
            if not hasattr(sheet, "iter_rows"):
                continue  # chart sheets have no cells
            rows = ((n, _line(values)) for n, values in
                    enumerate(sheet.iter_rows(min_row=1, values_only=True), start=1))
            if not blocks.add_sheet(sheet.title, rows):
                break
    except Exception as exc:
        raise SkipFile(f"could not read the Excel file: {str(exc)[:200] or type(exc).__name__}") from exc
    finally:
        book.close()
    return blocks


_TABLE = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
_OFFICE = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
_TEXT = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"


def _ods_cell(cell: Any) -> str:
    kind = cell.get(f"{{{_OFFICE}}}value-type")
    if kind in ("float", "percentage", "currency"):
        raw = cell.get(f"{{{_OFFICE}}}value")
        if raw is not None:
            try:
                return _cell_text(float(raw))
            except ValueError:
                return raw
    paragraphs = cell.iter(f"{{{_TEXT}}}p")
    return _cell_text(" ".join("".join(p.itertext()) for p in paragraphs))


def _ods_rows(table: Any) -> Iterator[Row]:
    number = 0
    for row in table.iter(f"{{{_TABLE}}}table-row"):
        repeat = int(row.get(f"{{{_TABLE}}}number-rows-repeated", "1") or 1)
        cells: list[str] = []
        for cell in row:
            if cell.tag not in (f"{{{_TABLE}}}table-cell", f"{{{_TABLE}}}covered-table-cell"):
                continue
            text = _ods_cell(cell)
            times = int(cell.get(f"{{{_TABLE}}}number-columns-repeated", "1") or 1)
            cells.extend([text] * (min(times, _MAX_REPEAT) if text else min(times, 1)))
        line = _line(cells)
        for _ in range(min(repeat, _MAX_REPEAT) if line else 1):
            number += 1
            yield number, line
        if not line:
            number += repeat - 1


def _ods(path: Path, max_bytes: int) -> _Blocks:
    from lxml import etree

    from app.core.extract.odf import read_content, safe_parser

    content = read_content(path, max_bytes, "OpenDocument spreadsheet",
                           ((b"<table:table-row",), MAX_ODS_ROW_ELEMENTS, "row elements"))
    blocks = _Blocks()
    try:
        root = etree.fromstring(content, safe_parser())
    except etree.XMLSyntaxError as exc:
        raise SkipFile(f"the OpenDocument spreadsheet is damaged: {exc}") from exc
    for table in root.iter(f"{{{_TABLE}}}table"):
        if not blocks.add_sheet(table.get(f"{{{_TABLE}}}name", ""), _ods_rows(table)):
            break
    return blocks


def _csv(path: Path, max_bytes: int) -> _Blocks:
    text = decode_bytes(read_bytes(path, max_bytes))
    sample = text[:16 * 1024]  # Sniffer's regular expressions grow slow on long samples
    delimiter = "\t" if path.suffix.lower() == ".tsv" else None
    if delimiter is None:
        try:
            delimiter = csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
        except csv.Error:
            delimiter = ","
    csv.field_size_limit(max(csv.field_size_limit(), max_bytes))
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)

    def rows() -> Iterator[Row]:
        try:
            for number, values in enumerate(reader, start=1):
                yield number, _line(values)
        except csv.Error as exc:
            raise SkipFile(f"the CSV file is damaged: {exc}") from exc

    blocks = _Blocks()
    blocks.add_sheet("", rows())
    return blocks


def extract_sheet(kind: str, path: Path, max_bytes: int) -> tuple[list[Section], list[str]]:
    """Sections of rows, and notes if the row cap cut the file short."""
    reader = {"xlsx": _xlsx, "ods": _ods, "csv": _csv}[kind]
    blocks = reader(path, max_bytes)
    if not blocks.sections:
        raise SkipFile("no text found")
    return blocks.sections, blocks.notes()
