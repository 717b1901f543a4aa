"""Snippets: the part of a passage that shows why it matched, with the query's words marked."""

from __future__ import annotations

import re
from bisect import bisect_right
from itertools import accumulate

from app.core.search.query import ParsedQuery, stem, stem_matches

SNIPPET_CHARS = 320
_SPACE_RUN = re.compile(r"\s+")
# What collapsing changes: runs of whitespace, and single whitespace other than a space.
_MESSY_SPACE = re.compile(r"\s{2,}|[^\S ]")


def highlight_spans(text: str, q: ParsedQuery) -> list[tuple[int, int]]:
    """Character spans in ``text`` of query words (by light stem) and quoted phrases."""
    stems = frozenset(stem(t) for t in q.terms)
    spans = [(a, b) for a, b, _ in stem_matches(text, stems)]
    for phrase in q.phrases:
        words = [re.escape(w) for w in re.findall(r"\w+", phrase)]
        if not words:
            continue
        pattern = re.compile(r"\b" + r"\W+".join(words) + r"\b", re.IGNORECASE)
        spans.extend((m.start(), m.end()) for m in pattern.finditer(text))
    return _merge(spans)


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for a, b in sorted(spans):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def make_snippet(text: str, q: ParsedQuery,
                 width: int = SNIPPET_CHARS) -> tuple[str, int, list[tuple[int, int]]]:
    """The window of ``text`` with the most query words, trimmed at word boundaries.

    Returns (snippet, offset of the snippet in ``text``, highlight spans relative to the snippet).
    """
    spans = highlight_spans(text, q)
    if len(text) <= width:
        return _tidy(text, 0, spans)
    start = _best_window(spans, len(text), width)
    end = min(len(text), start + width)
    if start > 0:
        space = text.find(" ", start, start + 40)
        start = space + 1 if space != -1 else start
    if end < len(text):
        space = text.rfind(" ", end - 40, end)
        end = space if space > start else end
    inside = [(a - start, b - start) for a, b in spans if a >= start and b <= end]
    snippet = ("…" if start > 0 else "") + text[start:end] + ("…" if end < len(text) else "")
    shift = 1 if start > 0 else 0
    return _tidy(snippet, start - shift, [(a + shift, b + shift) for a, b in inside])


def marked_snippet(text: str, q: ParsedQuery, focus: tuple[int, int] | None,
                   width: int = SNIPPET_CHARS) -> tuple[str, int, list[tuple[int, int]],
                                                        list[tuple[int, int]]]:
    """The window of ``text`` around ``focus`` (the sentence closest in meaning), if there is one.

    Returns (snippet, offset, word spans, meaning spans), spans relative to the snippet. Without
    a focus it is the keyword window of make_snippet with no meaning span.
    """
    if focus is None:
        return (*make_snippet(text, q, width), [])
    a, b = focus
    words = highlight_spans(text, q)
    if len(text) <= width:
        start, end = 0, len(text)
    else:
        # The sentence whole where it fits, with some lead-in; else its first ``width`` characters.
        lead = max(0, min(60, (width - (b - a)) // 3))
        start = max(0, min(a - lead, len(text) - width))
        end = min(len(text), start + width)
        if start > 0:
            space = text.find(" ", start, min(start + 40, a + 1))
            start = space + 1 if space != -1 else start
        if end < len(text):
            space = text.rfind(" ", max(end - 40, b), end)
            end = space if space > start else end
    b = min(b, end)
    inside = [(x - start, y - start) for x, y in words if x >= start and y <= end]
    head = "…" if start > 0 else ""
    snippet = head + text[start:end] + ("…" if end < len(text) else "")
    shift = len(head)
    spans = [(x + shift, y + shift) for x, y in inside]
    meaning = (a - start + shift, b - start + shift)
    tidy, offset, moved = _tidy(snippet, start - shift, spans)
    return tidy, offset, moved, _tidy(snippet, offset, [meaning])[2]


def _best_window(spans: list[tuple[int, int]], length: int, width: int) -> int:
    """Start of the window holding the most highlight spans, with a little lead-in."""
    if not spans:
        return 0
    best_start, best_count = 0, -1
    j = 0
    for i, (a, _) in enumerate(spans):
        j = max(j, i)
        while j + 1 < len(spans) and spans[j + 1][1] - a <= width - 40:
            j += 1
        count = j - i + 1
        if count > best_count:
            best_start, best_count = a, count
    return max(0, min(best_start - 60, length - width))


def _tidy(snippet: str, offset: int,
          spans: list[tuple[int, int]]) -> tuple[str, int, list[tuple[int, int]]]:
    """Collapse runs of whitespace (PDF text is full of them), keeping spans aligned."""
    runs = [m.span() for m in _MESSY_SPACE.finditer(snippet)]
    if not runs:
        return snippet, offset, spans
    text = _SPACE_RUN.sub(" ", snippet)
    # A run [a, b) becomes one space: a position after it moves left by b - a - 1.
    ends = [b for _, b in runs]
    removed = list(accumulate(b - a - 1 for a, b in runs))
    inside = {i for a, b in runs for i in range(a + 1, b)}  # dropped characters

    def moved(pos: int) -> int:
        k = bisect_right(ends, pos)
        return pos - (removed[k - 1] if k else 0)

    new_spans = [(moved(a), moved(b - 1) + 1) for a, b in spans
                 if a not in inside and (b - 1) not in inside]
    return text, offset, new_spans
