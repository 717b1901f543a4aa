"""The OCR step of extraction, for a file and for the scans attached to it (e-mail attachments).

Pages that need OCR come from the cache when they are there; otherwise they are read at once only
when the caller waits, and queued for the background (queue.py) when it does not: the file's text
pages are its text until then (a whole scan is skipped with a reason), and the pages OCR reads
join them at a later look. No file's words wait for OCR. An attachment is written to a spool file
named by its content for the OCR worker to read; when its OCR ends the mail holding it is looked
at again.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, replace
from pathlib import Path

from app.core.errors import SkipFile
from app.core.extract.kinds import kind_of
from app.core.records import Member, Section
from app.core.storage.catalog import RETRY_REASON

WAITING = f"{RETRY_REASON}: its text is being read in the background and is added at the next scan"
SPOOL = "attachments"  # in the OCR cache folder: attachments waiting for the OCR worker


@dataclass(frozen=True)
class OcrOptions:
    """How extraction treats pages that need OCR."""

    enabled: bool
    cache: Path
    wait: bool = False
    timeout: float = 300.0


def read_scanned(path: Path, kind: str, sections: list[Section], pages: tuple[int, ...],
                 opts: OcrOptions, *, notify: Path | None = None,
                 spooled: bool = False) -> tuple[list[Section], tuple[int, ...]]:
    """``sections`` with the OCR text of ``pages`` merged in page order, and the pages still
    being read in the background (their text joins at a later look); SkipFile with the reason
    when there is no text (yet). ``notify``: the file to look at again when background OCR ends
    (default ``path``); ``spooled``: ``path`` is a spool file the queue removes when done."""
    if not opts.enabled:
        if sections:
            return sections, ()
        raise SkipFile(needs_ocr_reason(kind))
    from app.core.extract.ocr.pages import cached_pages, merge_pages, missing_engine, ocr_pages

    found, missing = cached_pages(path, pages, opts.cache)
    if missing:
        problem = missing_engine()
        if problem is not None and not sections and not found.sections:
            raise SkipFile(problem)
        if problem is not None:
            missing = []
        elif opts.wait:
            found = ocr_pages(path, pages, timeout_per_page=opts.timeout, cache_dir=opts.cache)
            missing = []
        else:
            from app.core.extract.ocr.queue import schedule

            schedule(path, missing, opts.cache, opts.timeout, notify=notify, remove_after=spooled)
    merged = merge_pages(sections, found.sections)
    if not merged:
        raise SkipFile(WAITING if missing else found.reason or "no text found by OCR")
    return merged, tuple(missing)


def read_scanned_member(member: Member, container: Path, opts: OcrOptions) -> Member:
    """An attachment with its scanned pages read, or queued: then it has its text pages, and
    ``reason`` says it waits (skipped with that reason when it has no text yet)."""
    if not member.ocr_pages:
        return member
    done = {"ocr_pages": (), "data": b""}
    kind = kind_of(Path(member.name)) or "image"
    if not opts.enabled:
        return replace(member, **done, **_outcome(list(member.sections), needs_ocr_reason(kind)))
    spool = opts.cache / SPOOL / (hashlib.sha256(member.data).hexdigest()
                                  + Path(member.name).suffix.lower())
    queued = False
    try:
        _write_private(spool, member.data)
        sections, waiting = read_scanned(spool, kind, list(member.sections), member.ocr_pages,
                                         opts, notify=container, spooled=True)
        queued = bool(waiting)
    except SkipFile as exc:
        queued = exc.message == WAITING
        return replace(member, **done, sections=(), reason=exc.message)
    except OSError as exc:
        return replace(member, **done, sections=(),
                       reason=f"could not be handed to OCR ({exc.strerror or exc})")
    finally:
        if not queued:
            spool.unlink(missing_ok=True)
    return replace(member, **done, sections=tuple(sections), reason=WAITING if queued else "")


def waiting_reason(pages: tuple[int, ...]) -> str:
    """The note kept with a file found by its text while OCR reads its other pages."""
    if not pages:  # an attachment's pages
        return f"{RETRY_REASON}: an attachment is being read in the background"
    if len(pages) == 1:
        return f"{RETRY_REASON}: page {pages[0]} is being read in the background"
    which = f"pages {', '.join(map(str, pages[:-1]))} and {pages[-1]}" if len(pages) <= 5 \
        else f"{len(pages)} pages"
    return f"{RETRY_REASON}: {which} are being read in the background"


def needs_ocr_reason(kind: str) -> str:
    if kind == "pdf":
        return "the PDF has no text layer (scanned); OCR is turned off"
    return "an image: its text needs OCR, which is turned off"


def _outcome(sections: list[Section], reason: str) -> dict[str, object]:
    return {"sections": tuple(sections)} if sections else {"sections": (), "reason": reason}


def _write_private(path: Path, data: bytes) -> None:
    """Write an attachment for the OCR worker, readable by the user only (it is their mail)."""
    if path.exists():
        return  # the same content, queued already
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(path.name + ".part")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)
