"""PDF: text page by page with pypdf, in a worker process that can be killed when it hangs."""

from __future__ import annotations

import atexit
import logging
import os
import signal
import threading
import time
from multiprocessing.connection import Connection
from pathlib import Path

from app.core.errors import Cancelled, SkipFile
from app.core.extract.text import os_error_reason
from app.core.extract.worker import WorkerProcess
from app.core.records import Section

log = logging.getLogger(__name__)

PageTexts = list[tuple[int, str]]
# Pages with text, and pages that show an image but have (almost) no text: OCR candidates.
PdfResult = tuple[PageTexts, list[int]]
# Set to "1" to parse in this process: for frozen apps where spawning is awkward, and for tests.
INPROCESS_ENV = "SIFT_PDF_INPROCESS"
# Seconds the worker sleeps before parsing; lets tests exercise the timeout. Never set it in use.
TEST_DELAY_ENV = "SIFT_PDF_TEST_DELAY"
_MAX_REASON_CHARS = 200
# A scanned page often carries a stamp or page number as text; fewer letters than this and an
# image on the page make it an OCR candidate.
_MIN_TEXT_CHARS = 16


def _short(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text if len(text) <= _MAX_REASON_CHARS else text[: _MAX_REASON_CHARS - 1] + "…"


def _clean(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")


def _has_image(page: object) -> bool:
    try:
        return len(page.images) > 0  # type: ignore[attr-defined]
    except Exception:  # a damaged resource dictionary: let OCR have a look
        return True


def read_pdf_pages(path: str, delay: float = 0.0) -> PdfResult | str:
    """Pages with text as (1-based page number, text) and the numbers of the pages that need
    OCR, or a reason to skip the file.

    Top-level so that a spawned worker can import it. Never raises for a bad file.
    """
    if delay > 0:
        time.sleep(delay)
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    from pypdf import PasswordType, PdfReader
    from pypdf.errors import DependencyError, FileNotDecryptedError

    try:
        reader = PdfReader(path)
        if reader.is_encrypted and reader.decrypt("") == PasswordType.NOT_DECRYPTED:
            return "the PDF is encrypted"
        pages = list(reader.pages)
    except OSError as exc:
        return os_error_reason(exc)
    except DependencyError:
        # pypdf needs the optional `cryptography` package for AES, even for an empty password.
        return "the PDF is encrypted (AES needs the 'cryptography' package)"
    except FileNotDecryptedError:
        return "the PDF is encrypted"
    except Exception as exc:  # pypdf raises many kinds on broken files
        return f"the PDF is damaged: {_short(exc)}"
    found: PageTexts = []
    scanned: list[int] = []
    failures: list[Exception] = []
    for number, page in enumerate(pages, start=1):
        try:
            text = _clean(page.extract_text())
        except Exception as exc:  # one broken page should not cost the whole document
            failures.append(exc)
            continue
        if sum(c.isalnum() for c in text) < _MIN_TEXT_CHARS and _has_image(page):
            scanned.append(number)
        elif text.strip():
            found.append((number, text))
    if not found and not scanned and failures and len(failures) == len(pages):
        return f"the PDF is damaged: {_short(failures[0])}"
    return found, scanned


def _serve(conn: Connection) -> None:
    """Worker loop: answer (path, delay) requests until told to stop or the pipe closes."""
    # Ctrl+C in a terminal reaches the whole process group; only the app should react to it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    import pypdf  # noqa: F401  # imported before "ready" so startup is not billed to a file

    conn.send("ready")
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            return
        if request is None:
            return
        try:
            result: PdfResult | str = read_pdf_pages(*request)
        except BaseException as exc:  # keep serving: the parent decides what is fatal
            result = f"could not read the PDF: {_short(exc)}"
        conn.send(result)


_lock = threading.Lock()
_worker: WorkerProcess | None = None
_closing = False
_spawn_failed = False
_atexit_registered = False


def _get_worker() -> WorkerProcess | None:
    """The running worker, started if needed; None if workers cannot be started here."""
    global _worker, _spawn_failed, _atexit_registered, _closing
    if _worker is not None and _worker.process.is_alive():
        return _worker
    _discard(_worker)
    if _spawn_failed:
        return None
    _closing = False
    try:
        _worker = WorkerProcess(_serve, "sift-pdf")
    except (OSError, RuntimeError) as exc:
        log.warning("PDF worker process unavailable (%s); parsing PDFs in-process", exc)
        _spawn_failed = True
        return None
    if not _atexit_registered:
        atexit.register(shutdown)
        _atexit_registered = True
    return _worker


def _discard(worker: WorkerProcess | None, *, kill: bool = True) -> None:
    global _worker
    if worker is None:
        return
    if _worker is worker:
        _worker = None
    worker.stop(kill=kill)


def _read_in_worker(path: str, timeout: float) -> PdfResult | str:
    delay = float(os.environ.get(TEST_DELAY_ENV) or 0)
    with _lock:
        worker = _get_worker()
        if worker is None:
            return read_pdf_pages(path)
        try:
            return worker.ask((path, delay), timeout)
        except TimeoutError:
            _discard(worker)
            return f"took longer than {timeout:g} s to read; skipped"
        except (EOFError, OSError, ValueError):
            _discard(worker)
            if _closing:
                raise Cancelled() from None
            return "the PDF reader crashed on this file"


def extract_pdf_pages(path: Path, timeout: float) -> tuple[list[Section], tuple[int, ...]]:
    """One Section per page with text, and the pages that need OCR; SkipFile if there is neither."""
    if os.environ.get(INPROCESS_ENV) == "1":
        result = read_pdf_pages(str(path))
    else:
        result = _read_in_worker(str(path), timeout)
    if isinstance(result, str):
        raise SkipFile(result)
    found, scanned = result
    if not found and not scanned:
        raise SkipFile("the PDF has no text layer and no images")
    return [Section(text, page=number, first_line=1) for number, text in found], tuple(scanned)


def extract_pdf(path: Path, timeout: float) -> list[Section]:
    """One Section per page with text (no OCR); SkipFile if none has any."""
    sections, _scanned = extract_pdf_pages(path, timeout)
    if not sections:
        raise SkipFile("the PDF has no text layer (scanned); its pages need OCR")
    return sections


def shutdown() -> None:
    """Stop the worker process; an extract still waiting on it raises Cancelled."""
    global _closing
    worker = _worker
    if worker is None:
        return
    _closing = True
    if _lock.acquire(blocking=False):
        try:
            _discard(worker, kill=False)
        finally:
            _lock.release()
    else:
        # A thread is waiting on this worker: killing it wakes that thread, which cleans up.
        worker.process.kill()
