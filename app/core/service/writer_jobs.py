"""What the service's single writer thread does: open the index, run each job, keep folders due."""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from app.core.errors import Cancelled, KnownError
from app.core.failures import CatalogDamaged, known_failure
from app.core.indexing.indexer import summarize
from app.core.library import Library
from app.core.records import IndexReport, Progress
from app.core.service.folder_state import INDEXING, UNREACHABLE, WATCHING, FolderBook, Job
from app.core.service.jobs import JobQueue
from app.core.service.live_changes import LiveChanges
from app.core.service.watching import FolderWatching
from app.core.storage.catalog_health import mark_damaged
from app.core.storage.store import drop_index, other_model_indexes

if TYPE_CHECKING:
    from app.core.indexing.scanner import Rules

log = logging.getLogger(__name__)

TICK = 0.5  # the writer's housekeeping period when it has nothing to do


class WriterJobs:
    """The writer thread's half of IndexService: everything here runs on that one thread.

    The other half (service.py) is what any thread may call: it only queues jobs, flips flags
    and reads. Both share the state below, set up by IndexService.__init__.
    """

    _lib: Library
    _queue: JobQueue
    _book: FolderBook
    _live: LiveChanges
    _watching: FolderWatching
    _lock: threading.RLock
    _swap_lock: threading.Lock
    _stopping: threading.Event
    _loaders: list[threading.Thread]
    _running: Job | None
    _switches: int
    _closed: bool
    _writer_done: bool
    _announced_idle: bool
    _last_error: str
    _repair_queued: bool
    _low_priority: bool
    reconcile_interval: float
    fallback_interval: float

    if TYPE_CHECKING:  # the service's helpers, used from both halves
        _emit: Callable[..., None]
        _enqueue: Callable[[Job], None]
        _enqueue_reconcile: Callable[[list[str] | None], None]
        _set_activity: Callable[..., None]
        _progress: Callable[[Progress], None]

        def _rules(self) -> Rules: ...

    def _main(self) -> None:
        if self._low_priority:
            lower_thread_priority()
        opened = False
        try:
            self._open(self._lib)
            opened = True
            self._tell_repairs(self._lib)
            self._emit("ready")
        except Cancelled:
            pass  # quit while the model was loading
        except Exception as exc:  # the jobs report it again; the service stays up for a switch
            opened = True
            self._report_failure(exc)
        try:
            while opened and not self._stopping.is_set():
                try:
                    job = self._queue.get(timeout=TICK)
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
            with self._lock:
                self._writer_done = True
                late = self._closed  # shutdown stopped waiting: closing is left to us
            if late:
                self._lib.close()

    def _open(self, lib: Library) -> None:
        """Load the model and open the index; raises Cancelled if the app quits meanwhile.

        Loading a model cannot be interrupted, so it runs on a helper thread that a quit leaves
        behind: the writer must answer a quit within a second or two.
        """
        failure: list[BaseException] = []

        def load() -> None:
            try:
                lib.embedder.load()
            except BaseException as exc:  # handed to the writer, which reports it
                failure.append(exc)

        if lib.embedder.known_dim is not None:
            # The model folder (or its export) tells the index width and the tokenizer: files
            # become findable by their words while the model and the backend check load behind.
            self._loaders.append(lib.embedder.load_in_background())
            _ = lib.store
            return
        loader = threading.Thread(target=load, name="sift-model-load", daemon=True)
        self._loaders.append(loader)
        loader.start()
        while loader.is_alive():
            loader.join(0.1)
            if self._stopping.is_set():
                raise Cancelled()
        if failure:
            raise failure[0]
        _ = lib.store  # opens the catalog and the vector index, repairing it after a crash

    def _tell_repairs(self, lib: Library) -> None:
        if lib.notice:
            notice, lib.notice = lib.notice, ""
            self._emit("error", message=notice)

    def _repair(self) -> None:
        """A read found the catalog damaged: set it aside and rebuild it from the files."""
        lib = self._lib
        with self._swap_lock:  # searches wait for the reopened files
            lib.reopen()
        with self._lock:
            self._repair_queued = False
        self._tell_repairs(lib)
        self._enqueue_reconcile(None)

    def _do(self, job: Job) -> None:
        with self._lock:
            self._running = job
            self._announced_idle = False
            self._queue.started(job)
            if not self._stopping.is_set():
                _clear_cancel(self._lib.control)
        try:
            if job.kind == "reconcile":
                self._reconcile(job)
            elif job.kind == "changes":
                self._live.apply(self._lib)
            elif job.kind == "remove":
                self._remove(job.folders[0])
            elif job.kind == "switch":
                self._switch(job.model)
            elif job.kind == "repair":
                self._repair()
            self._last_error = ""
        except Cancelled:
            pass
        except Exception as exc:
            if job.everything:
                folders = tuple(self._lib.settings.folders)
            elif job.kind == "changes":  # rescanned at the retry: no change is lost
                folders = tuple(self._live.last_roots)
            else:
                folders = job.folders
            self._report_failure(exc, folders)
        finally:
            with self._lock:
                self._running = None
                if job.kind == "switch":
                    self._switches -= 1
            self._queue.done()
        self._announce_idle()

    def _report_failure(self, exc: Exception, folders: tuple[str, ...] = ()) -> None:
        known = exc if isinstance(exc, KnownError) else known_failure(exc)
        if known is not None:
            message = str(known)
            if getattr(known, "pauses", False):
                self._lib.control.pause()  # e.g. a full disk: wait for the user to make room
            if isinstance(known, CatalogDamaged):
                mark_damaged(self._lib.index_folder, known.detail)
                with self._lock:
                    first, self._repair_queued = not self._repair_queued, True
                if first:
                    self._enqueue(Job("repair"))
        else:
            log.exception("indexing failed", exc_info=exc)
            message = f"Indexing failed: {exc}"
        self._book.fail(folders, message, time.monotonic() + self.fallback_interval)
        if folders:
            self._emit("folders")
        with self._lock:
            repeated, self._last_error = message == self._last_error, message
        if not repeated:
            self._emit("error", message=message)

    def _announce_idle(self) -> None:
        with self._lock:
            if self._announced_idle or self._queue.outstanding or self._live.waiting:
                return
            self._announced_idle = True
        self._emit("idle")

    # -- reconciling ------------------------------------------------------------------------
    def _reconcile(self, job: Job) -> None:
        lib = self._lib
        chosen = lib.folders
        wanted = chosen if job.everything else [f for f in job.folders if f in chosen]
        targets = chosen.closure(wanted)
        if not targets and not job.everything:
            # Everything, even with no folder left, still forgets the files of folders removed
            # before a quit that came before their removal job.
            return
        self._watching.set_rules(self._rules())
        self._set_activity(targets, INDEXING)  # first: no passing "watching" before the scan
        # Outermost first: a nested folder is then covered by its parent's watch.
        targets.sort(key=lambda f: (len(f), f))
        reachable = [f for f in targets if f in self._lib.settings.folders  # not removed now
                     and self._watching.ensure(f, chosen)]
        # All listed folders when reconciling everything: unreachable ones are kept as they are.
        report = lib.indexer().index_folders(targets if job.everything else reachable,
                                             self._progress, forget_others=job.everything)
        if report.cancelled:
            self._book.stopped(targets)
            self._emit("folders")
        else:
            self._finish_scan(targets)
        if job.everything and not report.cancelled:
            self._drop_other_models(lib)
        if _changed(report):
            self._emit("indexed", message=summarize(report))

    def _finish_scan(self, folders: list[str], message: str = "") -> None:
        self._book.finish_scan(folders, complete=True, message=message, now=time.monotonic(),
                               watched_interval=self.reconcile_interval,
                               fallback_interval=self.fallback_interval,
                               watching=self._watching.enabled)
        self._emit("folders")

    def _drop_other_models(self, lib: Library) -> None:
        """Indexes of earlier models are clutter once this one is complete (not mid-switch)."""
        with self._lock:
            if self._switches:
                return
        for folder in other_model_indexes(lib.paths.indexes_dir, lib.index_folder):
            log.info("removing the index of a previous model: %s", folder)
            drop_index(folder)

    # -- removing and switching -------------------------------------------------------------
    def _remove(self, folder: str) -> None:
        lib = self._lib
        chosen = lib.folders
        if folder in chosen:  # added back meanwhile
            return
        self._watching.hand_over(folder, chosen)  # nested folders keep being watched
        count = lib.forget_uncovered(folder)
        self._emit("removed", message=f"Forgot {count} files of {folder}.")

    def _switch(self, model: str) -> None:
        old = self._lib
        new = old.with_model(model)
        if new.embedder.name == old.embedder.name:
            self._emit("model", message=old.embedder.name)
            return
        new.control = old.control  # pause, resume and cancel steer the build too
        new.hold_writer_lock(wait=False)  # the process's own lock: only counted again
        folders = list(old.settings.folders)
        self._set_activity(folders, INDEXING, "Building the index for the new model…")
        try:
            self._open(new)
            report = new.indexer().index_folders(folders, self._progress, forget_others=True)
        except BaseException:
            self._abandon(new, folders, "")
            raise
        if report.cancelled:
            self._abandon(new, folders, "The model switch was stopped; the old model stays.")
            return
        with self._swap_lock, self._lock:
            # Folders added or removed during the build are the old library's latest list.
            new.settings = replace(old.settings, model=model)
            self._lib = new
        new.save_settings()
        old.release()
        drop_index(old.index_folder)
        self._finish_scan(folders)
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
        gone = self._live.take_gone()
        due: list[str] = []
        for folder in self._lib.settings.folders:
            info = self._book.get(folder)
            if folder in gone or info.watch == WATCHING:
                if not os.path.isdir(folder):
                    self._watching.lost(folder)
                    info.next_scan = now + self.fallback_interval
                elif folder in gone and self._watching.enabled:
                    self._watching.forget_watch(folder)  # deleted and made again: watch afresh
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
