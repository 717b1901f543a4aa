"""Readers a hostile file can make slow or greedy (HTML, EPUB, office files, RTF) run in a killable
worker process, under a time and a memory limit, as PDFs and OCR do.

A file that takes longer than the time limit is skipped and the worker started again for the
next one; a file that needs more memory than the limit is skipped as too large, instead of the
whole app swelling. Plain text, CSV, mail and images are read in the app: they are streamed or
only looked at.
"""

from __future__ import annotations

import logging
import os
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.core.errors import SkipFile
from app.core.extract.worker import WorkerSlot, requests

if TYPE_CHECKING:
    from app.core.extract import Extraction

log = logging.getLogger(__name__)

LIMITED_KINDS = frozenset({"html", "epub", "docx", "pptx", "odt", "odp", "rtf", "xlsx", "ods"})
# Address space of the worker: Python and the parsing libraries take about 300 MB of it; a file
# that needs gigabytes more is hostile (a 50 MB file whose reading would take the machine's RAM).
MEMORY_LIMIT = 3 * 2**30
# Set to "1" to read in this process: for frozen apps where spawning is awkward, and for tests.
INPROCESS_ENV = "SIFT_EXTRACT_INPROCESS"
# Seconds the worker sleeps before reading; lets tests exercise the time limit. Never set it in use.
TEST_DELAY_ENV = "SIFT_EXTRACT_TEST_DELAY"


def read_limited(kind: str, path: str, max_bytes: int, delay: float = 0.0) -> tuple[str, Any]:
    """("ok", Extraction) or (exception kind, message): never raises for a bad file.

    Top-level so that a spawned worker can import it.
    """
    import time

    from app.core.extract import read_format

    if delay > 0:
        time.sleep(delay)
    try:
        return "ok", read_format(kind, Path(path), max_bytes)
    except SkipFile as exc:
        return "skip", str(exc)
    except MemoryError:
        return "memory", ""
    except RecursionError:
        return "recursion", ""
    except Exception as exc:
        return "error", f"{type(exc).__name__}: {exc}"[:500]


def _serve(conn: Connection) -> None:
    """Worker loop: answer (kind, path, max_bytes, delay) until told to stop or the pipe closes."""
    import app.core.extract  # noqa: F401  # before "ready": startup is not billed to a file

    for request in requests(conn):
        try:
            answer = read_limited(*request)
        except BaseException as exc:  # MemoryError while building the answer, and the like
            answer = ("memory", "") if isinstance(exc, MemoryError) else ("error", repr(exc))
        try:
            conn.send(answer)
        except MemoryError:
            conn.send(("memory", ""))


_slot = WorkerSlot(_serve, "sift-read", memory_limit=lambda: MEMORY_LIMIT)
shutdown = _slot.shutdown  # stop the worker; a read still waiting on it raises Cancelled


def extract_limited(kind: str, path: Path, max_bytes: int, timeout: float) -> Extraction:
    """The format's reader under the limits; SkipFile when the file breaks one of them."""
    if os.environ.get(INPROCESS_ENV) == "1":
        answer = read_limited(kind, str(path), max_bytes)
    else:
        answer = _ask(kind, str(path), max_bytes, timeout)
    status, value = answer
    if status == "ok":
        return value  # type: ignore[no-any-return]
    if status == "skip":
        raise SkipFile(value)
    if status == "memory":
        raise MemoryError
    if status == "recursion":
        raise RecursionError
    raise RuntimeError(value)


def _ask(kind: str, path: str, max_bytes: int, timeout: float) -> tuple[str, Any]:
    delay = float(os.environ.get(TEST_DELAY_ENV) or 0)
    with _slot.lock:
        worker = _slot.get_or_none("reading files in-process")
        if worker is None:
            return read_limited(kind, path, max_bytes)
        try:
            return worker.ask((kind, path, max_bytes, delay), timeout)  # type: ignore[no-any-return]
        except TimeoutError:
            _slot.discard()
            return "skip", f"took longer than {timeout:g} s to read; skipped"
        except (EOFError, OSError, ValueError):
            _slot.lost()
            # Killed by the system (out of memory), or a crash in a library's C code.
            return "skip", "the reader crashed on this file"
