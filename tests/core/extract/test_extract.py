"""What a user notices about text extraction: right text, right places, clear skip reasons."""

from __future__ import annotations

import builtins
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import docx
import pytest

from app.core import extract as extract_pkg
from app.core.errors import Cancelled
from app.core.extract import extract, kind_of, shutdown, supported_extensions
from app.core.extract import pdf as pdf_module
from app.core.records import Section
from tests.core.extract.format_samples import skip_reason
from tests.pdf_samples import make_pdf


@pytest.fixture(scope="module", autouse=True)
def _stop_pdf_worker() -> Iterator[None]:
    yield
    shutdown()


@pytest.fixture(params=["worker", "inprocess"])
def pdf_mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "inprocess":
        monkeypatch.setenv(pdf_module.INPROCESS_ENV, "1")
    else:
        monkeypatch.delenv(pdf_module.INPROCESS_ENV, raising=False)
    return request.param


def line_of(section: Section, needle: str) -> int:
    offset = section.text.index(needle)
    return section.first_line + section.text.count("\n", 0, offset)


# --- plain text ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("encoding", "prefix"),
    [("utf-8", b""), ("utf-8", b"\xef\xbb\xbf"), ("utf-16", b""), ("utf-16-le", b""), ("utf-16-be", b""),
     ("cp1252", b""), ("latin-1", b"")],
)
def test_text_encodings_are_decoded(tmp_path: Path, encoding: str, prefix: bytes) -> None:
    path = tmp_path / "note.txt"
    path.write_bytes(prefix + "Rechnung\nMüller Sanitär\nGrüße".encode(encoding))
    [section] = extract(path)
    assert section.text == "Rechnung\nMüller Sanitär\nGrüße"
    assert section.page is None
    assert line_of(section, "Müller") == 2


def test_utf16_without_bom_is_text_but_binary_stays_binary(tmp_path: Path) -> None:
    # Windows tools (PowerShell's Out-File, regedit exports) write UTF-16 without a BOM too.
    log = tmp_path / "export.log"
    log.write_bytes("Event 4625: logon failed for user Ann\r\n".encode("utf-16-le") * 50)
    [section] = extract(log)
    assert section.text.split("\n")[0] == "Event 4625: logon failed for user Ann"
    assert line_of(section, "Ann") == 1
    data = tmp_path / "table.txt"
    data.write_bytes(bytes(range(256)) * 40)  # NULs here and there: binary
    assert skip_reason(data) == "binary content, not text"


def test_non_western_legacy_encodings(tmp_path: Path) -> None:
    for name, text, encoding in [
        ("ru.txt", "Привет, как дела? Это тестовый файл.", "cp1251"),
        ("ja.txt", "日本語のテキストファイルです。検索テスト", "shift_jis"),
        ("pl.txt", "Zażółć gęślą jaźń", "cp1250"),
    ]:
        path = tmp_path / name
        path.write_bytes(text.encode(encoding))
        assert extract(path)[0].text == text


def test_crlf_and_cr_line_endings_keep_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "dos.txt"
    path.write_bytes(b"one\r\ntwo\r\nthree\rfour\n")
    [section] = extract(path)
    assert section.text == "one\ntwo\nthree\nfour\n"
    assert line_of(section, "four") == 4


def test_markdown_loses_its_marks_but_keeps_its_lines(tmp_path: Path) -> None:
    path = tmp_path / "notes.md"
    path.write_text("# Title\n\nSome *emphasis* here.\n\n- item\n", encoding="utf-8")
    [section] = extract(path)
    assert section.text.startswith("Title\n\nSome emphasis here.")
    assert line_of(section, "- item") == 5
    assert kind_of(path) == "markdown"


def test_python_source(tmp_path: Path) -> None:
    path = tmp_path / "tool.py"
    path.write_text('import os\n\n\ndef main():\n    return "hi"\n', encoding="utf-8")
    [section] = extract(path)
    assert line_of(section, "def main") == 4
    assert kind_of(path) == "code"


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.txt"
    path.write_bytes(b"")
    assert skip_reason(path) == "empty file (0 bytes)"


def test_whitespace_only_text(tmp_path: Path) -> None:
    path = tmp_path / "blank.txt"
    path.write_text("  \n\t\n", encoding="utf-8")
    assert skip_reason(path) == "no text found"


def test_binary_in_text_file(tmp_path: Path) -> None:
    path = tmp_path / "data.txt"
    path.write_bytes(bytes(range(256)) * 16)
    assert "binary" in skip_reason(path)


