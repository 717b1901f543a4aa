"""Text hygiene: what search, snippets and the index see is clean, and line numbers stay right."""

from __future__ import annotations

from pathlib import Path

import docx
from hypothesis import given
from hypothesis import strategies as st

from app.core.extract import extract
from app.core.extract.chunking import chunk_sections
from app.core.extract.clean import clean_text
from tests.pdf_samples import make_pdf


def _words(text: str) -> list[tuple[int, int]]:
    import re

    return [m.span() for m in re.finditer(r"\S+", text)]


def test_ligatures_fold_but_meaningful_symbols_stay() -> None:
    text = clean_text("eﬃcient ﬁle system ﬂow, ５ apples, m² and ½ cup, H₂O, ™, ①", "pdf")
    assert text == "efficient file system flow, 5 apples, m² and ½ cup, H₂O, ™, ①"


def test_combining_accents_are_composed() -> None:
    assert clean_text("Mu\u0308ller cafe\u0301", "pdf") == "Müller café"


def test_zero_width_and_soft_hyphens_do_not_split_words() -> None:
    assert clean_text("in\u200bvoice hyphen\u00adation", "text") == "invoice hyphenation"


def test_line_end_hyphenation_is_joined_on_the_first_line() -> None:
    text = clean_text("The docu-\nments were responsi-\n  bility. of the team\nend", "pdf")
    assert text.split("\n") == ["The documents", "were responsibility.", "  of the team", "end"]


def test_capitalised_continuations_and_code_keep_their_hyphens() -> None:
    assert clean_text("Jean-\nPaul came", "pdf") == "Jean-\nPaul came"
    assert clean_text("x = total -\n  offset", "code") == "x = total -\n  offset"


def test_markdown_front_matter_and_rst_markup_become_blank_lines() -> None:
    source = ("---\ntitle: Notes\ntags: [a]\n---\nSetup\n=====\n\n+------+-----+\n| name | age |\n"
              "+======+=====+\n| Ann  | 31  |\n+------+-----+\n\n| a | b |\n|---|:-:|\n| 1 | 2 |\n")
    text = clean_text(source, "markdown")
    lines = text.split("\n")
    assert len(lines) == len(source.split("\n"))
    assert lines[:4] == ["", "", "", ""]
    assert lines[4] == "Setup" and lines[5] == ""
    assert "name\tage" in lines and "Ann\t31" in lines and "1\t2" in lines
    assert not any(set(line) <= set("+-=|: ") and line for line in lines)


def test_a_leading_horizontal_rule_is_not_front_matter() -> None:
    source = "---\nIntro text\n\n---\nMore"
    assert clean_text(source, "markdown") == "\nIntro text\n\n\nMore"


@given(st.text(alphabet=st.sampled_from(list("ab -\n\u00adﬁ\u200b=+|#\t")), max_size=200),
       st.sampled_from(["text", "markdown", "pdf", "code"]))
def test_cleaning_never_changes_the_number_of_lines(text: str, kind: str) -> None:
    assert clean_text(text, kind).count("\n") == text.count("\n")


def test_every_format_goes_through_the_cleaning(tmp_path: Path) -> None:
    (tmp_path / "paper.txt").write_text("The underlying ﬁle system is eﬃ-\ncient", encoding="utf-8")
    (tmp_path / "page.html").write_text("<p>The underlying ﬁle system</p>", encoding="utf-8")
    make_pdf(tmp_path / "scan.pdf", ["The underlying file sys-\ntem is fast"])
    assert extract(tmp_path / "paper.txt")[0].text == "The underlying file system is efficient\n"
    assert extract(tmp_path / "page.html")[0].text == "The underlying file system"
    assert extract(tmp_path / "scan.pdf")[0].text.split() == "The underlying file system is fast".split()


def test_markdown_passages_keep_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "notes.rst"
    path.write_text("Title\n=====\n\nFirst para-\ngraph text.\n\nSecond\n", encoding="utf-8")
    [section] = extract(path)
    lines = section.text.split("\n")
    assert lines[0] == "Title" and lines[1] == ""
    assert lines[3:5] == ["First paragraph", "text."]
    assert lines[6] == "Second"


def test_docx_location_names_the_heading_and_paragraph(tmp_path: Path) -> None:
    document = docx.Document()
    document.add_paragraph("Intro line.")
    document.add_heading("Results", level=1)
    document.add_paragraph("Revenue grew.")
    document.add_paragraph("Costs fell.")
    path = tmp_path / "r.docx"
    document.save(str(path))
    chunks = chunk_sections(extract(path), _words, max_tokens=8, overlap=0)
    assert [c.location for c in chunks] == ["paragraph 1", "“Results”, paragraphs 2–4"]
    assert "line" not in chunks[1].location


def test_spreadsheet_rows_are_never_joined(tmp_path: Path) -> None:
    path = tmp_path / "parts.csv"
    path.write_text("name,code\nbolt-\nnut,x1\n", encoding="utf-8")
    [section] = extract(path)
    assert section.text.split("\n")[1:3] == ["bolt-", "nut\tx1"]


def test_every_prose_kind_is_dehyphenated() -> None:
    from app.core.extract.clean import _PROSE_KINDS
    from app.core.extract.kinds import _KINDS_BY_EXT

    kinds = set(_KINDS_BY_EXT.values())
    assert kinds >= _PROSE_KINDS
    assert kinds - _PROSE_KINDS == {"code", "csv", "xlsx", "ods"}


def test_words_glued_by_ocr_are_split_but_real_words_and_codes_stay() -> None:
    from app.core.extract.ocr.words import respace

    assert respace("Paidon3March2024 at Receiptfromthehardwarestore") == \
        "Paid on 3 March 2024 at Receipt from the hardware store"
    assert respace("Scannedtaxformfor2023.") == "Scanned tax form for 2023."
    for kept in ("misunderstandings", "reimbursements", "ABCDEF123456789", "gedt0005q",
                 "Schwarzenegger2024report", "Rechnungsnummer", "electroencephalography"):
        assert respace(kept) == kept


def test_tex_ligature_slots_become_letters_and_stray_symbol_codes_go() -> None:
    # A font without a Unicode map leaves TeX's OT1 slots: 11 ff, 12 fi, 13 fl, 14 ffi, 15 ffl.
    raw = "its de\x0cnition, e\x0ecient data \x0cles, the sta\x0b, \x0dow and a\x0fuent end\x0c\nnext"
    assert clean_text(raw, "pdf") == \
        "its definition, efficient data files, the staff, flow and affluent end\nnext"
    assert clean_text("t = 30.2 \x89 or \x1a \\rightarrow", "pdf") == "t = 30.2  or  \\rightarrow"
    assert clean_text("page one\x0cpage two", "text") == "page one\x0cpage two"
    assert clean_text("old Mac line\rbreaks", "eml") == "old Mac line\rbreaks"


def test_pdfium_line_end_hyphens_and_adobe_figures_are_repaired() -> None:
    assert clean_text("corre\ufffesponding to the varia\ufffe\nbles", "pdf") == \
        "corresponding to the variables\n"
    assert clean_text("Published in \uf731\uf739\uf739\uf738 by \uf761\uf763\uf76d\uf765", "pdf") == \
        "Published in 1998 by acme"
