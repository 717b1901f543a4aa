"""A PDF's text page by page: pdfium reads it, pypdf checks encryption and is the fallback.

pdfium was measured closest to poppler's pdftotext on real papers (tests/benchmarks/pdf_text.py,
docs/pdf-text.md) and is about ten times faster than pypdf; pypdf keeps the encryption check
(with the reasons users see) and reads the files pdfium cannot open. Every page's text is
checked for garbage (garbage.py): such a page is an OCR candidate, like a scanned page.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass

from app.core.extract.garbage import garbage_reason
from app.core.extract.text import os_error_reason

__all__ = ["PageText", "pdf_page_texts"]

_MAX_REASON_CHARS = 200
# A carriage return before a lower-case letter is a TeX "fl" ligature slot (clean.py repairs
# it); any other lone one is a line break.
_LONE_CR = re.compile(r"\r(?![a-z])")
# Nested form XObjects deeper than this are not searched for images.
_IMAGE_DEPTH = 4


@dataclass(frozen=True, slots=True)
class PageText:
    """One page: its text, whether it shows an image, and why its text is garbage ("" if not)."""

    number: int
    text: str
    has_image: bool
    garbage: str = ""


class PdfUnreadable(Exception):
    """The file cannot be read as a PDF; the message is the reason users see."""


def short(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text if len(text) <= _MAX_REASON_CHARS else text[: _MAX_REASON_CHARS - 1] + "…"


def normalize(text: str) -> str:
    """pdfium's and pypdf's line breaks as "\\n", without NUL characters."""
    text = text.replace("\r\n", "\n").replace("\x00", "")
    return _LONE_CR.sub("\n", text) if "\r" in text else text


def _judge(number: int, text: str, has_image: bool) -> PageText:
    # The raw text: the hygiene drops the control characters that tell a broken font.
    reason = garbage_reason(text) if text.strip() else None
    return PageText(number, text, has_image, reason or "")


def _pypdf_check(path: str) -> tuple[object | None, str]:
    """pypdf's reader (None if it cannot parse the file) and why the file cannot be read at all
    ("" when it may be): encrypted with a password, or gone."""
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    from pypdf import PasswordType, PdfReader
    from pypdf.errors import DependencyError, FileNotDecryptedError

    try:
        reader = PdfReader(path)
        if reader.is_encrypted and reader.decrypt("") == PasswordType.NOT_DECRYPTED:
            return None, "the PDF is encrypted"
        return reader, ""
    except OSError as exc:
        return None, os_error_reason(exc)
    except DependencyError:
        # pypdf needs the optional `cryptography` package for AES, even for an empty password.
        return None, "the PDF is encrypted (AES needs the 'cryptography' package)"
    except FileNotDecryptedError:
        return None, "the PDF is encrypted"
    except Exception as exc:  # pypdf raises many kinds on broken files; pdfium may still read it
        return None, f"the PDF is damaged: {short(exc)}"


def _pdfium_page(document: object, index: int, image_type: int) -> tuple[str, bool]:
    page = document[index]  # type: ignore[index]
    try:
        textpage = page.get_textpage()
        text = normalize(textpage.get_text_range())
        textpage.close()
        images = page.get_objects(filter=[image_type], max_depth=_IMAGE_DEPTH)
        return text, next(images, None) is not None
    finally:
        page.close()


def _pdfium_pages(path: str, max_pages: int | None,
                  failures: list[Exception]) -> Iterator[PageText] | None:
    """The pages as pdfium reads them, or None when pdfium cannot open the file."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    try:
        document = pdfium.PdfDocument(path)
    except pdfium.PdfiumError:
        return None

    def pages() -> Iterator[PageText]:
        try:
            count = len(document) if max_pages is None else min(len(document), max_pages)
            for index in range(count):
                try:
                    text, has_image = _pdfium_page(document, index, pdfium_c.FPDF_PAGEOBJ_IMAGE)
                except pdfium.PdfiumError as exc:  # one broken page: the others still count
                    failures.append(exc)
                    continue
                yield _judge(index + 1, text, has_image)
        finally:
            document.close()

    return pages()


def _pypdf_pages(pages: list[object], failures: list[Exception]) -> Iterator[PageText]:
    for number, page in enumerate(pages, start=1):
        try:
            text = normalize(page.extract_text())  # type: ignore[attr-defined]
        except Exception as exc:  # one broken page should not cost the whole document
            failures.append(exc)
            continue
        try:
            has_image = len(page.images) > 0  # type: ignore[attr-defined]
        except Exception:  # a damaged resource dictionary: let OCR have a look
            has_image = True
        yield _judge(number, text, has_image)


def pdf_page_texts(path: str, max_pages: int | None = None,
                   failures: list[Exception] | None = None) -> Iterator[PageText]:
    """Every page's text, in order; raises PdfUnreadable with the reason when there is none.

    ``failures`` collects the errors of the pages that could not be read (the others still are).
    """
    reader, problem = _pypdf_check(path)
    if problem and reader is None and not problem.startswith("the PDF is damaged"):
        raise PdfUnreadable(problem)
    failures = [] if failures is None else failures
    pages = _pdfium_pages(path, max_pages, failures)
    if pages is not None:
        return pages
    if reader is None:
        raise PdfUnreadable(problem)
    try:
        pages_found = list(reader.pages)[:max_pages]  # type: ignore[attr-defined]
    except Exception as exc:  # the page tree itself is broken
        raise PdfUnreadable(f"the PDF is damaged: {short(exc)}") from exc
    return _pypdf_pages(pages_found, failures)
