"""The SQLite catalog, Sift's source of truth: files, chunks, their embeddings and the FTS5 text."""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from app.core.records import Chunk, Member, SkippedFile

SCHEMA_VERSION = 5

# The stages a file goes through. WORDS: its passages and their keywords are stored, so it is
# found by its words; embeddings are still to come (a chunk's empty ``embedding`` says which).
# MEANING: every passage is embedded. Later stages (OCR…) may add their own names.
STAGE_WORDS = "words"
STAGE_MEANING = "meaning"

# A file skipped with a reason starting so is read again at the next scan: its text is on its way
# (background OCR), not missing.
RETRY_REASON = "waiting for OCR"
# A scan whose text background OCR is still reading: stored with one empty passage, so it is found
# by its name at once, and read again (to stage 'words') when its OCR ends.
STAGE_OCR = "ocr"

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    path TEXT NOT NULL UNIQUE,
    folder TEXT NOT NULL,
    name TEXT NOT NULL,
    ext TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    hash TEXT,
    status TEXT NOT NULL CHECK (status IN ('indexed', 'skipped')),
    reason TEXT,
    indexed_at REAL NOT NULL,
    stage TEXT NOT NULL DEFAULT 'meaning',
    -- A member (an e-mail attachment) names the file that holds it; NULL for files on disk.
    container_id INTEGER REFERENCES files(id) ON DELETE CASCADE,
    member_key TEXT,  -- finds it in its container: "2.1" = message 2, attachment 1
    member_of TEXT,   -- what holds it, as a user reads it: the message's subject
    chunks INTEGER NOT NULL DEFAULT 0  -- its passages, kept by triggers: counted without a scan
);
CREATE INDEX IF NOT EXISTS files_folder ON files(folder);
CREATE INDEX IF NOT EXISTS files_hash ON files(hash);
-- AUTOINCREMENT: a chunk id is never reused, so a vector found under an id is always that
-- chunk's vector, even in an index file older than the catalog.
CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    file_id INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
    ord INTEGER NOT NULL,
    text TEXT NOT NULL,
    page INTEGER,
    line_start INTEGER NOT NULL,
    line_end INTEGER NOT NULL,
    char_start INTEGER NOT NULL,
    char_end INTEGER NOT NULL,
    section INTEGER NOT NULL,
    embedding BLOB NOT NULL,  -- empty until the passage is embedded (stage 'words')
    location TEXT NOT NULL DEFAULT ''  -- what a user reads as the place: slide, sheet rows, heading
);
CREATE INDEX IF NOT EXISTS chunks_file ON chunks(file_id);
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(
    text, name, tokenize = 'porter unicode61 remove_diacritics 2'
);
CREATE TRIGGER IF NOT EXISTS chunks_fts_delete AFTER DELETE ON chunks BEGIN
    DELETE FROM chunks_fts WHERE rowid = old.id;
END;
"""
# Indexes on columns that older catalogs gain in a migration: created after migrating.
SCHEMA_LATE = "CREATE INDEX IF NOT EXISTS files_stage ON files(stage);"
SCHEMA_LATE += "CREATE INDEX IF NOT EXISTS files_container ON files(container_id);"
# Status at a million passages: files per state and stage, and the ids of embedded passages
# (what the vector file must hold), read from small indexes instead of scanning the tables.
SCHEMA_LATE += "CREATE INDEX IF NOT EXISTS files_status_stage ON files(status, stage);"
SCHEMA_LATE += ("CREATE INDEX IF NOT EXISTS chunks_embedded ON chunks(id) "
                "WHERE length(embedding) > 0;")
# Each file's passage count follows its passages, whichever path adds or removes them (a cascade
# included), so a folder's passages are a sum over its files, not a count of a million rows.
# What a folder holds, read from one range of this covering index (no table row is visited).
SCHEMA_LATE += ("CREATE INDEX IF NOT EXISTS files_path_counts "
                "ON files(path, status, container_id, chunks);")
SCHEMA_LATE += """
CREATE TRIGGER IF NOT EXISTS chunks_count_insert AFTER INSERT ON chunks BEGIN
    UPDATE files SET chunks = chunks + 1 WHERE id = new.file_id;
