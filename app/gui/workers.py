"""Bridges between the core's threads and the GUI thread: service events, searches, background calls."""

from __future__ import annotations

import contextlib
import gc
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, Signal

log = logging.getLogger(__name__)


class ServiceEvents(QObject):
    """The service's ``on_event`` callback, turned into a Qt signal.

    ``post`` runs on the service's threads; the signal reaches slots of GUI objects through queued
    connections, so widgets are only ever touched on the GUI thread.
    """

    event = Signal(object)  # ServiceEvent

    def post(self, event: Any) -> None:
        # RuntimeError: the window is gone while the service winds down.
        with contextlib.suppress(RuntimeError):
            self.event.emit(event)


@dataclass(frozen=True)
class SearchRequest:
    """One query as typed, with the narrowing in force when it was typed."""

    id: int
    query: str
    filters: Any = None
    limit: int | None = None


class SearchWorker(QObject):
    """A search thread where the newest query wins (Spyder's find-in-files thread, simplified).

    Only the latest pending request is kept: queries typed while a search runs replace each other,
    and an answer that a newer request has overtaken is dropped instead of shown.

    With reranking wanted, each query is answered twice: the fused ranking at once (tens of ms),
    then the reranked one (the cross-encoder takes about half a second) unless a newer query came.
    """

    answered = Signal(int, object, bool)  # request id, SearchResponse, final (no better one coming)
    failed = Signal(int, object)          # request id, exception

    def __init__(self, search: Callable[..., Any], wants_rerank: Callable[[], bool] = lambda: False,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._search = search
        self._wants_rerank = wants_rerank
        self._cond = threading.Condition()
        self._pending: SearchRequest | None = None
        self._latest = 0
        self._stopped = False
        self._thread = threading.Thread(target=self._loop, name="sift-search", daemon=True)
        self._thread.start()

    @property
    def latest_id(self) -> int:
        return self._latest

    def submit(self, query: str, filters: Any = None, limit: int | None = None) -> int:
        with self._cond:
            self._latest += 1
            self._pending = SearchRequest(self._latest, query, filters, limit)
            self._cond.notify()
            return self._latest

    def discard(self) -> None:
        """Forget pending work and make any answer still on its way stale (Esc, empty box)."""
        with self._cond:
            self._latest += 1
            self._pending = None

    def stop(self, timeout: float = 5.0) -> None:
        with self._cond:
            self._stopped = True
            self._pending = None
            self._cond.notify()
        self._thread.join(timeout)

    def _loop(self) -> None:
        while True:
            with self._cond:
                while self._pending is None and not self._stopped:
                    self._cond.wait()
                if self._stopped:
                    return
                request, self._pending = self._pending, None
            assert request is not None
            refine = self._wants_rerank()
            for rerank in ((False, True) if refine else (False,)):
                if rerank and (request.id != self._latest or self._pending is not None):
                    break  # a newer query is waiting: refining this one helps nobody
                try:
                    response = self._search(request.query, limit=request.limit,
                                            filters=request.filters, rerank=rerank)
                except Exception as exc:  # reported on the GUI thread; the thread lives on
                    self._emit(self.failed, request.id, exc)
                    break
                self._emit(self.answered, request.id, response, rerank or not refine)

    def _emit(self, signal: Any, request_id: int, *payload: object) -> None:
        if request_id != self._latest:  # overtaken while it ran: nobody wants it
            return
        with contextlib.suppress(RuntimeError):
            signal.emit(request_id, *payload)


class TaskRunner(QObject):
    """Runs short calls (counts, folder states, a preview's context) off the GUI thread.

    The result comes back to a callback on the GUI thread. After ``shutdown`` nothing is delivered,
    so a late answer never reaches a closed window.
    """

    _delivered = Signal(object, object)  # callback, result

    def __init__(self, on_error: Callable[[BaseException], None], workers: int = 2,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._on_error = on_error
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sift-task")
        # Commands (add or remove a folder, pause, cancel, settings) run one after another in the
        # order given: on the shared pool, "add A" then "remove A" could run the other way round.
        self._commands = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sift-command")
        self._closed = False
        self._in_flight: set[Future[Any]] = set()
        self._delivered.connect(self._deliver)

    def run(self, fn: Callable[[], Any], on_done: Callable[[Any], None] | None = None,
            on_error: Callable[[BaseException], None] | None = None, *,
            ordered: bool = False) -> Future[Any] | None:
        """``ordered``: a command, run after every command given before it."""
        if self._closed:
            return None
        future = (self._commands if ordered else self._pool).submit(fn)
        self._in_flight.add(future)

        def finished(f: Future[Any]) -> None:
            self._in_flight.discard(f)
            if f.cancelled():  # dropped by shutdown: nobody is waiting for it
                return
            exc = f.exception()
            if exc is not None:
                self._post(on_error or self._on_error, exc)
            elif on_done is not None:
                self._post(on_done, f.result())

        future.add_done_callback(finished)
        return future

    def _post(self, callback: Callable[[Any], None], result: object) -> None:
        if self._closed:
            return
        with contextlib.suppress(RuntimeError):
            self._delivered.emit(callback, result)

    def _deliver(self, callback: Callable[[Any], None], result: object) -> None:
        if not self._closed:
            callback(result)

    def shutdown(self) -> None:
        """Deliver nothing more and drop calls that have not started."""
        self._closed = True
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._commands.shutdown(wait=False, cancel_futures=True)

    @property
    def busy(self) -> bool:
        """Calls or commands given and not finished yet."""
        return any(not f.done() for f in list(self._in_flight))

    def wait(self, timeout: float) -> bool:
        """Wait up to ``timeout`` s for the calls already running; whether they all ended."""
        running = [f for f in list(self._in_flight) if not f.done()]
        if not running:
            return True
        _done, pending = wait_futures(running, timeout=timeout)
        return not pending

# While another Sift indexes this data folder, a second window looks this often whether it ended
# (or is a window that can come to the front instead).
BUSY_RETRY_S = 1.0


class EngineLoader(QObject):
    """Builds the Library and IndexService on a background thread after the window is shown.

    Importing the core's heavy modules (numpy, usearch, torch via the model) takes seconds, which
    is why none of it happens before the window is on screen.
    """

    library_ready = Signal(object)      # Library: settings are readable, the model is not loaded
    ready = Signal(object, object)      # Library, IndexService
    failed = Signal(object)             # the exception
    waiting = Signal(str)               # another Sift indexes this data folder: why ('' when it ended)
    handed_over = Signal(int)           # another Sift's window showed itself instead: its process id
    first_check = Signal(str)           # the one-time backend check of this computer starts: what to say

    def __init__(self, paths: Any, events: ServiceEvents, *, watch: bool = True,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._paths = paths
        self._events = events
        self._watch = watch
        self._thread: threading.Thread | None = None
        self._abandoned = threading.Event()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="sift-load", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            from app.core.library import Library

            library = Library(self._paths)
            library.embedder.on_first_check = lambda text: self._safe_emit(self.first_check, text)
            self._safe_emit(self.library_ready, library)
            from app.core.service.index_service import IndexService

            # The model is not waited for: the writer loads it behind (the slow part: torch and
            # the weights), and searches answer by their words, then with the query encoder,
            # from the first second.
            service = IndexService(library, watch=self._watch, on_event=self._events.post)
            if not self._start_when_free(library, service):
                return
        except Exception as exc:
            self._safe_emit(self.failed, exc)
            return
        if self._abandoned.is_set():  # nobody will stop it later: do it now
            service.shutdown()
            return
        self._safe_emit(self.ready, library, service)
        if self._model_loaded(library):
            self._warm_up(library)  # after the model: the first answers need no reranker

    def _start_when_free(self, library: Any, service: Any) -> bool:
        """Start the service once no other Sift indexes this data folder; False if this window
        is not to (it closed meanwhile, or the other Sift's window came to the front instead)."""
        from app.core.host.datalock import DataFolderBusy
        from app.core.ipc import ask_alive, ask_show

        told = False
        while True:
            try:
                service.start()
            except DataFolderBusy as exc:
                # A window that was still starting when this one was launched answers by now.
                pid = None if self._abandoned.is_set() else ask_show(self._paths.data_dir)
                if pid is not None:
                    self._safe_emit(self.handed_over, pid)
                if pid is not None or self._abandoned.wait(0 if not told else BUSY_RETRY_S):
                    library.close()
                    return False
                if not told:
                    told = True
                    meanwhile = ("Until then it answers the searches here (read-only)."
                                 if ask_alive(self._paths.data_dir) else "Searching starts then.")
                    self._safe_emit(self.waiting, f"{exc.message} This window takes over when it ends. "
                                                  f"{meanwhile}")
                continue
            if told:
                self._safe_emit(self.waiting, "")
            return True

    def _model_loaded(self, library: Any) -> bool:
        """Wait for the model the writer is loading, in short steps a closing window can end."""
        try:
            loaded = library.embedder.wait_loaded(self._abandoned.is_set) is not None
        except Exception:  # the controller reports a failed load; nothing to warm up then
            return False
        return loaded and not self._abandoned.is_set()

    def _warm_up(self, library: Any) -> None:
        """Pay the remaining one-time costs now, once the model is in and answers are possible.

        The reranker is otherwise loaded by the first reranked search; its imports (torch,
        transformers, scikit-learn: thousands of modules, seconds) are best over early.
        Then the long-lived objects are frozen: a full garbage collection walks every tracked
        object while holding the GIL (0.2–0.4 s here once imports pile up), and frozen ones are
        skipped by every later collection.
        """
        try:
            if library.settings.rerank and library.reranker is not None:
                library.reranker.load()  # failing is fine: searches then say why it is off
        except Exception:
            log.warning("warming up the reranker failed", exc_info=True)
        gc.freeze()

    def abandon(self) -> None:
        """The window is closing: whatever finishes loading later shuts itself down."""
        self._abandoned.set()

    @property
    def running(self) -> bool:
        """Still loading or warming up (the engine may already be in use)."""
        return self._thread is not None and self._thread.is_alive()

    def join(self, timeout: float) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def _safe_emit(self, signal: Any, *args: object) -> None:
        try:
            signal.emit(*args)
        except RuntimeError:  # the window closed while the model was loading
            log.info("engine finished loading after the window closed")
