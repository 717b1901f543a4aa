"""The folders the user chose: one owned set, changed only by explicit adds and removes.

Folders may overlap (a child of an indexed folder, a parent of one). Which files belong to the
index is decided by "which chosen folders cover this path", never by a path prefix alone.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from app.core.indexing.scanner import Rules, is_indexable, normalize_folder


@dataclass(frozen=True)
class FolderChanges:
    """What applying a new folder list means: the folders added and the folders removed."""

    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.added or self.removed)


def inside(path: str, folder: str) -> bool:
    """Whether ``path`` lies strictly below ``folder``."""
    return path.startswith(folder.rstrip(os.sep) + os.sep)


def overlap(a: str, b: str) -> bool:
    """Whether two folders are the same or one contains the other."""
    return a == b or inside(a, b) or inside(b, a)


class FolderSet:
    """An ordered set of normalized folders. A dialog edits a copy and hands back a diff."""

    def __init__(self, folders: Iterable[str] = ()) -> None:
        self._folders: list[str] = list(dict.fromkeys(normalize_folder(f) for f in folders))

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._folders))

    def __len__(self) -> int:
        return len(self._folders)

    def __contains__(self, folder: object) -> bool:
        return isinstance(folder, str) and folder in self._folders

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FolderSet) and self._folders == other._folders

    def __repr__(self) -> str:
        return f"FolderSet({self._folders!r})"

    def as_tuple(self) -> tuple[str, ...]:
        return tuple(self._folders)

    def copy(self) -> FolderSet:
        return FolderSet(self._folders)

    def add(self, folder: str) -> bool:
        """Add a folder; returns whether it was new."""
        norm = normalize_folder(folder)
        if norm in self._folders:
            return False
        self._folders.append(norm)
        return True

    def remove(self, folder: str) -> bool:
        """Remove a folder; returns whether it was there. Only this ever drops a folder."""
        norm = normalize_folder(folder)
        if norm not in self._folders:
            return False
        self._folders.remove(norm)
        return True

    def diff(self, wanted: Iterable[str]) -> FolderChanges:
        """The adds and removes that turn this set into ``wanted``."""
        target = list(dict.fromkeys(normalize_folder(f) for f in wanted))
        return FolderChanges(tuple(f for f in target if f not in self._folders),
                             tuple(f for f in self._folders if f not in target))

    def apply(self, changes: FolderChanges) -> FolderChanges:
        """Apply a diff; returns what actually changed (adding a present folder is no change)."""
        removed = tuple(f for f in changes.removed if self.remove(f))
        added = tuple(f for f in changes.added if self.add(f))
        return FolderChanges(added, removed)

    # -- overlap ------------------------------------------------------------------------------
    def containing(self, path: str) -> list[str]:
        """The chosen folders ``path`` lies below, innermost first."""
        return sorted((f for f in self._folders if inside(path, f)), key=len, reverse=True)

    def covers(self, path: str, rules: Rules) -> bool:
        """Whether some chosen folder would index the file at ``path`` under ``rules``."""
        return any(is_indexable(path, f, rules) for f in self.containing(path))

    def related(self, folder: str) -> list[str]:
        """The chosen folders that overlap ``folder`` (itself, its parents and children)."""
        return [f for f in self._folders if overlap(f, folder)]

    def closure(self, folders: Iterable[str]) -> list[str]:
        """``folders`` plus every chosen folder overlapping them, outermost first.

        Scanning a folder alone would call the files that only an overlapping folder indexes
        "gone"; scanned together, each file is wanted when any of them wants it.
        """
        chosen: set[str] = set()
        todo = [f for f in folders if f in self._folders]
        while todo:
            folder = todo.pop()
            if folder in chosen:
                continue
            chosen.add(folder)
            todo += [f for f in self.related(folder) if f not in chosen]
        return sorted(chosen, key=lambda f: (len(f), f))

    def outermost(self) -> list[str]:
        """The chosen folders not inside another chosen folder."""
        return [f for f in self._folders if not any(inside(f, o) for o in self._folders)]


def uncovered_below(paths: Iterable[str], removed: str, remaining: FolderSet,
                    rules: Rules) -> list[str]:
    """Of the indexed ``paths``, those below ``removed`` that no remaining folder covers."""
    below = [p for p in paths if inside(p, removed)]
    if not any(overlap(f, removed) for f in remaining):
        return below
    return [p for p in below if not remaining.covers(p, rules)]


def counts_by_folder(conn: sqlite3.Connection, folders: Iterable[str]) -> dict[str, tuple[int, int]]:
    """Per chosen folder: (indexed files, passages) below it, nested folders counted in each."""
    out: dict[str, tuple[int, int]] = {}
    from app.core.storage.catalog import to_db  # paths are stored in their lossless, UTF-8-safe form

    for folder in folders:
        low = to_db(folder.rstrip(os.sep) + os.sep)
        high = low[:-1] + chr(ord(os.sep) + 1)  # every path that starts with `low` sorts below
        row = conn.execute(
            # Files on disk; the passages of their e-mail attachments count with them.
            # `+status`: the path range, not the index of every indexed file, must drive this.
            "SELECT count(CASE WHEN container_id IS NULL THEN 1 END), sum(chunks) FROM files "
            "WHERE path >= ? AND path < ? AND +status = 'indexed'", (low, high)).fetchone()
        out[folder] = (int(row[0]), int(row[1] or 0))
    return out
