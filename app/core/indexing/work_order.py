"""The order files are read, embedded and OCR'd in: the most recently modified first."""

from __future__ import annotations

from app.core.records import ScannedFile
from app.core.storage.catalog import FileState

Work = list[tuple[ScannedFile, FileState | None]]


def newest_first(work: Work) -> Work:
    """The most recently modified files first: what people look for first is ready first.

    Ties keep the scan's order (a stable sort), so files of the same date are read folder by
    folder. The reader hands scans to OCR in this order too, and the embedding stage takes files
    by date (files_at_stage).
    """
    return sorted(work, key=lambda item: -item[0].mtime_ns)
