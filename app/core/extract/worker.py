"""A spawned helper process answering requests over a pipe, killable when a request hangs.

The PDF reader, OCR and the other readers of hostile formats (limited.py) each run in one, kept
in a WorkerSlot: a library that hangs, crashes or swells on one bad file takes down only its
worker, which is started again for the next file. A worker may be given a ceiling on its memory.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import multiprocessing
import signal
import threading
from collections.abc import Callable, Iterator
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

from app.core.errors import Cancelled

log = logging.getLogger(__name__)

STARTUP_TIMEOUT_S = 60.0  # a cold start imports the parsing or OCR libraries


class WorkerProcess:
    """One spawned process running ``serve(conn)``, which answers "ready" first, then requests."""

    def __init__(self, serve: Callable[[Connection], None], name: str, *,
                 memory_limit: int | None = None) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.process: BaseProcess = ctx.Process(target=_run, args=(serve, memory_limit, child),
                                                name=name, daemon=True)
        self.process.start()
        child.close()
        try:
            ready = self.conn.poll(STARTUP_TIMEOUT_S) and self.conn.recv() == "ready"
        except (EOFError, OSError):
            ready = False
        if not ready:
            self.stop(kill=True)
            raise OSError(f"{name} worker exited with code {self.process.exitcode}")

    def ask(self, request: tuple[Any, ...], timeout: float) -> Any:
        """Send one request; TimeoutError if no answer in time, EOFError/OSError if it died."""
        self.conn.send(request)
        if not self.conn.poll(timeout):
            raise TimeoutError
        return self.conn.recv()

    def stop(self, *, kill: bool = False) -> None:
        """Ask the worker to end (or kill it at once), and make sure it is gone."""
        if not kill:
            with contextlib.suppress(OSError, ValueError):  # already gone
                self.conn.send(None)
                self.process.join(1.0)
        if self.process.is_alive():
            self.process.kill()
        self.process.join(5.0)
        self.conn.close()


def _run(serve: Callable[[Connection], None], limit: int | None, conn: Connection) -> None:
    """The worker's side: ``serve`` with Ctrl+C left to the app (a terminal sends it to the whole
    process group) and, given a limit, the address space capped (a request past it fails with
    MemoryError)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if limit is not None:
        try:
            import resource

            _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
            if hard == resource.RLIM_INFINITY or hard > limit:
                resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
        except (ImportError, ValueError, OSError):  # Windows, or a system that refuses the cap
            pass
    serve(conn)


def requests(conn: Connection) -> Iterator[Any]:
    """A worker's requests: "ready" is answered first (its imports are done), then each request
    until it is told to stop (None) or the pipe closes."""
    conn.send("ready")
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            return
        if request is None:
            return
        yield request


class WorkerSlot:
    """The one worker of a kind that the reading threads share, a request at a time (``lock``).

    The worker is started on first use and again after a request gave it up (a timeout, a
    crash), and stopped at exit. ``shutdown`` (the app quitting) stops it; a request still
    waiting on it then ends in Cancelled, not in a skipped file.
    """

    def __init__(self, serve: Callable[[Connection], None], name: str, *,
                 memory_limit: Callable[[], int] | None = None) -> None:
        self._serve, self._name, self._memory_limit = serve, name, memory_limit
        self.lock = threading.Lock()
        self.worker: WorkerProcess | None = None
        self.closing = False
        self._unavailable = False  # workers cannot start on this system: read in-process
        self._atexit = False

    def get(self) -> WorkerProcess:
        """The running worker, started if needed; OSError (or RuntimeError) if it cannot start."""
        if self.worker is not None and self.worker.process.is_alive():
            return self.worker
        self.discard()
        self.closing = False
        limit = self._memory_limit() if self._memory_limit is not None else None
        self.worker = WorkerProcess(self._serve, self._name, memory_limit=limit)
        if not self._atexit:
            atexit.register(self.shutdown)
            self._atexit = True
        return self.worker

    def get_or_none(self, fallback: str) -> WorkerProcess | None:
        """The running worker, or None from the first time one cannot start here (the caller then
        reads in-process, as ``fallback`` says in the log)."""
        if self._unavailable:
            return None
        try:
            return self.get()
        except (OSError, RuntimeError) as exc:
            log.warning("%s worker process unavailable (%s); %s", self._name, exc, fallback)
            self._unavailable = True
            return None

    def discard(self, *, kill: bool = True) -> None:
        """Stop the worker (at once unless ``kill`` is False); the next request starts another."""
        worker, self.worker = self.worker, None
        if worker is not None:
            worker.stop(kill=kill)

    def lost(self) -> None:
        """A request found its worker gone: let it go; Cancelled if the app is quitting."""
        self.discard()
        if self.closing:
            raise Cancelled()

    def shutdown(self) -> None:
        """Stop the worker; a request still waiting on it raises Cancelled."""
        worker = self.worker
        if worker is None:
            return
        self.closing = True
        if self.lock.acquire(blocking=False):
            try:
                self.discard(kill=False)
            finally:
                self.lock.release()
        else:
            # A thread is waiting on this worker: killing it wakes that thread, which cleans up.
            worker.process.kill()
