"""More like this: the files closest in meaning to one file, without it and its exact copies.

The file is one vector, the mean of its passages' vectors: one nearest-neighbour search whatever
the file's length (a passage-by-passage search costs one search per passage). Each file found shows
the passages nearest to it, with the sentence closest to the file's nearest passage marked.
"""

from __future__ import annotations

import os
import time
from typing import Any

import numpy as np

from app.core.errors import KnownError
from app.core.records import FileHit, Passage, SearchResponse
from app.core.search.query import parse_query
from app.core.search.snippets import marked_snippet

CANDIDATES = 300          # passages of other files read from the vector index
MAX_CANDIDATES = 4000     # a very long file with many copies still asks for a bounded list
PASSAGES_SHOWN = 3


def find_similar(searcher: Any, path: str, *, limit: int = 20, part: str = "") -> SearchResponse:
    """The files most like ``path`` (an e-mail attachment: its ``part``), best first.

    Called inside the searcher's read snapshot (Searcher.similar). Raises KnownError when the
    file is not in the index or none of its passages has been read for meaning yet.
    """
    started = time.perf_counter()
    catalog = searcher.catalog
    source = _file_row(catalog.conn, path, part)
    if source is None:
        raise KnownError(f"{path} is not in the index: add its folder, or wait until it is read")
    file_id, digest, title = source
    own = [int(r[0]) for r in catalog.conn.execute(
        "SELECT id FROM chunks WHERE file_id = ? ORDER BY ord", (file_id,))]
    own_ids, own_vecs = _embeddings(catalog, own)
    if not len(own_ids):
        raise KnownError(f"{path} has not been read for meaning yet (indexing is still running)")
    copies = _copies(catalog.conn, file_id, digest)
    centre = own_vecs.mean(axis=0)
    centre /= max(float(np.linalg.norm(centre)), 1e-9)
    # The file's own passages and its copies' come first in the list: ask for enough beyond them.
    count = min(MAX_CANDIDATES, CANDIDATES + len(own_ids) * (1 + len(copies)))
    keys, sims = searcher.vectors.search(centre, count)
    files = catalog.chunk_files([int(k) for k in keys])
    skip = {file_id, *copies}
    per_file: dict[int, list[tuple[float, int]]] = {}
    for key, sim in zip(keys.tolist(), sims.tolist(), strict=True):
        fid = files.get(int(key))
        if fid is not None and fid not in skip:
            per_file.setdefault(fid, []).append((float(sim), int(key)))
    ranked = sorted(per_file.items(), key=lambda kv: -kv[1][0][0])[:limit]
    shown = [c for _, chunks in ranked for _, c in chunks[:PASSAGES_SHOWN]]
    rows = catalog.chunk_rows(shown)
    own_rows = catalog.chunk_rows([int(i) for i in own_ids])
    nearest = _nearest_own(catalog, shown, own_ids, own_vecs)
    marker = searcher.marks.get()
    hits = []
    for _, chunks in ranked:
        passages = []
        for sim, chunk_id in chunks[:PASSAGES_SHOWN]:
            row = rows.get(chunk_id)
            if row is None:
                continue
            mine = own_rows.get(nearest.get(chunk_id, -1))
            passages.append(_passage(row, sim, mine.text if mine else "", marker))
        if passages:
            first = rows[chunks[0][1]]
            hits.append(FileHit(path=first.container or first.path, score=max(0.0, chunks[0][0]),
                                passages=tuple(passages), ext=first.ext,
                                mtime=first.mtime_ns / 1e9, attachment=first.member,
                                attached_to=first.member_of, part=first.member_key))
    return SearchResponse(query=f"like {title}", hits=tuple(hits), reranked=False,
                          elapsed_ms=(time.perf_counter() - started) * 1e3, weak=False)


def _file_row(conn: Any, path: str, part: str) -> tuple[int, str | None, str] | None:
    """(id, content hash, name) of the indexed file at ``path`` (or of its attachment ``part``)."""
    if part:
        row = conn.execute(
            "SELECT m.id, m.hash, m.name FROM files m JOIN files c ON c.id = m.container_id "
            "WHERE c.path = ? AND m.member_key = ? AND m.status = 'indexed'",
            (path, part)).fetchone()
    else:
        row = conn.execute(
            "SELECT id, hash, name FROM files WHERE path = ? AND container_id IS NULL "
            "AND status = 'indexed'", (path,)).fetchone()
    if row is None:
        return None
    return int(row[0]), row[1], str(row[2]) or os.path.basename(path)


def _copies(conn: Any, file_id: int, digest: str | None) -> set[int]:
    """Other files with the same bytes (the same content hash): copies, not neighbours."""
    if not digest:
        return set()
    return {int(r[0]) for r in conn.execute(
        "SELECT id FROM files WHERE hash = ? AND id != ?", (digest, file_id))}


def _embeddings(catalog: Any, ids: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Stored unit vectors of these passages (those embedded), as (ids, matrix)."""
    parts = list(catalog.embeddings(ids)) if ids else []
    if not parts:
        return np.zeros(0, dtype=np.int64), np.zeros((0, 1), dtype=np.float32)
    keys = np.concatenate([k for k, _ in parts])
    mat = np.concatenate([m for _, m in parts]).astype(np.float32)
    mat /= np.maximum(np.linalg.norm(mat, axis=1, keepdims=True), 1e-9)
    return keys, mat


def _nearest_own(catalog: Any, shown: list[int], own_ids: np.ndarray,
                 own_vecs: np.ndarray) -> dict[int, int]:
    """For each shown passage, the passage of the source file closest to it (what they share)."""
    keys, mat = _embeddings(catalog, shown)
    if not len(keys):
        return {}
    best = np.einsum("sd,od->so", mat, own_vecs).argmax(axis=1)  # small: BLAS threads cost more
    return {int(k): int(own_ids[b]) for k, b in zip(keys.tolist(), best.tolist(), strict=True)}


def _passage(row: Any, sim: float, shared: str, marker: Any) -> Passage:
    """A passage of a similar file, its sentence closest to the source's passage marked."""
    pieces = marker.query(shared) if marker is not None and shared else None
    focus = marker.best_sentence(row.text, pieces) if pieces is not None else None
    snippet, offset, _, meaning = marked_snippet(row.text, parse_query(""), focus)
    line = row.line_start + row.text.count("\n", 0, max(0, offset))
    return Passage(chunk_id=row.id, text=snippet, page=row.page, line=line, line_end=row.line_end,
                   score=sim, location=row.location, meaning=tuple(meaning))
