"""Watching indexed folders: watchdog events → debounced, settled path changes (the only watchdog import).

How events settle into changes is change_buffer.py's; this module turns watchdog's events into them.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import sys
import threading
from collections.abc import Callable, Iterable, Iterator

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

from app.core.indexing.scanner import Rules, is_indexable
from app.core.service.change_buffer import ChangeBuffer, Changes

log = logging.getLogger(__name__)

__all__ = ["ChangeBuffer", "Changes", "FolderWatcher", "NotWatchable", "network_filesystem"]

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
