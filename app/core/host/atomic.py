"""Atomic file writes: write a private temporary file beside the target, then replace it."""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path


def write_atomic(path: Path, writer: Callable[[Path], None]) -> None:
    """Call ``writer(tmp_path)`` and move the result over ``path`` in one step.

    A crash at any moment leaves either the old file or the new one, never half of either.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        writer(tmp)
        os.chmod(tmp, 0o600)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        full = not isinstance(exc, OSError) and isinstance(exc, Exception) and _no_room(tmp)
        with contextlib.suppress(OSError):
            tmp.unlink()
        if full:
            # A library's writer that says only "Failed to serialize into stream" (usearch):
            # the half-written file has taken the last of the disk, so that is why.
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path)) from exc
        raise


NO_ROOM = 1 << 20  # bytes left beside a half-written file: the disk ran out under it


def _no_room(tmp: Path) -> bool:
    try:
        return shutil.disk_usage(tmp.parent).free < NO_ROOM
    except OSError:
        return False


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    write_atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
