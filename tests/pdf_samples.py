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
