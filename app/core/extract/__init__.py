"""Text extraction: which files Sift can read, and their text as Sections (or why not).

Two stages, so that OCR never holds up the rest of indexing:

* ``extract_file(path)`` is quick: it returns an ``Extraction`` with the text found directly
  (cleaned, see clean.py) and ``ocr_pages``, the pages (1-based; 1 for an image) that have no
  text and need OCR. A file with only such pages has no sections yet: index it by name now.
* ``app.core.extract.ocr.pages.ocr_pages(path, pages, cache_dir=…)`` reads those pages later, in a
  low-priority worker process with a time limit per page, cached by content hash; its sections
  (page numbers kept) are cleaned the same way. ``merge_pages`` puts both in page order.

``extract(path)`` serves callers without stages of their own: cached OCR text is used, and pages
not in the cache are read in the background (ocr/queue.py): a text PDF's text pages come back at
once, a scan or an image is skipped with a reason, until a later look finds the OCR'd text.

May import: storage, encoders, host and the loose modules; nothing that indexes or searches.
"""

from __future__ import annotations

import logging
import stat
from dataclasses import dataclass, field
from pathlib import Path

from app.core.errors import Cancelled, SkipFile
from app.core.extract.kinds import GROUPS, extensions_by_group, group_of, kind_of, supported_extensions
from app.core.records import Member, Section

__all__ = ["GROUPS", "Extraction", "extensions_by_group", "extract", "extract_file",
           "extract_parts", "group_of", "kind_of", "shutdown", "supported_extensions"]

log = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 50 * 2**20
# A mailbox is read as a stream; this much of it is indexed, the rest is noted as left out.
MBOX_MAX_BYTES = 128 * 2**20


@dataclass(slots=True)
class Extraction:
    """What stage 1 found in a file: clean sections, pages still needing OCR, and notes.

    ``notes`` are user-facing remarks about a file indexed only in part ("only the first
    100,000 rows of Sheet1 are indexed"); the indexer may show them like skip reasons.
    ``members`` are files inside this one (e-mail attachments), each indexed as its own result.
    """

    kind: str
    sections: list[Section] = field(default_factory=list)
    ocr_pages: tuple[int, ...] = ()
    notes: list[str] = field(default_factory=list)
    members: list[Member] = field(default_factory=list)
    # Pages (of this file, or of a member) that background OCR still reads: the file is found by
    # its other text now, and is read again when they are done.
    ocr_waiting: tuple[int, ...] = ()


def _size_text(size: int) -> str:
    if size < 2**10:
        return f"{size} bytes"
    if size < 2**20:
        return f"{size / 2**10:.1f} KB"
    return f"{size / 2**20:.1f} MB"


def _check_size(path: Path, max_bytes: int) -> None:
    from app.core.extract.text import os_error_reason

    try:
        info = path.stat()
    except OSError as exc:
        raise SkipFile(os_error_reason(exc)) from exc
    if not stat.S_ISREG(info.st_mode):
        raise SkipFile("not a regular file")
    if info.st_size == 0:
        raise SkipFile("empty file (0 bytes)")
    if info.st_size > max_bytes:
        limit = _size_text(max_bytes).replace(".0 ", " ")
        raise SkipFile(f"larger than the {limit} limit ({_size_text(info.st_size)})")


def _read(kind: str, path: Path, max_bytes: int, pdf_timeout: float) -> Extraction:
    """Dispatch to the format's module; they are imported on first use, so that a spawned
    worker does not pay for libraries it never needs."""
    if kind == "pdf":
        from app.core.extract.pdf import extract_pdf_pages

        sections, ocr, notes = extract_pdf_pages(path, pdf_timeout)
        return Extraction(kind, sections, ocr, notes)
    if kind == "image":
        from app.core.extract.images import check_image

        frames = check_image(path)
        return Extraction(kind, [], tuple(range(1, frames + 1)))
    if kind == "mbox":
        from app.core.extract.mail import extract_mbox

        sections, notes, members = extract_mbox(path, max(max_bytes, MBOX_MAX_BYTES), max_bytes)
        return Extraction(kind, sections, (), notes, members)
    if kind == "eml":
        from app.core.extract.mail import extract_eml

        sections, members = extract_eml(path, max_bytes)
        return Extraction(kind, sections, members=members)
    from app.core.extract.limited import LIMITED_KINDS, extract_limited

    if kind in LIMITED_KINDS:  # hostile input can make these slow or greedy: under limits
        return extract_limited(kind, path, max_bytes, pdf_timeout)
    return read_format(kind, path, max_bytes)


def read_format(kind: str, path: Path, max_bytes: int) -> Extraction:
    """Read a format that needs neither the PDF reader nor OCR, in this process."""
    if kind in ("xlsx", "ods", "csv"):
        from app.core.extract.sheets import extract_sheet

        sections, notes = extract_sheet(kind, path, max_bytes)
        return Extraction(kind, sections, (), notes)
    return Extraction(kind, _read_plain(kind, path, max_bytes))


