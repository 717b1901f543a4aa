"""Paths whose names are not UTF-8: shown with their odd bytes visible, carried through Qt exactly.

On Linux a name is bytes; Python hands the undecodable ones over as lone surrogates, which Qt
drops ("latin1-\\xe9t\\xe9.txt" became "latin1-t.txt", a path that does not exist). What is shown
spells each such byte as \\xNN; what travels through Qt's models and signals escapes it the way
the catalog stores paths (app/core/path_escapes.py), and ``actual`` turns that back into the
path the file system knows.
"""

from __future__ import annotations

import os
from urllib.parse import quote

from app.core.path_escapes import SURROGATE, escape, unescape


def is_exact_text(path: str) -> bool:
    """Whether the path is plain text (UTF-8 on disk), as Qt and the clipboard carry it."""
    return not SURROGATE.search(path)


def shown(path: str) -> str:
    """The path for a person to read: 'latin1-\\xe9t\\xe9.txt', never a silently shortened name."""
    path = actual(path)
    if is_exact_text(path):
        return path
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def carried(path: str) -> str:
    """The path as a string Qt keeps intact (models, signals); ``actual`` undoes it."""
    return escape(path)


def actual(path: str) -> str:
    """The path as the file system knows it, from a carried one (a plain path is left as it is)."""
    return unescape(path)


def terminal_text(path: str) -> str:
    """Text that a POSIX shell turns into exactly this path: $'…\\xe9…' where a byte is not UTF-8."""
    path = actual(path)
    if is_exact_text(path):
        return path
    raw = os.fsencode(path)
    out = []
    for ch in raw.decode("utf-8", "surrogateescape"):
        code = ord(ch)
        if 0xDC80 <= code <= 0xDCFF:
            out.append(f"\\x{code - 0xDC00:02x}")
        elif ch in "\\'":
            out.append("\\" + ch)
        elif ch.isprintable():
            out.append(ch)
        else:
            out.append(f"\\x{code:02x}" if code < 0x80 else f"\\u{code:04x}")
    return "$'" + "".join(out) + "'"


def file_url(path: str) -> bytes:
    """A file:// URL of the exact bytes of the path (file managers and file dialogs take it)."""
    return b"file://" + quote(os.fsencode(os.path.abspath(actual(path))), safe="/").encode("ascii")
