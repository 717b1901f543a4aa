"""Bad input of every structured format: zip bombs, lying sizes, passwords, damaged packages and
images, truncated and scrambled files; each skipped with a reason or read, never a hang or a crash."""

from __future__ import annotations

import random
import struct
import zipfile
import zlib
from pathlib import Path

import docx
import openpyxl
import pptx
import pytest

from app.core.errors import SkipFile
from app.core.extract import extract, extract_file
from app.core.extract.ziplimits import OLE_MAGIC
from tests.core.extract.format_samples import (
    mail_message,
    odf_content,
    skip_reason,
    write_epub,
    write_odf,
    write_zip,
)

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
    write_zip(path, members)
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
    assert skip_reason(path, ocr=False) == "not a readable image (damaged or an unknown format)"


def test_icon_is_skipped_as_too_small(tmp_path: Path) -> None:
    from PIL import Image

    path = tmp_path / "favicon.png"
    Image.new("RGB", (16, 16), "white").save(path)
    assert skip_reason(path, ocr=False) == (
        "the image is 16 × 16 pixels, too small to hold readable text")


def test_image_with_ocr_off_says_so(tmp_path: Path) -> None:
    from PIL import Image

    path = tmp_path / "shot.png"
    Image.new("RGB", (400, 200), "white").save(path)
    assert "OCR" in skip_reason(path, ocr=False)
    assert extract_file(path).ocr_pages == (1,)


# --- damaged files of every format ---------------------------------------------------------------


def valid_samples(tmp: Path) -> dict[str, bytes]:
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
    write_odf(tmp / "s.odt", "text", odf_content("text", "<text:p>Words</text:p>" * 50))
    write_epub(tmp / "s.epub", [("One", "Words " * 50), ("Two", "More " * 50)])
    for name in ("s.docx", "s.pptx", "s.xlsx", "s.odt", "s.epub"):
        samples[name] = (tmp / name).read_bytes()
    samples["s.rtf"] = rb"{\rtf1\ansi{\fonttbl{\f0 Arial;}}\f0 Hello {\b world}\par " + b"x " * 200 + b"}"
    samples["s.eml"] = bytes(mail_message("Hi", "Body " * 100, ("a.csv", b"a,b\n1,2\n")))
    return samples


def test_truncated_and_scrambled_files_are_skipped_or_read_never_raised(tmp_path: Path) -> None:
    rng = random.Random(11)
    for name, data in valid_samples(tmp_path).items():
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
