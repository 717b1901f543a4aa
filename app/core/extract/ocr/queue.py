"""OCR in the background for the one-call ``extract()``: files wait in a queue on one thread,
and their text lands in the OCR cache, where the next scan of the file finds it.

An e-mail attachment is queued as a spool file: its listeners are told of the mail holding it,
and the spool file is removed once its text is in the cache."""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from app.core.errors import Cancelled

log = logging.getLogger(__name__)

# (file to read, pages, cache folder, seconds per page, file to tell listeners of, remove after)
_Job = tuple[Path, tuple[int, ...], Path, float, Path, bool]


class _Queue:
    def __init__(self) -> None:
        self.jobs: queue.Queue[_Job | None] = queue.Queue()
        self.pending: set[Path] = set()
        self.stopping = False
        self.thread = threading.Thread(target=self._run, name="sift-ocr-queue", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        from app.core.extract.ocr.pages import ocr_pages

        while (job := self.jobs.get()) is not None:
            path, pages, cache_dir, timeout, notify, remove_after = job
            try:
                ocr_pages(path, pages, cache_dir=cache_dir, timeout_per_page=timeout,
                          cancelled=lambda: self.stopping)
            except Cancelled:
                return
            except Exception:  # a bug; the file stays waiting and is offered again at its next scan
                log.exception("background OCR failed for %s", path)
            finally:
                self.pending.discard(path)
                if remove_after:
                    path.unlink(missing_ok=True)
            for listener in list(_listeners):
                try:
                    listener(notify)
                except Exception:  # a listener's bug must not stop the queue
                    log.exception("OCR listener failed for %s", notify)


_lock = threading.Lock()
_queue: _Queue | None = None
# Told each path whose OCR has ended (its text, or its failure, is in the cache): the indexing
# service re-reads the file then, so a scan becomes findable by content without waiting for a rescan.
_listeners: list[Callable[[Path], None]] = []


def add_listener(listener: Callable[[Path], None]) -> None:
    """Call ``listener(path)`` on the OCR thread whenever a file's OCR has ended."""
    _listeners.append(listener)


def remove_listener(listener: Callable[[Path], None]) -> None:
    if listener in _listeners:
        _listeners.remove(listener)


def wait_idle(cancelled: Callable[[], bool], poll: float = 0.2) -> None:
    """Return when no file waits for OCR any more, or when ``cancelled()`` says so."""
    while waiting() and not cancelled():
        time.sleep(poll)


def schedule(path: Path, pages: Iterable[int], cache_dir: Path, timeout_per_page: float, *,
             notify: Path | None = None, remove_after: bool = False) -> None:
    """Queue a file's pages for OCR unless it is queued already; when it ends, listeners are
    told of ``notify`` (default ``path``), and ``path`` is removed if ``remove_after``."""
    global _queue
    with _lock:
        if _queue is None or not _queue.thread.is_alive():
            _queue = _Queue()
        if path in _queue.pending:
            return
        _queue.pending.add(path)
        _queue.jobs.put((path, tuple(pages), cache_dir, timeout_per_page, notify or path,
                         remove_after))


def waiting() -> int:
    """How many files wait for background OCR."""
    return len(_queue.pending) if _queue is not None else 0


def shutdown() -> None:
    """Drop the waiting files and stop the thread (the OCR worker is stopped by ocr.shutdown)."""
    global _queue
    with _lock:
        current, _queue = _queue, None
    if current is None:
        return
    current.stopping = True
    current.pending.clear()
    current.jobs.put(None)
