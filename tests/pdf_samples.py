"""Tiny PDFs with a real text layer written by hand, and scanned pages rendered with Pillow."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from pypdf import PdfReader, PdfWriter


def _pdf_string(line: str) -> bytes:
    """A PDF literal string in WinAnsiEncoding (cp1252), escaped."""
    out = bytearray(b"(")
    for byte in line.encode("cp1252"):
        if byte in b"()\\":
            out += b"\\" + bytes([byte])
        elif 32 <= byte < 127:
            out.append(byte)
        else:
            out += b"\\%03o" % byte
    return bytes(out + b")")


def _content_stream(text: str) -> bytes:
    """Draw each line of text in 12 pt Helvetica, top to bottom; an empty text draws nothing."""
    if not text:
        return b""
    parts = [b"BT /F1 12 Tf 14 TL 72 720 Td"]
    for i, line in enumerate(text.split("\n")):
        parts.append((b"T* " if i else b"") + _pdf_string(line) + b" Tj")
    parts.append(b"ET")
    return b"\n".join(parts)


def pdf_bytes(pages: list[str]) -> bytes:
    """A valid PDF with one page per string (lines split on "\\n"), xref offsets exact."""
    n = len(pages)
    font_id = 3 + 2 * n
    kids = " ".join(f"{3 + 2 * i} 0 R" for i in range(n))
    objects: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{kids}] /Count {n} >>".encode(),
    ]
    for i, text in enumerate(pages):
        stream = _content_stream(text)
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {4 + 2 * i} 0 R "
            f"/Resources << /Font << /F1 {font_id} 0 R >> >> >>".encode()
        )
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def make_pdf(
    path: Path, pages: list[str], encrypt: str | None = None, owner_password: str | None = None
) -> Path:
    """Write a PDF of the given page texts to path, encrypted (RC4) with encrypt if given."""
    raw = pdf_bytes(pages)
    if encrypt is None:
        path.write_bytes(raw)
        return path
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(raw)))
    # RC4 works without the optional "cryptography" package; AES would need it.
    writer.encrypt(encrypt, owner_password, algorithm="RC4-128")
    with open(path, "wb") as f:
        writer.write(f)
    return path


def text_image(lines: list[str], *, width: int = 1100, size: int = 30) -> Any:
    """A white Pillow image with the lines drawn in black, like a clean scan or a screenshot."""
    from PIL import Image, ImageDraw, ImageFont

    try:
        font: Any = ImageFont.truetype("DejaVuSans.ttf", size)
    except OSError:
        font = ImageFont.load_default(size=size)
    line_height = int(size * 1.8)
    image = Image.new("RGB", (width, 60 + line_height * len(lines)), "white")
    draw = ImageDraw.Draw(image)
    for i, line in enumerate(lines):
        draw.text((40, 30 + i * line_height), line, fill="black", font=font)
    return image


def make_scanned_pdf(path: Path, pages: list[list[str] | str]) -> Path:
    """A PDF whose pages are either text-layer pages (a str) or images of text lines (a list)."""
    writer = PdfWriter()
    for page in pages:
        if isinstance(page, str):
            source = PdfReader(io.BytesIO(pdf_bytes([page])))
        else:
            buffer = io.BytesIO()
            text_image(page).save(buffer, "PDF", resolution=150)
            source = PdfReader(io.BytesIO(buffer.getvalue()))
        writer.add_page(source.pages[0])
    with open(path, "wb") as f:
        writer.write(f)
    return path


def pdf_with_font(streams: list[bytes], font: bytes, extra: list[bytes] = ()) -> bytes:  # type: ignore[assignment]
    """A PDF of one page per content stream, all drawn with the font dictionary ``font`` as /F1.

    ``extra`` are further objects, numbered from 3 + 2 * len(streams) + 1 on, for the font to
    refer to (a ToUnicode CMap stream, say).
    """
    n = len(streams)
    font_id = 3 + 2 * n
    kids = " ".join(f"{3 + 2 * i} 0 R" for i in range(n))
    objects: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{kids}] /Count {n} >>".encode(),
    ]
    for i, stream in enumerate(streams):
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {4 + 2 * i} 0 R "
            f"/Resources << /Font << /F1 {font_id} 0 R >> >> >>".encode()
        )
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
    objects.append(font)
    objects.extend(extra)
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


# A TeX-made paper's font as pdfTeX embeds it, without a Unicode map: code 32 is a wide glyph
# (TeX fonts have no space; the slot holds another glyph), words are set apart by kerning in
# TJ arrays, and the ligatures ff fi fl ffi ffl sit in slots 11-15 under glyph names no reader
# knows.
_TEX_LIGATURES = {"ﬀ": 11, "ﬁ": 12, "ﬂ": 13, "ﬃ": 14, "ﬄ": 15}
_TEX_FONT = (
    b"<< /Type /Font /Subtype /Type1 /BaseFont /CMR10 /FirstChar 11 /LastChar 126 /Widths [%s] "
    b"/Encoding << /Type /Encoding /BaseEncoding /WinAnsiEncoding "
    b"/Differences [11 /g11 /g12 /g13 /g14 /g15] >> "
    b"/FontDescriptor << /Type /FontDescriptor /FontName /CMR10 /Flags 4 "
    b"/FontBBox [0 -250 1000 750] /ItalicAngle 0 /Ascent 750 /Descent -250 /CapHeight 700 "
    b"/StemV 80 >> >>"
) % b" ".join([b"556"] * 5 + [b"500"] * 16 + [b"525"] + [b"500"] * 94)


def _tex_line(line: str) -> bytes:
    """One line as pdfTeX sets it: a TJ array, a kern of -333 between words, ligature slots."""
    out = []
    for word in line.split(" "):
        raw = bytearray()
        for ch in word:
            code = _TEX_LIGATURES.get(ch)
            raw += bytes([code]) if code else ch.encode("cp1252")
        out.append(b"(" + b"".join(b"\\%03o" % b if b < 32 or b in b"()\\" else bytes([b])
                                  for b in raw) + b")")
    return b"[" + b" -333 ".join(out) + b"] TJ"


def make_tex_like_pdf(path: Path, pages: list[str]) -> Path:
    """A PDF whose pages are set like a TeX paper's (see _TEX_FONT); lines split on "\\n"."""
    streams = []
    for text in pages:
        lines = [(b"T* " if i else b"") + _tex_line(line) for i, line in enumerate(text.split("\n"))]
        streams.append(b"BT /F1 10 Tf 12 TL 72 720 Td " + b" ".join(lines) + b" ET")
    path.write_bytes(pdf_with_font(streams, _TEX_FONT))
    return path


