"""A search's results as the terminal shows them (highlights marked) or as JSON for scripts.

Words of the query are bold (in a pipe: [word]); the sentence closest in meaning is underlined
(in a pipe: «sentence»). In JSON each highlight is [start, end, kind], kind "word" or "meaning".
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from app.terminal import safe, safe_block, safe_json

if TYPE_CHECKING:
    from app.core.records import Passage, SearchResponse


def print_response(resp: SearchResponse, as_json: bool) -> int:
    if as_json:
        print(safe_json(json.dumps(response_json(resp), ensure_ascii=False, indent=2)))
        return 0
    if resp.rerank_note:
        print(f"({safe_block(resp.rerank_note)})", file=sys.stderr)
    if not resp.semantic:
        print("(keyword matches only: the meaning model is still loading)", file=sys.stderr)
    for phrase in getattr(resp, "unmatched_phrases", ()):
        print(f"No file contains \"{safe(phrase)}\"; results without requiring it:")
    if not resp.hits:
        print("No matches.")
        return 0
    if resp.weak:
        print("No good match; the closest files are:")
    bold = "\033[1m" if sys.stdout.isatty() else ""
    reset = "\033[0m" if sys.stdout.isatty() else ""
    for i, hit in enumerate(resp.hits, 1):
        if getattr(hit, "attachment", ""):  # an e-mail attachment, a result of its own
            print(f"{i:2}. {bold}{safe(hit.attachment)}{reset} — attached to "
                  f"“{safe(hit.attached_to)}” ({safe(hit.path)})  ({hit.score:.3f})")
        else:
            print(f"{i:2}. {bold}{safe(hit.path)}{reset}  ({hit.score:.3f})")
        for p in hit.passages[:2]:
            where = safe(p.location) if p.location else f"page {p.page}" if p.page else f"line {p.line}"
            print(f"      [{where}] {_mark(p.text, p.highlights, bold, reset, meaning=p.meaning)}")
    return 0


def _mark(text: str, spans: Iterable[tuple[int, int]], on: str, off: str,
          meaning: Iterable[tuple[int, int]] = ()) -> str:
    if not on:  # no terminal to make it bold: brackets show the matched words in a pipe too
        on, off = "[", "]"
    under, no_under = ("\033[4m", "\033[24m") if on.startswith("\033") else ("«", "»")
    # Word marks sit inside or outside the meaning span, never across it: one ordered walk.
    cuts = sorted([(a, 2, on) for a, _ in spans] + [(b, -2, off) for _, b in spans]
                  + [(a, 1, under) for a, _ in meaning] + [(b, -1, no_under) for _, b in meaning])
    out, last = [], 0
    for pos, _, mark in cuts:
        out += [safe_block(text[last:pos]), mark]
        last = pos
    out.append(safe_block(text[last:]))
    return "".join(out)


def highlights_json(p: Passage) -> list[list[Any]]:
    """Word marks first (as before), then the meaning mark: [start, end, "word" | "meaning"]."""
    return ([[a, b, "word"] for a, b in p.highlights]
            + [[a, b, "meaning"] for a, b in getattr(p, "meaning", ())])


def response_json(resp: SearchResponse) -> dict[str, Any]:
    return {
        "query": resp.query,
        "reranked": resp.reranked,
        "rerank_note": resp.rerank_note,
        "weak": resp.weak,
        "semantic": resp.semantic,
        "unmatched_phrases": list(getattr(resp, "unmatched_phrases", ())),
        "elapsed_ms": round(resp.elapsed_ms, 1),
        "results": [
            {
                "path": h.path,
                # An e-mail attachment: "path" is the mail file that holds it.
                "attachment": {"name": h.attachment, "attached_to": h.attached_to}
                if getattr(h, "attachment", "") else None,
                "score": round(h.score, 6),
                "passages": [
                    {"text": p.text, "page": p.page, "line": p.line,
                     "location": p.location or None,
                     "highlights": highlights_json(p)}
                    for p in h.passages
                ],
            }
            for h in resp.hits
        ],
    }
