"""Members of a stored file (e-mail attachments): rows inside their container's row, with passages."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence

from app.core.records import Chunk, Member
from app.core.storage.catalog.passages import PassagesMixin
from app.core.storage.catalog.stored_paths import (
    MEMBER_SEP,
    folder_words,
    readable,
    searchable_name,
)


class MembersMixin(PassagesMixin):
    """Storing, counting and removing the attachments a file holds."""

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
            # Found by its own name, the subject of the mail it came with and the mail's folder.
            self.add_chunks(file_id, name, chunks, name_terms=" ".join(
                (searchable_name(name), member.of, folder_words(row[1]))))
        return file_id

    def delete_members_of(self, file_id: int) -> list[int]:
        """Remove the members of a file (its e-mail attachments); returns their chunk ids."""
        ids = [r[0] for r in self.conn.execute(
            "SELECT c.id FROM chunks c JOIN files f ON f.id = c.file_id WHERE f.container_id = ?",
            (file_id,))]
        self.conn.execute("DELETE FROM chunks WHERE file_id IN "
                          "(SELECT id FROM files WHERE container_id = ?)", (file_id,))
        self.conn.execute("DELETE FROM files WHERE container_id = ?", (file_id,))
        return ids

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
