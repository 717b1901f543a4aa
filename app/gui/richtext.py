"""The only place HTML is built: snippets and previews, with every piece of file text escaped."""

from __future__ import annotations

import html
import itertools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

Span = tuple[int, int]


@dataclass(frozen=True)
class MarkStyle:
    """Colours for marked words, derived from the palette (see theme.py), as CSS colour strings."""

    background: str
    foreground: str
    region: str = "transparent"  # the passage itself, in a preview
    meaning: str = "transparent"  # the sentence closest in meaning (else the region's tint)


PARAGRAPH = re.compile(r"[ \t]*\n[ \t]*\n\s*")
LINE = re.compile(r"[ \t]*\r?\n[ \t]*")
# Lines starting like this are structure (list items, headings, quotes, tables), not wrapping.
STRUCTURE = re.compile(r"\s*([-*+>#|]|\d+[.)]\s)")


def _one_line(text: str) -> str:
    """A snippet on one line: paragraph breaks become a middle dot, line breaks a space."""
    return LINE.sub(" ", PARAGRAPH.sub(" · ", text))


def reflowed(text: str) -> str:
    """Prose as paragraphs: hard-wrapped lines joined; blank lines, lists and headings kept.

    Each joining line break becomes one space, so the text keeps its length and every offset
    into it (highlights, the passage) stays true.
    """
    lines = text.split("\n")
    out = [lines[0]]
    for prev, line in itertools.pairwise(lines):
        structural = (not line.strip() or not prev.strip() or STRUCTURE.match(line)
                      or prev.lstrip().startswith("#"))
        out.append(("\n" if structural else " ") + line)
    return "".join(out)


def _marked(text: str, spans: Sequence[Span], style: MarkStyle,
            shape: Callable[[str], str] = lambda s: s) -> str:
    """``text`` escaped, with ``spans`` wrapped in a highlighted, bold span.

    ``shape`` rewrites white space in the unmarked pieces, after the spans are cut out, so it can
    change lengths without moving any mark.
    """
    out: list[str] = []
    pos = 0
    for a, b in sorted(spans):
        a, b = max(a, pos), min(b, len(text))
        if a >= b:
            continue
        out.append(html.escape(shape(text[pos:a])))
        out.append(f'<span style="background-color:{style.background}; color:{style.foreground}; '
                   f'font-weight:600;">{html.escape(text[a:b])}</span>')
        pos = b
    out.append(html.escape(shape(text[pos:])))
    return "".join(out)


MEANING_TIP = ("Underlined: the sentence closest in meaning to your search. It may share no "
               "words with it; highlighted words are the ones it does share.")


def snippet_html(text: str, spans: Sequence[Span], style: MarkStyle,
                 meaning: Sequence[Span] = ()) -> str:
    """A one-line snippet for a result row (it wraps, but line breaks of the file are dropped).

    ``meaning``: the sentence closest in meaning, underlined on a tint of its own; the word marks
    inside it stay as they are.
    """
    return _underlined(text, spans, meaning[0] if meaning else None, style, _one_line)


def _underlined(text: str, spans: Sequence[Span], meaning: Span | None, style: MarkStyle,
                shape: Callable[[str], str] = lambda s: s) -> str:
    """``text`` with its word marks, and the meaning span underlined on its tint around them."""
    if meaning is None:
        return _marked(text, spans, style, shape)
    a, b = max(0, meaning[0]), min(meaning[1], len(text))
    before = [s for s in spans if s[1] <= a]
    inside = [(x - a, y - a) for x, y in spans if x >= a and y <= b]
    after = [(x - b, y - b) for x, y in spans if x >= b]
    tint = style.meaning if style.meaning != "transparent" else style.region
    return (_marked(text[:a], before, style, shape)
            + f'<span style="text-decoration: underline; background-color:{tint};">'
            + _marked(text[a:b], inside, style, shape) + "</span>"
            + _marked(text[b:], after, style, shape))


def context_html(text: str, region: Span, spans: Sequence[Span], style: MarkStyle, *,
                 before_gap: bool = False, after_gap: bool = False, keep_lines: bool = True,
                 meaning: Span | None = None) -> str:
    """A preview: ``text`` with the matching passage (``region``) tinted and the query words marked.

    With ``keep_lines`` (code, verse) every line break stays; prose has its hard-wrapped lines
    joined into paragraphs. The gaps say that text was left out before or after. ``meaning``:
    the sentence closest in meaning, inside the region, underlined.
    """
    a, b = region
    if not keep_lines:
        text = reflowed(text)
    head = [s for s in spans if s[1] <= a]
    mid = [(s[0] - a, s[1] - a) for s in spans if s[0] >= a and s[1] <= b]
    tail = [(s[0] - b, s[1] - b) for s in spans if s[0] >= b]
    inner = (meaning[0] - a, meaning[1] - a) if meaning and a <= meaning[0] < meaning[1] <= b \
        else None
    body = (
        _marked(text[:a], head, style)
        + f'<span style="background-color:{style.region};">'
        + f'<a name="match"></a>{_underlined(text[a:b], mid, inner, style)}</span>'
        + _marked(text[b:], tail, style)
    )
    ellipsis = '<p style="margin:0;">…</p>'
    return (
        (ellipsis if before_gap else "")
        + f'<div style="white-space:pre-wrap;">{body}</div>'
        + (ellipsis if after_gap else "")
    )


def plain_message_html(title: str, detail: str) -> str:
    """A heading and a line under it, for messages in a text view (both escaped)."""
    return f"<h3>{html.escape(title)}</h3><p>{html.escape(detail)}</p>"
