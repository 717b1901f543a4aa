"""File changes the watcher reports, piled up between jobs and applied by the writer in one go."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable

from app.core.indexing.indexer import ProgressFn, root_of, summarize
from app.core.library import Library
from app.core.records import IndexReport, Progress
from app.core.service.folder_state import INDEXING, FolderBook
from app.core.service.watcher import Changes

EmitFn = Callable[..., None]


class LiveChanges:
    """Changes waiting for the writer, and folders that vanished; safe from any thread.

    ``queue_job`` is called once per pile of changes: one job applies all that piled up.
    """

    def __init__(self, book: FolderBook, queue_job: Callable[[], None], emit: EmitFn,
                 progress: ProgressFn) -> None:
        self._book = book
        self._queue_job = queue_job
        self._emit = emit
        self._progress = progress
        self._lock = threading.Lock()
        self._changes = Changes()
        self._queued = False
        self._gone: set[str] = set()
        self.closed = False
        self.last_roots: list[str] = []  # the folders of the pile being applied (for failures)

    @property
    def waiting(self) -> bool:
        with self._lock:
            return bool(self._changes) or bool(self._gone)

    def add(self, changes: Changes) -> None:
        """From the watcher's thread."""
        with self._lock:
            self._changes.update(changes)
            if self._queued or self.closed:
                return
            self._queued = True
        self._queue_job()

    def folder_gone(self, folder: str) -> None:
        with self._lock:
            self._gone.add(folder)

    def take_gone(self) -> set[str]:
        with self._lock:
            gone, self._gone = self._gone, set()
            return gone

    def apply(self, lib: Library) -> list[str]:
        """Writer thread: index, update or forget each changed file; returns the folders touched.

        On Cancel the folders touched are "incomplete"; the rest of the changes waits for a
        re-index. A failure propagates for the caller to report against those folders.
        """
        with self._lock:
            changes, self._changes = self._changes, Changes()
            self._queued = False
        self.last_roots = []
        folders = list(lib.settings.folders)
        paths = self._live_paths(lib, changes, folders)
        if not paths:
            return []
        cat = lib.store.catalog
        before = {p: cat.file_state(p) for p in paths}
        roots = sorted({r for p in paths if (r := root_of(p, folders)) is not None})
        self.last_roots = roots
        self._book.set_activity(roots, INDEXING)
        self._emit("folders")
        report = IndexReport()
        try:
            report = lib.indexer().update_paths(paths, folders, self._progress)
        except BaseException:
            self._book.set_activity(roots, "")
            raise
        if report.cancelled:
            self._book.stopped(roots)
        else:
            self._book.set_activity(roots, "")
        self._emit("folders")
        if _changed(report):  # update_paths reports no "done" itself; a progress bar needs one
            n = len(paths) - report.unchanged
            self._progress(Progress("done", files_done=n, files_total=n,
                                    chunks_done=report.chunks, message=summarize(report)))
        after = {p: cat.file_state(p) for p in paths}
        indexed = tuple(p for p in paths if (s := after[p]) is not None and s != before[p]
                        and s.status == "indexed")
        removed = tuple(p for p in paths if before[p] is not None and after[p] is None)
        if indexed:
            self._emit("indexed", paths=indexed)
        if removed:
            self._emit("removed", paths=removed)
        return roots

    def _live_paths(self, lib: Library, changes: Changes, folders: list[str]) -> list[str]:
        """The changed files, with folders expanded to the files indexed below them.

        Paths in a folder that is itself gone are left out: an unplugged folder keeps its index.
        """
        paths = set(changes.files)
        if changes.dirs:
            known = lib.store.catalog.all_files()
            prefixes = tuple(d.rstrip(os.sep) + os.sep for d in changes.dirs)
            paths.update(p for p in known if p.startswith(prefixes))
        live: list[str] = []
        gone: set[str] = set()
        for path in sorted(paths):
            root = root_of(path, folders)
            if root is not None and (root in gone or not os.path.isdir(root)):
                gone.add(root)
                continue
            live.append(path)
        if gone:
            with self._lock:
                self._gone |= gone
        return live


def _changed(r: IndexReport) -> bool:
    return bool(r.added or r.updated or r.moved or r.removed or r.skipped)
