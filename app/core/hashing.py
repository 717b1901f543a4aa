"""Content hashes of files: one digest for recognising moved files, caching OCR and checking caches."""

from __future__ import annotations

import hashlib
import os

_BLOCK = 1 << 20


def file_digest(path: str | os.PathLike[str]) -> str:
    """BLAKE2b (160 bits) of the file's bytes, read in blocks so memory stays flat."""
    h = hashlib.blake2b(digest_size=20)
    with open(path, "rb") as f:
        while block := f.read(_BLOCK):
            h.update(block)
    return h.hexdigest()
