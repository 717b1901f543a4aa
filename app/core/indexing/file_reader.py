"""Reading files for the index on a thread ahead of the writer: hash, extract, chunk, or say why not."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from app.core.encoders.embedder import Embedder
from app.core.errors import Cancelled, SkipFile
from app.core.extract import extract_parts
from app.core.extract.chunking import chunk_sections
from app.core.extract.kinds import kind_of
from app.core.extract.ocr.scans import waiting_reason
from app.core.hashing import file_digest
from app.core.records import Chunk, Member, ScannedFile
from app.core.settings import Settings
from app.core.storage.catalog import RETRY_REASON, FileState

log = logging.getLogger(__name__)

READ_AHEAD = 64  # extracted files waiting for the writer


@dataclass
class FileOp:
    """One file's outcome, produced by the reader thread and applied by the writer."""

    kind: str  # "index" | "touch" | "move" | "skip"
    file: ScannedFile
    hash: str | None = None
    chunks: list[Chunk] = field(default_factory=list)
    reason: str = ""
    old: FileState | None = None
    waiting_ocr: bool = False  # a scan found by its name until background OCR has read it
    # Files inside this one (e-mail attachments), each stored as a result of its own: with its
    # passages, or skipped with the member's reason when it has none.
    members: list[tuple[Member, list[Chunk]]] = field(default_factory=list)

    @property
    def passages(self) -> int:
        return len(self.chunks) + sum(len(c) for _, c in self.members)


class FileReader:
    """Turns scanned files into FileOps; ``start`` runs it on a thread feeding a bounded queue."""

    def __init__(self, settings: Settings, embedder: Embedder, ocr_cache: Path | None,
                 retry: set[str] | None = None) -> None:
        self.settings = settings
        self.embedder = embedder
        self.ocr_cache = ocr_cache
        self.retry = retry or set()  # paths read again even if unchanged (scans awaiting OCR)
        self.ops: queue.Queue[FileOp | None] = queue.Queue(maxsize=READ_AHEAD)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, work: Sequence[tuple[ScannedFile, FileState | None]],
              gone_by_hash: dict[str, list[FileState]]) -> None:
        """Read ``work`` in order on a thread; ``ops`` gets each outcome, then None."""
        self._thread = threading.Thread(target=self._read_all, args=(work, gone_by_hash),
                                        name="sift-reader", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop reading (the writer has what it needs, or was cancelled) and wait for the thread."""
        self._stop.set()
        while True:  # unblock a reader waiting for room in the queue
            try:
                self.ops.get_nowait()
            except queue.Empty:
                break
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _read_all(self, work: Sequence[tuple[ScannedFile, FileState | None]],
                  gone_by_hash: dict[str, list[FileState]]) -> None:
        try:
            for scanned, state in work:
                if self._stop.is_set():
                    return
                self._put(self.read_one(scanned, state, gone_by_hash))
        except Cancelled:  # the PDF worker was shut down under us: the app is closing
            return
        except Exception:  # a bug: log it, and let the writer finish what it has
            log.exception("reader thread failed")
        finally:
            self._put(None)

    def _put(self, op: FileOp | None) -> None:
        while not self._stop.is_set():
            try:
                self.ops.put(op, timeout=0.2)
                return
            except queue.Full:
                continue

    def read_one(self, scanned: ScannedFile, state: FileState | None,
                 gone_by_hash: dict[str, list[FileState]]) -> FileOp:
        """What to do with one file: index its passages, note a touch or a move, or skip it."""
        if scanned.skip:  # never opened: reading a pipe would wait for ever, a link leads out
            return FileOp("skip", scanned, reason=scanned.skip)
        try:
            digest = file_digest(scanned.path)
        except FileNotFoundError:
            return FileOp("skip", scanned, reason="file disappeared before it could be read")
        except PermissionError:
            return FileOp("skip", scanned, reason="permission denied")
        except OSError as exc:
            return FileOp("skip", scanned, reason=f"could not be read ({exc.strerror or exc})")
        if state is not None and state.hash == digest and state.status == "indexed" and \
                scanned.path not in self.retry:
            return FileOp("touch", scanned, hash=digest, old=state)
        moved_from = _same_reading(gone_by_hash.get(digest), scanned.path) if state is None else None
        if moved_from is not None:
            return FileOp("move", scanned, hash=digest, old=moved_from)
        s = self.settings
        try:
            found = extract_parts(Path(scanned.path), max_bytes=s.max_file_mb * 2**20,
                                  pdf_timeout=s.pdf_timeout_s, ocr=s.ocr, ocr_cache=self.ocr_cache)
            max_tokens = min(s.chunk_tokens, self.embedder.max_tokens)
            chunks = chunk_sections(found.sections, self.embedder.token_offsets, max_tokens,
                                    s.chunk_overlap)
            members = [(m, chunk_sections(list(m.sections), self.embedder.token_offsets,
                                          max_tokens, s.chunk_overlap)) for m in found.members]
        except SkipFile as exc:
            if exc.message.startswith(RETRY_REASON):
                # Findable by its name now (the keyword index holds every passage's file name);
                # its text replaces this empty passage when background OCR has read it.
                waiting = Chunk(text="", page=None, line_start=1, line_end=1, char_start=0,
                                char_end=0, location=RETRY_REASON)
                return FileOp("index", scanned, hash=digest, chunks=[waiting], waiting_ocr=True)
            return FileOp("skip", scanned, hash=digest, reason=exc.message)
        except (Cancelled, MemoryError):
            raise
        except Exception as exc:
            # A bug past extraction's own guard (OCR step, chunking): this file is listed with
            # the error and the files behind it are still read.
            log.exception("reading %s failed", scanned.path)
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
            return FileOp("skip", scanned, hash=digest,
                          reason=f"could not read the file ({first})")
        if not chunks:
            return FileOp("skip", scanned, hash=digest, reason="no text found")
        # Found by its text now; the reason has it read again when OCR has its other pages.
        waiting = waiting_reason(tuple(p for p in found.ocr_waiting if p)) \
            if found.ocr_waiting else ""
        # Otherwise the reason says what of it was left out (a mailbox past its cap): listed.
        return FileOp("index", scanned, hash=digest, chunks=chunks, members=members,
                      reason=waiting or "; ".join(found.notes))


def _same_reading(gone: list[FileState] | None, path: str) -> FileState | None:
    """A vanished file with these bytes that was read as this one will be; taken from ``gone``.

    Same bytes are the same passages only when read the same way: a mail renamed to .txt is
    plain text now (its attachments are no results of their own any more), a .md renamed to
    .txt keeps its front matter.
    """
    if not gone:
        return None
    kind = kind_of(Path(path))
    for i, state in enumerate(gone):
        if kind_of(Path(state.path)) == kind:
            return gone.pop(i)
    return None
