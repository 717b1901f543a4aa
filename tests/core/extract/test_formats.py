"""Slides, spreadsheets, OpenDocument, EPUB, RTF and mail: text and locations a user understands,
and what is too big read in part or skipped with a note (bad input: test_bad_formats.py)."""

from __future__ import annotations

import csv
import datetime as dt
import mailbox
from email.message import EmailMessage
from pathlib import Path

import docx
import openpyxl
import pptx
import pytest

from app.core.extract import GROUPS, extensions_by_group, extract, extract_file, group_of
from app.core.extract.chunking import chunk_sections
from tests.core.extract.format_samples import (
    mail_message,
    odf_content,
    skip_reason,
    spans,
    write_epub,
    write_odf,
    xlsx_by_hand,
)

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
    chunks = chunk_sections(sections, spans, max_tokens=64)
    assert chunks[1].location == "slide 2 “Numbers”"


def test_odp_slides(tmp_path: Path) -> None:
    content = odf_content("presentation", """
      <draw:page draw:name="page1"><draw:frame presentation:class="title"><draw:text-box>
        <text:p>Launch</text:p></draw:text-box></draw:frame>
        <draw:frame><draw:text-box><text:p>Ship in <text:s/>May</text:p></draw:text-box></draw:frame>
      </draw:page>
      <draw:page draw:name="page2"><draw:frame><draw:text-box><text:p>Questions</text:p>
      </draw:text-box></draw:frame></draw:page>""")
    path = write_odf(tmp_path / "talk.odp", "presentation", content)
    sections = extract(path)
    assert [(s.page, s.label, s.text) for s in sections] == [
        (1, "slide 1 “Launch”", "Launch\nShip in May"), (2, "slide 2", "Questions")]


# --- documents --------------------------------------------------------------------------------


def test_odt_headings_give_locations(tmp_path: Path) -> None:
    content = odf_content("text", """
        <text:p>Preface words</text:p>
        <text:h text:outline-level="1">Method</text:h>
        <text:p>We measured<text:tab/>twice.</text:p>
        <text:list><text:list-item><text:p>first point</text:p></text:list-item></text:list>""")
    path = write_odf(tmp_path / "paper.odt", "text", content)
    sections = extract(path)
    assert [(s.label, s.first_line, s.text) for s in sections] == [
        ("", 1, "Preface words"), ("“Method”", 2, "Method\nWe measured twice.\nfirst point")]
    chunks = chunk_sections(sections, spans, max_tokens=64)
    assert chunks[1].location == "“Method”, paragraphs 2–4"


def test_odf_with_password_is_skipped_as_encrypted(tmp_path: Path) -> None:
    manifest = ('<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0">'
                '<manifest:file-entry manifest:full-path="content.xml"><manifest:encryption-data/>'
                "</manifest:file-entry></manifest:manifest>")
    path = write_odf(tmp_path / "secret.odt", "text", "garbled bytes", manifest)
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


def test_epub_chapters_in_reading_order(tmp_path: Path) -> None:
    path = write_epub(tmp_path / "book.epub", [("The Road", "It was a dark night."),
                                           ("Home", "The lamp was lit.")])
    sections = extract(path)
    assert [(s.label, s.text) for s in sections] == [
        ("chapter 1 “The Road”", "The Road\nIt was a dark night."),
        ("chapter 2 “Home”", "Home\nThe lamp was lit.")]


def test_epub_with_drm_is_skipped(tmp_path: Path) -> None:
    path = write_epub(tmp_path / "locked.epub", [("One", "words")], drm=True)
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
    chunks = chunk_sections(sections, spans, max_tokens=64)
    assert [c.location for c in chunks] == ["Budget, rows 1–3", "Budget, row 10", "Notes, row 2"]


@pytest.mark.slow
def test_million_row_spreadsheet_is_capped_with_a_note(tmp_path: Path) -> None:
    from app.core.extract.sheets import MAX_ROWS

    path = xlsx_by_hand(tmp_path / "log.xlsx", 1_000_000)
    result = extract_file(path)
    rows = sum(s.text.count("\n") + 1 for s in result.sections)
    assert rows == MAX_ROWS
    assert result.sections[-1].text.endswith(str(MAX_ROWS))
    assert result.notes and f"first {MAX_ROWS:,} rows" in result.notes[0]


def test_ods_rows_repeats_and_numbers(tmp_path: Path) -> None:
    content = odf_content("spreadsheet", """
      <table:table table:name="Stock">
        <table:table-row><table:table-cell office:value-type="string"><text:p>Bolt</text:p></table:table-cell>
          <table:table-cell office:value-type="float" office:value="1500">
            <text:p>1,500</text:p></table:table-cell>
        </table:table-row>
        <table:table-row table:number-rows-repeated="1000000"><table:table-cell/></table:table-row>
        <table:table-row><table:table-cell office:value-type="string"><text:p>Nut</text:p></table:table-cell>
          <table:table-cell office:value-type="float" office:value="0.25"/></table:table-row>
      </table:table>""")
    path = write_odf(tmp_path / "stock.ods", "spreadsheet", content)
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


def test_eml_header_body_and_attachment(tmp_path: Path) -> None:
    document = docx.Document()
    document.add_paragraph("The contract renews in April.")
    docx_path = tmp_path / "contract.docx"
    document.save(str(docx_path))
    message = mail_message("Renewal", "Please see the attached contract.",
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
        box.add(mail_message(f"Note {i}", f"From here on, body {i}."))
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
