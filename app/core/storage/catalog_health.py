"""A damaged catalog is found at open (or when a read trips on it), set aside, and rebuilt.

The catalog is rebuilt from the files on disk; the damaged file is kept beside it, renamed with
the time, so nothing is destroyed. Plain sqlite3 here: this must work when the catalog cannot.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import time
from pathlib import Path

from app.core.failures import last_words
from app.core.host.atomic import write_text_atomic
from app.core.storage import clean_close

log = logging.getLogger(__name__)

CATALOG_FILE = "catalog.sqlite"
VECTORS_FILE = "vectors.usearch"
MARKER = "catalog.damaged"  # written when a read finds damage; the next open sets it aside
EMPTIED = "the catalog file is empty: its contents were lost"


def damage(folder: Path) -> str | None:
    """Why the catalog in ``folder`` cannot be trusted, or None when it looks whole."""
    path = folder / CATALOG_FILE
    marker = folder / MARKER
    if marker.exists():
        with contextlib.suppress(OSError):
            return marker.read_text(encoding="utf-8", errors="replace").strip() or "damaged"
        return "damaged"
    if not path.exists() or clean_close.unchanged(folder):  # as Sift cleanly left it
        return None
    try:
        with open(path, "rb") as f:
            head = f.read(16)
        if head and head != b"SQLite format 3\x00":
            return "file is not a database"
        conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=30)
        try:
            rows = conn.execute("PRAGMA quick_check").fetchall()
            tables = conn.execute(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'meta'"
            ).fetchone()[0]
        finally:
            conn.close()
    except sqlite3.OperationalError as exc:
        text = str(exc).lower()
        if "locked" in text or "busy" in text or "unable to open" in text:
            # Another process writes it (busy, not damaged), or the folder is read-only or
            # unreachable: opening it says so in its own words.
            return None
        return str(exc)
    except sqlite3.DatabaseError as exc:
        return str(exc)
    except OSError:
        return None  # unreadable for now (permissions, a share): opening reports it
    if rows != [("ok",)]:
        return "; ".join(str(r[0]) for r in rows[:3])
    if not tables and emptied(folder):
        return EMPTIED
    return None


def emptied(folder: Path) -> bool:
    """Whether a catalog without tables lost them, rather than being created right now.

    Emptied (a 0-byte file), or its commits lived only in a write-ahead log whose header was
    lost: SQLite then reads an empty database. A catalog being created by the writer has no
    vector file yet (a set-aside one loses it too), so it is never taken for this.
    """
    return (folder / VECTORS_FILE).exists()


def mark_damaged(folder: Path, reason: str) -> None:
    """Remember that a read found damage; the catalog is set aside at the next open."""
    with contextlib.suppress(OSError):
        write_text_atomic(folder / MARKER, reason)  # private, like every file Sift writes


def set_aside(folder: Path, reason: str) -> str:
    """Move the damaged catalog out of the way; returns the words that tell the user."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    aside = folder / f"catalog.damaged-{stamp}.sqlite"
    for suffix in ("", "-wal", "-shm"):
        src = folder / (CATALOG_FILE + suffix)
        if src.exists():
            with contextlib.suppress(OSError):
                src.replace(folder / (aside.name + suffix))
    for name in (VECTORS_FILE, MARKER):  # the vector file is a cache of the catalog
        with contextlib.suppress(OSError):
            (folder / name).unlink()
    log.warning("catalog in %s was damaged (%s); kept as %s", folder, reason, aside.name)
    return (f"Sift's index was damaged ({last_words(reason)}); it was set aside as {aside.name} "
            "and the index is rebuilt from your files.")
