"""A time limit on a connection's silence: past it, the connection is shut so a blocked read ends."""

from __future__ import annotations

import contextlib
import os
import socket
import sys
import threading
from types import TracebackType
from typing import Any


class Deadline:
    """Hang up ``conn`` (a multiprocessing Connection) unless the guarded block ends in time.

    A read blocked on a socket does not notice a close from another thread; a shutdown wakes it
    (it reads end-of-file). The timer and the guarded block share a lock, so a timer that fires
    as the block ends never shuts a descriptor the system has since given to another socket.
    """

    def __init__(self, conn: Any, seconds: float) -> None:
        self._conn = conn
        self._seconds = seconds
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None
        self._done = False
        self.expired = False

    def __enter__(self) -> Deadline:
        self.restart()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        with self._lock:
            self._done = True
            self._cancel()

    def pause(self) -> None:
        """Stop counting (while the server itself works on the answer)."""
        with self._lock:
            self._cancel()

    def restart(self) -> None:
        """Count the full time again from now."""
        with self._lock:
            self._cancel()
            if self._done:
                return
            self._timer = threading.Timer(self._seconds, self._expire)
            self._timer.daemon = True
            self._timer.start()

    def _cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _expire(self) -> None:
        with self._lock:
            if self._done:
                return
            self.expired = True
            hang_up(self._conn)


def hang_up(conn: Any) -> None:
    """End the connection under a blocked reader or writer (without closing its descriptor)."""
    with contextlib.suppress(OSError, ValueError):
        if sys.platform == "win32":
            conn.close()  # a pipe handle's close cancels its pending overlapped reads
            return
        sock = socket.socket(fileno=os.dup(conn.fileno()))
        try:
            sock.shutdown(socket.SHUT_RDWR)
        finally:
            sock.close()
