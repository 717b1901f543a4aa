"""PDF: text page by page (pdf_text.py), in a worker process that can be killed when it hangs."""

from __future__ import annotations

import logging
import os
import time
from multiprocessing.connection import Connection
from pathlib import Path

from app.core.errors import SkipFile
from app.core.extract.pdf_text import PdfUnreadable, pdf_page_texts, short
from app.core.extract.worker import WorkerSlot, requests
from app.core.records import Section

log = logging.getLogger(__name__)

PageTexts = list[tuple[int, str]]
# Pages with text; pages that show an image but have (almost) no text, and pages whose text
# layer is garbage (page, reason): OCR candidates both.
PdfResult = tuple[PageTexts, list[int], list[tuple[int, str]]]
# Set to "1" to parse in this process: for frozen apps where spawning is awkward, and for tests.
INPROCESS_ENV = "SIFT_PDF_INPROCESS"
# Seconds the worker sleeps before parsing; lets tests exercise the timeout. Never set it in use.
TEST_DELAY_ENV = "SIFT_PDF_TEST_DELAY"
# A scanned page often carries a stamp or page number as text; fewer letters than this and an
# image on the page make it an OCR candidate.
_MIN_TEXT_CHARS = 16


def read_pdf_pages(path: str, delay: float = 0.0, max_pages: int | None = None) -> PdfResult | str:
    """Pages with text as (1-based page number, text), the numbers of the pages that need OCR
    and the pages whose text is garbage with the reason; or a reason to skip the file.

    Top-level so that a spawned worker can import it. Never raises for a bad file.
    """
    if delay > 0:
        time.sleep(delay)
    found: PageTexts = []
    scanned: list[int] = []
    garbage: list[tuple[int, str]] = []
    failures: list[Exception] = []
    count = 0
    try:
        for page in pdf_page_texts(path, max_pages, failures):
            count += 1
            if page.garbage:
                garbage.append((page.number, page.garbage))
            elif sum(c.isalnum() for c in page.text) < _MIN_TEXT_CHARS and page.has_image:
                scanned.append(page.number)
            elif page.text.strip():
                found.append((page.number, page.text))
    except PdfUnreadable as exc:
        return str(exc)
    if not count and failures:
        return f"the PDF is damaged: {short(failures[0])}"
    return found, scanned, garbage


def pages_text(numbers: list[int]) -> str:
    """"page 3", "pages 2–5, 9": the pages a note is about."""
    runs: list[list[int]] = []
    for n in sorted(numbers):
        if runs and n == runs[-1][-1] + 1:
            runs[-1].append(n)
        else:
            runs.append([n])
    parts = [str(r[0]) if len(r) == 1 else f"{r[0]}–{r[-1]}" for r in runs]
    return ("page " if len(numbers) == 1 else "pages ") + ", ".join(parts)


def garbage_note(garbage: list[tuple[int, str]]) -> str:
    """What users are told of the pages whose text layer is garbage (OCR reads them instead)."""
    return f"{pages_text([n for n, _reason in garbage])}: {garbage[0][1]}"


def _serve(conn: Connection) -> None:
    """Worker loop: answer (path, delay) requests until told to stop or the pipe closes."""
    import pypdf  # noqa: F401  # imported before "ready" so startup is not billed to a file
    import pypdfium2  # noqa: F401

    for request in requests(conn):
        try:
            result: PdfResult | str = read_pdf_pages(*request)
        except BaseException as exc:  # keep serving: the parent decides what is fatal
            result = f"could not read the PDF: {short(exc)}"
        conn.send(result)


_slot = WorkerSlot(_serve, "sift-pdf")
shutdown = _slot.shutdown  # stop the worker; a read still waiting on it raises Cancelled


def _read_in_worker(path: str, timeout: float) -> PdfResult | str:
    delay = float(os.environ.get(TEST_DELAY_ENV) or 0)
    with _slot.lock:
        worker = _slot.get_or_none("parsing PDFs in-process")
        if worker is None:
            return read_pdf_pages(path)
        try:
            return worker.ask((path, delay), timeout)  # type: ignore[no-any-return]
        except TimeoutError:
            _slot.discard()
            return f"took longer than {timeout:g} s to read; skipped"
        except (EOFError, OSError, ValueError):
            _slot.lost()
            return "the PDF reader crashed on this file"


def extract_pdf_pages(path: Path, timeout: float) -> tuple[list[Section], tuple[int, ...], list[str]]:
    """One Section per page with text, the pages that need OCR (scanned, or with a garbage text
    layer) and notes for the user; SkipFile if there is none of them."""
    if os.environ.get(INPROCESS_ENV) == "1":
        result = read_pdf_pages(str(path))
    else:
        result = _read_in_worker(str(path), timeout)
    if isinstance(result, str):
        raise SkipFile(result)
    found, scanned, garbage = result
    if not found and not scanned and not garbage:
        raise SkipFile("the PDF has no text layer and no images")
    sections = [Section(text, page=number, first_line=1) for number, text in found]
    notes = [garbage_note(garbage)] if garbage else []
    return sections, tuple(sorted(scanned + [n for n, _reason in garbage])), notes


def extract_pdf(path: Path, timeout: float) -> list[Section]:
    """One Section per page with text (no OCR); SkipFile if none has any."""
    sections, _ocr, notes = extract_pdf_pages(path, timeout)
    if not sections:
        raise SkipFile(f"{notes[0]}; OCR is turned off" if notes
                       else "the PDF has no text layer (scanned); its pages need OCR")
    return sections