END;
CREATE TRIGGER IF NOT EXISTS chunks_count_delete AFTER DELETE ON chunks BEGIN
    UPDATE files SET chunks = chunks - 1 WHERE id = old.file_id;
END;
"""

# Versioned, in order: MIGRATIONS[n] brings a catalog of version n to n + 1.
MIGRATIONS = {
    # Two-stage indexing: what a version-1 catalog holds is fully embedded.
    1: "ALTER TABLE files ADD COLUMN stage TEXT NOT NULL DEFAULT 'meaning'",
    # Places users understand (slide 2 "Numbers", Budget rows 1–3); older passages show page/line.
    2: "ALTER TABLE chunks ADD COLUMN location TEXT NOT NULL DEFAULT ''",
    # E-mail attachments as results of their own: rows inside another file's row.
    3: ("ALTER TABLE files ADD COLUMN container_id INTEGER "
        "REFERENCES files(id) ON DELETE CASCADE",
        "ALTER TABLE files ADD COLUMN member_key TEXT",
        "ALTER TABLE files ADD COLUMN member_of TEXT",
        # Saved mail held its attachments' text: read each again at the next look (an unknown
        # size and content), so that they become results of their own and are not counted twice.
        "UPDATE files SET size = -1, hash = NULL WHERE ext IN ('.eml', '.mbox')"),
    # Passage counts per file (then kept by triggers): `sift status` instant at a million.
    4: ("ALTER TABLE files ADD COLUMN chunks INTEGER NOT NULL DEFAULT 0",
        "UPDATE files SET chunks = (SELECT count(*) FROM chunks c WHERE c.file_id = files.id)"),
}

# A member's stored path: its container's, this, then its key and name. U+FFFF in a stored path
# is always followed by U+FFFF or two hex digits (see to_db), so no file on disk has this path,
# while a folder filter (a path prefix) still finds the member where its container lives.
MEMBER_SEP = "\uffff/"
REAL_FILES = "container_id IS NULL"

# Comparing the catalog with the disk: files on disk only, never their members.
SQL_FILE_STATE = (
    f"SELECT id, path, size, mtime_ns, hash, status FROM files WHERE folder = ? AND {REAL_FILES}"
)
SQL_ALL_FILE_STATE = (
    f"SELECT id, path, size, mtime_ns, hash, status, folder FROM files WHERE {REAL_FILES}")
SQL_INSERT_FILE = """
INSERT INTO files (path, folder, name, ext, size, mtime_ns, hash, status, reason, indexed_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT(path) DO UPDATE SET folder = excluded.folder, name = excluded.name,
    ext = excluded.ext, size = excluded.size, mtime_ns = excluded.mtime_ns,
    hash = excluded.hash, status = excluded.status, reason = excluded.reason,
    indexed_at = excluded.indexed_at
RETURNING id
"""
SQL_INSERT_CHUNK = """
INSERT INTO chunks (file_id, ord, text, page, line_start, line_end, char_start, char_end,
                    section, embedding, location)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""
SQL_INSERT_FTS = "INSERT INTO chunks_fts (rowid, text, name) VALUES (?, ?, ?)"
SQL_PENDING_FILES = (
    "SELECT id FROM files WHERE status = 'indexed' AND stage = ? ORDER BY id LIMIT ?")
SQL_PENDING_CHUNKS = (
    "SELECT id, text FROM chunks WHERE file_id = ? AND length(embedding) = 0 ORDER BY ord")
SQL_CHUNK_IDS_OF_FILE = "SELECT id FROM chunks WHERE file_id = ?"
SQL_CHUNK_ROWS = """
SELECT c.id, c.file_id, c.ord, c.text, c.page, c.line_start, c.line_end, f.path, f.ext,
       f.mtime_ns, c.section, c.char_start, c.char_end, c.location,
       m.path, f.name, f.member_key, f.member_of
FROM chunks c JOIN files f ON f.id = c.file_id LEFT JOIN files m ON m.id = f.container_id
WHERE c.id IN ({marks})
"""


@dataclass(frozen=True, slots=True)
class FileState:
    """What the catalog knows of a file, for deciding whether it changed."""

    id: int
    path: str
    size: int
    mtime_ns: int
    hash: str | None
    status: str


@dataclass(frozen=True, slots=True)
class ChunkRow:
    """A stored chunk joined with its file, for building results."""

    id: int
    file_id: int
    ord: int
    text: str
    page: int | None
    line_start: int
    line_end: int
    path: str
    ext: str
    mtime_ns: int
    section: int
    char_start: int
    char_end: int
    location: str = ""
    # For a member (an e-mail attachment): the path of the file holding it, its name, its key
    # there and what holds it (the message's subject). "" for a file on disk.
    container: str = ""
    member: str = ""
    member_key: str = ""
    member_of: str = ""


def _connect(path: Path, readonly: bool) -> sqlite3.Connection:
    if readonly:
        conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, check_same_thread=False,
                               timeout=30)
    else:
        conn = sqlite3.connect(path, check_same_thread=False, timeout=30, isolation_level=None)
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA busy_timeout = 30000")
    if not readonly:
        conn.execute("PRAGMA journal_mode = WAL")
        # NORMAL in WAL mode: a power cut may lose the last commits, never corrupt the file.
        conn.execute("PRAGMA synchronous = NORMAL")
    return conn


