"""The chosen OCR languages put to work: the engine that reads scans follows the settings, and
scans read by another engine or language set are read again at the next look."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

from app.core.atomic import write_text_atomic
from app.core.catalog import STAGE_OCR, Catalog
from app.core.extract import ocr
from app.core.extract.ocr_engines import BUNDLED_ENGINE

log = logging.getLogger(__name__)

# In the OCR cache folder: the engine key the catalog's OCR text was read with.
RECORD = "engine-in-use.txt"


def apply_ocr_languages(catalog: Catalog, cache_dir: Path, languages: Sequence[str]) -> int:
    """Make ``languages`` the ones OCR reads; when that changes the engine (or its languages),
    mark the files whose text the previous one read as waiting for OCR (stage 'ocr'), so the
    next look reads them again. Call on the writer thread. Returns how many were marked.

    Cheap when nothing changed: one small file is read.
    """
    ocr.use_languages(languages)
    key = ocr.current_engine().key
    record = cache_dir / RECORD
    try:
        previous = record.read_text(encoding="utf-8")
    except OSError:
        previous = BUNDLED_ENGINE  # before languages could be chosen, only the bundled engine read
    if previous == key:
        return 0
    try:
        cached = set(os.listdir(cache_dir))
    except OSError:
        cached = set()
    stale = [state.id for state in catalog.all_files().values()
             if state.status == "indexed" and state.hash
             and ocr.cache_name(state.hash, previous) in cached]
    if stale:
        with catalog.transaction():
            for file_id in stale:
                catalog.set_stage(file_id, STAGE_OCR)
        log.info("OCR engine is now %s: %d scanned file(s) will be read again", key, len(stale))
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        write_text_atomic(record, key)
    except OSError as exc:  # the files are marked; the next look marks them again, harmlessly
        log.warning("could not record the OCR engine in use: %s", exc)
    return len(stale)
