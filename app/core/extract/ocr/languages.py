"""The OCR settings put to work: the engine that reads scans follows the chosen languages; scans
read by another engine or language set, and scans skipped while OCR was off, are read again."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

from app.core.extract.ocr import pages as ocr
from app.core.extract.ocr.cache import cache_name
from app.core.extract.ocr.engines import BUNDLED_ENGINE
from app.core.host.atomic import write_text_atomic
from app.core.storage.catalog import RETRY_REASON, STAGE_OCR, Catalog

log = logging.getLogger(__name__)

# In the OCR cache folder: the engine key the catalog's OCR text was read with ("off": none).
RECORD = "engine-in-use.txt"
OFF = "off"
# Skipped files whose reason ends so were passed over only because OCR was off, or found empty by
# one engine (another may read them): see extract/scans.py.
OCR_OFF_REASONS = ("%OCR is turned off", "%which is turned off")
NOTHING_FOUND_REASONS = ("no text found by OCR%",)
RETRY_AFTER_CHANGE = RETRY_REASON + ": the OCR settings changed; it is read at the next scan"


def apply_ocr_languages(catalog: Catalog, cache_dir: Path, languages: Sequence[str],
                        enabled: bool = True) -> int:
    """Make ``languages`` the ones OCR reads; when that changes the engine (or its languages),
    or OCR is turned on, mark the files the previous setting read, or passed over, as waiting
    for OCR, so the next look reads them again. Call on the writer thread. Returns how many
    were marked.

    Cheap when nothing changed: one small file is read.
    """
    ocr.use_languages(languages)
    key = ocr.current_engine().key if enabled else OFF
    record = cache_dir / RECORD
    try:
        previous = record.read_text(encoding="utf-8")
    except OSError:
        previous = BUNDLED_ENGINE  # before languages could be chosen, only the bundled engine read
    if previous == key:
        return 0
    marked = 0
    if key != OFF:
        stale = _read_by(catalog, cache_dir, previous) if previous != OFF else []
        with catalog.transaction():
            for file_id in stale:
                catalog.set_stage(file_id, STAGE_OCR)
            passed_over = OCR_OFF_REASONS if previous == OFF else NOTHING_FOUND_REASONS
            marked = len(stale) + _retry_skipped(catalog, passed_over)
        log.info("OCR engine is now %s: %d scanned file(s) will be read again", key, marked)
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        write_text_atomic(record, key)
    except OSError as exc:  # the files are marked; the next look marks them again, harmlessly
        log.warning("could not record the OCR engine in use: %s", exc)
    return marked


def _read_by(catalog: Catalog, cache_dir: Path, key: str) -> list[int]:
    """Ids of the indexed files whose text the engine ``key`` read (it has their OCR cached)."""
    try:
        cached = set(os.listdir(cache_dir))
    except OSError:
        return []
    return [state.id for state in catalog.all_files().values()
            if state.status == "indexed" and state.hash
            and cache_name(state.hash, key) in cached]


def _retry_skipped(catalog: Catalog, reasons: Sequence[str]) -> int:
    """Give the skipped files (and attachments) whose reason matches one of ``reasons`` (LIKE
    patterns) the reason that has the next look read them (or their mail) again; returns how
    many."""
    match = " OR ".join("reason LIKE ?" for _ in reasons)
    cursor = catalog.conn.execute(
        f"UPDATE files SET reason = ? WHERE status = 'skipped' AND ({match})",
        (RETRY_AFTER_CHANGE, *reasons))
    return cursor.rowcount
