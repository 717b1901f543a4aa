"""Whether reranking can happen, told before the first search says so."""

from __future__ import annotations

from typing import Any


def reranker_state(library: Any) -> tuple[bool, str]:
    """(on, why not): whether the configured cross-encoder is on this computer (no load, no network)."""
    reranker = library.reranker
    if reranker is None:
        return False, "No cross-encoder is configured."
    if reranker.present:
        return True, ""
    return False, (f"Reranking is off: the cross-encoder {reranker.name} is not on this computer. "
                   "Run `sift get-reranker` once to download it.")