def test_control_characters_without_nul_count_as_binary(tmp_path: Path) -> None:
    path = tmp_path / "data.log"
    path.write_bytes(bytes(b for b in range(1, 32) if b not in b"\t\n\r") * 100 + b"abc")
    assert "binary" in skip_reason(path)


def test_over_size_limit(tmp_path: Path) -> None:
    path = tmp_path / "big.txt"
    path.write_bytes(b"x" * (3 * 2**20 + 2**19))
    assert skip_reason(path, max_bytes=2 * 2**20) == "larger than the 2 MB limit (3.5 MB)"


def test_vanished_file(tmp_path: Path) -> None:
    assert skip_reason(tmp_path / "gone.txt") == "file disappeared before it could be read"


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root can read anything")
def test_unreadable_file_chmod(tmp_path: Path) -> None:
    path = tmp_path / "secret.txt"
    path.write_text("hidden", encoding="utf-8")
    path.chmod(0)
    try:
        assert skip_reason(path) == "permission denied"
    finally:
        path.chmod(0o600)


@pytest.mark.parametrize("name", ["secret.txt", "page.html", "letter.docx"])
def test_unreadable_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(b"something")
    real_open = builtins.open

    def deny(file: object, *args: object, **kwargs: object) -> object:
        if str(file) == str(path):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(file, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(builtins, "open", deny)
    monkeypatch.setenv("SIFT_EXTRACT_INPROCESS", "1")  # the denial is patched into this process
    assert skip_reason(path) == "permission denied"


# --- kinds ----------------------------------------------------------------------------------


def test_kinds_and_extensions() -> None:
    assert kind_of(Path("a/Report.PDF")) == "pdf"
    assert kind_of(Path("letter.docx")) == "docx"
    assert kind_of(Path("index.htm")) == "html"
    assert kind_of(Path("config.yaml")) == "text"
    assert kind_of(Path("README")) == "text"
    assert kind_of(Path("Makefile")) == "code"
    assert kind_of(Path("photo.jpg")) == "image"
    assert kind_of(Path("archive.tar.gz")) is None
    assert kind_of(Path("noextension")) is None
    assert {".txt", ".md", ".pdf", ".docx", ".html", ".py"} <= supported_extensions()
    assert all(ext.startswith(".") and ext == ext.lower() for ext in supported_extensions())


def test_unsupported_file_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "archive.7z"
    path.write_bytes(b"7z\xbc\xaf\x27\x1c")
    assert skip_reason(path) == "unsupported file type"


# --- HTML -----------------------------------------------------------------------------------


def test_html_visible_text_only(tmp_path: Path) -> None:
    path = tmp_path / "page.html"
    path.write_bytes(
        b"<!DOCTYPE html><html><head><title>Tab title</title>"
        b'<meta charset="windows-1252"><style>.hidden { color: red }</style></head>'
        b"<body><!-- a comment --><h1>Angebot f\xfcr   M\xfcller</h1>"
        b"<p>First line<br>second line</p><script>var tracking = 1;</script>"
        b"<noscript>enable javascript</noscript><template><p>template text</p></template>"
        b"<table><tr><td>cell a</td><td>cell b</td></tr></table></body></html>"
    )
    [section] = extract(path)
    assert section.text.splitlines() == [
        "Angebot für Müller",
        "First line",
        "second line",
        "cell a cell b",
    ]


def test_xhtml_utf8_with_entities_and_pre(tmp_path: Path) -> None:
    path = tmp_path / "doc.xhtml"
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<html xmlns="http://www.w3.org/1999/xhtml">'
        "<body><p>Gr\u00fc\u00dfe &amp; K\u00fcsse</p><pre>line 1\nline 2</pre></body></html>",
        encoding="utf-8",
    )
    assert extract(path)[0].text.splitlines() == ["Grüße & Küsse", "line 1", "line 2"]


def test_html_without_visible_text(tmp_path: Path) -> None:
    path = tmp_path / "empty.html"
    path.write_text("<html><head><script>x()</script></head><body> </body></html>")
    assert skip_reason(path) == "no text found"


# --- DOCX -----------------------------------------------------------------------------------


def test_docx_paragraphs_and_tables_in_order(tmp_path: Path) -> None:
    document = docx.Document()
    document.add_heading("Quarterly report", level=1)
    document.add_paragraph("Revenue grew strongly.")
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "Region", "Sales"
    table.cell(1, 0).text, table.cell(1, 1).text = "Nord", "1200"
    document.add_paragraph("Signed, Müller")
    path = tmp_path / "report.docx"
    document.save(str(path))
    [section] = extract(path)
    assert section.text.splitlines() == [
        "Quarterly report",
        "Revenue grew strongly.",
        "Region\tSales",
        "Nord\t1200",
        "Signed, Müller",
    ]


