"""Text made safe for a terminal: control characters from files and file names become visible escapes.

A file's text or name may hold ESC sequences (set the title, clear the screen, write the
clipboard) or bidirectional overrides that disguise a name. Everything the CLI prints about
files passes through here; JSON output gets the same treatment as \\u escapes.
"""

from __future__ import annotations

import re

# C0 controls (tab kept), DEL, C1 controls, bidirectional overrides and isolates, lone
# surrogates (bytes of a file name that are not UTF-8, as Python hands them over).
_UNSAFE = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
                     "\ud800-\udfff]")
_UNSAFE_LINE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
                          "\ud800-\udfff]")
_JSON_UNSAFE = re.compile("[\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
                          "\ud800-\udfff]")


def _escape(ch: str) -> str:
    code = ord(ch)
    if 0xDC80 <= code <= 0xDCFF:  # an undecodable byte of a file name: show the byte
        return f"\\x{code - 0xDC00:02x}"
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}"


def safe(text: str) -> str:
    """``text`` with every control character shown as an escape (newlines too)."""
    return _UNSAFE_LINE.sub(lambda m: _escape(m.group()), text)


def safe_block(text: str) -> str:
    """Like ``safe``, for a passage: line breaks become spaces, tabs stay."""
    text = text.replace("\r\n", " ").replace("\n", " ").replace("\r", " ")
    return _UNSAFE.sub(lambda m: _escape(m.group()), text)


def safe_json(dumped: str) -> str:
    """JSON text (from ``json.dumps(..., ensure_ascii=False)``) with what json leaves raw escaped.

    json escapes C0 controls itself; DEL, C1 controls, bidi controls and lone surrogates it
    passes through. Their \\uXXXX forms are the same JSON value, so readers see no difference.
    """
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", dumped)
