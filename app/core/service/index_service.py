"""The indexing service: one writer thread that keeps the index true to the disk (reconcile + watch)."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from app.core.extract.ocr import queue as ocr_queue
from app.core.failures import CatalogDamaged
from app.core.indexing.folders import FolderChanges
from app.core.indexing.scanner import Rules, normalize_folder
from app.core.library import Library
from app.core.records import Progress, SearchResponse, SkippedFile, Stats
from app.core.search.searcher import Filters
from app.core.service.folder_state import (
    CANCELLED,
    INCOMPLETE,
    INDEXING,
    PAUSED,
    QUEUED,
    FolderBook,
    FolderState,
    Job,
    ServiceEvent,
)
from app.core.service.jobs import JobQueue
from app.core.service.live_changes import LiveChanges
from app.core.service.watcher import Changes
from app.core.service.watching import FolderWatching
from app.core.service.writer_jobs import WriterJobs, lower_thread_priority

__all__ = ["CANCELLED", "INCOMPLETE", "INDEXING", "PAUSED", "QUEUED", "IndexService",
           "ServiceEvent", "lower_thread_priority"]

log = logging.getLogger(__name__)

FALLBACK_INTERVAL = 60.0  # scans of folders that cannot be watched; checks for unplugged ones
IDLE_GRACE = 0.7          # wait_idle: time for the events of changes just made to reach us
QUIT_SECONDS = 2.0        # shutdown returns within this, whatever the writer is doing

EventFn = Callable[[ServiceEvent], None]


class IndexService(WriterJobs):
    """Owns the single writer thread: jobs (reconcile, file changes, removal, model switch) run on it.

    Search may be called from any thread while it works and answers from what is indexed so far.
    """

    def __init__(self, library: Library, *, watch: bool = True, reconcile_interval: float = 600.0,
                 on_event: EventFn | None = None, low_priority: bool = True) -> None:
        self._lib = library
        self.reconcile_interval = reconcile_interval
        self.fallback_interval = FALLBACK_INTERVAL
        self._on_event = on_event
        self._low_priority = low_priority
        self._queue = JobQueue()
        self._book = FolderBook()
        self._lock = threading.RLock()
        self._swap_lock = threading.Lock()  # a model swap waits for searches of the old index
        self._running: Job | None = None
        self._switches = 0
        self._live = LiveChanges(self._book, lambda: self._enqueue(Job("changes")), self._emit,
                                 self._progress)
        self._watching = FolderWatching(self._book, lambda: self._emit("folders"), enabled=watch)
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._stopped = False
        self._closed = False
        self._writer_done = False
        self._announced_idle = False
        self._last_error = ""  # a failure that repeats at every retry is reported once
        self._repair_queued = False
        self._loaders: list[threading.Thread] = []  # model loads a quit may leave running

    # -- lifecycle ------------------------------------------------------------------------
    @property
    def library(self) -> Library:
        """The library in use (a model switch replaces it)."""
        return self._lib

    def start(self) -> None:
        with self._lock:
            if self._thread is not None or self._stopped:
                return
            self._lib.hold_writer_lock(wait=False)  # DataFolderBusy: another Sift writes here
            for folder in self._lib.settings.folders:
                self._book.get(folder)
            self._watching.start(self._live.add, self._live.folder_gone, self._rules(),
                                 tuple(self._lib.settings.folders))
            self._enqueue_reconcile(None)
            # A scan read by background OCR is looked at again as soon as its text is ready.
            ocr_queue.add_listener(self._ocr_done)
            self._thread = threading.Thread(target=self._main, name="sift-writer", daemon=True)
            self._thread.start()

    def shutdown(self, timeout: float = QUIT_SECONDS) -> bool:
        """The one way to stop: watcher, writer (at its next checkpoint), save, close.

        Returns within about ``timeout`` seconds, keeping everything indexed so far; returns
        whether the writer stopped in time (if not, its files are left for it to close).
        """
        deadline = time.monotonic() + timeout
        with self._lock:
            if self._closed:
                return True
            self._stopped = True
            self._live.closed = True
            self._stopping.set()
            self._lib.control.cancel()
        self._queue.wake()
        ocr_queue.remove_listener(self._ocr_done)
        self._watching.stop()
        from app.core import extract

        extract.shutdown()  # a reader waiting for the PDF worker returns at once
        if self._thread is not None:
            self._thread.join(max(0.0, deadline - time.monotonic()))
        with self._lock:
            self._closed = True
            # Whoever comes last closes the files: this call, or the writer when it ends.
            finished = self._thread is None or self._writer_done
        if not finished:
            running = self._running
            log.warning("the indexing thread did not stop within %.1f s (%s); leaving it its "
                        "files; it was at %s", timeout, f"in a {running.kind} job"
                        if running is not None else "opening the index and loading the model",
                        _where(self._thread))
            return False
        self._lib.close()  # the writer has saved the vector index; this closes the files
        return True

    def _ocr_done(self, path: Path) -> None:
        self._live.add(Changes(files={str(path)}))

    @property
    def stranded(self) -> bool:
        """Whether work that cannot be interrupted (a model load, a batch) outlived shutdown.

        Nothing of the index is open in it, but a process must then end with ``os._exit``:
        the interpreter's normal exit would tear down the model's threads under it.
        """
        writer = self._thread is not None and self._thread.is_alive()
        return writer or any(t.is_alive() for t in self._loaders)

    def stop(self, timeout: float = QUIT_SECONDS) -> None:
        """The same as ``shutdown`` (kept for callers of the old name)."""
        self.shutdown(min(timeout, QUIT_SECONDS) if timeout > 0 else QUIT_SECONDS)

    # -- folders and jobs --------------------------------------------------------------------
    def add_folder(self, path: str) -> None:
        self.apply_folder_changes(added=(path,))

    def remove_folder(self, path: str) -> None:
        self.apply_folder_changes(removed=(path,))

    def set_folders(self, folders: Iterable[str]) -> FolderChanges:
        """Make the chosen folders ``folders``; only the difference is applied."""
        diff = self._lib.folders.diff(folders)
        return self.apply_folder_changes(added=diff.added, removed=diff.removed)

    def apply_folder_changes(self, added: Iterable[str] = (),
                             removed: Iterable[str] = ()) -> FolderChanges:
        """Add and remove folders (a settings dialog's diff); returns what really changed.

        Removed folders' files are forgotten unless another chosen folder covers them; added
        ones are indexed, then watched. Folders not named here are never touched.
        """
        wanted = FolderChanges(tuple(normalize_folder(f) for f in added),
                               tuple(normalize_folder(f) for f in removed))
        with self._lock:
            lib = self._lib
            done = lib.apply_folder_changes(wanted)
            self._watching.set_roots(tuple(lib.settings.folders))
            for folder in done.removed:
                self._book.forget(folder)
                running = self._running
                if (running is not None and running.kind == "reconcile"
                        and not running.everything and running.folders == (folder,)):
                    lib.control.cancel()  # no point finishing a folder that is being forgotten
            for folder in done.added:
                self._book.forget(folder)  # a folder added back starts afresh
                self._book.get(folder)
        if done:
            self._emit("folders")
        for folder in done.removed:
            self._enqueue(Job("remove", (folder,)))
        if done.added:
            self._enqueue_reconcile(list(done.added))
        return done

    def reindex(self, folder: str | None = None) -> None:
        """Scan again (all folders, or one) and index what changed; unchanged files are kept."""
        if folder is None:
            self._enqueue_reconcile(None)
        else:
            self._enqueue_reconcile([normalize_folder(folder)])

    def switch_model(self, model: str) -> None:
        with self._lock:
            self._switches += 1
        self._enqueue(Job("switch", model=model))

    def pause(self) -> None:
        self._lib.control.pause()
        self._emit("folders")

    def resume(self) -> None:
        """Go on; folders whose work failed (a full disk…) are scanned again now, not later."""
        self._lib.control.resume()
        failed = self._book.failed()
        if failed:
            self._enqueue_reconcile(failed)
        self._emit("folders")

    def cancel(self) -> None:
        """Stop indexing: the current job and any scans waiting behind it.

        The folders it touched are "incomplete" until a re-index; watched changes still arrive.
        """
        folders, everything = self._queue.drop_scans()
        if everything:
            folders += list(self._lib.settings.folders)
        with self._lock:
            running = self._running
            if running is not None:
                self._lib.control.cancel()
            else:
                self._lib.control.resume()  # nothing left to hold: a pause ends with the work
        if running is not None and running.kind == "reconcile":
            # Shown at once: the writer may need a moment to reach its next checkpoint.
            folders += list(self._lib.settings.folders) if running.everything \
                else self._lib.folders.closure(running.folders)
        if folders:
            self._book.stopped(list(dict.fromkeys(folders)))
            self._emit("folders")
        self._announce_idle()

    @property
    def paused(self) -> bool:
        return self._lib.control.paused

    @property
    def busy(self) -> bool:
        return not self._idle()

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no job is queued or running and no file change is waiting to settle."""
        now = time.monotonic()
        deadline = now + timeout
        earliest = now + (IDLE_GRACE if self._watching.enabled else 0.0)
        while True:
            now = time.monotonic()
            if now >= earliest and self._idle():
                return True
            if now >= deadline:
                return False
            time.sleep(0.05)

    # -- reading (any thread) -----------------------------------------------------------------
    def search(self, query: str, *, limit: int | None = None, filters: Filters | None = None,
               rerank: bool | None = None) -> SearchResponse:
        try:
            with self._swap_lock:
                return self._lib.search(query, limit=limit, filters=filters, rerank=rerank)
        except CatalogDamaged:
            with self._lock:
                first, self._repair_queued = not self._repair_queued, True
            if first:
                self._enqueue(Job("repair"))
            raise

    def similar(self, path: str, *, limit: int | None = None, part: str = "") -> SearchResponse:
        """More like this: the files closest in meaning to one file (Library.similar)."""
        with self._swap_lock:
            return self._lib.similar(path, limit=limit, part=part)

    def folder_states(self) -> list[FolderState]:
        lib = self._lib
        counts = lib.folder_counts()
        paused = self.paused
        out = []
        for folder in lib.settings.folders:
            state, message = self._book.state(folder, paused)
            files, passages = counts.get(folder, (0, 0))
            out.append(FolderState(folder, state, files, passages, message))
        return out

    def skipped(self) -> list[SkippedFile]:
        return self._lib.skipped()

    def stats(self) -> Stats:
        return self._lib.stats()

    # -- helpers --------------------------------------------------------------------------
    def _enqueue(self, job: Job) -> None:
        with self._lock:
            self._announced_idle = False
        self._queue.put(job)

    def _enqueue_reconcile(self, folders: list[str] | None) -> None:
        with self._lock:
            self._announced_idle = False
        fresh = self._queue.put_scan(folders)
        if fresh:
            self._book.queued(fresh)

    def _idle(self) -> bool:
        if self._stopped:
            return True
        # The watcher first: a batch it hands over is in our own state before it stops pending.
        watcher_pending = self._watching.pending
        with self._lock:
            return not (watcher_pending or self._queue.outstanding or self._live.waiting)

    def _set_activity(self, folders: list[str], activity: str, message: str | None = None) -> None:
        if not folders:
            return
        self._book.set_activity(folders, activity, message)
        self._emit("folders")

    def _rules(self) -> Rules:
        s = self._lib.settings
        return Rules(s.exclude, respect_gitignore=s.respect_gitignore)

    def _progress(self, progress: Progress) -> None:
        self._emit("progress", progress=progress)

    def _emit(self, kind: str, *, progress: Progress | None = None, message: str = "",
              paths: tuple[str, ...] = ()) -> None:
        if self._on_event is None:
            return
        try:
            self._on_event(ServiceEvent(kind, progress, message, paths))
        except Exception:  # a listener's bug must not stop indexing
            log.exception("event listener failed on %s", kind)


def _where(thread: threading.Thread | None) -> str:
    """The innermost calls a thread is in (for the log, when it outlives a deadline)."""
    import sys
    import traceback

    frame = sys._current_frames().get(thread.ident or -1) if thread is not None else None
    if frame is None:
        return "an unknown place"
    return " < ".join(f"{os.path.basename(f.filename)}:{f.lineno} {f.name}"
                      for f in reversed(traceback.extract_stack(frame)[-4:]))

