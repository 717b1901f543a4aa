"""A file's passages: stored with their keywords (FTS5), removed, and read back with their file."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterator, Mapping, Sequence

import numpy as np

from app.core.records import Chunk
from app.core.storage.catalog.rows import SQL_CHUNK_ROWS, ChunkRow, chunk_row
from app.core.storage.catalog.schema import STAGE_MEANING, STAGE_WORDS
from app.core.storage.catalog.stored_paths import name_terms as path_terms

SQL_INSERT_CHUNK = """
INSERT INTO chunks (file_id, ord, text, page, line_start, line_end, char_start, char_end,
                    section, embedding, location)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""
SQL_INSERT_FTS = "INSERT INTO chunks_fts (rowid, text, name) VALUES (?, ?, ?)"
SQL_INSERT_KEY = "INSERT INTO passage_keys (chunk_id, key) VALUES (?, ?)"
SQL_CHUNK_IDS_OF_FILE = "SELECT id FROM chunks WHERE file_id = ?"
# SQLite binds at most 999 parameters in older builds: ids go in slices below that.
ID_SLICE = 900


def text_key(text: str) -> int:
    """A stable 64-bit key of a passage's text (equal texts, equal keys; the text decides)."""
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8", "surrogatepass"),
                                          digest_size=8).digest(), "little", signed=True)


def id_slices(ids: Sequence[int]) -> Iterator[list[int]]:
    """``ids`` in lists short enough to bind as one statement's parameters."""
    for start in range(0, len(ids), ID_SLICE):
        # int(): numpy's integers (ids from the vector index) are not bound by sqlite3.
        yield [int(i) for i in ids[start:start + ID_SLICE]]


class PassagesMixin:
    """The catalog's passages; writes are called inside ``Catalog.transaction()``."""

    conn: sqlite3.Connection  # the Catalog's connection

    def add_chunks(self, file_id: int, path: str, chunks: Sequence[Chunk],
                   embeddings: np.ndarray | None = None, name_terms: str | None = None,
                   known: Mapping[str, bytes] | None = None) -> list[int]:
        """Store chunks and their keywords; returns the new chunk ids.

        Without ``embeddings`` the file is at stage 'words' (found by its words) until
        ``set_embeddings`` fills them in; embeddings are kept as float16. ``known``: stored
        embeddings by passage text (``embeddings_by_text``); a chunk with the same text takes
        its embedding, and a file whose chunks all have one is done at once.
        """
        vecs = None if embeddings is None else np.asarray(embeddings, dtype=np.float16)
        name = path_terms(path) if name_terms is None else name_terms
        ids: list[int] = []
        missing = vecs is None and not chunks  # as before: an empty file waits at 'words'
        for ord_, chunk in enumerate(chunks):
            if vecs is not None:
                blob = vecs[ord_].tobytes()
            else:
                blob = known.get(chunk.text, b"") if known else b""
                missing = missing or not blob
            cur = self.conn.execute(SQL_INSERT_CHUNK, (
                file_id, ord_, chunk.text, chunk.page, chunk.line_start, chunk.line_end,
                chunk.char_start, chunk.char_end, chunk.section, blob, chunk.location))
            chunk_id = int(cur.lastrowid or 0)
            self.conn.execute(SQL_INSERT_FTS, (chunk_id, chunk.text, name))
            self.conn.execute(SQL_INSERT_KEY, (chunk_id, text_key(chunk.text)))
            ids.append(chunk_id)
        self.set_stage(file_id, STAGE_WORDS if missing else STAGE_MEANING)
        return ids

    def set_stage(self, file_id: int, stage: str) -> None:
        self.conn.execute("UPDATE files SET stage = ? WHERE id = ?", (stage, file_id))

    def delete_chunks_of(self, file_id: int) -> list[int]:
        """Remove a file's chunks; returns their ids (to remove from the vector index)."""
        ids = [r[0] for r in self.conn.execute(SQL_CHUNK_IDS_OF_FILE, (file_id,))]
        self.conn.execute("DELETE FROM chunks WHERE file_id = ?", (file_id,))
        return ids

    def chunk_rows(self, ids: Sequence[int]) -> dict[int, ChunkRow]:
        out: dict[int, ChunkRow] = {}
        for part in id_slices(ids):
            sql = SQL_CHUNK_ROWS.format(marks=",".join("?" * len(part)))
            for r in self.conn.execute(sql, part):
                out[r[0]] = chunk_row(r)
        return out

    def chunk_files(self, ids: Sequence[int]) -> dict[int, int]:
        """The file of each chunk that still exists (a search groups hundreds of candidates)."""
        out: dict[int, int] = {}
        for part in id_slices(ids):
            out.update(self.conn.execute(
                f"SELECT id, file_id FROM chunks WHERE id IN ({','.join('?' * len(part))})", part))
        return out

    def chunks_of_file(self, file_id: int) -> list[ChunkRow]:
        rows = self.conn.execute(
            SQL_CHUNK_ROWS.replace("c.id IN ({marks})", "c.file_id = ?") + " ORDER BY c.ord",
            (file_id,)).fetchall()
        return [chunk_row(r) for r in rows]

