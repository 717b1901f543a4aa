"""The OCR step of extraction, for a file and for the scans attached to it (e-mail attachments).

Pages that need OCR come from the cache when they are there; otherwise a few scanned pages of a
text PDF are read at once (or all of them when the caller waits), and the rest is queued for the
background (ocr_queue.py) while the file is skipped with a reason until a later look. An
attachment is written to a spool file named by its content for the OCR worker to read; when its
OCR ends the mail holding it is looked at again.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, replace
from pathlib import Path

from app.core.errors import SkipFile
from app.core.extract.kinds import kind_of
from app.core.records import Member, Section

# A text PDF with up to this many scanned pages gets them read at once; more wait for the
# background, so that a long scan never holds up the files behind it.
INLINE_OCR_PAGES = 3
WAITING = "waiting for OCR: its text is being read in the background and is added at the next scan"
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
                 spooled: bool = False) -> list[Section]:
    """``sections`` with the OCR text of ``pages`` merged in page order; SkipFile with the reason
    when there is no text (yet). ``notify``: the file to look at again when background OCR ends
    (default ``path``); ``spooled``: ``path`` is a spool file the queue removes when done."""
    if not opts.enabled:
        if sections:
            return sections
        raise SkipFile(needs_ocr_reason(kind))
    from app.core.extract.ocr.pages import cached_result, merge_pages, missing_engine, ocr_pages

    found = cached_result(path, pages, opts.cache)
    if found is None:
        problem = missing_engine()
        if problem is not None and not sections:
            raise SkipFile(problem)
        if problem is not None:
            return sections
        if opts.wait or (sections and len(pages) <= INLINE_OCR_PAGES):
            found = ocr_pages(path, pages, timeout_per_page=opts.timeout, cache_dir=opts.cache)
        else:
            from app.core.extract.ocr.queue import schedule

            schedule(path, pages, opts.cache, opts.timeout, notify=notify, remove_after=spooled)
            raise SkipFile(WAITING)
    merged = merge_pages(sections, found.sections)
    if not merged:
        raise SkipFile(found.reason or "no text found by OCR")
    return merged


def read_scanned_member(member: Member, container: Path, opts: OcrOptions) -> Member:
    """An attachment with its scanned pages read (or queued: then skipped with the reason)."""
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
        sections = read_scanned(spool, kind, list(member.sections), member.ocr_pages, opts,
                                notify=container, spooled=True)
    except SkipFile as exc:
        queued = exc.message == WAITING
        return replace(member, **done, sections=(), reason=exc.message)
    except OSError as exc:
        return replace(member, **done, sections=(),
                       reason=f"could not be handed to OCR ({exc.strerror or exc})")
    finally:
        if not queued:
            spool.unlink(missing_ok=True)
    return replace(member, **done, sections=tuple(sections))


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
