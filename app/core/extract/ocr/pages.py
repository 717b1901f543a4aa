"""OCR of scanned PDF pages and images: RapidOCR (ONNX models shipped in its wheel, offline), or
Tesseract when the chosen languages need it and it is installed (ocr_engines.py).

Pages are read in a spawned worker process at low CPU priority, one page per request, so that a
page that takes too long is stopped by killing the worker (the next page gets a fresh one).
Results are cached by the file's content hash and the engine and languages that read it, so the
same file is never read twice by the same engine, and choosing other languages reads it again.

The indexer calls ``ocr_pages(path, pages, cache_dir=…)`` as a later, lower-priority stage for
the pages that ``extract_file`` listed in ``Extraction.ocr_pages``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from app.core.errors import Cancelled
from app.core.extract.clean import clean_sections
from app.core.extract.ocr import bundled
from app.core.extract.ocr.cache import OcrCache
from app.core.extract.ocr.engines import EngineChoice, choose, tesseract_page
from app.core.extract.ocr.words import respace
from app.core.extract.worker import WorkerSlot, requests
from app.core.records import Section

log = logging.getLogger(__name__)

# Seconds the worker sleeps before each page; lets tests exercise the time limit.
TEST_DELAY_ENV = "SIFT_OCR_TEST_DELAY"
# The bundled recogniser drops the spaces between words in text under about 40 px high
# ("Paidon3March"): pages are rendered at 300 dpi (11 pt text is 46 px) and small images are
# enlarged for it (word error rate 0.84 at 200 dpi), up to MAX_SIDE_PX. Lines are cut from that
# image; they are found on a smaller one (bundled.DETECT_DPI), which reads as well, for less.
# A screenshot of 15 px text enlarged to 3,200 px reads word for word (WER 0.09 at 2,400 px: the
# spaces between words were lost); the enlarging costs next to nothing.
RENDER_DPI = 300
MAX_SIDE_PX = 4000
MIN_SIDE_PX = 3200
# Tesseract reads small images best enlarged less (at 3,200 px "Größe" became "Große").
TESSERACT_MIN_SIDE_PX = 2400
# A page takes 2–5 CPU seconds; the limit is there to stop a hang, not a busy machine.
DEFAULT_PAGE_TIMEOUT_S = 300.0


@dataclass(slots=True)
class OcrResult:
    """Per-page text as Sections (page numbers kept), pages that failed and why."""

    sections: list[Section] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)
    note: str = ""  # the languages asked for could not be used, and what to install

    @property
    def reason(self) -> str:
        """Why nothing was found, in words ("" when text was found)."""
        if self.sections:
            return ""
        if self.failed:
            reasons = sorted(set(self.failed.values()))
            found = reasons[0] if len(reasons) == 1 else "; ".join(reasons[:3])
        else:
            found = "no text found by OCR"
        return f"{found} ({self.note})" if self.note else found


_languages: tuple[str, ...] = ()


def use_languages(languages: Sequence[str]) -> None:
    """The OCR languages chosen in the settings (Tesseract codes; empty: the bundled engine)."""
    global _languages
    _languages = tuple(languages)


def current_engine() -> EngineChoice:
    """The engine that reads scans now for the chosen languages (see ocr_engines.choose)."""
    return choose(_languages)


def missing_engine() -> str | None:
    """What the user must install for OCR, or None if the engine's packages are there.

    Only looks the packages up: importing OpenCV here would set Qt variables in the app's
    own process. A missing system library shows when the worker imports it (import_problem).
    """
    import importlib.util

    for module in ("rapidocr_onnxruntime", "onnxruntime", "cv2"):
        try:
            found = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            return "OCR needs the Python package 'rapidocr-onnxruntime' (pip install rapidocr-onnxruntime)"
    return None


def import_problem(exc: ImportError) -> str:
    """The words for an engine that is installed but does not load."""
    text = str(exc)
    for library, package in (("libGL", "libgl1"), ("libglib", "libglib2.0-0"), ("libgthread", "libglib2.0-0"),
                             ("libxcb", "libxcb1")):
        if library in text:
            return (f"OCR needs the system library {text.split(':')[0]}; "
                    f"on Debian or Ubuntu: sudo apt install {package}")
    return missing_engine() or f"the OCR engine could not be loaded ({text[:150]})"


# ----------------------------------------------------------------- worker side


def _page_image(path: str, page: int, min_side: int = MIN_SIDE_PX) -> tuple[Any, int]:
    """The page as an RGB PIL image, at most MAX_SIDE_PX on its longest side, and the long side
    at which to look for its lines: a PDF page's at DETECT_DPI, an image's own (capped)."""
    from PIL import Image

    if path.lower().endswith(".pdf"):
        import pypdfium2 as pdfium

        pdf = pdfium.PdfDocument(path)
        try:
            pdf_page = pdf[page - 1]
            width, height = pdf_page.get_size()
            scale = min(RENDER_DPI / 72, MAX_SIDE_PX / max(width, height, 1))
            image = pdf_page.render(scale=scale).to_pil()
            detect = round(max(width, height) * min(scale, bundled.DETECT_DPI / 72))
        finally:
            pdf.close()
    else:
        with Image.open(path) as source:
            source.seek(page - 1)
            source.draft("RGB", (MAX_SIDE_PX, MAX_SIDE_PX))  # JPEG decodes at a smaller scale
            image = source.convert("RGB")
        detect = min(max(image.size), bundled.DETECT_MAX_SIDE)
    image = image.convert("RGB")
    longest = max(image.size)
    if longest > MAX_SIDE_PX:
        image.thumbnail((MAX_SIDE_PX, MAX_SIDE_PX))
    elif longest < min_side:
        scale = min(3.0, min_side / longest)
        image = image.resize((round(image.width * scale), round(image.height * scale)),
                             Image.Resampling.LANCZOS)
    return image, detect


def _rapidocr_page(engine: Any, path: str, page: int) -> str:
    image, detect = _page_image(path, page)
    return respace(bundled.lines_from_boxes(bundled.read_page(engine, image, detect)))


def _serve(conn: Connection) -> None:
    """Worker loop: answer (path, page, delay, engine, command, languages, seconds) with
    ("ok", text) or ("error"/"unavailable", reason)."""
    with contextlib.suppress(OSError, AttributeError):
        os.nice(10)  # OCR yields the CPU to text extraction, embedding and the window
    engine: Any = None
    for request in requests(conn):
        path, page, delay, name, command, languages, seconds = request
        try:
            if delay:
                time.sleep(delay)
            if name == "tesseract":
                # Stopped by its own time limit first, so that the worker survives a slow page.
                image, _detect = _page_image(path, page, TESSERACT_MIN_SIDE_PX)
                reply = ("ok", tesseract_page(image, command, languages, seconds).strip())
            else:
                engine = engine or bundled.make_engine(MAX_SIDE_PX)
                reply = ("ok", _rapidocr_page(engine, path, page))
        except FileNotFoundError as exc:  # Tesseract uninstalled since it was chosen: not the page's fault
            reply = ("unavailable", f"the OCR engine could not be started ({exc})")
        except subprocess.TimeoutExpired:
            reply = ("error", f"OCR took longer than {seconds:g} s on page {page}; skipped")
        except ImportError as exc:
            reply = ("unavailable", import_problem(exc))
        except Exception as exc:  # one bad page must not end the worker
            reply = ("error", f"page {page} could not be read by OCR: {str(exc)[:150] or type(exc).__name__}")
        conn.send(reply)


# ----------------------------------------------------------------- app side


_slot = WorkerSlot(_serve, "sift-ocr")
shutdown = _slot.shutdown  # stop the OCR worker; an OCR call waiting on it raises Cancelled


def _ocr_page(path: str, page: int, timeout: float, engine: EngineChoice) -> tuple[str, str]:
    """("ok", text), ("error", reason) for a page OCR cannot read, or ("unavailable", reason)
    when OCR cannot run on this machine; within ``timeout`` seconds."""
    delay = float(os.environ.get(TEST_DELAY_ENV) or 0)
    try:
        worker = _slot.get()
    except (OSError, RuntimeError) as exc:
        return "unavailable", f"the OCR worker could not start ({exc})"
    # Tesseract gets most of the time limit for itself: the worker then outlives a slow page.
    inner = max(1.0, timeout * 0.9 - delay)
    try:
        return worker.ask((path, page, delay, engine.name, engine.command, engine.languages, inner),
                          timeout)
    except TimeoutError:
        _slot.discard()
        return "error", f"OCR took longer than {timeout:g} s on page {page}; skipped"
    except (EOFError, OSError, ValueError):
        _slot.lost()
        return "error", f"the OCR engine crashed on page {page}"


def ocr_pages(path: Path, pages: Iterable[int], *, timeout_per_page: float = DEFAULT_PAGE_TIMEOUT_S,
              cache_dir: Path | None = None, cancelled: Any = None,
              engine: EngineChoice | None = None, cache: OcrCache | None = None) -> OcrResult:
    """Read ``pages`` (1-based) of a PDF or image by OCR; never raises for a bad page.

    ``cache_dir`` holds results by content hash (None: no cache); ``cache``, an open cache of
    this file for ``engine``, is used instead by a caller reading a file a page at a time (it
    saves it then). ``cancelled`` is an optional callable checked between pages; when it
    returns True, Cancelled is raised. ``engine``: the one for the chosen languages unless given.
    """
    engine = engine or current_engine()
    problem = missing_engine() if engine.name == "rapidocr" else None
    wanted = sorted(set(pages))
    result = OcrResult(note=engine.note)
    if problem is not None:
        result.failed = dict.fromkeys(wanted, problem)
        return result
    own = cache is None
    cache = cache if cache is not None else OcrCache(cache_dir, path, engine.key)
    try:
        for page in wanted:
            if str(page) in cache.pages or str(page) in cache.failed:
                continue
            if cancelled is not None and cancelled():
                raise Cancelled()
            # The worker is taken for one page at a time: a long scan never holds it for long.
            with _slot.lock:
                status, value = _ocr_page(str(path), page, timeout_per_page, engine)
            if status == "unavailable":  # the machine's fault, not the page's: try again later
                result.failed[page] = value
                continue
            if status == "ok":
                cache.pages[str(page)] = value
            else:
                cache.failed[str(page)] = value
            cache.save()  # page by page: a kill loses at most the page being read
    finally:
        if own:
            cache.save()
    texts = {p: cache.pages[str(p)] for p in wanted if str(p) in cache.pages}
    result.failed.update({p: cache.failed[str(p)] for p in wanted if str(p) in cache.failed})
    result.sections = _sections(path, wanted, texts)
    return result


def _sections(path: Path, wanted: list[int], texts: dict[int, str]) -> list[Section]:
    image = not str(path).lower().endswith(".pdf")
    raw = [Section(text, page=None if image and len(wanted) == 1 else page, first_line=1)
           for page, text in sorted(texts.items()) if text.strip()]
    return clean_sections(raw, "image")


def cached_result(path: Path, pages: Iterable[int], cache_dir: Path | None) -> OcrResult | None:
    """The result of the engine for the chosen languages from the cache alone when every page is
    there; None otherwise."""
    found, missing = cached_pages(path, pages, cache_dir)
    return None if missing else found


def cached_pages(path: Path, pages: Iterable[int],
                 cache_dir: Path | None) -> tuple[OcrResult, list[int]]:
    """What the cache holds of ``pages`` for the engine of the chosen languages, and the pages
    it does not hold yet (all of them without a cache)."""
    wanted = sorted(set(pages))
    engine = current_engine()
    if cache_dir is None:
        return OcrResult(note=engine.note), wanted
    cache = OcrCache(cache_dir, path, engine.key)
    missing = [p for p in wanted if str(p) not in cache.pages and str(p) not in cache.failed]
    texts = {p: cache.pages[str(p)] for p in wanted if str(p) in cache.pages}
    failed = {p: cache.failed[str(p)] for p in wanted if str(p) in cache.failed}
    return OcrResult(sections=_sections(path, wanted, texts), failed=failed, note=engine.note), missing


def merge_pages(text_sections: list[Section], ocr_sections: list[Section]) -> list[Section]:
    """Text-layer and OCR sections together in page order."""
    return sorted([*text_sections, *ocr_sections], key=lambda s: s.page or 0)
