"""Failures of the environment seen as raw exceptions (a full disk, a damaged catalog), in words."""

from __future__ import annotations

import errno
import sqlite3

from app.core.errors import KnownError


class DiskFull(KnownError):
    """The disk holding Sift's data is full; indexing waits until there is room."""

    pauses = True

    def __init__(self) -> None:
        super().__init__("The disk holding Sift's data is full; indexing paused.",
                         "Free some space, then resume (or run the index again). "
                         "Everything indexed so far is kept.")


class CatalogDamaged(KnownError):
    """The catalog file cannot be read; it is set aside and rebuilt from the files."""

    def __init__(self, detail: str) -> None:
        super().__init__(f"Sift's index was damaged ({last_words(detail)}).",
                         "It is set aside and rebuilt from your files by the next indexing.")
        self.detail = detail


# Not "no such table": a reader may meet a catalog that the writer is still creating.
DAMAGE_SIGNS = ("malformed", "file is not a database", "could not decode", "database corrupt",
                "contents were lost")


WORDS_MAX = 80


def last_words(detail: str) -> str:
    """SQLite's conclusion ("database disk image is malformed"), not the page list before it.

    Shortened at a word, never inside one: "damaged (There is no way to make c)" told nothing.
    """
    parts = [p.strip() for line in detail.splitlines() for p in line.split(";") if p.strip()]
    words = parts[-1] if parts else "damaged"
    if len(words) <= WORDS_MAX:
        return words
    cut = words[:WORDS_MAX - 1].rsplit(" ", 1)[0].rstrip(" ,:;-(")
    return f"{cut}…"


def is_bad_value(exc: BaseException) -> bool:
    """Whether ``exc`` is a value read from the catalog that Sift can never have written there.

    A flipped byte inside a row passes SQLite's page checks; it shows as text that is not
    UTF-8, or as a passage id outside the ids a vector index can hold.
    """
    return isinstance(exc, (UnicodeDecodeError, OverflowError))


def damage_words(exc: BaseException) -> str:
    """What a damaged catalog's read said, as the reason recorded and shown."""
    if isinstance(exc, UnicodeDecodeError):
        return "stored text is not UTF-8"
    if isinstance(exc, OverflowError):
        return "a stored passage number is out of range"
    return str(exc)


def is_disk_full(exc: BaseException) -> bool:
    if isinstance(exc, sqlite3.OperationalError):
        text = str(exc).lower()
        return "database or disk is full" in text or "disk is full" in text
    return isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)


def is_damage(exc: BaseException) -> bool:
    """Whether ``exc`` says the catalog file itself is damaged (not merely busy or full)."""
    if not isinstance(exc, sqlite3.DatabaseError) or is_disk_full(exc):
        return False
    text = str(exc).lower()
    return any(sign in text for sign in DAMAGE_SIGNS)


def known_failure(exc: BaseException) -> KnownError | None:
    """The user's words for ``exc``, or None when it is a bug."""
    if isinstance(exc, KnownError):
        return exc
    if is_disk_full(exc):
        return DiskFull()
    if is_damage(exc):
        return CatalogDamaged(str(exc))
    return None
