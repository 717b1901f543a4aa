"""Splitting extracted text into overlapping passages that fit the model, at natural boundaries."""

from __future__ import annotations

import bisect
import re
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence

from app.core.records import Chunk, Section

TokenOffsets = Callable[[str], Sequence[tuple[int, int]]]

_PARAGRAPH = re.compile(r"\n[ \t]*\n")
_SENTENCE_END = re.compile(r"[.!?。！？:;][\"')\]]*$")

# Boundary strengths: cutting at a paragraph break beats a sentence end, which beats a line
# break, which beats a space; cutting inside a word is the last resort.
_PARA, _SENT, _LINE, _SPACE, _NONE = 3.0, 2.0, 1.5, 1.0, 0.0
# Word pieces are found a block of text at a time, and let go once passed: tokenising a 45 MB
# section at once held every piece's offsets, and the tokenizer's own record of them, at the
# same moment (7 GB). Blocks end at white space, so no word is split between two.
BLOCK_CHARS = 1 << 16
_TRIM_AT = 1 << 14  # passed word pieces are dropped in runs of about this many


def chunk_sections(
    sections: Iterable[Section],
    token_offsets: TokenOffsets,
    max_tokens: int,
    overlap: int = 32,
) -> list[Chunk]:
    """Cut every section into chunks of at most ``max_tokens`` word pieces.

    Every word piece of the text lands in at least one chunk, so the model never silently
    truncates anything.
    """
    if max_tokens < 8:
        raise ValueError("max_tokens is too small to hold a passage")
    overlap = max(0, min(overlap, max_tokens // 4))
    chunks: list[Chunk] = []
    for index, section in enumerate(sections):
        if section.text.strip():
            chunks.extend(_chunk_one(section, index, token_offsets, max_tokens, overlap))
    return chunks


def _chunk_one(section: Section, index: int, token_offsets: TokenOffsets, max_tokens: int,
               overlap: int) -> list[Chunk]:
    text = section.text
    blocks = _token_blocks(text, token_offsets)
    tokens: list[tuple[int, int]] = []
    newlines = array("q", (m.start() for m in re.finditer("\n", text)))
    out: list[Chunk] = []
    start = 0
    more = True
    while True:
        # Enough word pieces ahead for the next cut (which looks one past ``max_tokens``).
        while more and len(tokens) - start <= max_tokens:
            block = next(blocks, None)
            more = block is not None
            tokens.extend(block or ())
        n = len(tokens)
        if start >= n:
            break
        end = n if n - start <= max_tokens else _best_cut(text, tokens, start, max_tokens)
        a, b = tokens[start][0], tokens[end - 1][1]
        line_start = section.first_line + bisect.bisect_left(newlines, a)
        line_end = section.first_line + bisect.bisect_left(newlines, b - 1)
        out.append(Chunk(
            text=text[a:b],
            page=section.page,
            line_start=line_start,
            line_end=line_end,
            char_start=a,
            char_end=b,
            section=index,
            location=location_text(section, line_start, line_end),
        ))
        if end >= n:
            break
        start = _next_start(text, tokens, start, end, overlap)
        if start > _TRIM_AT:
            del tokens[:start]
            start = 0
    return out


def _token_blocks(text: str, token_offsets: TokenOffsets) -> Iterator[list[tuple[int, int]]]:
    """The word pieces of ``text`` (offsets into it), one block of text at a time."""
    pos, n = 0, len(text)
    while pos < n:
        end = min(n, pos + BLOCK_CHARS)
        if end < n:
            cut = max(text.rfind(" ", pos, end), text.rfind("\n", pos, end),
                      text.rfind("\t", pos, end))
            end = cut if cut > pos else end  # one word longer than a block is cut in it
        yield [(pos + a, pos + b) for a, b in token_offsets(text[pos:end]) if b > a]
        pos = end


def location_text(section: Section, line_start: int, line_end: int) -> str:
    """Where a passage lives in words ("Sheet1, rows 20–45"); "" where page/line says it all."""
    if not section.label and section.unit == "line":
        return ""
    parts = [section.label] if section.label else []
    if section.unit:
        if line_end > line_start:
            parts.append(f"{section.unit}s {line_start}–{line_end}")
        else:
            parts.append(f"{section.unit} {line_start}")
    return ", ".join(parts)


def _gap_strength(text: str, tokens: Sequence[tuple[int, int]], j: int) -> float:
    """How good a place it is to cut between token ``j - 1`` and token ``j``."""
    prev_end, next_start = tokens[j - 1][1], tokens[j][0]
    gap = text[prev_end:next_start]
    if not gap:
        return _NONE
    if _PARAGRAPH.search(gap):
        return _PARA
    if _SENTENCE_END.search(text[max(0, prev_end - 3):prev_end]):
        return _SENT
    if "\n" in gap:
        return _LINE
    return _SPACE


def _best_cut(text: str, tokens: Sequence[tuple[int, int]], start: int, max_tokens: int) -> int:
    """The end (exclusive token index) of the chunk starting at ``start``."""
    limit = start + max_tokens
    lowest = start + max(1, max_tokens // 2)
    best_j, best_score = limit, -1.0
    for j in range(limit, lowest, -1):
        strength = _gap_strength(text, tokens, j)
        # A strong boundary a little earlier beats a weak one at the very end.
        score = strength + 0.5 * (j - start) / max_tokens
        if score > best_score:
            best_j, best_score = j, score
    return best_j


def _next_start(text: str, tokens: Sequence[tuple[int, int]], start: int, end: int,
                overlap: int) -> int:
    """Where the next chunk begins: a little before ``end``, at a sentence start if possible."""
    if overlap == 0 or _gap_strength(text, tokens, end) >= _PARA:
        return end
    earliest = max(start + 1, end - overlap)
    for wanted in (_SENT, _LINE, _SPACE):
        for j in range(earliest, end):
            if _gap_strength(text, tokens, j) >= wanted:
                return j
    return earliest
