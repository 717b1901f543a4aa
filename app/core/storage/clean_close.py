"""Whether the catalog is byte for byte as Sift left it when it last closed it cleanly.

Checking a catalog's every page (SQLite's quick_check) reads the whole file: seconds at a
million passages. A catalog that Sift closed cleanly and nothing has written since cannot have
been damaged by a crash or a half-finished write, so opening it skips that pass; after a crash,
a kill, or any write by anyone else it is checked in full as before. Damage the check never sees
(a failing disk) is still found by the read that trips on it.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from pathlib import Path

from app.core.host.atomic import write_text_atomic

CATALOG_FILE = "catalog.sqlite"
MARK = "catalog.closed"
# File times move in clock ticks (4 ms on most Linux kernels, up to 10 ms): a write in the same
# tick as the close would leave the time unchanged, so closing waits until the clock has passed.
TICK_NS = 20_000_000


def _state(folder: Path) -> dict[str, int] | None:
    """The catalog's identity on disk, or None while a write-ahead log holds commits."""
    path = folder / CATALOG_FILE
    try:
        st = path.stat()
        wal = folder / (CATALOG_FILE + "-wal")
        if wal.exists() and wal.stat().st_size > 0:
            return None
    except OSError:
        return None
    return {"inode": st.st_ino, "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def record(folder: Path) -> None:
    """After the last connection closed cleanly: remember the catalog as it is now."""
    forget(folder)
    state = _state(folder)
    if state is None:  # another process still has it open: no promise can be made
        return
    deadline = time.monotonic() + 0.1
    while time.time_ns() <= state["mtime_ns"] + TICK_NS:
        if time.monotonic() > deadline:  # a time from the future (clock skew): no promise
            return
        time.sleep(0.002)
    with contextlib.suppress(OSError):
        write_text_atomic(folder / MARK, json.dumps(state))


def forget(folder: Path) -> None:
    with contextlib.suppress(OSError):
        os.unlink(folder / MARK)


def unchanged(folder: Path) -> bool:
    """Whether the catalog is exactly as it was when Sift last closed it cleanly."""
    try:
        recorded = json.loads((folder / MARK).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(recorded, dict) and recorded == _state(folder)