def _to_unicode(mapping: dict[int, int]) -> bytes:
    body = "\n".join(f"<{code:02X}> <{uni:04X}>" for code, uni in sorted(mapping.items()))
    cmap = ("/CIDInit /ProcSet findresource begin 12 dict begin begincmap /CMapName /Broken def "
            "1 begincodespacerange <00> <FF> endcodespacerange\n"
            f"{len(mapping)} beginbfchar\n{body}\nendbfchar\nendcmap "
            "CMapName currentdict /CMap defineresource pop end end").encode()
    return b"<< /Length %d >>\nstream\n%s\nendstream" % (len(cmap), cmap)


_LETTERS = [ord(c) for c in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"]


def broken_font_map(kind: str) -> dict[int, int]:
    """A ToUnicode map that sends the letters to garbage: "controls" maps them to control
    characters, "cipher" to other letters (a fixed shuffle, as a scrambled subset gives)."""
    if kind == "controls":
        return {code: 1 + i % 30 for i, code in enumerate(_LETTERS)}
    import random

    shuffled = _LETTERS[:]
    random.Random(7).shuffle(shuffled)
    return dict(zip(_LETTERS, shuffled, strict=True))


def make_broken_font_pdf(path: Path, pages: list[str | list[str]], kind: str = "controls") -> Path:
    """A PDF whose text pages (a str) are fine and whose other pages (a list of lines) show
    those lines in Helvetica while their text layer, read through a broken ToUnicode map, is
    garbage of the given ``kind`` (see broken_font_map)."""
    streams = [_content_stream(p if isinstance(p, str) else "\n".join(p)) for p in pages]
    n = len(pages)
    # Object numbers: 3 + 2n is the good font, 4 + 2n the broken one, 5 + 2n its map.
    good, broken = 3 + 2 * n, 4 + 2 * n
    raw = pdf_with_font(streams, b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica "
                                 b"/Encoding /WinAnsiEncoding >>",
                        [b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica "
                         b"/Encoding /WinAnsiEncoding /ToUnicode %d 0 R >>" % (broken + 1),
                         _to_unicode(broken_font_map(kind))])
    for i, page in enumerate(pages):
        if isinstance(page, list):  # this page draws with the broken font
            raw = raw.replace(b"/Contents %d 0 R /Resources << /Font << /F1 %d 0 R" % (4 + 2 * i, good),
                              b"/Contents %d 0 R /Resources << /Font << /F1 %d 0 R" % (4 + 2 * i, broken))
    path.write_bytes(_fix_xref(raw))
    return path


def _fix_xref(raw: bytes) -> bytes:
    """The same PDF with its cross-reference offsets made exact again."""
    import re

    body = raw[: raw.index(b"xref\n")]
    offsets = [m.start() for m in re.finditer(rb"(?m)^\d+ 0 obj\n", body)]
    count = len(offsets)
    out = bytearray(body)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (count + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (count + 1, len(body))
    return bytes(out)
