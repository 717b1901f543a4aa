"""Passage embeddings in the catalog: filled in at stage two, found by text, read back for the vectors."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence

import numpy as np

from app.core.storage.catalog.passages import id_slices, text_key
from app.core.storage.catalog.rows import unpack
from app.core.storage.catalog.schema import STAGE_MEANING
from app.core.storage.catalog.stored_paths import to_db

SQL_PENDING_CHUNKS = (
    "SELECT id, text FROM chunks WHERE file_id = ? AND length(embedding) = 0 ORDER BY ord")


class EmbeddingsMixin:
    """The embeddings column of the passages; the vector index is rebuilt from what is here."""

    conn: sqlite3.Connection  # the Catalog's connection

    def set_embeddings(self, ids: Sequence[int], embeddings: np.ndarray) -> None:
        """Fill in the embeddings of chunks stored at stage 'words'."""
        vecs = np.asarray(embeddings, dtype=np.float16)
        self.conn.executemany("UPDATE chunks SET embedding = ? WHERE id = ?",
                              [(v.tobytes(), int(i)) for i, v in zip(ids, vecs, strict=True)])

    def embeddings_by_text(self, file_ids: Sequence[int]) -> dict[str, bytes]:
        """The stored embeddings of these files' passages, by passage text.

        An embedding depends on the passage's text alone, so a changed file's unchanged
        passages, or a copy's, need not be embedded again.
        """
        out: dict[str, bytes] = {}
        for file_id in file_ids:
            for text, blob in self.conn.execute(
                    "SELECT text, embedding FROM chunks WHERE file_id = ? "
                    "AND length(embedding) > 0", (file_id,)):
                out[text] = bytes(blob)
        return out

    def embeddings_for_texts(self, texts: Iterable[str]) -> dict[str, bytes]:
        """Stored embeddings for any of these texts, wherever in the catalog the text is."""
        by_key = {text_key(t): t for t in texts}
        out: dict[str, bytes] = {}
        keys = list(by_key)
        for start in range(0, len(keys), 500):
            part = keys[start:start + 500]
            for key, text, blob in self.conn.execute(
                    "SELECT k.key, c.text, c.embedding FROM passage_keys k "
                    "JOIN chunks c ON c.id = k.chunk_id "
                    f"WHERE k.key IN ({','.join('?' * len(part))}) "
                    "AND length(c.embedding) > 0 GROUP BY k.key", part):
                if by_key.get(key) == text:
                    out[text] = bytes(blob)
        return out

    def twin_of(self, digest: str | None, path: str) -> int | None:
        """Another indexed file on disk with the same content (hash), whose passages are all embedded."""
        if not digest:
            return None
        row = self.conn.execute(
            "SELECT id FROM files WHERE hash = ? AND path != ? AND status = 'indexed' "
            "AND stage = ? AND container_id IS NULL LIMIT 1",
            (digest, to_db(path), STAGE_MEANING)).fetchone()
        return None if row is None else int(row[0])

    def unembedded_chunks(self, file_id: int) -> list[tuple[int, str]]:
        """(id, text) of a file's chunks that have no embedding yet."""
        return [(int(r[0]), r[1]) for r in self.conn.execute(SQL_PENDING_CHUNKS, (file_id,))]

    def chunk_ids(self) -> np.ndarray:
        """Ids of the chunks that have an embedding: what the vector index must hold."""
        rows = self.conn.execute(
            "SELECT id FROM chunks WHERE length(embedding) > 0 ORDER BY id").fetchall()
        return np.fromiter((r[0] for r in rows), dtype=np.uint64, count=len(rows))

    def embeddings(self, ids: Sequence[int] | None = None,
                   batch: int = 4096) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Stored embeddings in batches of (ids, float32 matrix); chunks without one are left out."""
        if ids is None:
            cur = self.conn.execute(
                "SELECT id, embedding FROM chunks WHERE length(embedding) > 0 ORDER BY id")
            while rows := cur.fetchmany(batch):
                yield unpack(rows)
            return
        for part in id_slices(ids):
            rows = self.conn.execute(
                f"SELECT id, embedding FROM chunks WHERE id IN ({','.join('?' * len(part))}) "
                "AND length(embedding) > 0", part).fetchall()
            if rows:
                yield unpack(rows)

    def embedded_fingerprint(self) -> list[int]:
        """Count, largest, sum and hashed sum of the embedded passages' ids (``keys_fingerprint``)."""
        row = self.conn.execute(
            "SELECT count(*), coalesce(max(id), 0), coalesce(sum(id), 0), "
            "coalesce(sum(id * 2654435761 % 4294967291), 0) "
            "FROM chunks WHERE length(embedding) > 0").fetchone()
        return [int(v) for v in row]
