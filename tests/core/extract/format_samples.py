"""Samples of every structured format for the extraction tests: zips, OpenDocument, EPUB, a
hand-written workbook and mail, and the reason a file is skipped."""

from __future__ import annotations

import re
import zipfile
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from app.core.errors import SkipFile
from app.core.extract import extract


def spans(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in re.finditer(r"\S+", text)]


def skip_reason(path: Path, **options: Any) -> str:
    """Why ``path`` is skipped (extract's ``options`` as given)."""
    with pytest.raises(SkipFile) as info:
        extract(path, **options)
    return info.value.message


def write_zip(path: Path, members: dict[str, bytes | str]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


ODF_NS = ('xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
           'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
           'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
           'xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0" '
           'xmlns:presentation="urn:oasis:names:tc:opendocument:xmlns:presentation:1.0"')


def odf_content(body: str, inner: str) -> str:
    return (f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {ODF_NS}>'
            f"<office:body><office:{body}>{inner}</office:{body}></office:body>"
            "</office:document-content>")


def write_odf(path: Path, body: str, content: str, manifest: str = "") -> Path:
    return write_zip(path, {
        "mimetype": f"application/vnd.oasis.opendocument.{body}",
        "META-INF/manifest.xml": manifest or '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:'
                                              'opendocument:xmlns:manifest:1.0"/>',
        "content.xml": content,
    })


def write_epub(path: Path, chapters: list[tuple[str, str]], *, drm: bool = False) -> Path:
    items = "".join(f'<item id="c{i}" href="text/c{i}.xhtml" media-type="application/xhtml+xml"/>'
                    for i in range(len(chapters)))
    # The navigation document first in the spine, as EPUB 3 tools often write it.
    spine = '<itemref idref="nav"/>' + "".join(f'<itemref idref="c{i}"/>'
                                                for i in range(len(chapters)))
    nav_links = "".join(f'<li><a href="text/c{i}.xhtml#top">{title}</a></li>'
                        for i, (title, _) in enumerate(chapters))
    members: dict[str, bytes | str] = {
        "mimetype": "application/epub+zip",
        "META-INF/container.xml": '<container xmlns="urn:oasis:names:tc:opendocument:xmlns:container">'
                                  '<rootfiles><rootfile full-path="OEBPS/book.opf"/></rootfiles></container>',
        "OEBPS/book.opf": '<package xmlns="http://www.idpf.org/2007/opf"><manifest>'
                          '<item id="nav" href="nav.xhtml" media-type="application/xhtml+xml" '
                          'properties="nav"/>'
                          f"{items}</manifest><spine>{spine}</spine></package>",
        "OEBPS/nav.xhtml": '<html xmlns="http://www.w3.org/1999/xhtml"><body><nav><ol>'
                           f"{nav_links}</ol></nav></body></html>",
    }
    for i, (title, body) in enumerate(chapters):
        members[f"OEBPS/text/c{i}.xhtml"] = (f'<html xmlns="http://www.w3.org/1999/xhtml"><head><title>x</title>'
                                             f"</head><body><h1>{title}</h1><p>{body}</p></body></html>")
    if drm:
        members["META-INF/encryption.xml"] = ('<encryption><EncryptedData><CipherData><CipherReference '
                                              'URI="OEBPS/text/c0.xhtml"/></CipherData></EncryptedData></encryption>')
    return write_zip(path, members)


def xlsx_by_hand(path: Path, rows: int) -> Path:
    """A workbook whose one sheet has ``rows`` numeric rows; the sheet is written by hand (fast)."""
    openpyxl.Workbook().save(str(path))
    with zipfile.ZipFile(path) as zf:
        members: dict[str, bytes | str] = {n: zf.read(n) for n in zf.namelist()}
    body = b"".join(b'<row r="%d"><c r="A%d"><v>%d</v></c></row>' % (i, i, i) for i in range(1, rows + 1))
    members["xl/worksheets/sheet1.xml"] = (
        b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        b'<dimension ref="A1:A%d"/><sheetData>%s</sheetData></worksheet>' % (rows, body))
    return write_zip(path, members)


def mail_message(subject: str, body: str, attachment: tuple[str, bytes] | None = None) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = "Ann Lee <ann@example.org>"
    message["Date"] = "Tue, 05 Mar 2024 10:30:00 +0000"
    message.set_content(body)
    if attachment:
        message.add_attachment(attachment[1], maintype="application", subtype="octet-stream",
                               filename=attachment[0])
    return message
