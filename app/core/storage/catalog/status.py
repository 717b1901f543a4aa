"""What the catalog holds, counted for status, and which files wait: at a stage, for OCR, skipped."""

from __future__ import annotations

import sqlite3

from app.core.records import SkippedFile
from app.core.storage.catalog.schema import (
    PARTLY,
    REAL_FILES,
    RETRY_REASON,
    STAGE_MEANING,
    STAGE_OCR,
    STAGE_WORDS,
)
from app.core.storage.catalog.stored_paths import from_db

SQL_PENDING_FILES = (
    "SELECT id FROM files WHERE status = 'indexed' AND stage = ? "
    "ORDER BY mtime_ns DESC, id LIMIT ?")


class StatusMixin:
    """Counts and lists read for `sift status`, the stages' work queues and the skipped files."""

    conn: sqlite3.Connection  # the Catalog's connection

    def files_at_stage(self, stage: str, limit: int = 1 << 30) -> list[int]:
        """Ids of indexed files waiting at ``stage``, the most recently modified first."""
        return [r[0] for r in self.conn.execute(SQL_PENDING_FILES, (stage, limit))]

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
        """Files to read again at the next look even if unchanged: those waiting for OCR (whole
        scans, and files found by their text while OCR reads their other pages), and those
        holding an attachment that waits for OCR."""
        # Two indexed lookups (called for every batch of changes the watcher sees): files with
        # a reason are few (the skipped ones and those waiting), see files_reason.
        rows = self.conn.execute(
            "SELECT path FROM files WHERE stage = ? UNION "
            "SELECT coalesce(c.path, f.path) FROM files f LEFT JOIN files c ON c.id = f.container_id "
            "WHERE f.reason IS NOT NULL AND f.reason LIKE ?",
            (STAGE_OCR, RETRY_REASON + "%"))
        return {from_db(r[0]) for r in rows}

    def skipped(self) -> list[SkippedFile]:
        """Files, and attachments of mail files (shown as the mail, the reason naming them)."""
        rows = self.conn.execute(
            "SELECT coalesce(m.path, f.path), f.reason, f.name, m.path IS NOT NULL, f.status "
            "FROM files f "
            "LEFT JOIN files m ON m.id = f.container_id WHERE f.status = 'skipped' "
            "OR (f.reason IS NOT NULL AND f.reason NOT LIKE ?) "
            "ORDER BY coalesce(m.path, f.path), f.id", (RETRY_REASON + "%",))
        return [SkippedFile(from_db(r[0]), _partly(r[4], f"attachment “{r[2]}”: {r[1] or ''}"
                                                   if r[3] else r[1] or "")) for r in rows]


def _partly(status: str, reason: str) -> str:
    """An indexed file's reason says what of it was left out; a skipped one's why it was."""
    return reason if status == "skipped" else f"{PARTLY}{reason}"
