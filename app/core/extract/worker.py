"""A spawned helper process answering requests over a pipe, killable when a request hangs.

The PDF reader, OCR and the other readers of hostile formats (limited.py) each run in one: a
library that hangs, crashes or swells on one bad file takes down only its worker, which is
started again for the next file. A worker may be given a ceiling on its memory.
"""

from __future__ import annotations

import contextlib
import multiprocessing
from collections.abc import Callable
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

STARTUP_TIMEOUT_S = 60.0  # a cold start imports the parsing or OCR libraries


class WorkerProcess:
    """One spawned process running ``serve(conn)``, which answers "ready" first, then requests."""

    def __init__(self, serve: Callable[[Connection], None], name: str, *,
                 memory_limit: int | None = None) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.conn, child = ctx.Pipe()
        target, args = (serve, (child,)) if memory_limit is None \
            else (_serve_limited, (serve, memory_limit, child))
        self.process: BaseProcess = ctx.Process(target=target, args=args, name=name, daemon=True)
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


def _serve_limited(serve: Callable[[Connection], None], limit: int, conn: Connection) -> None:
    """``serve`` with its address space capped: a request past it fails with MemoryError."""
    try:
        import resource

        _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard == resource.RLIM_INFINITY or hard > limit:
            resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (ImportError, ValueError, OSError):  # Windows, or a system that refuses the cap
        pass
    serve(conn)
