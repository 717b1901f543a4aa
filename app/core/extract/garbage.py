"""Whether a page's text layer is language or garbage from a broken font encoding.

A PDF whose fonts map glyphs to the wrong characters (no ToUnicode table, a scrambled custom
encoding) gives "text" that is mojibake: control and private-use characters, or letters in an
order no language has. Such a page is read by OCR instead, or left out with the reason; it must
never reach the index, where it would match every junk query.
"""

from __future__ import annotations

import itertools
import re

__all__ = ["garbage_reason"]

# Fewer visible characters than this and a page is too short to judge (a page number, a title).
_MIN_CHARS = 40
# Share of the visible characters that are controls or replacement marks (a private-use
# character counts half: math fonts put bracket pieces there).
_MAX_BAD_SHARE = 0.15
# Distinct Latin-script words, too many of them odd (see _odd_word_share): a substitution
# cipher of letters ("LvrDmODiX NvkaOm"), which is what a scrambled font map gives.
_SHORT_WORD = 3
_LONG_WORD = 4
_MIN_WORDS = 20
_MAX_ODD_SHARE = 0.3
# A font subset numbered in order of use and read without its map gives punctuation soup
# ("!\"#$%&'"). Code and formulas reach 40 % symbols, with half their characters letters.
_SYMBOL = re.compile(r"[!\"#$%&*+/<=>?@\[\\\]^_`{|}~]")
_LETTER = re.compile(r"[^\W\d_]")
_SPACE = re.compile(r"\s")
# Controls (not tab, newline, form feed, carriage return), surrogates, replacement marks; not
# U+FFFE, pdfium's mark for a hyphen it took away at a line end.
_BAD = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffd\uffff]")
_PRIVATE_USE = re.compile("[\ue000-\uf8ff]")
_MAX_SYMBOL_SHARE = 0.45
_MIN_LETTER_SHARE = 0.35
_VOWELS = frozenset("aeiouyàáâãäåæèéêëìíîïòóôõöøùúûüýÿœąęįųāēīōūəı")
# A Latin word, not a TeX control sequence ("\\PgSpm") or part of a longer token.
_LATIN_WORD = re.compile(r"(?<![\\\w])[A-Za-zÀ-ÖØ-öø-ɏ]+(?!\w)")


def _case_flips(word: str) -> int:
    """How often the case changes inside a word, not counting a capital first letter."""
    flips = sum(1 for a, b in itertools.pairwise(word[1:]) if a.isupper() != b.isupper())
    return flips + (word[0].islower() and word[1].isupper())


def _odd_word_share(text: str) -> tuple[float, int]:
    """Share of the distinct Latin words that no language writes, and how many there are.

    Odd: a long word without a vowel ("xkcd" once, but not a page of them), or a word whose
    case goes up and down more than names do ("DORoOE", "iOrwO"; but "LaTeX", "HeurBPP",
    "getElementById"); words in capitals ("HTML", "XVII") need no vowels.
    """
    words = {w for w in _LATIN_WORD.findall(text) if len(w) >= _SHORT_WORD}
    if not words:
        return 0.0, 0
    odd = sum(1 for word in words if _case_flips(word) * 3 > len(word) or (
        len(word) >= _LONG_WORD and not word.isupper() and not set(word.lower()) & _VOWELS))
    return odd / len(words), len(words)


def _count(pattern: re.Pattern[str], text: str) -> int:
    return sum(1 for _ in pattern.finditer(text))


def garbage_reason(text: str) -> str | None:
    """Why this page's text is not language, or None when it reads as text (or is too short)."""
    visible = len(text) - _count(_SPACE, text)
    if visible < _MIN_CHARS:
        return None
    if _count(_BAD, text) + _count(_PRIVATE_USE, text) / 2 >= _MAX_BAD_SHARE * visible:
        return "its text layer is control characters, not words (a broken font encoding)"
    if (_count(_SYMBOL, text) > _MAX_SYMBOL_SHARE * visible
            and _count(_LETTER, text) < _MIN_LETTER_SHARE * visible):
        return "its text layer is symbols, not words (a broken font encoding)"
    share, count = _odd_word_share(text)
    if count >= _MIN_WORDS and share > _MAX_ODD_SHARE:
        return "its text layer is not language (a broken font encoding)"
    return None
