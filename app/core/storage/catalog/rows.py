"""What the catalog's reads hand back: a file's state, a passage joined with its file, embeddings."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.core.storage.catalog.stored_paths import from_db


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


# The columns ``chunk_row`` reads, in its order; WHERE is filled in by the caller.
SQL_CHUNK_ROWS = """
SELECT c.id, c.file_id, c.ord, c.text, c.page, c.line_start, c.line_end, f.path, f.ext,
       f.mtime_ns, c.section, c.char_start, c.char_end, c.location,
       m.path, f.name, f.member_key, f.member_of
FROM chunks c JOIN files f ON f.id = c.file_id LEFT JOIN files m ON m.id = f.container_id
WHERE c.id IN ({marks})
"""


def chunk_row(r: Sequence[Any]) -> ChunkRow:
    """A row of ``SQL_CHUNK_ROWS`` as a ChunkRow."""
    if r[14] is None:  # a file on disk
        return ChunkRow(*r[:7], from_db(r[7]), *r[8:14])
    return ChunkRow(*r[:7], from_db(r[7]), *r[8:14], container=from_db(r[14]), member=r[15],
                    member_key=r[16] or "", member_of=r[17] or "")


def unpack(rows: list[tuple[int, bytes]]) -> tuple[np.ndarray, np.ndarray]:
    """(id, float16 blob) rows as ids and a float32 matrix."""
    ids = np.fromiter((r[0] for r in rows), dtype=np.uint64, count=len(rows))
    mat = np.stack([np.frombuffer(r[1], dtype=np.float16) for r in rows]).astype(np.float32)
    return ids, mat
