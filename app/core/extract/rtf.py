"""Rich Text Format (.rtf) with striprtf: the text without control words."""

from __future__ import annotations

from pathlib import Path

from app.core.errors import SkipFile
from app.core.extract.text import read_bytes
from app.core.records import Section


def extract_rtf(path: Path, max_bytes: int) -> list[Section]:
    """One Section; lines are the document's paragraphs."""
    from striprtf.striprtf import rtf_to_text

    data = read_bytes(path, max_bytes)
    if not data.lstrip().startswith(b"{\\rtf"):
        raise SkipFile("not a valid RTF file")
    # RTF is 7-bit ASCII with escapes; \'xx bytes are decoded by striprtf in the code page.
    try:
        text = rtf_to_text(data.decode("latin-1"), encoding="cp1252", errors="replace")
    except Exception as exc:  # striprtf is a regex parser; a broken group can raise anything
        raise SkipFile(f"could not read the RTF: {str(exc)[:200] or type(exc).__name__}") from exc
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    if not text.strip():
        raise SkipFile("no text found")
    return [Section(text, first_line=1, unit="paragraph")]
