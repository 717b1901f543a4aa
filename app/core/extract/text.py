"""Plain text, Markdown and source code: decode the bytes, keep every line where it was."""

from __future__ import annotations

import codecs
import re
from pathlib import Path

from app.core.errors import SkipFile
from app.core.records import Section

# Longest BOMs first: the UTF-32-LE BOM starts with the UTF-16-LE one.
_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_SNIFF_BYTES = 8 * 1024
_SAMPLE_CHARS = 100_000
# Tab, newlines, form feed, ESC (ANSI colours in logs) and backspace do occur in real text.
_HARMLESS_CONTROLS = frozenset("\t\n\r\x0b\x0c\x1b\x08")
_MAX_CONTROL_RATIO = 0.02
_WORD = re.compile(r"[^\W\d_]+")
_INNER = re.compile(r"(?<=[^\W\d_])\S(?=[^\W\d_])")
# Non-letters that legitimately sit inside Western words ("don’t", "m²", "co–op").
_INWORD_OK = frozenset("’‘´`–—·­²³°")


def os_error_reason(exc: OSError) -> str:
    """The user-facing reason for an OSError raised while opening or reading a file."""
    if isinstance(exc, PermissionError):
        return "permission denied"
    if isinstance(exc, FileNotFoundError):
        return "file disappeared before it could be read"
    if isinstance(exc, IsADirectoryError):
        return "not a regular file"
    return f"could not read the file: {exc.strerror or exc}"


def read_bytes(path: Path, max_bytes: int) -> bytes:
    """Read a whole file, mapping OS errors to SkipFile."""
    try:
        with open(path, "rb") as f:
            data = f.read(max_bytes + 1)
    except OSError as exc:
        raise SkipFile(os_error_reason(exc)) from exc
    if not data:
        raise SkipFile("empty file (0 bytes)")
    if len(data) > max_bytes:
        # The file grew between stat() and read().
        raise SkipFile("larger than the size limit")
    return data


def _bom_encoding(data: bytes) -> str | None:
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return encoding
    return None


def _looks_western(text: str) -> bool:
    """Whether text decoded as cp1252 reads like a Western language rather than mojibake.

    charset-normalizer guesses badly on short Western text (it calls "Ça va? Très bien" Big5),
    so cp1252 is tried first, but Cyrillic/Greek/Polish bytes also decode as cp1252: those give
    words made only of accented letters, or symbols such as "¿" and "¹" in the middle of words.
    """
    foreign_words = 0
    mixed_words = 0
    for match in _WORD.finditer(text[:_SAMPLE_CHARS]):
        word = match.group()
        if word.isascii():
            continue
        if any(c.isascii() for c in word):
            mixed_words += 1
        elif len(word) > 1:
            foreign_words += 1
    if foreign_words > max(1, mixed_words // 4):
        return False
    inner = _INNER.findall(text[:_SAMPLE_CHARS])
    return all(c.isalpha() or c.isascii() or c in _INWORD_OK for c in inner)


def _utf16_without_bom(data: bytes) -> str | None:
    """"utf-16-le"/"-be" when NUL bytes sit on one parity only, as in mostly-ASCII UTF-16 text.

    Latin text in UTF-16 has a NUL in every other byte; binary files have NULs scattered on
    both parities. Text in other scripts has no NULs at all and is not recognised here.
    """
    sample = data[:_SNIFF_BYTES]
    even, odd = sample[0::2], sample[1::2]
    if len(odd) < 2:
        return None
    nul_even = even.count(0) / len(even)
    nul_odd = odd.count(0) / len(odd)
    if nul_odd >= 0.3 and nul_even <= 0.02:
        encoding = "utf-16-le"
    elif nul_even >= 0.3 and nul_odd <= 0.02:
        encoding = "utf-16-be"
    else:
        return None
    try:
        data[: len(sample) // 2 * 2].decode(encoding)
    except UnicodeDecodeError:
        # A sample may end inside a surrogate pair; only a failure before its last unit counts.
        try:
            data[: len(sample) // 2 * 2 - 2].decode(encoding)
        except UnicodeDecodeError:
            return None
    return encoding


def _guess_decode(data: bytes) -> str:
    """Decode bytes that are not UTF-8: cp1252 when plausible, else charset-normalizer's guess."""
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        pass
    else:
        if _looks_western(text):
            return text
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        raise SkipFile("binary content, not text")
    try:
        return str(best)
    except (UnicodeDecodeError, LookupError) as exc:
        raise SkipFile("could not decode the text") from exc


def _too_many_controls(text: str) -> bool:
    sample = text[:_SAMPLE_CHARS]
    controls = sum(1 for c in sample if c < " " and c not in _HARMLESS_CONTROLS)
    return controls > len(sample) * _MAX_CONTROL_RATIO


def decode_bytes(data: bytes) -> str:
    """Decode file bytes to str with normalised newlines and no BOM; raise SkipFile if binary."""
    encoding = _bom_encoding(data)
    if encoding is not None:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError as exc:
            raise SkipFile("could not decode the text") from exc
    elif b"\x00" in data[:_SNIFF_BYTES]:
        encoding = _utf16_without_bom(data)
        if encoding is None:
            raise SkipFile("binary content, not text")
        text = data[: len(data) // 2 * 2].decode(encoding, errors="replace")
    else:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = _guess_decode(data)
    text = text.removeprefix("\ufeff")
    if "\x00" in text[:_SNIFF_BYTES] or _too_many_controls(text):
        raise SkipFile("binary content, not text")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def extract_text(path: Path, max_bytes: int) -> list[Section]:
    """The whole file as one Section whose line numbers match the file's."""
    text = decode_bytes(read_bytes(path, max_bytes))
    if not text.strip():
        raise SkipFile("no text found")
    return [Section(text, page=None, first_line=1)]
