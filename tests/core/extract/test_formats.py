"""Slides, spreadsheets, OpenDocument, EPUB, RTF and mail: text, locations a user understands,
and every kind of bad input skipped or capped with a reason, never a hang or a crash."""

from __future__ import annotations

import csv
import datetime as dt
import mailbox
import struct
import zipfile
import zlib
from email.message import EmailMessage
from pathlib import Path

import docx
import openpyxl
import pptx
import pytest

from app.core.errors import SkipFile
from app.core.extract import GROUPS, extensions_by_group, extract, extract_file, group_of
from app.core.extract.chunking import chunk_sections
from app.core.extract.ziplimits import OLE_MAGIC


def _words(text: str) -> list[tuple[int, int]]:
    import re

    return [m.span() for m in re.finditer(r"\S+", text)]


def skip_reason(path: Path) -> str:
    with pytest.raises(SkipFile) as info:
        extract(path, ocr=False)
    return info.value.message


def _zip(path: Path, members: dict[str, bytes | str]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


# --- slides -----------------------------------------------------------------------------------


def test_pptx_slides_with_titles_tables_and_notes(tmp_path: Path) -> None:
    deck = pptx.Presentation()
    first = deck.slides.add_slide(deck.slide_layouts[1])
    first.shapes.title.text = "Quarterly plan"
    first.placeholders[1].text_frame.text = "Hire two engineers"
    first.notes_slide.notes_text_frame.text = "Mention the budget freeze"
    second = deck.slides.add_slide(deck.slide_layouts[5])
    second.shapes.title.text = "Numbers"
    rows = second.shapes.add_table(2, 2, 0, 0, 914400, 914400).table
    rows.cell(0, 0).text, rows.cell(0, 1).text = "Region", "Sales"
    rows.cell(1, 0).text, rows.cell(1, 1).text = "Nord", "1200.50"
    deck.slides.add_slide(deck.slide_layouts[6])  # blank slide: no section
    path = tmp_path / "plan.pptx"
    deck.save(str(path))
    sections = extract(path)
    assert [(s.page, s.label) for s in sections] == [(1, "slide 1 “Quarterly plan”"),
                                                     (2, "slide 2 “Numbers”")]
    assert sections[0].text.split("\n") == ["Quarterly plan", "Hire two engineers",
                                            "Mention the budget freeze"]
    assert "Nord\t1200.50" in sections[1].text
    chunks = chunk_sections(sections, _words, max_tokens=64)
    assert chunks[1].location == "slide 2 “Numbers”"


def test_odp_slides(tmp_path: Path) -> None:
    content = _odf_content("presentation", """
      <draw:page draw:name="page1"><draw:frame presentation:class="title"><draw:text-box>
        <text:p>Launch</text:p></draw:text-box></draw:frame>
        <draw:frame><draw:text-box><text:p>Ship in <text:s/>May</text:p></draw:text-box></draw:frame>
      </draw:page>
      <draw:page draw:name="page2"><draw:frame><draw:text-box><text:p>Questions</text:p>
      </draw:text-box></draw:frame></draw:page>""")
    path = _odf(tmp_path / "talk.odp", "presentation", content)
    sections = extract(path)
    assert [(s.page, s.label, s.text) for s in sections] == [
        (1, "slide 1 “Launch”", "Launch\nShip in May"), (2, "slide 2", "Questions")]


# --- documents --------------------------------------------------------------------------------


_ODF_NS = ('xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
           'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
           'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
           'xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0" '
           'xmlns:presentation="urn:oasis:names:tc:opendocument:xmlns:presentation:1.0"')


def _odf_content(body: str, inner: str) -> str:
    return (f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {_ODF_NS}>'
            f"<office:body><office:{body}>{inner}</office:{body}></office:body>"
            "</office:document-content>")


def _odf(path: Path, body: str, content: str, manifest: str = "") -> Path:
    return _zip(path, {
        "mimetype": f"application/vnd.oasis.opendocument.{body}",
        "META-INF/manifest.xml": manifest or '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:'
                                              'opendocument:xmlns:manifest:1.0"/>',
        "content.xml": content,
    })


def test_odt_headings_give_locations(tmp_path: Path) -> None:
    content = _odf_content("text", """
        <text:p>Preface words</text:p>
        <text:h text:outline-level="1">Method</text:h>
        <text:p>We measured<text:tab/>twice.</text:p>
        <text:list><text:list-item><text:p>first point</text:p></text:list-item></text:list>""")
    path = _odf(tmp_path / "paper.odt", "text", content)
    sections = extract(path)
    assert [(s.label, s.first_line, s.text) for s in sections] == [
        ("", 1, "Preface words"), ("“Method”", 2, "Method\nWe measured twice.\nfirst point")]
    chunks = chunk_sections(sections, _words, max_tokens=64)
    assert chunks[1].location == "“Method”, paragraphs 2–4"


def test_odf_with_password_is_skipped_as_encrypted(tmp_path: Path) -> None:
    manifest = ('<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0">'
                '<manifest:file-entry manifest:full-path="content.xml"><manifest:encryption-data/>'
                "</manifest:file-entry></manifest:manifest>")
    path = _odf(tmp_path / "secret.odt", "text", "garbled bytes", manifest)
    assert "encrypted" in skip_reason(path)


def test_rtf_text_and_accents(tmp_path: Path) -> None:
    path = tmp_path / "letter.rtf"
    path.write_bytes(rb"{\rtf1\ansi\deff0{\fonttbl{\f0 Times;}}\f0 Dear M\'fcller,\par "
                     rb"{\b the invoice} is attached.\par}")
    [section] = extract(path)
    assert section.text.split("\n")[:2] == ["Dear Müller,", "the invoice is attached."]


def test_rtf_that_is_not_rtf(tmp_path: Path) -> None:
    path = tmp_path / "fake.rtf"
    path.write_text("plain words", encoding="utf-8")
    assert skip_reason(path) == "not a valid RTF file"


def _epub(path: Path, chapters: list[tuple[str, str]], *, drm: bool = False) -> Path:
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
    return _zip(path, members)


def test_epub_chapters_in_reading_order(tmp_path: Path) -> None:
    path = _epub(tmp_path / "book.epub", [("The Road", "It was a dark night."),
                                           ("Home", "The lamp was lit.")])
    sections = extract(path)
    assert [(s.label, s.text) for s in sections] == [
        ("chapter 1 “The Road”", "The Road\nIt was a dark night."),
        ("chapter 2 “Home”", "Home\nThe lamp was lit.")]


def test_epub_with_drm_is_skipped(tmp_path: Path) -> None:
    path = _epub(tmp_path / "locked.epub", [("One", "words")], drm=True)
    assert "DRM" in skip_reason(path)


# --- spreadsheets -------------------------------------------------------------------------------


def test_xlsx_sheets_rows_and_numbers(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Budget"
    sheet.append(["Item", "Amount", "Due"])
    sheet.append(["Rent", 1200, dt.date(2024, 3, 1)])
    sheet.append(["Interest", 0.035, None])
    sheet["A10"] = "Total"  # after a gap of empty rows: a new block, same row numbers
    sheet["B10"] = 1234567.891
    book.create_sheet("Notes")["A2"] = "Ask the landlord"
    path = tmp_path / "budget.xlsx"
    book.save(str(path))
    sections = extract(path)
    assert [(s.label, s.first_line, s.text) for s in sections] == [
        ("Budget", 1, "Item\tAmount\tDue\nRent\t1200\t2024-03-01\nInterest\t0.035"),
        ("Budget", 10, "Total\t1234567.891"),
        ("Notes", 2, "Ask the landlord"),
    ]
    chunks = chunk_sections(sections, _words, max_tokens=64)
    assert [c.location for c in chunks] == ["Budget, rows 1–3", "Budget, row 10", "Notes, row 2"]


def _xlsx_by_hand(path: Path, rows: int) -> Path:
    """A workbook whose one sheet has ``rows`` numeric rows; the sheet is written by hand (fast)."""
    openpyxl.Workbook().save(str(path))
    with zipfile.ZipFile(path) as zf:
        members: dict[str, bytes | str] = {n: zf.read(n) for n in zf.namelist()}
    body = b"".join(b'<row r="%d"><c r="A%d"><v>%d</v></c></row>' % (i, i, i) for i in range(1, rows + 1))
    members["xl/worksheets/sheet1.xml"] = (
        b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        b'<dimension ref="A1:A%d"/><sheetData>%s</sheetData></worksheet>' % (rows, body))
    return _zip(path, members)


@pytest.mark.slow
def test_million_row_spreadsheet_is_capped_with_a_note(tmp_path: Path) -> None:
    from app.core.extract.sheets import MAX_ROWS

    path = _xlsx_by_hand(tmp_path / "log.xlsx", 1_000_000)
    result = extract_file(path)
    rows = sum(s.text.count("\n") + 1 for s in result.sections)
    assert rows == MAX_ROWS
    assert result.sections[-1].text.endswith(str(MAX_ROWS))
    assert result.notes and f"first {MAX_ROWS:,} rows" in result.notes[0]


def test_ods_rows_repeats_and_numbers(tmp_path: Path) -> None:
    content = _odf_content("spreadsheet", """
      <table:table table:name="Stock">
        <table:table-row><table:table-cell office:value-type="string"><text:p>Bolt</text:p></table:table-cell>
          <table:table-cell office:value-type="float" office:value="1500">
            <text:p>1,500</text:p></table:table-cell>
        </table:table-row>
        <table:table-row table:number-rows-repeated="1000000"><table:table-cell/></table:table-row>
        <table:table-row><table:table-cell office:value-type="string"><text:p>Nut</text:p></table:table-cell>
          <table:table-cell office:value-type="float" office:value="0.25"/></table:table-row>
      </table:table>""")
    path = _odf(tmp_path / "stock.ods", "spreadsheet", content)
    sections = extract(path)
    assert [(s.label, s.first_line, s.text) for s in sections] == [
        ("Stock", 1, "Bolt\t1500"), ("Stock", 1_000_002, "Nut\t0.25")]


def test_csv_rows_with_quoted_newlines(tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, delimiter=";")
        writer.writerows([["name", "note"], ["Ann", "likes\ntea"], ["Bob", "3.50"]])
    [section] = extract(path)
    assert section.unit == "row"
    assert section.text.split("\n") == ["name\tnote", "Ann\tlikes tea", "Bob\t3.50"]


# --- mail ---------------------------------------------------------------------------------------


def _message(subject: str, body: str, attachment: tuple[str, bytes] | None = None) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = "Ann Lee <ann@example.org>"
    message["Date"] = "Tue, 05 Mar 2024 10:30:00 +0000"
    message.set_content(body)
    if attachment:
        message.add_attachment(attachment[1], maintype="application", subtype="octet-stream",
                               filename=attachment[0])
    return message


def test_eml_header_body_and_attachment(tmp_path: Path) -> None:
    document = docx.Document()
    document.add_paragraph("The contract renews in April.")
    docx_path = tmp_path / "contract.docx"
    document.save(str(docx_path))
    message = _message("Renewal", "Please see the attached contract.",
                       ("contract.docx", docx_path.read_bytes()))
    path = tmp_path / "renewal.eml"
    path.write_bytes(bytes(message))
    found = extract_file(path)
    [section] = found.sections  # the attachment is a result of its own, not part of the mail
    assert section.text.split("\n")[:4] == [
        "Subject: Renewal", "From: Ann Lee <ann@example.org>", "Date: 2024-03-05 10:30", ""]
    assert "Please see the attached contract." in section.text
    assert section.label == "“Renewal” from Ann Lee <ann@example.org>, 2024-03-05 10:30"
    [member] = found.members
    assert (member.name, member.of, member.key) == ("contract.docx", "Renewal", "1.1")
    assert [s.text for s in member.sections] == ["The contract renews in April."]


def test_html_only_mail_shows_visible_text(tmp_path: Path) -> None:
    message = EmailMessage()
    message["Subject"] = "News"
    message.set_content("<html><body><p>Big <b>sale</b></p><script>x()</script></body></html>",
                        subtype="html")
    path = tmp_path / "news.eml"
    path.write_bytes(bytes(message))
    [section] = extract(path)
    assert section.text.endswith("Big sale")


def test_mbox_messages_are_sections(tmp_path: Path) -> None:
    path = tmp_path / "inbox.mbox"
    box = mailbox.mbox(str(path))
    for i in range(3):
        box.add(_message(f"Note {i}", f"From here on, body {i}."))
    box.close()
    sections = extract(path)
    assert [s.label.split(" from ")[0] for s in sections] == [
        "message 1: “Note 0”", "message 2: “Note 1”", "message 3: “Note 2”"]
    assert "From here on, body 1." in sections[1].text


def test_huge_mbox_is_read_in_part_with_a_note(tmp_path: Path) -> None:
    from app.core.extract import MBOX_MAX_BYTES

    path = tmp_path / "archive.mbox"
    message = b"From ann@example.org Tue Mar  5 10:30:00 2024\nSubject: Hello\n\n" + b"x" * 1000 + b"\n\n"
    with open(path, "wb") as f:
        f.write(message * 100)
        f.truncate(2**30)  # 1 GB: the rest is a sparse hole of NUL bytes without line breaks
    result = extract_file(path)
    assert len(result.sections) == 100
    assert result.notes and "first 100 messages" in result.notes[0]
    assert f"{MBOX_MAX_BYTES // 2**20:,} MB" in result.notes[0]


# --- bad packages -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["bomb.docx", "bomb.pptx", "bomb.xlsx", "bomb.odt", "bomb.ods",
                                  "bomb.odp", "bomb.epub"])
