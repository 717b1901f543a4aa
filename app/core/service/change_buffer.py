"""Settling file events into changes: a path is handed over once it has held still, in batches."""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field

# A path is handed over once it has had no event for this long and its size and mtime held still.
SETTLE_SECONDS = 0.3
# New files wait longer than watchdog's 0.5 s wait for the source half of a move between two
# watched folders, so that both ends arrive in one batch and the indexer can pair them by content.
SETTLE_NEW_SECONDS = 0.6
# During a long burst (a checkout of thousands of files) settled paths still flow this often.
MAX_BATCH_WAIT = 2.0
# A file that never stops changing (a growing log) is indexed anyway this often.
MAX_DELAY = 30.0


@dataclass
class Changes:
    """Settled changes: files to re-check, and folders whose indexed files must all be re-checked."""

    files: set[str] = field(default_factory=set)
    dirs: set[str] = field(default_factory=set)

    def __bool__(self) -> bool:
        return bool(self.files or self.dirs)

    def update(self, other: Changes) -> None:
        self.files |= other.files
        self.dirs |= other.dirs


@dataclass(slots=True)
class _Pending:
    first: float
    last: float
    stat: tuple[int, int] | None
    hold: float  # how long it must stay quiet


def _stat(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns


class ChangeBuffer:
    """Coalesces events per path and releases paths once they have settled.

    A path is settled after ``settle`` seconds without an event (``settle_new`` for a file that
    appeared), when its size and mtime are the same as at its last event (a file still being
    written is not read half-way). Settled paths are released together once the whole buffer has
    been quiet for ``settle`` seconds, so that the halves of a move land in one batch; a long burst
    still releases every ``max_wait`` seconds.
    """

    def __init__(self, settle: float = SETTLE_SECONDS, settle_new: float = SETTLE_NEW_SECONDS,
                 max_wait: float = MAX_BATCH_WAIT, max_delay: float = MAX_DELAY) -> None:
        self.settle = settle
        self.settle_new = settle_new
        self.max_wait = max_wait
        self.max_delay = max_delay
        self._lock = threading.Lock()
        self._files: dict[str, _Pending] = {}
        self._dirs: dict[str, _Pending] = {}
        self._last_event = 0.0
        self._waiting_since: float | None = None

    def __len__(self) -> int:
        with self._lock:
            return len(self._files) + len(self._dirs)

    def __contains__(self, path: str) -> bool:
        with self._lock:
            return path in self._files or path in self._dirs

    def add_file(self, path: str, now: float | None = None, *, new: bool = False) -> None:
        """Note an event for ``path``; ``new`` when it appeared (it may be half of a move)."""
        self._add(self._files, path, _stat(path), now, self.settle_new if new else self.settle)

    def add_dir(self, path: str, now: float | None = None) -> None:
        self._add(self._dirs, path, None, now, self.settle_new)

    def _add(self, table: dict[str, _Pending], path: str, stat: tuple[int, int] | None,
             now: float | None, hold: float) -> None:
        now = time.monotonic() if now is None else now
        with self._lock:
            entry = table.get(path)
            if entry is None:
                table[path] = _Pending(now, now, stat, hold)
            else:
                entry.last, entry.stat, entry.hold = now, stat, max(entry.hold, hold)
            self._last_event = now

    def take(self, now: float | None = None) -> Changes:
        """Remove and return the settled paths, when it is time to release them."""
        now = time.monotonic() if now is None else now
        out = Changes()
        with self._lock:
            if not self._files and not self._dirs:
                self._waiting_since = None
                return out
            if self._waiting_since is None:
                self._waiting_since = now
            quiet = now - self._last_event >= self.settle
            if not quiet and now - self._waiting_since < self.max_wait:
                return out
            out.files = self._settled_files(now)
            out.dirs = {p for p, e in self._dirs.items() if now - e.last >= e.hold}
            for p in out.dirs:
                del self._dirs[p]
            if out:
                self._waiting_since = None
        return out

    def _settled_files(self, now: float) -> set[str]:
        ready: set[str] = set()
        for path, entry in self._files.items():
            if now - entry.last < entry.hold and now - entry.first < self.max_delay:
                continue
            current = _stat(path)
            if current != entry.stat and now - entry.first < self.max_delay:
                # Changed without telling us (an mmap write, a lost event): wait for it to settle.
                entry.last, entry.stat = now, current
                continue
            ready.add(path)
        for path in ready:
            del self._files[path]
        return ready
