"""A big text under the size cap is cut into passages in bounded memory, the same passages as ever."""

from __future__ import annotations

import itertools
import re
import tracemalloc

import pytest

from app.core.extract import chunking
from app.core.extract.chunking import chunk_sections
from app.core.records import Section

_WORD = re.compile(r"\w+|[^\w\s]")


def _offsets(text: str) -> list[tuple[int, int]]:
    """Word pieces as a whitespace-and-punctuation tokenizer finds them."""
    return [m.span() for m in _WORD.finditer(text)]


def _one_line(size: int) -> str:
    line = "The obsidian lighthouse log repeats its entry every night at the harbour gate. "
    return line * (size // len(line))


def _many_lines(size: int) -> str:
    lines = (f"Line {i}: the keeper saw the tide at {i % 24} o'clock.\n" for i in range(size))
    text = "".join(lines)
    return text[:size]


@pytest.mark.parametrize("make", [_one_line, _many_lines])
def test_a_big_text_is_chunked_in_bounded_memory(make) -> None:  # type: ignore[no-untyped-def]
    text = make(2 * 2**20)
    tracemalloc.start()
    try:
        chunks = chunk_sections([Section(text, page=None, first_line=1)], _offsets, 256, 32)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    held = sum(len(c.text) for c in chunks)  # the passages themselves, the output
    # Every word piece's offsets at once were over 30 times the text (a 45 MB file: 7 GB).
    assert peak < held + 16 * 2**20, f"peak {peak / 2**20:.0f} MB for {held / 2**20:.0f} MB out"
    assert chunks[0].char_start == 0 and chunks[-1].char_end == len(text.rstrip())
    assert all(later.char_start <= earlier.char_end
               for earlier, later in itertools.pairwise(chunks))


def test_the_passages_do_not_depend_on_the_block_size(monkeypatch: pytest.MonkeyPatch) -> None:
    text = "\n\n".join(
        f"Paragraph {i}. " + " ".join(f"word{j}" for j in range(i % 97 + 5)) + "." if i % 5
        else "x" * 300  # a long word: never split between two blocks
        for i in range(600))
    section = Section(text, page=3, first_line=10)
    whole = chunk_sections([section], _offsets, 64, 16)
    monkeypatch.setattr(chunking, "BLOCK_CHARS", 500)
    monkeypatch.setattr(chunking, "_TRIM_AT", 100)
    blocked = chunk_sections([section], _offsets, 64, 16)
    assert [(c.char_start, c.char_end, c.line_start, c.line_end) for c in blocked] == \
        [(c.char_start, c.char_end, c.line_start, c.line_end) for c in whole]