class Catalog:
    """One connection to the catalog. The writer opens it read-write; searches open their own."""

    def __init__(self, path: Path, *, readonly: bool = False) -> None:
        self.path = path
        self.readonly = readonly
        if not readonly:
            path.parent.mkdir(parents=True, exist_ok=True)
            new = not path.exists()
            self.conn = _connect(path, readonly=False)
            if new:
                with contextlib.suppress(OSError):
                    os.chmod(path, 0o600)
            self.conn.executescript(SCHEMA)
            self._migrate(new)
            self.conn.executescript(SCHEMA_LATE)
        else:
            self.conn = _connect(path, readonly=True)
        self._tx_lock = threading.RLock()

    def _migrate(self, new: bool) -> None:
        """Bring an older catalog to SCHEMA_VERSION, one versioned step at a time, atomically."""
        self.conn.execute("BEGIN IMMEDIATE")  # read the version inside: another process may migrate
        try:
            version = self.get_meta("schema_version")
            if version is None:
                # A new catalog, or one of the first version (which did not always record it).
                cols = {r[1] for r in self.conn.execute("PRAGMA table_info(files)")}
                version = str(SCHEMA_VERSION if new else 2 if "stage" in cols else 1)
            current = int(version)
            while current < SCHEMA_VERSION:
                step = MIGRATIONS[current]
                for statement in (step,) if isinstance(step, str) else step:
                    self.conn.execute(statement)
                current += 1
            self.set_meta("schema_version", str(current))
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def close(self) -> None:
        self.conn.close()

    # -- transactions ----------------------------------------------------------------------
    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic unit: everything inside commits together or not at all."""
        with self._tx_lock:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            else:
                self.conn.execute("COMMIT")

    # -- meta ----------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        self.conn.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value", (key, value))

    # -- reading file state ----------------------------------------------------------------
    def files_under(self, folder: str) -> dict[str, FileState]:
        rows = self.conn.execute(SQL_FILE_STATE, (to_db(folder),)).fetchall()
        return {(p := from_db(r[1])): FileState(r[0], p, *r[2:]) for r in rows}

    def all_files(self) -> dict[str, FileState]:
        rows = self.conn.execute(SQL_ALL_FILE_STATE).fetchall()
        return {(p := from_db(r[1])): FileState(r[0], p, *r[2:6]) for r in rows}

    def folders(self) -> list[str]:
        return [from_db(r[0]) for r in self.conn.execute("SELECT DISTINCT folder FROM files")]

    def file_state(self, path: str) -> FileState | None:
        row = self.conn.execute(
            f"SELECT id, path, size, mtime_ns, hash, status FROM files WHERE path = ? AND {REAL_FILES}",
            (to_db(path),)).fetchone()
        return None if row is None else FileState(row[0], path, *row[2:])

    # -- writing (call inside transaction()) ------------------------------------------------
    def put_file(self, path: str, folder: str, size: int, mtime_ns: int, hash_: str | None,
                 status: str, reason: str | None = None) -> int:
        name = readable(os.path.basename(path))
        ext = os.path.splitext(name)[1].lower()
        row = self.conn.execute(SQL_INSERT_FILE, (to_db(path), to_db(folder), name, ext, size,
                                                  mtime_ns, hash_, status, reason,
                                                  time.time())).fetchone()
        return int(row[0])

    def touch_file(self, file_id: int, size: int, mtime_ns: int) -> None:
        self.conn.execute("UPDATE files SET size = ?, mtime_ns = ? WHERE id = ?",
                          (size, mtime_ns, file_id))
        # Members are as new as the file holding them (the date filter finds them together).
        self.conn.execute("UPDATE files SET mtime_ns = ? WHERE container_id = ?",
                          (mtime_ns, file_id))

    def move_file(self, file_id: int, new_path: str, folder: str, size: int,
                  mtime_ns: int) -> None:
        """Record a rename or move: same content, so chunks and vectors stay."""
        old = self.conn.execute("SELECT path FROM files WHERE id = ?", (file_id,)).fetchone()[0]
        name = readable(os.path.basename(new_path))
        self.conn.execute(
            "UPDATE files SET path = ?, folder = ?, name = ?, ext = ?, size = ?, mtime_ns = ? "
            "WHERE id = ?",
            (to_db(new_path), to_db(folder), name, os.path.splitext(name)[1].lower(), size,
             mtime_ns, file_id))
        self.conn.execute(
            "UPDATE chunks_fts SET name = ? WHERE rowid IN (SELECT id FROM chunks WHERE file_id = ?)",
            (_name_terms(new_path), file_id))
        # Its members move with it: same key and name after the new path, same folder and date.
        self.conn.execute(
            "UPDATE files SET path = ? || substr(path, length(?) + 1), folder = ?, mtime_ns = ? "
            "WHERE container_id = ?",
            (to_db(new_path), old, to_db(folder), mtime_ns, file_id))

    def delete_chunks_of(self, file_id: int) -> list[int]:
        """Remove a file's chunks; returns their ids (to remove from the vector index)."""
        ids = [r[0] for r in self.conn.execute(SQL_CHUNK_IDS_OF_FILE, (file_id,))]
        self.conn.execute("DELETE FROM chunks WHERE file_id = ?", (file_id,))
        return ids

    def delete_file(self, file_id: int) -> list[int]:
        """Remove a file and its members; returns their chunk ids (for the vector index)."""
        ids = self.delete_members_of(file_id) + self.delete_chunks_of(file_id)
        self.conn.execute("DELETE FROM files WHERE id = ?", (file_id,))
        return ids

    def delete_members_of(self, file_id: int) -> list[int]:
        """Remove the members of a file (its e-mail attachments); returns their chunk ids."""
        ids = [r[0] for r in self.conn.execute(
            "SELECT c.id FROM chunks c JOIN files f ON f.id = c.file_id WHERE f.container_id = ?",
            (file_id,))]
        self.conn.execute("DELETE FROM chunks WHERE file_id IN "
                          "(SELECT id FROM files WHERE container_id = ?)", (file_id,))
        self.conn.execute("DELETE FROM files WHERE container_id = ?", (file_id,))
        return ids

    def put_member(self, container_id: int, member: Member, chunks: Sequence[Chunk]) -> int:
        """Store a member of a stored file, with its passages (stage 'words'), or skipped with
        ``member.reason`` when it has none. Its folder and date are its container's."""
        row = self.conn.execute(
            "SELECT path, folder, mtime_ns FROM files WHERE id = ?", (container_id,)).fetchone()
        name = readable(member.name)
        path = f"{row[0]}{MEMBER_SEP}{member.key}/{name}"
        status, reason = ("indexed", None) if chunks else ("skipped", member.reason or "no text found")
        cur = self.conn.execute(
            "INSERT INTO files (path, folder, name, ext, size, mtime_ns, hash, status, reason, "
            "indexed_at, container_id, member_key, member_of) "
            "VALUES (?, ?, ?, ?, ?, ?, NULL, ?, ?, ?, ?, ?, ?)",
            (path, row[1], name, os.path.splitext(name)[1].lower(),
             member.size, row[2], status, reason, time.time(),
             container_id, member.key, readable(member.of)))
        file_id = int(cur.lastrowid or 0)
        if chunks:
            # Found by its own name and by the subject of the mail it came with.
            self.add_chunks(file_id, name, chunks, name_terms=f"{_name_terms(name)} {member.of}")
        return file_id

    def add_chunks(self, file_id: int, path: str, chunks: Sequence[Chunk],
                   embeddings: np.ndarray | None = None, name_terms: str | None = None) -> list[int]:
        """Store chunks and their keywords; returns the new chunk ids.

        Without ``embeddings`` the file is at stage 'words' (found by its words) until
        ``set_embeddings`` fills them in; embeddings are kept as float16.
        """
        vecs = None if embeddings is None else np.asarray(embeddings, dtype=np.float16)
        name = _name_terms(path) if name_terms is None else name_terms
        ids: list[int] = []
        for ord_, chunk in enumerate(chunks):
            blob = b"" if vecs is None else vecs[ord_].tobytes()
            cur = self.conn.execute(SQL_INSERT_CHUNK, (
                file_id, ord_, chunk.text, chunk.page, chunk.line_start, chunk.line_end,
                chunk.char_start, chunk.char_end, chunk.section, blob, chunk.location))
            chunk_id = int(cur.lastrowid or 0)
            self.conn.execute(SQL_INSERT_FTS, (chunk_id, chunk.text, name))
            ids.append(chunk_id)
        self.set_stage(file_id, STAGE_WORDS if vecs is None else STAGE_MEANING)
        return ids

    def set_stage(self, file_id: int, stage: str) -> None:
        self.conn.execute("UPDATE files SET stage = ? WHERE id = ?", (stage, file_id))

    def set_embeddings(self, ids: Sequence[int], embeddings: np.ndarray) -> None:
        """Fill in the embeddings of chunks stored at stage 'words'."""
        vecs = np.asarray(embeddings, dtype=np.float16)
        self.conn.executemany("UPDATE chunks SET embedding = ? WHERE id = ?",
                              [(v.tobytes(), int(i)) for i, v in zip(ids, vecs, strict=True)])

    # -- the stages -------------------------------------------------------------------------
    def files_at_stage(self, stage: str, limit: int = 1 << 30) -> list[int]:
        """Ids of indexed files waiting at ``stage``, oldest first."""
        return [r[0] for r in self.conn.execute(SQL_PENDING_FILES, (stage, limit))]

    def unembedded_chunks(self, file_id: int) -> list[tuple[int, str]]:
        """(id, text) of a file's chunks that have no embedding yet."""
        return [(int(r[0]), r[1]) for r in self.conn.execute(SQL_PENDING_CHUNKS, (file_id,))]

    def stage_counts(self) -> dict[str, int]:
        """Indexed files on disk per stage; ``pending_chunks``: passages still to embed (those of
        e-mail attachments too, which go through the stages as files of their own)."""
        out = {STAGE_WORDS: 0, STAGE_MEANING: 0}
        for stage, n in self.conn.execute(
                "SELECT stage, count(*) FROM files WHERE status = 'indexed' "
                f"AND {REAL_FILES} GROUP BY stage"):
            out[stage] = int(n)
        # Through the files waiting (an index), not a scan of every chunk.
        row = self.conn.execute(
            "SELECT count(*) FROM chunks WHERE file_id IN "
            "(SELECT id FROM files WHERE stage = ?) AND length(embedding) = 0",
            (STAGE_WORDS,)).fetchone()
        out["pending_chunks"] = int(row[0])
        return out

    # -- reading for search and status ------------------------------------------------------
    def chunk_rows(self, ids: Sequence[int]) -> dict[int, ChunkRow]:
        out: dict[int, ChunkRow] = {}
        for start in range(0, len(ids), 900):
            part = list(ids[start:start + 900])
            sql = SQL_CHUNK_ROWS.format(marks=",".join("?" * len(part)))
            for r in self.conn.execute(sql, part):
                out[r[0]] = _chunk_row(r)
        return out

    def chunk_files(self, ids: Sequence[int]) -> dict[int, int]:
        """The file of each chunk that still exists (a search groups hundreds of candidates)."""
        out: dict[int, int] = {}
        for start in range(0, len(ids), 900):
            part = list(ids[start:start + 900])
            out.update(self.conn.execute(
                f"SELECT id, file_id FROM chunks WHERE id IN ({','.join('?' * len(part))})", part))
        return out

    def chunks_of_file(self, file_id: int) -> list[ChunkRow]:
        rows = self.conn.execute(
            SQL_CHUNK_ROWS.replace("c.id IN ({marks})", "c.file_id = ?") + " ORDER BY c.ord",
            (file_id,)).fetchall()
        return [_chunk_row(r) for r in rows]

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
                yield _unpack(rows)
            return
        id_list = [int(i) for i in ids]
        for start in range(0, len(id_list), 900):
            part = id_list[start:start + 900]
            rows = self.conn.execute(
                f"SELECT id, embedding FROM chunks WHERE id IN ({','.join('?' * len(part))}) "
                "AND length(embedding) > 0", part).fetchall()
            if rows:
                yield _unpack(rows)

    def counts(self) -> tuple[int, int, int]:
        """(indexed files on disk, chunks, skipped files and attachments)."""
        # One pass over a covering index of the files (passages by their kept counts), not a
        # count of a million passage rows.
        files, chunks, skipped = self.conn.execute(
            f"SELECT count(CASE WHEN status = 'indexed' AND {REAL_FILES} THEN 1 END), "
            "coalesce(sum(chunks), 0), count(CASE WHEN status = 'skipped' THEN 1 END) "
            "FROM files").fetchone()
        return int(files), int(chunks), int(skipped)

    def folder_counts(self) -> dict[str, tuple[int, int]]:
        """Per folder: (indexed files, chunks)."""
        rows = self.conn.execute(
            "SELECT folder, count(*), sum(chunks) FROM files WHERE status = 'indexed' "
            "GROUP BY folder")
        return {from_db(r[0]): (int(r[1]), int(r[2])) for r in rows}

    def retry_paths(self) -> set[str]:
        """Files to read again at the next look even if unchanged: those waiting for OCR, and
        those holding an attachment that waits for OCR."""
        # Two indexed lookups (called for every batch of changes the watcher sees).
        rows = self.conn.execute(
            "SELECT path FROM files WHERE stage = ? UNION "
            "SELECT coalesce(c.path, f.path) FROM files f LEFT JOIN files c ON c.id = f.container_id "
            "WHERE f.status = 'skipped' AND f.reason LIKE ?",
            (STAGE_OCR, RETRY_REASON + "%"))
        return {from_db(r[0]) for r in rows}

    def embedded_fingerprint(self) -> list[int]:
        """Count, largest, sum and hashed sum of the embedded passages' ids (``keys_fingerprint``)."""
        row = self.conn.execute(
            "SELECT count(*), coalesce(max(id), 0), coalesce(sum(id), 0), "
            "coalesce(sum(id * 2654435761 % 4294967291), 0) "
            "FROM chunks WHERE length(embedding) > 0").fetchone()
        return [int(v) for v in row]

    def attachment_count(self) -> int:
        """E-mail attachments indexed as results of their own."""
        row = self.conn.execute("SELECT count(*) FROM files WHERE status = 'indexed' "
                                "AND container_id IS NOT NULL").fetchone()
        return int(row[0])

    def attachments_at_stage(self, stage: str) -> int:
        """E-mail attachments waiting at ``stage`` (files on disk are in stage_counts)."""
        row = self.conn.execute("SELECT count(*) FROM files WHERE status = 'indexed' AND stage = ? "
                                "AND container_id IS NOT NULL", (stage,)).fetchone()
        return int(row[0])

    def skipped(self) -> list[SkippedFile]:
        """Files, and attachments of mail files (shown as the mail, the reason naming them)."""
        rows = self.conn.execute(
            "SELECT coalesce(m.path, f.path), f.reason, f.name, m.path IS NOT NULL FROM files f "
            "LEFT JOIN files m ON m.id = f.container_id WHERE f.status = 'skipped' "
            "ORDER BY coalesce(m.path, f.path), f.id")
        return [SkippedFile(from_db(r[0]), f"attachment “{r[2]}”: {r[1] or ''}" if r[3]
                            else r[1] or "") for r in rows]


