"""Plain data records passed between the layers of the core."""

from __future__ import annotations

import os
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Section:
    """A run of extracted text from one file, with where it lives.

    ``page`` is 1-based for paged formats (PDF pages, slides) and ``None`` otherwise.
    ``first_line`` is the 1-based number, in the original file (or page), of the section's first
    line; ``unit`` says what a line is to a user ("line", "paragraph", "row", or "" when line
    numbers mean nothing there) and ``label`` names the part ("Sheet1", "slide 3 “Plans”").
    """

    text: str
    page: int | None = None
    first_line: int = 1
    label: str = ""
    unit: str = "line"


@dataclass(frozen=True, slots=True)
class Member:
    """A file inside another (an e-mail attachment), indexed as a result of its own.

    ``key`` finds it again in its container ("2.1": message 2, attachment 1), ``of`` says what
    holds it (the message's subject); ``reason`` is why it could not be read ("" when it could).
    """

    key: str
    name: str
    of: str
    sections: tuple[Section, ...] = ()
    reason: str = ""
    size: int = 0  # bytes
    # A scan or an image: its pages still needing OCR and its bytes, until extraction's OCR
    # step (extract_parts) has read them or queued them.
    ocr_pages: tuple[int, ...] = ()
    data: bytes = field(default=b"", repr=False)


@dataclass(frozen=True, slots=True)
class Chunk:
    """A passage of a file that is embedded and searched as one unit.

    ``char_start``/``char_end`` are offsets into the text of the section (page) it came from.
    """

    text: str
    page: int | None
    line_start: int
    line_end: int
    char_start: int
    char_end: int
    section: int = 0
    # What a user reads as the place ("“Results”, paragraph 12"); "" = show page or line.
    location: str = ""


@dataclass(frozen=True, slots=True)
class ScannedFile:
    """A file found on disk by the scanner."""

    path: str
    folder: str
    size: int
    mtime_ns: int
    skip: str = ""  # why it is listed but not read (a named pipe, a link leading outside)


@dataclass(frozen=True, slots=True)
class Passage:
    """A matching passage inside a result, ready for display."""

    chunk_id: int
    text: str
    page: int | None
    line: int
    line_end: int
    score: float
    highlights: tuple[tuple[int, int], ...] = ()  # word marks: the query's words
    location: str = ""
    # Meaning marks: the sentence closest in meaning to the question (the snippet's window).
    meaning: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True, slots=True)
class FileHit:
    """One search result: a file and its best passages.

    An e-mail attachment is a result of its own: ``path`` is then the mail file on disk,
    ``attachment`` the attachment's name, ``attached_to`` the message's subject and ``part``
    the key that finds it in the mail (see mail.attachment_bytes).
    """

    path: str
    score: float
    passages: tuple[Passage, ...]
    ext: str = ""
    mtime: float = 0.0
    attachment: str = ""
    attached_to: str = ""
    part: str = ""

    @property
    def title(self) -> str:
        """What a user calls this result: 'report.pdf — attached to “Offer” (offer.eml)'."""
        name = os.path.basename(self.path)
        if not self.attachment:
            return name
        return f"{self.attachment} — attached to “{self.attached_to}” ({name})"


@dataclass(frozen=True, slots=True)
class SearchResponse:
    """Everything a search returns: hits plus how they were produced."""

    query: str
    hits: tuple[FileHit, ...]
    reranked: bool
    rerank_note: str = ""
    elapsed_ms: float = 0.0
    weak: bool = False
    # False while the query encoder is not ready (just after launch): keyword evidence only.
    semantic: bool = True
    # Quoted phrases that no file holds: the search ran without requiring them.
    unmatched_phrases: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Progress:
    """A snapshot of indexing progress, safe to hand to another thread."""

    phase: str
    files_done: int = 0
    files_total: int = 0
    chunks_done: int = 0
    current: str = ""
    rate: float = 0.0
    eta_s: float | None = None
    message: str = ""
    # The two stages of this run, in files: "words" (stored and findable by keyword) and
    # "meaning" (embedded). ``stage`` says which one is running now.
    stage: str = ""
    words_done: int = 0
    words_total: int = 0
    meaning_done: int = 0
    meaning_total: int = 0
    passages_total: int = 0  # passages to embed in this run, when known

    @property
    def stages_text(self) -> str:
        """'words: 200/200 files · meaning: 35/200', for the status bar and the CLI."""
        return (f"words: {self.words_done}/{self.words_total} files · "
                f"meaning: {self.meaning_done}/{self.meaning_total}")


@dataclass(frozen=True, slots=True)
class SkippedFile:
    """A file that was found but could not be indexed, and why."""

    path: str
    reason: str


@dataclass(slots=True)
class IndexReport:
    """What one indexing run did."""

    added: int = 0
    updated: int = 0
    moved: int = 0
    removed: int = 0
    unchanged: int = 0
    skipped: int = 0
    chunks: int = 0
    seconds: float = 0.0
    embed_seconds: float = 0.0
    embedded: int = 0           # passages embedded (the meaning stage)
    reused: int = 0             # passages whose embedding was kept from an earlier version or a copy
    words_seconds: float = 0.0  # until every file of this run was findable by its words
    cancelled: bool = False
    skipped_files: list[SkippedFile] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Stats:
    """The size and state of the index."""

    files: int
    chunks: int
    skipped: int
    folders: tuple[str, ...]
    model: str
    dim: int
    data_dir: str
