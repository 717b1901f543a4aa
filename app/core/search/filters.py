"""Narrowing a search by folder, type and date, and the passages a narrowing lets through, cached."""

from __future__ import annotations

import os
import sqlite3
import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from app.core.storage.catalog import to_db

# A user narrows by a few folders and types in a session; each remembered set of passage ids
# costs 8 bytes a passage.
REMEMBERED_FILTERS = 4


@dataclass(frozen=True)
class Filters:
    """Narrowing a search: by folder, file type and modification time."""

    folder: str | None = None
    types: tuple[str, ...] = ()
    modified_after: float | None = None

    @property
    def active(self) -> bool:
        return bool(self.folder or self.types or self.modified_after)

    def sql(self) -> tuple[str, list[object]]:
        """A WHERE fragment over ``files f`` and its parameters."""
        clauses: list[str] = []
        params: list[object] = []
        if self.folder:
            # A range over the path (its unique index) rather than a test of every file's path.
            low = to_db(self.folder.rstrip(os.sep) + os.sep)
            clauses.append("f.path >= ? AND f.path < ?")
            params += [low, low[:-1] + chr(ord(os.sep) + 1)]
        if self.types:
            exts = [t.lower() if t.startswith(".") else "." + t.lower() for t in self.types]
            clauses.append(f"f.ext IN ({','.join('?' * len(exts))})")
            params += exts
        if self.modified_after:
            clauses.append("f.mtime_ns >= ?")
            params.append(int(self.modified_after * 1e9))
        return (" AND ".join(clauses) or "1"), params


def generation(conn: sqlite3.Connection) -> tuple[int, int]:
    """Changes whenever the catalog does: commits by other connections, and by this one."""
    return int(conn.execute("PRAGMA data_version").fetchone()[0]), conn.total_changes


class AllowedPassages:
    """The sorted ids of the passages each recent filter lets through, until the catalog changes.

    Reading them costs a pass over the filter's files and their passages; typing a query
    searches the same filter many times in a row.
    """

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self._lock = threading.Lock()
        self._seen: tuple[int, int] | None = None
        self._sets: OrderedDict[Filters, np.ndarray] = OrderedDict()

    def ids(self, filters: Filters) -> np.ndarray:
        now = generation(self.conn)
        with self._lock:
            if now != self._seen:
                self._sets.clear()
                self._seen = now
            found = self._sets.get(filters)
            if found is not None:
                self._sets.move_to_end(filters)
                return found
        where, params = filters.sql()
        rows = self.conn.execute(
            f"SELECT c.id FROM files f JOIN chunks c ON c.file_id = f.id WHERE {where}", params)
        ids = np.sort(np.fromiter((r[0] for r in rows), dtype=np.uint64))
        with self._lock:
            if now == self._seen:
                self._sets[filters] = ids
                while len(self._sets) > REMEMBERED_FILTERS:
                    self._sets.popitem(last=False)
        return ids
