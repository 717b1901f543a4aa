"""File rows: what the catalog knows of each file on disk, and recording adds, changes, moves, removals."""

from __future__ import annotations

import os
import time

from app.core.storage.catalog.members import MembersMixin
from app.core.storage.catalog.rows import FileState
from app.core.storage.catalog.schema import REAL_FILES
from app.core.storage.catalog.stored_paths import from_db, readable, searchable_name, to_db

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


class FilesMixin(MembersMixin):
    """The files table as the scanner sees it; writes are called inside ``Catalog.transaction()``."""

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

    # -- writing ---------------------------------------------------------------------------
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
            (searchable_name(new_path), file_id))
        # Its members move with it: same key and name after the new path, same folder and date.
        self.conn.execute(
            "UPDATE files SET path = ? || substr(path, length(?) + 1), folder = ?, mtime_ns = ? "
            "WHERE container_id = ?",
            (to_db(new_path), old, to_db(folder), mtime_ns, file_id))

    def delete_file(self, file_id: int) -> list[int]:
        """Remove a file and its members; returns their chunk ids (for the vector index)."""
        ids = self.delete_members_of(file_id) + self.delete_chunks_of(file_id)
        self.conn.execute("DELETE FROM files WHERE id = ?", (file_id,))
        return ids
