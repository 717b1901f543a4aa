"""The window's controller: drives the engine off the GUI thread and turns what happens into signals."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from app.core.ipc import QueryServer, search_service
from app.gui.borrowed_search import BorrowedSearch
from app.gui.messages import MessageBridge
from app.gui.preview import PreviewContext, load_context
from app.gui.rerank_state import reranker_state
from app.gui.workers import SearchWorker, ServiceEvents, TaskRunner

log = logging.getLogger(__name__)

QUIT_SECONDS = 1.5         # Ctrl+Q: the process is gone within 2 s whatever is running
SEARCH_STOP_SECONDS = 0.4  # a search takes tens of milliseconds; it reads the index being closed
REFRESH_MS = 400           # after a change of state: counts and folder states are re-read soon
PROGRESS_REFRESH_MS = 1500  # while files are being indexed: counts grow, re-read now and then


class Controller(QObject):
    """Owns the engine (Library + IndexService) once loaded; widgets only talk to this object.

    Every call into the engine runs on a worker thread (the TaskRunner, the search thread or the
    service's own threads); results come back as signals on the GUI thread.
    """

    engine_ready = Signal(object)      # EmbedderInfo
    engine_failed = Signal(str)
    progress = Signal(object)          # Progress
    idle = Signal()
    paused_changed = Signal(bool)      # the service's pause, as read (Cancel also ends a pause)
    folders_changed = Signal(list)     # [FolderState]
    stats_changed = Signal(object)     # Stats
    answered = Signal(object, bool)    # SearchResponse, final (False: a reranked one follows)
    settings_changed = Signal(object)  # Settings
    first_answer = Signal(float)       # monotonic time of the first answer (startup measurement)
    results_stale = Signal()           # files were forgotten or the model changed: ask again
    index_grew = Signal()              # files were stored or embedded: a shown list may lack one
    rerank_checked = Signal(bool, str)  # before any search: is the cross-encoder here? (why not)
    show_requested = Signal()          # a second launch on this data folder: come to the front

    def __init__(self, messages: MessageBridge, events: ServiceEvents, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.messages = messages
        self.events = events
        self.library: Any = None
        self.service: Any = None
        self.runner = TaskRunner(lambda exc: messages.exception(exc), parent=self)
        self.borrowed = BorrowedSearch(self.runner, self)  # another Sift answers until this one runs
        self.borrowed.answered.connect(lambda response: self.answered.emit(response, True))
        self.search_worker: SearchWorker | None = None
        self.query_server: QueryServer | None = None
        self._last_progress: Any = None  # what is being indexed now, for `sift status` elsewhere
        self._files_done = 0  # words and meaning stages' files in this run, as last reported
        self._pending: tuple[str, dict[str, Any]] | None = None
        self._queued_folders: list[str] = []  # dropped while the model was still loading
        self.switching_model = False  # a new model's index is being built: progress says so
        self._rerank_works = True     # until a reranked search says otherwise
        self._answered_once = False
        self._closing = False
        self._refreshing = False
        self._refresh_again = False
        self._refresh_failures = 0
        # Commands given so far: a read of the folders that began before the latest command would
        # show a folder the user just removed (or miss one just added) for a moment.
        self._commands_given = 0
        self._commands_finished = 0
        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.timeout.connect(self.refresh)
        events.event.connect(self._on_event)

    @property
    def ready(self) -> bool:
        return self.service is not None

    @property
    def current_library(self) -> Any:
        """The library in use: a model switch makes the service replace it."""
        if self.service is not None:
            return getattr(self.service, "library", self.library)
        return self.library

    # -- the engine -----------------------------------------------------------------------
    def attach(self, library: Any, service: Any) -> None:
        """Take over a loaded engine (from the EngineLoader, or injected by tests)."""
        if self._closing:  # loaded after the window closed: wind it down (it closes the library)
            threading.Thread(target=service.shutdown, name="sift-late-stop", daemon=True).start()
            return
        self.library, self.service = library, service
        # `sift search` in a terminal asks this window instead of loading a model of its own.
        self.query_server = QueryServer(library.paths.data_dir, search_service(service),
                                        progress=lambda: self._last_progress,
                                        show_window=self._show_requested)
        self.query_server.start()
        self.search_worker = SearchWorker(self._search, self._wants_rerank, parent=self)
        self.search_worker.answered.connect(self._answered)
        self.search_worker.failed.connect(lambda _id, exc: self.messages.exception(exc, "searching"))
        self.settings_changed.emit(library.settings)
        # Searches answer before the model is in (by their words, then the query encoder);
        # the status bar names the model once the writer has loaded it.
        self.runner.run(lambda: self._loaded_model(library),
                        lambda info: info is not None and self.engine_ready.emit(info),
                        lambda exc: self.engine_failed.emit(str(exc)))
        self.refresh()
        queued, self._queued_folders = self._queued_folders, []
        self.add_folders(queued)
        if self._pending is not None:
            query, filters = self._pending
            self._pending = None
            self.search(query, filters)

    def _loaded_model(self, library: Any) -> Any:
        """The model's facts once loaded (on a worker: waits in steps that a quit ends)."""
        return library.embedder.wait_loaded(lambda: self._closing)  # raises if the load failed

    def set_library(self, library: Any) -> None:
        """The settings are readable before the model is: show folders and counts early."""
        if self.library is None:
            self.library = library
            self.settings_changed.emit(library.settings)
            self.runner.run(library.stats, self.stats_changed.emit, lambda exc: None)

    def _search(self, query: str, *, limit: int | None, filters: dict[str, Any] | None,
                rerank: bool) -> Any:
        """Runs on the search thread: the core's Filters (and its numpy import) stay off the GUI thread."""
        from app.core.search.searcher import Filters

        narrowing = Filters(**filters) if filters else None
        response = self.service.search(query, limit=limit, filters=narrowing, rerank=rerank)
        if rerank and not response.reranked:
            self._rerank_works = False  # it says why (rerank_note); no second pass until settings change
        return response

    def check_reranker(self) -> None:
        """Whether the configured cross-encoder is on this computer, told before the first search."""
        if (library := self.current_library) is not None:
            self.runner.run(lambda: reranker_state(library), lambda r: self.rerank_checked.emit(*r),
                            lambda exc: None)

    def _show_requested(self) -> bool:  # on the query channel's thread: a signal to the GUI thread
        self._closing or self.show_requested.emit()
        return not self._closing

    def _wants_rerank(self) -> bool:
        library = self.current_library
        return bool(self._rerank_works and library is not None and library.settings.rerank)

    # -- searching -------------------------------------------------------------------------
    def search(self, query: str, filters: dict[str, Any] | None = None) -> None:
        query = query.strip()
        if not query:
            self.clear_search()
            return
        if self.search_worker is None:  # still loading: run it once the model is there
            self._pending = (query, filters or {})
            self.borrowed.ask(query, filters or {})
            return
        self.search_worker.submit(query, filters or None)

    def clear_search(self) -> None:
        self._pending = None
        self.borrowed.forget()
        if self.search_worker is not None:
            self.search_worker.discard()

    def _answered(self, _request_id: int, response: Any, final: bool) -> None:
        if not self._answered_once:
            self._answered_once = True
            self.first_answer.emit(time.monotonic())
        self.answered.emit(response, final)

    # -- service events ------------------------------------------------------------------
    def _on_event(self, event: Any) -> None:
        kind = event.kind
        if kind == "progress" and event.progress is not None:
            progress = event.progress
            self._last_progress = None if progress.phase == "done" else progress
            if self.switching_model and progress.phase == "indexing":
                progress = replace(progress, phase="model")
            self.progress.emit(progress)
            done = progress.words_done + progress.meaning_done + progress.chunks_done
            if progress.phase == "indexing" and done > self._files_done:
                self.index_grew.emit()
            self._files_done = 0 if progress.phase == "done" else done
            self.schedule_refresh(REFRESH_MS if progress.phase == "done" else PROGRESS_REFRESH_MS)
        elif kind == "error":
            self.switching_model = False
            self.messages.error(event.message or "Indexing failed.")
            self.schedule_refresh()
        elif kind == "model":
            self.switching_model = False
            if event.message:
                self.messages.info(f"Now searching with {event.message}.")
            if self.service is not None:
                library = self.current_library
                self.runner.run(lambda: library.embedder.info, self.engine_ready.emit, lambda exc: None)
                self.settings_changed.emit(library.settings)
            self.results_stale.emit()
            self.schedule_refresh()
        elif kind == "removed":  # a removed folder's files are gone: so must their results be
            self.results_stale.emit()
            self.schedule_refresh()
        elif kind == "idle":
            self.idle.emit()
            self.refresh()
        else:  # "indexed", "folders", "ready": counts and states changed
            if kind == "indexed":  # a new or changed file may belong in the list on screen
                self.index_grew.emit()
            self.schedule_refresh()

    def schedule_refresh(self, delay_ms: int = REFRESH_MS) -> None:
        """Coalesce: many events within ``delay_ms`` make one read (a sooner request wins)."""
        remaining = self._refresh_timer.remainingTime() if self._refresh_timer.isActive() else None
        if remaining is None or delay_ms < remaining:
            self._refresh_timer.start(delay_ms)

    def refresh(self) -> None:
        """Re-read folder states and counts on a worker thread; one read at a time."""
        if self.service is None or self._closing:
            return
        if self._refreshing:
            self._refresh_again = True
            return
        self._refreshing = True
        # Taken while a command is still to run, the read may be outdated by it: marked stale.
        given = self._commands_given if self._commands_finished == self._commands_given else -1
        service = self.service
        self.runner.run(lambda: (service.folder_states(), service.stats(), service.busy, service.paused,
                                 given),
                        self._refreshed, self._refresh_failed)

    def _refreshed(self, result: tuple[list[Any], Any, bool, bool, int]) -> None:
        self._refreshing = False
        self._refresh_failures = 0
        states, stats, busy, paused, given = result
        if given != self._commands_given:  # read before the latest command: read again after it
            self._refresh_again = True
        else:
            self.paused_changed.emit(bool(paused))
            self.folders_changed.emit(list(states))
            if not busy:
                self.idle.emit()
        self.stats_changed.emit(stats)
        if self._refresh_again:
            self._refresh_again = False
            self.schedule_refresh()

    def _refresh_failed(self, exc: BaseException) -> None:
        self._refreshing = False
        self._refresh_failures += 1
        if self._refresh_failures <= 2:
            # Reading while the writer creates the index can fail once; the next read works.
            log.warning("reading the index's state failed (%s); trying again", exc)
            self.schedule_refresh()
            return
        self.messages.exception(exc, "reading the index's state")

    # -- folders and indexing --------------------------------------------------------------
    def _call(self, doing: str, fn: Any, *args: Any) -> None:
        if self.service is None:
            self.messages.info("Still loading the model; try again in a moment.")
            return
        self._commands_given += 1

        def done(_result: Any) -> None:
            self._commands_finished += 1
            self.schedule_refresh()

        def failed(exc: BaseException) -> None:
            self._commands_finished += 1
            self.messages.exception(exc, doing)

        self.runner.run(lambda: fn(*args), done, failed, ordered=True)

    def add_folders(self, folders: list[str]) -> None:
        if self.service is None:
            self._queued_folders += folders
            return
        # One call for all, so the folders are queued (and indexed) in the order they came.
        self._call("adding a folder", lambda: [self.service.add_folder(f) for f in folders])

    def remove_folder(self, folder: str) -> None:
        self._call("removing a folder", lambda: self.service.remove_folder(folder))

    def reindex(self, folder: str | None = None) -> None:
        self._call("re-indexing", lambda: self.service.reindex(folder))

    def pause(self, paused: bool) -> None:
        self._call("pausing", lambda: self.service.pause() if paused else self.service.resume())

    def cancel(self) -> None:
        self._call("cancelling", lambda: self.service.cancel())

    def skipped(self, on_done: Any) -> None:
        if self.service is not None:
            self.runner.run(self.service.skipped, on_done)

    # -- settings ------------------------------------------------------------------------
    def apply_settings(self, new: Any, edits: Any = None) -> None:
        """Save what the settings dialog chose and do what it implies, off the GUI thread.

        Folders change only by ``edits`` (what the user added and removed in the dialog), applied
        to the folder set as it is now: a folder added since the dialog opened is kept.
        """
        from app.gui.settings_dialog import describe_changes

        library, service = self.current_library, self.service
        if library is None:
            return
        changes = describe_changes(library.settings, new)
        added = tuple(edits.added) if edits is not None else ()
        removed = tuple(edits.removed) if edits is not None else ()

        def work() -> Any:
            # Folders and the model go through the service (it indexes); the rest is saved here.
            library.update_settings(replace(library.settings, exclude=new.exclude, reranker=new.reranker,
                                            rerank=new.rerank, chunk_tokens=new.chunk_tokens,
                                            results=new.results, ocr=new.ocr,
                                            ocr_languages=new.ocr_languages))
            if service is None:  # the model is still loading: the service indexes them when up
                from app.core.indexing.folders import FolderChanges

                library.apply_folder_changes(FolderChanges(added=added, removed=removed))
            else:
                if added or removed:
                    service.apply_folder_changes(added=added, removed=removed)
                if changes["model"]:
                    self.switching_model = True
                    service.switch_model(changes["model"])
                elif changes["reindex"]:
                    service.reindex()
            return library.settings

        self._commands_given += 1

        def failed(exc: BaseException) -> None:
            self._commands_finished += 1
            self.messages.exception(exc, "saving the settings")

        def done(settings: Any) -> None:
            self._commands_finished += 1
            self._rerank_works = True  # a new reranker, or reranking turned back on: try again
            self.settings_changed.emit(settings)
            if changes["model"]:
                self.messages.info("Re-indexing with the new model; search answers from the old "
                                   "index meanwhile.")
            self.schedule_refresh()

        self.runner.run(work, done, failed, ordered=True)

    # -- preview ---------------------------------------------------------------------------
    def context(self, chunk_id: int, query: str) -> PreviewContext | None:
        """A passage's neighbours from the catalog (called on a worker thread)."""
        library = self.current_library
        if library is None:
            return None
        return load_context(Path(library.index_folder) / "catalog.sqlite", chunk_id, query)

    # -- shutting down -------------------------------------------------------------------
    def shutdown(self, timeout: float = QUIT_SECONDS) -> bool:
        """Stop everything in order, within about ``timeout`` seconds, keeping what is indexed.

        Nothing is delivered to the window any more; searches stop; short background calls get
        a moment to finish (they read the index that is about to close); then the service stops
        its watcher and writer, saves and closes the index. Returns whether all of it stopped.
        """
        if self._closing:
            return True
        deadline = time.monotonic() + timeout
        self._closing = True
        self._refresh_timer.stop()
        self.runner.shutdown()
        if self.query_server is not None:
            self.query_server.stop()  # other processes' searches end before the index closes
        worker = self.search_worker
        if worker is not None:
            worker.stop(min(SEARCH_STOP_SECONDS, timeout / 3))
        self.runner.wait(max(0.0, min(SEARCH_STOP_SECONDS, deadline - time.monotonic())))
        service = self.service
        if service is not None:
            try:
                return bool(service.shutdown(max(0.2, deadline - time.monotonic())))
            except Exception:  # quitting anyway; the log keeps it
                log.exception("stopping the index service failed")
                return False
        # No service yet (the model was still loading): the loader, abandoned, closes what it built.
        return True

