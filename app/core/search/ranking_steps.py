"""Steps of ranking that need no searcher: the rerank blended by position, each file's best
passages, a file's name as words, and one read snapshot of the catalog."""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator

from app.core.search.fusion import rrf
from app.core.storage.catalog import ChunkRow
from app.core.storage.catalog.stored_paths import name_terms

RERANK_FILES = 20          # cross-encoding is the slow step
# Share of the retrieval order in the blended rerank score, by position: the top of a list that
# two retrievers agreed on is trusted more than the cross-encoder's single view of one window.
RETRIEVAL_SHARE = ((3, 0.75), (10, 0.6), (RERANK_FILES, 0.4))


def name_words(row: ChunkRow) -> str:
    """The words of a passage's file name and folder (an attachment: its name, its mail's subject
    and the mail's folder): evidence like a title's."""
    if row.container:
        return f"{name_terms(row.member, os.path.dirname(row.container))} {row.member_of}"
    return name_terms(row.path)


def blend_by_position(retrieval: list[float], logits: list[float]) -> list[float]:
    """Blend retrieval scores and cross-encoder logits, each min-max scaled over the head.

    The retrieval share falls with position (RETRIEVAL_SHARE): near the top the fused evidence of
    two retrievers holds; lower down the cross-encoder may lift a file that they undervalued.
    """
    def scaled(values: list[float]) -> list[float]:
        lo, hi = min(values), max(values)
        return [0.5] * len(values) if hi - lo < 1e-9 else [(v - lo) / (hi - lo) for v in values]

    if not retrieval:
        return []
    r, c = scaled(retrieval), scaled(logits)
    out = []
    for i, (rv, cv) in enumerate(zip(r, c, strict=True)):
        share = next(s for limit, s in RETRIEVAL_SHARE if i < limit) if i < RERANK_FILES else 0.4
        out.append(share * rv + (1 - share) * cv)
    return out


def _best_chunks(chunk_scores: dict[int, dict[str, float]],
                 files: dict[int, int]) -> dict[int, list[tuple[float, int]]]:
    """Per file, its chunks ordered by how well they match (rank-fused at chunk level)."""
    rankings = [
        sorted(((c, s[key]) for c, s in chunk_scores.items() if key in s), key=lambda kv: -kv[1])
        for key in ("dense", "bm25")
    ]
    per_file: dict[int, list[tuple[float, int]]] = {}
    for chunk_id, score in rrf(rankings):
        fid = files.get(chunk_id)
        if fid is not None:
            per_file.setdefault(fid, []).append((score, chunk_id))
    # Chunks known only as holding a code the query names (no retriever score) come last.
    for chunk_id, scores in chunk_scores.items():
        fid = files.get(chunk_id)
        if not scores and fid is not None:
            per_file.setdefault(fid, []).append((0.0, chunk_id))
    return per_file


@contextlib.contextmanager
def read_snapshot(conn: sqlite3.Connection) -> Iterator[None]:
    """A read transaction: every statement inside sees the database as of the first one."""
    if conn.in_transaction:  # already in one (a caller's): its snapshot holds
        yield
        return
    conn.execute("BEGIN")
    try:
        yield
    finally:
        conn.execute("COMMIT")
