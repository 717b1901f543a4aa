"""Paths whose names are not UTF-8, escaped into valid text and back without loss.

On Linux a name is bytes; Python hands undecodable bytes over as lone surrogates
(surrogateescape), which SQLite refuses and Qt drops. The escaped form spells each such byte as
ESCAPE + two hex digits (and ESCAPE itself doubled), so it round-trips exactly while every valid
name, and every folder prefix, stays as it is. U+FFFF is a noncharacter: real names hardly hold
it. The catalog stores paths this way, and the window carries them through Qt this way.
"""

from __future__ import annotations

import re

ESCAPE = "\uffff"
SURROGATE = re.compile("[\udc80-\udcff\uffff]")
_ESCAPED = re.compile("\uffff(\uffff|[0-9a-f]{2})")


def escape(path: str) -> str:
    """``path`` as valid text, losslessly (a plain path is left as it is)."""
    if not SURROGATE.search(path):
        return path
    return SURROGATE.sub(lambda m: ESCAPE * 2 if m.group() == ESCAPE
                         else ESCAPE + f"{ord(m.group()) - 0xDC00:02x}", path)


def unescape(text: str) -> str:
    """The path as the file system knows it (the inverse of ``escape``)."""
    if ESCAPE not in text:
        return text
    return _ESCAPED.sub(lambda m: ESCAPE if m.group(1) == ESCAPE
                        else chr(0xDC00 + int(m.group(1), 16)), text)
