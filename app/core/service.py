"""The indexing service: one writer thread that keeps the index true to the disk (reconcile + watch)."""

from __future__ import annotations

import contextlib
import logging
import math
import os
import queue
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import replace

from app.core.errors import Cancelled, KnownError
from app.core.folder_state import (
    CANCELLED,
    ERROR,
    INDEXING,
    NOT_WATCHABLE,
    QUEUED,
    UNREACHABLE,
    UP_TO_DATE,
    WATCHING,
    FolderInfo,
    FolderState,
    Job,
    ServiceEvent,
)
from app.core.indexer import root_of, summarize
from app.core.library import Library
from app.core.records import IndexReport, Progress, SearchResponse, SkippedFile, Stats
from app.core.scanner import Rules, normalize_folder
from app.core.search import Filters
from app.core.store import drop_index, other_model_indexes
from app.core.watcher import Changes, FolderWatcher, NotWatchable

log = logging.getLogger(__name__)

FALLBACK_INTERVAL = 60.0  # scans of folders that cannot be watched; checks for unplugged ones
IDLE_GRACE = 0.7          # wait_idle: time for the events of changes just made to reach us
TICK = 0.5                # the writer's housekeeping period when it has nothing to do

EventFn = Callable[[ServiceEvent], None]


class IndexService:
    """Owns the single writer thread: jobs (reconcile, file changes, removal, model switch) run on it.

    Search may be called from any thread while it works and answers from what is indexed so far.
    """

    def __init__(self, library: Library, *, watch: bool = True, reconcile_interval: float = 600.0,
                 on_event: EventFn | None = None, low_priority: bool = True) -> None:
        self._lib = library
        self._watch_enabled = watch
        self.reconcile_interval = reconcile_interval
        self.fallback_interval = FALLBACK_INTERVAL
        self._on_event = on_event
        self._low_priority = low_priority
        self._jobs: queue.Queue[Job | None] = queue.Queue()
        self._lock = threading.RLock()
        self._swap_lock = threading.Lock()  # a model swap waits for searches of the old index
        self._outstanding = 0                # jobs queued or running
        self._running: Job | None = None
        self._queued_folders: set[str] = set()
        self._everything_queued = False
        self._switches = 0
        self._changes = Changes()
        self._changes_queued = False
        self._gone_roots: set[str] = set()
        self._folders: dict[str, FolderInfo] = {}
        self._watcher: FolderWatcher | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._stopped = False
        self._announced_idle = False
        self._last_error = ""  # a failure that repeats at every retry is reported once

    # -- lifecycle ------------------------------------------------------------------------
    @property
    def library(self) -> Library:
        """The library in use (a model switch replaces it)."""
        return self._lib

    def start(self) -> None:
        with self._lock:
            if self._thread is not None or self._stopped:
                return
            for folder in self._lib.settings.folders:
                self._folder(folder)
            if self._watch_enabled:
                self._watcher = FolderWatcher(self._on_changes, self._rules(),
                                              on_folder_gone=self._on_folder_gone)
                self._watcher.start()
            self._enqueue(Job("reconcile", everything=True))
            self._thread = threading.Thread(target=self._main, name="sift-writer", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
            self._stopping.set()
            self._lib.control.cancel()
        if self._watcher is not None:
            self._watcher.stop()
        self._jobs.put(None)
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.warning("the indexing thread did not stop within %.0f s", timeout)

    # -- folders and jobs --------------------------------------------------------------------
    def add_folder(self, path: str) -> None:
        folder = normalize_folder(path)
        with self._lock:
            self._lib.add_folders([folder])
            self._folder(folder).activity = QUEUED
        self._emit("folders")
        self._enqueue_reconcile([folder])

    def remove_folder(self, path: str) -> None:
        folder = normalize_folder(path)
        if self._watcher is not None:
            self._watcher.unwatch(folder)
        with self._lock:
            lib = self._lib
            lib.update_settings(lib.settings.without_folder(folder))
            self._folders.pop(folder, None)
            running = self._running
            if running is not None and running.kind == "reconcile" and running.folders == (folder,):
                lib.control.cancel()  # no point finishing a folder that is being forgotten
        self._emit("folders")
        self._enqueue(Job("remove", (folder,)))

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

    def resume(self) -> None:
        self._lib.control.resume()

    def cancel(self) -> None:
        """Stop indexing: the current job and any scans waiting behind it.

        Watched changes still arrive afterwards, and the next periodic rescan catches up.
        """
        dropped: list[str] = []
        with self._lock:
            kept: list[Job | None] = []
            while True:
                try:
                    job = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if job is None or job.kind != "reconcile":
                    kept.append(job)
                    continue
                self._outstanding -= 1
                if job.everything:
                    self._everything_queued = False
                    dropped += list(self._lib.settings.folders)
                self._queued_folders.difference_update(job.folders)
                dropped += job.folders
            for job in kept:
                self._jobs.put(job)
            if self._running is not None:
                self._lib.control.cancel()
        if dropped:
            folders = list(dict.fromkeys(dropped))
            self._finish_scan(folders, "indexing cancelled")
            with self._lock:
                for folder in folders:
                    info = self._folders.get(folder)
                    if info is not None and info.watch == QUEUED:
                        info.watch = CANCELLED
                        info.next_scan = math.inf  # the user said stop: wait for a re-index
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
        earliest = now + (IDLE_GRACE if self._watcher is not None else 0.0)
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
        with self._swap_lock:
            return self._lib.search(query, limit=limit, filters=filters, rerank=rerank)

    def folder_states(self) -> list[FolderState]:
        lib = self._lib
        counts = lib.folder_counts()
        with self._lock:
            out = []
            for folder in lib.settings.folders:
                info = self._folder(folder)
                files, passages = counts.get(folder, (0, 0))
                out.append(FolderState(folder, info.state, files, passages, info.message))
        return out

    def skipped(self) -> list[SkippedFile]:
        return self._lib.skipped()

    def stats(self) -> Stats:
        return self._lib.stats()

    # -- the writer thread --------------------------------------------------------------------
    def _main(self) -> None:
        if self._low_priority:
            lower_thread_priority()
        try:
            self._open(self._lib)
            self._emit("ready")
        except Exception as exc:  # the jobs report it again; the service stays up for a switch
            self._report_failure(exc)
        try:
            while not self._stopping.is_set():
                try:
                    job = self._jobs.get(timeout=TICK)
                except queue.Empty:
                    self._tick()
                    continue
                if job is None or self._stopping.is_set():
                    break
                self._do(job)
                self._tick()
        finally:
            try:
                self._lib.save()
            except Exception:
                log.exception("saving the vector index failed")

    def _open(self, lib: Library) -> None:
        lib.embedder.load()
        _ = lib.store  # opens the catalog and the vector index, repairing it after a crash

    def _do(self, job: Job) -> None:
        with self._lock:
            self._running = job
            self._announced_idle = False
            if not self._stopping.is_set():
                _clear_cancel(self._lib.control)
        try:
            if job.kind == "reconcile":
                self._reconcile(job)
            elif job.kind == "changes":
                self._apply_changes()
            elif job.kind == "remove":
                self._remove(job.folders[0])
            elif job.kind == "switch":
                self._switch(job.model)
            self._last_error = ""
        except Cancelled:
            pass
        except Exception as exc:
            folders = tuple(self._lib.settings.folders) if job.everything else job.folders
            self._report_failure(exc, folders)
        finally:
            with self._lock:
                self._running = None
                self._outstanding -= 1
                if job.kind == "switch":
                    self._switches -= 1
        self._announce_idle()

    def _report_failure(self, exc: Exception, folders: tuple[str, ...] = ()) -> None:
        if isinstance(exc, KnownError):
            message = str(exc)
        else:
            log.exception("indexing failed")
            message = f"Indexing failed: {exc}"
        retry = time.monotonic() + self.fallback_interval
        with self._lock:
            for folder in folders:
                info = self._folder(folder)
                info.activity, info.message = ERROR, message
                info.next_scan = min(info.next_scan, retry)
        if folders:
            self._emit("folders")
        with self._lock:
            repeated, self._last_error = message == self._last_error, message
        if not repeated:
            self._emit("error", message=message)

    def _announce_idle(self) -> None:
        with self._lock:
            if self._announced_idle or self._outstanding or self._changes:
                return
            self._announced_idle = True
        self._emit("idle")

    # -- reconciling ------------------------------------------------------------------------
    def _reconcile(self, job: Job) -> None:
        lib = self._lib
        with self._lock:
            if job.everything:
                self._everything_queued = False
            self._queued_folders.difference_update(job.folders)
        listed = list(lib.settings.folders)
        targets = listed if job.everything else [f for f in job.folders if f in listed]
        if not targets and not job.everything:
            return
        if self._watcher is not None:
            self._watcher.rules = self._rules()
        self._set_activity(targets, INDEXING)  # first: no passing "watching" before the scan
        reachable = [f for f in targets if self._ensure_watched(f)]
        # All listed folders when reconciling everything: unreachable ones are kept as they are.
        report = lib.indexer().index_folders(targets if job.everything else reachable,
                                             self._progress, forget_others=job.everything)
        message = "Indexing was stopped; it goes on at the next scan." if report.cancelled else ""
        self._finish_scan(targets, message)
        if job.everything and not report.cancelled:
            self._drop_other_models(lib)
        if _changed(report):
            self._emit("indexed", message=summarize(report))

    def _ensure_watched(self, folder: str) -> bool:
        """Watch ``folder`` if it can be; returns whether it is there to be indexed."""
        if folder not in self._lib.settings.folders:  # removed while this job ran
            return False
        info = self._folder(folder)
        if not os.path.isdir(folder):
            if self._watcher is not None:
                self._watcher.unwatch(folder)
            self._set_watch(folder, UNREACHABLE, "The folder is not there (unplugged or moved?); "
                            "its files stay searchable until it is back.")
            return False
        if self._watcher is None:
            self._set_watch(folder, UP_TO_DATE, "")
        elif self._watcher.is_watched(folder):
            self._set_watch(folder, WATCHING, "")
        elif info.watch != NOT_WATCHABLE:  # a watch that failed is not retried (it may leak)
            try:
                self._watcher.watch(folder)
                self._set_watch(folder, WATCHING, "")
            except NotWatchable as exc:
                self._set_watch(folder, exc.state, exc.message)
                return exc.state != UNREACHABLE
        return True

    def _finish_scan(self, folders: list[str], message: str) -> None:
        now = time.monotonic()
        with self._lock:
            for folder in folders:
                info = self._folders.get(folder)
                if info is None:  # removed meanwhile
                    continue
                info.activity = ""
                if message:
                    info.message = message
                elif info.watch in (WATCHING, UP_TO_DATE):
                    info.message = ""
                watched = info.watch == WATCHING or (info.watch == UP_TO_DATE
                                                     and self._watcher is None)
                info.next_scan = now + (self.reconcile_interval if watched
                                        else self.fallback_interval)
        self._emit("folders")

    def _drop_other_models(self, lib: Library) -> None:
        """Indexes of earlier models are clutter once this one is complete (not mid-switch)."""
        with self._lock:
            if self._switches:
                return
        for folder in other_model_indexes(lib.paths.indexes_dir, lib.index_folder):
            log.info("removing the index of a previous model: %s", folder)
            drop_index(folder)

    # -- file changes ---------------------------------------------------------------------
    def _on_changes(self, changes: Changes) -> None:
        """From the watcher's thread: remember the changes; one job applies all that piled up."""
        with self._lock:
            self._changes.update(changes)
            if self._changes_queued or self._stopped:
                return
            self._changes_queued = True
            self._enqueue(Job("changes"))

    def _on_folder_gone(self, folder: str) -> None:
        with self._lock:
            self._gone_roots.add(folder)

    def _apply_changes(self) -> None:
        with self._lock:
            changes, self._changes = self._changes, Changes()
            self._changes_queued = False
        lib = self._lib
        folders = list(lib.settings.folders)
        paths = self._live_paths(lib, changes, folders)
        if not paths:
            return
        cat = lib.store.catalog
        before = {p: cat.file_state(p) for p in paths}
        roots = sorted({r for p in paths if (r := root_of(p, folders)) is not None})
        self._set_activity(roots, INDEXING)
        try:
            report = lib.indexer().update_paths(paths, folders, self._progress)
        finally:
            self._set_activity(roots, "")
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
                self._gone_roots |= gone
        return live

    # -- removing and switching -------------------------------------------------------------
    def _remove(self, folder: str) -> None:
        if folder in self._lib.settings.folders:  # added back meanwhile
            return
        count = self._lib.indexer().remove_folder(folder)
        self._emit("removed", message=f"Forgot {count} files of {folder}.")

    def _switch(self, model: str) -> None:
        old = self._lib
        new = old.with_model(model)
        if new.embedder.name == old.embedder.name:
            self._emit("model", message=old.embedder.name)
            return
        new.control = old.control  # pause, resume and cancel steer the build too
        self._open(new)
        folders = list(old.settings.folders)
        self._set_activity(folders, INDEXING, "Building the index for the new model…")
        try:
            report = new.indexer().index_folders(folders, self._progress, forget_others=True)
        except BaseException:
            self._abandon(new, folders, "")
            raise
        if report.cancelled:
            self._abandon(new, folders, "The model switch was stopped; the old model stays.")
            return
        with self._swap_lock, self._lock:
            new.settings = replace(old.settings, model=model)
            self._lib = new
        new.save_settings()
        old.release()
        drop_index(old.index_folder)
        self._finish_scan(folders, "")
        self._emit("model", message=new.embedder.name)

    def _abandon(self, new: Library, folders: list[str], message: str) -> None:
        """Give up a half-built index of another model; the old one, whole, stays in use."""
        new.release()
        drop_index(new.index_folder)
        self._finish_scan(folders, message)

    # -- housekeeping ---------------------------------------------------------------------
    def _tick(self) -> None:
        """Between jobs: notice vanished and returning folders, and queue the scans that are due."""
        now = time.monotonic()
        with self._lock:
            gone, self._gone_roots = self._gone_roots, set()
        due: list[str] = []
        for folder in self._lib.settings.folders:
            info = self._folder(folder)
            if folder in gone or info.watch == WATCHING:
                if not os.path.isdir(folder):
                    self._lost(folder, now)
                elif folder in gone and self._watcher is not None:
                    # Deleted and made again: the old watch is dead, so watch it afresh.
                    self._watcher.unwatch(folder)
                    due.append(folder)
                    continue
            if info.next_scan > now:
                continue
            if info.watch == UNREACHABLE and not os.path.isdir(folder):
                info.next_scan = now + self.fallback_interval
                continue
            due.append(folder)
        if due:
            self._enqueue_reconcile(due)

    def _lost(self, folder: str, now: float) -> None:
        if self._watcher is not None:
            self._watcher.unwatch(folder)
        self._set_watch(folder, UNREACHABLE, "The folder is not there (unplugged or moved?); "
                        "its files stay searchable until it is back.")
        with self._lock:
            self._folder(folder).next_scan = now + self.fallback_interval

    # -- helpers --------------------------------------------------------------------------
    def _enqueue(self, job: Job) -> None:
        with self._lock:
            self._outstanding += 1
            self._announced_idle = False
        self._jobs.put(job)

    def _enqueue_reconcile(self, folders: list[str] | None) -> None:
        with self._lock:
            if folders is None:
                if self._everything_queued:
                    return
                self._everything_queued = True
                self._enqueue(Job("reconcile", everything=True))
                return
            fresh = tuple(f for f in folders if f not in self._queued_folders)
            if not fresh:
                return
            self._queued_folders.update(fresh)
            for folder in fresh:
                self._folder(folder).next_scan = math.inf  # until this scan is done
            self._enqueue(Job("reconcile", fresh))

    def _idle(self) -> bool:
        if self._stopped:
            return True
        # The watcher first: a batch it hands over is in our own state before it stops pending.
        watcher_pending = self._watcher is not None and self._watcher.pending
        with self._lock:
            return not (watcher_pending or self._outstanding or self._changes or self._gone_roots)

    def _folder(self, folder: str) -> FolderInfo:
        with self._lock:
            info = self._folders.get(folder)
            if info is None:
                info = self._folders[folder] = FolderInfo()
            return info

    def _set_watch(self, folder: str, watch: str, message: str) -> None:
        with self._lock:
            info = self._folder(folder)
            changed = (info.watch, info.message) != (watch, message)
            info.watch, info.message = watch, message
        if changed:
            self._emit("folders")

    def _set_activity(self, folders: list[str], activity: str, message: str | None = None) -> None:
        if not folders:
            return
        with self._lock:
            for folder in folders:
                info = self._folder(folder)
                info.activity = activity
                if message is not None:
                    info.message = message
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


def lower_thread_priority() -> None:
    """Make the calling thread yield the CPU to the user's work (Linux: threads have their own nice)."""
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)


def _clear_cancel(control) -> None:  # type: ignore[no-untyped-def]
    """Forget an earlier cancel but keep a pause: the user paused the service, not one job."""
    paused = control.paused
    control.reset()
    if paused:
        control.pause()


def _changed(r: IndexReport) -> bool:
    return bool(r.added or r.updated or r.moved or r.removed or r.skipped)