def test_zip_bomb_in_every_zip_format_is_skipped_fast(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf, \
            zf.open("content.xml", "w", force_zip64=True) as member:
        block = b" " * 2**20
        for _ in range(300):  # 300 MB of whitespace, about 300 KB on disk
            member.write(block)
    assert path.stat().st_size < 2 * 2**20
    assert "zip bomb" in skip_reason(path)


def test_zip_member_larger_than_declared_is_never_inflated_past_it(tmp_path: Path) -> None:
    path = tmp_path / "liar.docx"
    document = docx.Document()
    document.add_paragraph("x")
    document.save(str(path))
    data = bytearray(path.read_bytes())
    central = data.find(b"PK\x01\x02")
    while central != -1:  # declare every member 10 bytes long
        data[central + 24:central + 28] = struct.pack("<I", 10)
        central = data.find(b"PK\x01\x02", central + 4)
    path.write_bytes(bytes(data))
    assert skip_reason(path).startswith(("not a valid DOCX", "could not read the DOCX"))


def test_docx_with_a_million_paragraphs_is_skipped_before_parsing(tmp_path: Path) -> None:
    path = tmp_path / "many.docx"
    document = docx.Document()
    document.add_paragraph("x")
    document.save(str(path))
    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    # Varied attributes keep the part from compressing like a bomb: the count must catch it.
    body = b"".join(b'<w:p w:rsidR="%08X"/>' % (i * 2654435761 % 2**32) for i in range(1_000_000))
    members["word/document.xml"] = members["word/document.xml"].replace(b"<w:body>", b"<w:body>" + body)
    _zip(path, members)
    assert skip_reason(path) == "the DOCX file has more than 100,000 paragraphs; skipped"


@pytest.mark.parametrize("name", ["locked.docx", "locked.xlsx", "locked.pptx"])
def test_password_protected_office_files(tmp_path: Path, name: str) -> None:
    # Office writes a password-protected package as an OLE compound file around the encrypted zip.
    path = tmp_path / name
    directory_entry = "EncryptionInfo".encode("utf-16-le").ljust(64, b"\x00")
    path.write_bytes(OLE_MAGIC + b"\x00" * 1016 + directory_entry + b"\x00" * 3008)
    assert "password-protected" in skip_reason(path)
    path.write_bytes(OLE_MAGIC + b"\x00" * 4088)  # an old .doc/.xls/.ppt with a new name
    assert "old binary Office format" in skip_reason(path)


@pytest.mark.parametrize("name", ["broken.pptx", "broken.xlsx", "broken.odt", "broken.ods", "broken.epub"])
def test_damaged_packages(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(b"PK\x03\x04 this is not really a zip")
    assert "not a valid" in skip_reason(path)


def test_huge_image_is_skipped_without_decoding(tmp_path: Path) -> None:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    path = tmp_path / "poster.png"
    header = struct.pack(">IIBBBBB", 20_000, 20_000, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b""))
    with pytest.raises(SkipFile) as info:
        extract(path, ocr=True)
    assert "too many to read safely" in info.value.message


def test_damaged_image(tmp_path: Path) -> None:
    path = tmp_path / "photo.jpg"
    path.write_bytes(b"\xff\xd8\xff not an image")
    assert skip_reason(path) == "not a readable image (damaged or an unknown format)"


def test_icon_is_skipped_as_too_small(tmp_path: Path) -> None:
    from PIL import Image

    path = tmp_path / "favicon.png"
    Image.new("RGB", (16, 16), "white").save(path)
    assert skip_reason(path) == "the image is 16 × 16 pixels, too small to hold readable text"


def test_image_with_ocr_off_says_so(tmp_path: Path) -> None:
    from PIL import Image

    path = tmp_path / "shot.png"
    Image.new("RGB", (400, 200), "white").save(path)
    assert "OCR" in skip_reason(path)
    assert extract_file(path).ocr_pages == (1,)


# --- kinds and groups ---------------------------------------------------------------------------


def test_every_supported_extension_has_a_group() -> None:
    groups = extensions_by_group()
    assert list(groups) == [g for g, _ in GROUPS]
    assert ".pptx" in groups["slides"] and ".odp" in groups["slides"]
    assert {".xlsx", ".ods", ".csv"} <= set(groups["spreadsheets"])
    assert groups["ebooks"] == (".epub",)
    assert set(groups["mail"]) == {".eml", ".mbox"}
    assert {".png", ".jpg", ".tiff", ".webp"} <= set(groups["images"])
    assert group_of(Path("Letter.DOCX")) == "documents"
    assert group_of(Path("archive.zip")) is None


# --- damaged files of every format ---------------------------------------------------------------


def _valid_samples(tmp: Path) -> dict[str, bytes]:
    """One small valid file per zip or structured format, as bytes."""
    samples: dict[str, bytes] = {}
    document = docx.Document()
    document.add_heading("Title", level=1)
    document.add_paragraph("Body text " * 50)
    document.save(str(tmp / "s.docx"))
    deck = pptx.Presentation()
    slide = deck.slides.add_slide(deck.slide_layouts[1])
    slide.shapes.title.text = "Slide"
    slide.placeholders[1].text_frame.text = "Point " * 50
    deck.save(str(tmp / "s.pptx"))
    book = openpyxl.Workbook()
    for i in range(50):
        book.active.append([f"row {i}", i, i / 3])
    book.save(str(tmp / "s.xlsx"))
    _odf(tmp / "s.odt", "text", _odf_content("text", "<text:p>Words</text:p>" * 50))
    _epub(tmp / "s.epub", [("One", "Words " * 50), ("Two", "More " * 50)])
    for name in ("s.docx", "s.pptx", "s.xlsx", "s.odt", "s.epub"):
        samples[name] = (tmp / name).read_bytes()
    samples["s.rtf"] = rb"{\rtf1\ansi{\fonttbl{\f0 Arial;}}\f0 Hello {\b world}\par " + b"x " * 200 + b"}"
    samples["s.eml"] = bytes(_message("Hi", "Body " * 100, ("a.csv", b"a,b\n1,2\n")))
    return samples


def test_truncated_and_scrambled_files_are_skipped_or_read_never_raised(tmp_path: Path) -> None:
    import random

    rng = random.Random(11)
    for name, data in _valid_samples(tmp_path).items():
        variants = [data[: len(data) * k // 8] for k in (1, 3, 5, 7)]
        for _ in range(4):
            scrambled = bytearray(data)
            for _ in range(20):
                scrambled[rng.randrange(len(scrambled))] = rng.randrange(256)
            variants.append(bytes(scrambled))
        for i, variant in enumerate(variants):
            path = tmp_path / f"v{i}-{name}"
            path.write_bytes(variant)
            try:
                sections = extract(path, ocr=False)
            except SkipFile as exc:
                assert exc.message and "Traceback" not in exc.message
            else:
                assert all(isinstance(s.text, str) for s in sections)
