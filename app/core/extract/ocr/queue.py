"""OCR in the background: files wait in a queue on one thread, which reads them a page at a time
in turns, so that a long scan never holds up the others; their text lands in the OCR cache, where
the next look at the file finds it.

Listeners are told of a file when its OCR ends, and of a long one now and then before (its pages
read so far then join it). An e-mail attachment is queued as a spool file: its listeners are told
of the mail holding it, and the spool file is removed once its text is in the cache."""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from app.core.errors import Cancelled
from app.core.extract.ocr.cache import OcrCache

log = logging.getLogger(__name__)

# A long file's pages read so far join it this often while the rest is still being read.
PROGRESS_SECONDS = 120.0


@dataclass
class _Job:
    path: Path
    pages: deque[int]
    cache_dir: Path
    timeout: float
    notify: Path          # the file listeners are told of
    remove_after: bool    # ``path`` is a spool file, removed when done
    cache: OcrCache | None = None  # opened at its first turn
    stamp: tuple[int, int] = (0, 0)  # the file's size and time when its cache was opened
    told_at: float = field(default_factory=time.monotonic)
    unavailable: bool = False  # OCR cannot run here now: the file waits for its next look


class _Queue:
    def __init__(self) -> None:
        self.jobs: deque[_Job] = deque()
        self.pending: set[Path] = set()
        self.wake = threading.Condition()
        self.stopping = False
        self.thread = threading.Thread(target=self._run, name="sift-ocr-queue", daemon=True)
        self.thread.start()

    def add(self, job: _Job) -> None:
        with self.wake:
            self.jobs.append(job)
            self.wake.notify()

    def _next(self) -> _Job | None:
        with self.wake:
            while not self.jobs and not self.stopping:
                self.wake.wait()
            return None if self.stopping else self.jobs.popleft()

    def _run(self) -> None:
        while (job := self._next()) is not None:
            try:
                done = self._turn(job)
            except Cancelled:
                return
            except Exception:  # a bug; the file stays waiting and is offered again at its next look
                log.exception("background OCR failed for %s", job.path)
                done = True
            if not done:
                self.add(job)  # behind the others: their next page comes first
                continue
            self.pending.discard(job.path)
            if job.remove_after:
                job.path.unlink(missing_ok=True)
            if not job.unavailable:  # else telling would only have it queued again at once
                _tell(job.notify)

    def _turn(self, job: _Job) -> bool:
        """Read the job's next page; whether the job is done."""
        from app.core.extract.ocr import pages as ocr

        engine = ocr.current_engine()  # the languages may have changed since the last turn
        try:
            info = job.path.stat()
            stamp = (info.st_size, info.st_mtime_ns)
        except OSError:
            return True  # gone: its next look (if any) finds out
        # A file changed while it was read: its next pages go with its new content.
        if job.cache is None or job.cache.key != engine.key or job.stamp != stamp:
            job.cache, job.stamp = OcrCache(job.cache_dir, job.path, engine.key), stamp
        cache = job.cache
        page = job.pages.popleft()
        result = ocr.ocr_pages(job.path, [page], cache=cache, engine=engine,
                               timeout_per_page=job.timeout, cancelled=lambda: self.stopping)
        if result is not None and page in result.failed and str(page) not in cache.failed:
            job.unavailable = True  # not the page's fault (the engine does not load here)
            return True
        if not job.pages:
            cache.save()
            return True
        if time.monotonic() - job.told_at > PROGRESS_SECONDS:
            cache.save()
            job.told_at = time.monotonic()
            _tell(job.notify)
        return False


def _tell(path: Path) -> None:
    for listener in list(_listeners):
        try:
            listener(path)
        except Exception:  # a listener's bug must not stop the queue
            log.exception("OCR listener failed for %s", path)


_lock = threading.Lock()
_queue: _Queue | None = None
# Told each path whose OCR has ended (its text, or its failure, is in the cache), or has made
# progress: the indexing service re-reads the file then, so a scan becomes findable by content
# without waiting for a rescan.
_listeners: list[Callable[[Path], None]] = []


def add_listener(listener: Callable[[Path], None]) -> None:
    """Call ``listener(path)`` on the OCR thread whenever a file's OCR has ended or progressed."""
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
    wanted = sorted(set(pages))
    if not wanted:
        return
    with _lock:
        if _queue is None or not _queue.thread.is_alive():
            _queue = _Queue()
        if path in _queue.pending:
            return
        _queue.pending.add(path)
        _queue.add(_Job(path, deque(wanted), cache_dir, timeout_per_page, notify or path,
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
    with current.wake:
        current.stopping = True
        current.pending.clear()
        current.jobs.clear()
        current.wake.notify_all()