def _chunk_row(r: Sequence[Any]) -> ChunkRow:
    if r[14] is None:  # a file on disk
        return ChunkRow(*r[:7], from_db(r[7]), *r[8:14])
    return ChunkRow(*r[:7], from_db(r[7]), *r[8:14], container=from_db(r[14]), member=r[15],
                    member_key=r[16] or "", member_of=r[17] or "")


def _unpack(rows: list[tuple[int, bytes]]) -> tuple[np.ndarray, np.ndarray]:
    ids = np.fromiter((r[0] for r in rows), dtype=np.uint64, count=len(rows))
    mat = np.stack([np.frombuffer(r[1], dtype=np.float16) for r in rows]).astype(np.float32)
    return ids, mat


# -- file names that are not valid UTF-8 ------------------------------------------------------
# On Linux a name is bytes; Python hands undecodable bytes over as lone surrogates
# (surrogateescape), which SQLite refuses. Stored paths escape each such byte as ESCAPE + two
# hex digits (and ESCAPE itself doubled), so they round-trip exactly while every valid name,
# and every folder prefix, stays as it is. U+FFFF is a noncharacter: real names hardly hold it.
ESCAPE = "\uffff"
_SURROGATE = re.compile("[\udc80-\udcff\uffff]")
_ESCAPED = re.compile("\uffff(\uffff|[0-9a-f]{2})")


def to_db(path: str) -> str:
    """``path`` as stored: lossless, and valid UTF-8."""
    if not _SURROGATE.search(path):
        return path
    return _SURROGATE.sub(lambda m: ESCAPE * 2 if m.group() == ESCAPE
                          else ESCAPE + f"{ord(m.group()) - 0xDC00:02x}", path)


def from_db(stored: str) -> str:
    """The path as the file system knows it (the inverse of ``to_db``)."""
    if ESCAPE not in stored:
        return stored
    return _ESCAPED.sub(lambda m: ESCAPE if m.group(1) == ESCAPE
                        else chr(0xDC00 + int(m.group(1), 16)), stored)


def readable(name: str) -> str:
    """A name to show and search by: undecodable bytes become U+FFFD."""
    if not _SURROGATE.search(name):
        return name
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _name_terms(path: str) -> str:
    """The file name as searchable words: 'Müller_Sanitär-2024.pdf' → 'Müller Sanitär 2024 pdf'."""
    base = readable(os.path.basename(path))
    return " ".join(part for part in _split_name(base) if part)


def _split_name(name: str) -> list[str]:
    return re.split(r"[\s_\-.()\[\],]+", name)
