"""Snippets: the part of a passage that shows why it matched, with the query's words marked."""

from __future__ import annotations

import re

from app.core.query import ParsedQuery, stem, word_spans

SNIPPET_CHARS = 320


def highlight_spans(text: str, q: ParsedQuery) -> list[tuple[int, int]]:
    """Character spans in ``text`` of query words (by light stem) and quoted phrases."""
    stems = {stem(t) for t in q.terms}
    spans = [(a, b) for a, b, w in word_spans(text) if stem(w) in stems]
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
    out: list[str] = []
    mapping: list[int] = []
    prev_space = False
    for i, ch in enumerate(snippet):
        if ch.isspace():
            if prev_space:
                continue
            ch, prev_space = " ", True
        else:
            prev_space = False
        out.append(ch)
        mapping.append(i)
    text = "".join(out)
    index = {orig: new for new, orig in enumerate(mapping)}
    new_spans = []
    for a, b in spans:
        na = index.get(a)
        nb = index.get(b - 1)
        if na is not None and nb is not None:
            new_spans.append((na, nb + 1))
    return text, offset, new_spans