def _read_plain(kind: str, path: Path, max_bytes: int) -> list[Section]:
    if kind == "docx":
        from app.core.extract.docx import extract_docx

        return extract_docx(path, max_bytes)
    if kind == "pptx":
        from app.core.extract.pptx import extract_pptx

        return extract_pptx(path, max_bytes)
    if kind in ("odt", "odp"):
        from app.core.extract.odf import extract_odf

        return extract_odf(kind, path, max_bytes)
    if kind == "epub":
        from app.core.extract.epub import extract_epub

        return extract_epub(path, max_bytes)
    if kind == "rtf":
        from app.core.extract.rtf import extract_rtf

        return extract_rtf(path, max_bytes)
    if kind == "html":
        from app.core.extract.html import extract_html

        return extract_html(path, max_bytes)
    from app.core.extract.text import extract_text

    return extract_text(path, max_bytes)


def extract_file(path: Path, *, max_bytes: int = DEFAULT_MAX_BYTES, pdf_timeout: float = 60.0) -> Extraction:
    """Stage 1 (no OCR): clean sections plus the pages that need OCR; SkipFile if unreadable."""
    from app.core.extract.clean import clean_sections

    path = Path(path)
    kind = kind_of(path)
    if kind is None:
        raise SkipFile("unsupported file type")
    # A mailbox of any size is read as a stream up to MBOX_MAX_BYTES, so it has no size limit.
    _check_size(path, 2**62 if kind == "mbox" else max_bytes)
    try:
        result = _read(kind, path, max_bytes, pdf_timeout)
    except (SkipFile, Cancelled):
        raise
    except MemoryError as exc:
        raise SkipFile("too large to read in the memory available") from exc
    except RecursionError as exc:
        raise SkipFile("nested too deeply to read") from exc
    except Exception as exc:
        # A library failing on a file it should have rejected politely: log it as the bug it
        # is, and let indexing go on with the next file.
        log.warning("could not read %s", path, exc_info=True)
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise SkipFile(f"could not read the file ({first})") from exc
    result.sections = clean_sections(result.sections, kind)
    if not result.sections and not result.ocr_pages:
        raise SkipFile("no text found")
    return result


def extract(path: Path, *, max_bytes: int = DEFAULT_MAX_BYTES, pdf_timeout: float = 60.0,
            ocr: bool = True, ocr_wait: bool = False, ocr_timeout: float = 300.0,
            ocr_cache: Path | None = None) -> list[Section]:
    """The text of a file as Sections; SkipFile with the reason if there is none (yet).

    Pages that need OCR come from the cache (``ocr_cache``, default: Sift's cache folder). If
    they are not there, ``ocr_wait`` reads them now; otherwise they are queued for OCR in the
    background, and a text PDF returns its text pages (a scan or an image is skipped with a
    reason) until a later look finds the OCR'd text in the cache.
    """
    return extract_parts(path, max_bytes=max_bytes, pdf_timeout=pdf_timeout, ocr=ocr,
                         ocr_wait=ocr_wait, ocr_timeout=ocr_timeout, ocr_cache=ocr_cache).sections


def extract_parts(path: Path, *, max_bytes: int = DEFAULT_MAX_BYTES, pdf_timeout: float = 60.0,
                  ocr: bool = True, ocr_wait: bool = False, ocr_timeout: float = 300.0,
                  ocr_cache: Path | None = None) -> Extraction:
    """As extract(), keeping the files inside this one (mail attachments) as ``members``."""
    from app.core.extract.ocr.scans import OcrOptions, read_scanned, read_scanned_member
    from app.core.storage.catalog import RETRY_REASON

    path = Path(path)
    result = extract_file(path, max_bytes=max_bytes, pdf_timeout=pdf_timeout)
    scanned_members = any(m.ocr_pages for m in result.members)
    if not result.ocr_pages and not scanned_members:
        return result
    if ocr_cache is None:
        from app.core.host.paths import resolve_paths

        ocr_cache = resolve_paths().cache_dir / "ocr"
    opts = OcrOptions(enabled=ocr, cache=ocr_cache, wait=ocr_wait, timeout=ocr_timeout)
    if scanned_members:
        result.members = [read_scanned_member(m, path, opts) for m in result.members]
        if any(m.sections and m.reason.startswith(RETRY_REASON) for m in result.members):
            result.ocr_waiting = (0,)  # a member's pages: the mail is read again for them
    if result.kind == "pdf" and result.ocr_pages and not ocr and not result.sections and result.notes:
        raise SkipFile(f"{result.notes[0]}; OCR is turned off")  # a garbage text layer (pdf.py)
    if result.ocr_pages:
        result.sections, waiting = read_scanned(path, result.kind, result.sections,
                                                result.ocr_pages, opts)
        result.ocr_waiting = waiting or result.ocr_waiting
    return result


def shutdown() -> None:
    """Stop background OCR and the PDF, OCR and reader worker processes; call once at app exit."""
    import sys

    for name in ("app.core.extract.ocr.queue", "app.core.extract.pdf", "app.core.extract.ocr.pages",
                 "app.core.extract.limited"):
        module = sys.modules.get(name)
        if module is not None:
            module.shutdown()
