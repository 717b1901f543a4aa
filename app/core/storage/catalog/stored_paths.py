"""Paths as the catalog stores them (lossless for names that are not UTF-8), and names as words."""

from __future__ import annotations

import os
import re

from app.core.path_escapes import SURROGATE, escape, unescape

# A member's stored path: its container's, this, then its key and name. U+FFFF in a stored path
# is always followed by U+FFFF or two hex digits (see to_db), so no file on disk has this path,
# while a folder filter (a path prefix) still finds the member where its container lives.
MEMBER_SEP = "\uffff/"


def to_db(path: str) -> str:
    """``path`` as stored: lossless, and valid UTF-8 (path_escapes.py)."""
    return escape(path)


def from_db(stored: str) -> str:
    """The path as the file system knows it (the inverse of ``to_db``)."""
    return unescape(stored)


def readable(name: str) -> str:
    """A name to show and search by: undecodable bytes become U+FFFD."""
    if not SURROGATE.search(name):
        return name
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def searchable_name(path: str) -> str:
    """The file name as searchable words: 'Müller_Sanitär-2024.pdf' → 'Müller Sanitär 2024 pdf'."""
    base = readable(os.path.basename(path))
    return " ".join(part for part in _split_name(base) if part)


def name_terms(path: str, folder: str | None = None) -> str:
    """The words a file is found by beside its text, as a title: its name's and its folder's
    ('…/Board/Minutes_2024.pdf' → 'Minutes 2024 pdf Board'). ``folder``: where it is, when that
    is not the path's own parent (an attachment is where its mail is)."""
    folder = os.path.dirname(path) if folder is None else folder
    return " ".join(w for w in (searchable_name(path), searchable_name(folder)) if w)


def folder_words(stored_folder: str | None) -> str:
    """The words of a stored folder's own name (SQL function ``folder_words`` of the catalog)."""
    return searchable_name(from_db(stored_folder)) if stored_folder else ""


def _split_name(name: str) -> list[str]:
    return re.split(r"[\s_\-.()\[\],]+", name)
