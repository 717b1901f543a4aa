"""Text hygiene applied to every extractor's output: safe Unicode folding, de-hyphenation, no markup.

Every function keeps the number of lines: line N of the cleaned text is line N of the input,
so locations stay right while the keyword index, the embeddings and the snippets all see the
same, clean text.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from app.core.extract.markup import strip_markup
from app.core.records import Section

__all__ = ["clean_section", "clean_sections", "clean_text"]

SOFT_HYPHEN = "\u00ad"

# Compatibility characters whose NFKC form means the same to a reader: ligatures (PDFs write
# "ﬁ" as one glyph), full-width ASCII, odd spaces. Superscripts, fractions, ™, circled digits
# and the like are left alone: NFKC would turn "m²" into "m2" and "½" into "1⁄2".
_SAFE_RANGES: tuple[tuple[int, int], ...] = (
    (0xFB00, 0xFB06),  # Latin ligatures ﬀ ﬁ ﬂ ﬃ ﬄ ﬅ ﬆ
    (0xFB13, 0xFB17),  # Armenian ligatures
    (0xFF01, 0xFF5E),  # full-width ASCII
    (0x2000, 0x200A),  # en/em/thin/hair spaces
    (0x00A0, 0x00A0),  # no-break space
    (0x202F, 0x202F),  # narrow no-break space
    (0x3000, 0x3000),  # ideographic space
    (0x2024, 0x2026),  # one-dot leader … horizontal ellipsis
    (0x017F, 0x017F),  # long s
)
_FOLD: dict[int, str] = {
    cp: unicodedata.normalize("NFKC", chr(cp))
    for lo, hi in _SAFE_RANGES
    for cp in range(lo, hi + 1)
}
# Zero-width characters that only split words for search ("in\u200bvoice").
_FOLD.update({0x200B: "", 0x2060: "", 0xFEFF: ""})
# Adobe's private-use code points for old-style figures and small capitals, which fonts
# without a Unicode map leave in the text: "\uf731\uf739\uf739\uf738" is "1998".
_FOLD.update({0xF730 + d: str(d) for d in range(10)})
_FOLD.update({0xF761 + i: chr(ord("a") + i) for i in range(26)})
# pdfium's mark for a hyphen it took away at a line end ("corre\ufffesponding"): a soft hyphen,
# so that dehyphenation treats it as one.
_FOLD[0xFFFE] = "\u00ad"
_NEEDS_FOLD = re.compile("[" + "".join(re.escape(chr(c)) for c in sorted(_FOLD)) + "]")

# TeX's OT1 fonts hold the ligatures ff fi fl ffi ffl in slots 11-15; a font embedded without a
# Unicode map gives those control codes as text ("de\x0cnition", "e\x0ecient", "\x0cles"). A code
# is a ligature inside a word or before a lower-case letter, never before a line end, where a
# form feed or carriage return means what it says. T1 fonts carry glyph names, so their slots
# (27-31, Danish ø in OT1) are left alone.
_OT1_LIGATURES = {"\x0b": "ff", "\x0c": "fi", "\x0d": "fl", "\x0e": "ffi", "\x0f": "ffl"}
_LIGATURE_CODE = re.compile(
    r"(?<=[^\W\d_])[\x0b-\x0f](?=[^\W\d_]|[ \t.,;:!?)\]'\"’-])|(?<![^\W\d_])[\x0b-\x0f](?=[a-z])")
# What is left after that is a symbol font's glyph without a Unicode map ("30.2\x89" for
# "30.2 °C"): no reader can see it, and it would show as a box in snippets.
_STRAY_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# Kinds whose control characters are the file's own bytes, kept as they are.
_RAW_KINDS = frozenset({"text", "code", "markdown", "csv"})
# Kinds whose text comes through fonts that may lack a Unicode map; elsewhere a carriage return
# or a form feed before a letter is no ligature.
_FONT_KINDS = frozenset({"pdf"})

_LETTER = r"[^\W\d_]"
# "docu-\n  ments" or "docu\u00ad\nments": a word broken at a line end, continued in lower case
# on the next line. The joined word moves up to the first line; the newline stays.
_HYPHENATED = re.compile(
    rf"({_LETTER}{{2,}})[-\u00ad][ \t]*\n([ \t]*)([a-zà-ÿ][\w’']*[.,;:!?)\]\"”’]*)([ \t]*)"
)

_MARKUP_KINDS = frozenset({"markdown"})
# Where a line-end hyphen is a broken word. Not code ("a -\n b"), nor spreadsheet rows, whose
# lines are separate cells.
_PROSE_KINDS = frozenset({"text", "markdown", "html", "pdf", "docx", "pptx", "odt", "odp", "epub",
                          "rtf", "eml", "mbox", "image"})


def fold_unicode(text: str) -> str:
    """NFC, then NFKC only for the characters where it cannot change the meaning."""
    text = unicodedata.normalize("NFC", text)
    if _NEEDS_FOLD.search(text):
        text = text.translate(_FOLD)
    return text


def repair_ligature_codes(text: str) -> str:
    """Turn the TeX ligature slots a font without a Unicode map left in the text into letters."""
    return _LIGATURE_CODE.sub(lambda m: _OT1_LIGATURES[m.group()], text)


def dehyphenate(text: str) -> str:
    """Join words split across a line end; remove every other soft hyphen."""

    def join(match: re.Match[str]) -> str:
        head, indent, tail, _space = match.groups()
        return f"{head}{tail}\n{indent}"

    if "-" in text or SOFT_HYPHEN in text:
        text = _HYPHENATED.sub(join, text)
    return text.replace(SOFT_HYPHEN, "")


def clean_text(text: str, kind: str) -> str:
    """The text as search should see it; same number of lines as the input."""
    text = fold_unicode(text)
    if kind in _FONT_KINDS:
        text = repair_ligature_codes(text)
    if kind not in _RAW_KINDS:
        text = _STRAY_CONTROLS.sub("", text)
    text = dehyphenate(text) if kind in _PROSE_KINDS else text.replace(SOFT_HYPHEN, "")
    if kind in _MARKUP_KINDS:
        text = strip_markup(text)
    return text


def clean_section(section: Section, kind: str) -> Section:
    """A copy of the section with clean text and the same location."""
    text = clean_text(section.text, kind)
    if text == section.text:
        return section
    return Section(text, page=section.page, first_line=section.first_line, label=section.label,
                   unit=section.unit)


def clean_sections(sections: Iterable[Section], kind: str) -> list[Section]:
    """Clean every section; drop the ones left without text."""
    out = [clean_section(s, kind) for s in sections]
    return [s for s in out if s.text.strip()]
