"""Watching indexed folders: watchdog events → debounced, settled path changes (the only watchdog import)."""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from watchdog.events import (
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer

from app.core.scanner import Rules, is_indexable

log = logging.getLogger(__name__)

# A path is handed over once it has had no event for this long and its size and mtime held still.
SETTLE_SECONDS = 0.3
# New files wait longer than watchdog's 0.5 s wait for the source half of a move between two
# watched folders, so that both ends arrive in one batch and the indexer can pair them by content.
SETTLE_NEW_SECONDS = 0.6
# During a long burst (a checkout of thousands of files) settled paths still flow this often.
MAX_BATCH_WAIT = 2.0
# A file that never stops changing (a growing log) is indexed anyway this often.
MAX_DELAY = 30.0
TICK = 0.1

# Only the events that say something changed; opens and read-only closes (our own reads!) are noise.
EVENT_TYPES: list[type[FileSystemEvent]] = [
    FileCreatedEvent, FileModifiedEvent, FileDeletedEvent, FileMovedEvent, FileClosedEvent,
    DirCreatedEvent, DirDeletedEvent, DirMovedEvent,
]

# Filesystems whose changes made elsewhere never reach inotify.
NETWORK_FS = frozenset({
    "nfs", "nfs4", "cifs", "smb3", "smbfs", "ncpfs", "afs", "9p", "davfs", "fuse.sshfs",
    "fuse.rclone", "fuse.gvfsd-fuse", "fuse.s3fs", "ceph", "glusterfs", "lustre",
})


class NotWatchable(Exception):
    """A folder that cannot be watched; ``state`` is "unreachable" or "not watchable"."""

    def __init__(self, state: str, message: str) -> None:
        super().__init__(message)
        self.state = state
        self.message = message


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


class FolderWatcher:
    """Watches folders recursively and hands settled changes to ``on_changes`` (from its own thread).

    ``on_folder_gone`` is told when a watched folder itself is deleted or moved away.
    """

    def __init__(self, on_changes: Callable[[Changes], None], rules: Rules, *,
                 on_folder_gone: Callable[[str], None] | None = None,
                 settle: float | None = None) -> None:
        self.on_changes = on_changes
        self.on_folder_gone = on_folder_gone
        self.rules = rules
        self.buffer = (ChangeBuffer() if settle is None
                       else ChangeBuffer(settle, settle_new=2 * settle))
        self._observer = Observer()
        self._handler = _Handler(self)
        self._watches: dict[str, object] = {}
        # Every chosen folder, watched or covered by a watched parent: a path belongs to the
        # innermost one (so a chosen folder's own rules apply below it).
        self.roots: tuple[str, ...] = ()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._busy = threading.Event()  # set while a batch is on its way to on_changes
        self._thread = threading.Thread(target=self._flush_loop, name="sift-watch-flush",
                                        daemon=True)
        self._started = False

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> None:
        if self._started:
            return
        self._started = True
        self._observer.daemon = True
        self._observer.start()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if not self._started:
            return
        try:
            self._observer.stop()
            self._observer.join(timeout=5)
        except Exception:  # shutting down: nothing left to save from a failing observer
            log.exception("stopping the file watcher failed")
        self._thread.join(timeout=5)

    # -- folders ----------------------------------------------------------------------------
    def watch(self, folder: str) -> None:
        """Start watching ``folder`` recursively; raises NotWatchable with the reason."""
        with self._lock:
            if folder in self._watches:
                return
        if not os.path.isdir(folder):
            raise NotWatchable("unreachable", "The folder is not there (unplugged or moved?); "
                               "its files stay searchable until it is back.")
        fs = network_filesystem(folder)
        if fs is not None:
            raise NotWatchable("not watchable", f"A network folder ({fs}): changes made on other "
                               "computers are not announced, so it is scanned regularly instead.")
        try:
            watch = self._observer.schedule(self._handler, folder, recursive=True,
                                            event_filter=EVENT_TYPES)
        except OSError as exc:
            raise _not_watchable(folder, exc) from exc
        with self._lock:
            self._watches[folder] = watch

    def unwatch(self, folder: str) -> None:
        with self._lock:
            watch = self._watches.pop(folder, None)
        if watch is None:
            return
        # KeyError: its emitter already stopped by itself (the folder was deleted).
        with contextlib.suppress(KeyError, RuntimeError, OSError):
            self._observer.unschedule(watch)  # type: ignore[arg-type]

    def watched(self) -> list[str]:
        with self._lock:
            return list(self._watches)

    def is_watched(self, folder: str) -> bool:
        with self._lock:
            return folder in self._watches

    @property
    def pending(self) -> bool:
        """Whether changes are waiting to settle or being handed over."""
        return len(self.buffer) > 0 or self._busy.is_set()

    # -- events (watchdog's thread) -------------------------------------------------------
    def root_of(self, path: str) -> str | None:
        with self._lock:
            roots = [*self._watches, *self.roots]
        best: str | None = None
        for root in roots:
            if (path == root or path.startswith(root.rstrip(os.sep) + os.sep)) and (
                    best is None or len(root) > len(best)):
                best = root
        return best

    def file_changed(self, path: str, *, gone: bool = False, new: bool = False) -> None:
        """A file was written, created (``new``) or deleted or moved away (``gone``)."""
        if gone or path in self.buffer:
            self.buffer.add_file(path, new=new)
            return
        root = self.root_of(path)
        # Excluded files are dropped here, before they cost anything; deletions always go through.
        if root is not None and is_indexable(path, root, self.rules):
            self.buffer.add_file(path, new=new)

    def dir_changed(self, path: str, *, gone: bool = False) -> None:
        root = self.root_of(path)
        if root is not None and path == root:
            if gone and self.on_folder_gone is not None:
                self.on_folder_gone(root)
            return
        if gone or (root is not None and not _dir_excluded(path, root, self.rules)):
            self.buffer.add_dir(path)

    # -- handing over -----------------------------------------------------------------------
    def _flush_loop(self) -> None:
        while not self._stop.wait(TICK):
            try:
                self.flush()
            except Exception:  # a bug: keep watching, the periodic scan repairs what was missed
                log.exception("handing over file changes failed")

    def flush(self) -> None:
        self._busy.set()
        try:
            changes = self.buffer.take()
            if not changes:
                return
            # Folders that appeared (created, moved or unpacked in): their files are watched from
            # now on, but some may predate the watch; walking them catches those.
            for d in _outermost(changes.dirs):
                if os.path.isdir(d):
                    for path in self._walk(d):
                        if path not in changes.files and path not in self.buffer:
                            self.buffer.add_file(path, new=True)
            self.on_changes(changes)
        finally:
            self._busy.clear()

    def _walk(self, folder: str) -> Iterator[str]:
        root = self.root_of(folder)
        if root is None:
            return
        for base, dirs, files in os.walk(folder):
            dirs[:] = [d for d in dirs
                       if not _dir_excluded(os.path.join(base, d), root, self.rules)]
            for name in files:
                path = os.path.join(base, name)
                if is_indexable(path, root, self.rules):
                    yield path


class _Handler(FileSystemEventHandler):
    """Turns watchdog events into file and folder changes for the buffer."""

    def __init__(self, watcher: FolderWatcher) -> None:
        super().__init__()
        self.watcher = watcher

    def on_any_event(self, event: FileSystemEvent) -> None:
        try:
            self._dispatch(event)
        except Exception:  # never let one odd event stop watchdog's thread
            log.exception("file event %r could not be handled", event)

    def _dispatch(self, event: FileSystemEvent) -> None:
        w = self.watcher
        src = os.fsdecode(event.src_path)
        dest = os.fsdecode(event.dest_path) if event.dest_path else ""
        if isinstance(event, FileMovedEvent):  # both ends seen: no other half to wait for
            w.file_changed(src, gone=True)
            if dest:
                w.file_changed(dest)
        elif isinstance(event, FileDeletedEvent):
            w.file_changed(src, gone=True)
        elif isinstance(event, FileCreatedEvent):  # perhaps moved in from another watched folder
            w.file_changed(src, new=True)
        elif isinstance(event, (FileModifiedEvent, FileClosedEvent)):
            w.file_changed(src)
        elif isinstance(event, DirMovedEvent):
            w.dir_changed(src, gone=True)
            if dest:
                w.dir_changed(dest)
        elif isinstance(event, DirDeletedEvent):
            w.dir_changed(src, gone=True)
        elif isinstance(event, DirCreatedEvent):
            w.dir_changed(src)


def _outermost(dirs: Iterable[str]) -> list[str]:
    """The folders not inside another of them (walking those covers the rest)."""
    chosen = set(dirs)

    def inside_another(d: str) -> bool:
        parent = os.path.dirname(d)
        while parent and parent != d:
            if parent in chosen:
                return True
            d, parent = parent, os.path.dirname(parent)
        return False

    return sorted(d for d in chosen if not inside_another(d))


def _dir_excluded(path: str, root: str, rules: Rules) -> bool:
    rel = os.path.relpath(path, root).replace(os.sep, "/")
    if rel.startswith(".."):
        return True
    parts = rel.split("/")
    return any(rules.excluded("/".join(parts[:i]), is_dir=True) for i in range(1, len(parts) + 1))


def _not_watchable(folder: str, exc: OSError) -> NotWatchable:
    if exc.errno == errno.ENOSPC or exc.errno == errno.EMFILE:
        return NotWatchable("not watchable", "The system's limit on watched folders is reached "
                            "(on Linux, raise fs.inotify.max_user_watches); the folder is scanned "
                            "regularly instead.")
    if not os.path.isdir(folder):
        return NotWatchable("unreachable", "The folder is not there (unplugged or moved?); "
                            "its files stay searchable until it is back.")
    return NotWatchable("not watchable", f"Changes cannot be watched ({exc.strerror or exc}); "
                        "the folder is scanned regularly instead.")


def network_filesystem(folder: str) -> str | None:
    """The filesystem type when ``folder`` is on a network share (Linux), else None."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        with open("/proc/mounts", encoding="utf-8", errors="replace") as f:
            mounts = list(_parse_mounts(f))
    except OSError:
        return None
    real = os.path.realpath(folder)
    best, fstype = "", ""
    for point, kind in mounts:
        prefix = point.rstrip("/") + "/"
        if (real == point or real.startswith(prefix)) and len(point) > len(best):
            best, fstype = point, kind
    return fstype if fstype in NETWORK_FS else None


def _parse_mounts(lines: Iterable[str]) -> Iterator[tuple[str, str]]:
    for line in lines:
        parts = line.split()
        if len(parts) >= 3:
            # /proc/mounts escapes spaces and tabs in mount points as octal.
            point = parts[1].replace("\\040", " ").replace("\\011", "\t")
            yield point, parts[2]