def test_docx_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "broken.docx"
    path.write_bytes(b"this is not a zip file")
    assert skip_reason(path).startswith("not a valid DOCX file")


def test_docx_without_text(tmp_path: Path) -> None:
    path = tmp_path / "blank.docx"
    docx.Document().save(str(path))
    assert skip_reason(path) == "no text found"


# --- PDF ------------------------------------------------------------------------------------


def test_pdf_pages(tmp_path: Path, pdf_mode: str) -> None:
    path = make_pdf(tmp_path / "two.pdf", ["Invoice (draft)\nMüller Sanitär", "Page two"])
    sections = extract(path)
    assert [s.page for s in sections] == [1, 2]
    assert sections[0].text.splitlines() == ["Invoice (draft)", "Müller Sanitär"]
    assert sections[1].text.strip() == "Page two"
    assert all(s.first_line == 1 for s in sections)


def test_pdf_blank_pages_between_text_are_left_out(tmp_path: Path) -> None:
    path = make_pdf(tmp_path / "gap.pdf", ["first", "", "third"])
    assert [(s.page, s.text.strip()) for s in extract(path)] == [(1, "first"), (3, "third")]


def test_pdf_encrypted(tmp_path: Path, pdf_mode: str) -> None:
    path = make_pdf(tmp_path / "locked.pdf", ["top secret"], encrypt="secret")
    assert "encrypted" in skip_reason(path)


def test_pdf_with_empty_user_password_is_read(tmp_path: Path) -> None:
    path = make_pdf(tmp_path / "owner.pdf", ["printable"], encrypt="", owner_password="owner")
    assert extract(path)[0].text.strip() == "printable"


def test_pdf_aes_without_backend(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import pypdf
    from pypdf.errors import DependencyError

    def aes_reader(*args: object, **kwargs: object) -> None:
        raise DependencyError("cryptography>=3.1 is required for AES algorithm")

    monkeypatch.setenv(pdf_module.INPROCESS_ENV, "1")
    monkeypatch.setattr(pypdf, "PdfReader", aes_reader)
    path = make_pdf(tmp_path / "aes.pdf", ["x"])
    assert "encrypted" in skip_reason(path)


def test_pdf_without_text_layer(tmp_path: Path, pdf_mode: str) -> None:
    path = make_pdf(tmp_path / "scan.pdf", ["", ""])
    assert skip_reason(path) == "the PDF has no text layer and no images"


@pytest.mark.parametrize("content", [os.urandom(4096), b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog", b"%PDF-"])
def test_pdf_corrupt(tmp_path: Path, pdf_mode: str, content: bytes) -> None:
    path = tmp_path / "broken.pdf"
    path.write_bytes(content)
    assert skip_reason(path).startswith("the PDF is damaged")


def test_pdf_vanished(tmp_path: Path) -> None:
    assert skip_reason(tmp_path / "gone.pdf") == "file disappeared before it could be read"


def test_pdf_timeout_then_recovers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(pdf_module.INPROCESS_ENV, raising=False)
    path = make_pdf(tmp_path / "slow.pdf", ["patience"])
    monkeypatch.setenv(pdf_module.TEST_DELAY_ENV, "30")
    assert skip_reason(path, pdf_timeout=0.5) == "took longer than 0.5 s to read; skipped"
    monkeypatch.delenv(pdf_module.TEST_DELAY_ENV)
    assert extract(path)[0].text.strip() == "patience"


def test_pdf_worker_crash_is_a_skip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(pdf_module.INPROCESS_ENV, raising=False)
    path = make_pdf(tmp_path / "crash.pdf", ["boom"])
    extract(path)  # start the worker
    monkeypatch.setenv(pdf_module.TEST_DELAY_ENV, "30")
    worker = pdf_module._slot.worker
    assert worker is not None
    threading.Timer(0.3, worker.process.kill).start()
    assert "crashed" in skip_reason(path)
    monkeypatch.delenv(pdf_module.TEST_DELAY_ENV)
    assert extract(path)[0].text.strip() == "boom"


def test_shutdown_during_extract_cancels(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(pdf_module.INPROCESS_ENV, raising=False)
    path = make_pdf(tmp_path / "late.pdf", ["late"])
    extract(path)  # start the worker
    monkeypatch.setenv(pdf_module.TEST_DELAY_ENV, "30")
    threading.Timer(0.5, extract_pkg.shutdown).start()
    with pytest.raises(Cancelled):
        extract(path)
    monkeypatch.delenv(pdf_module.TEST_DELAY_ENV)
    assert extract(path)[0].text.strip() == "late"
