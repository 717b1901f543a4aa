"""The OCR cache: each file's OCR'd pages kept by content hash and engine, so no page is read twice."""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

from app.core.extract.ocr.engines import BUNDLED_ENGINE
from app.core.hashing import file_digest
from app.core.host.atomic import write_text_atomic

log = logging.getLogger(__name__)


def cache_name(digest: str, key: str) -> str:
    """The cache file of a content hash read by an engine: the bundled engine's keeps the name
    it always had, so its results stay valid; others get a tag of their engine and languages."""
    if key == BUNDLED_ENGINE:
        return f"{digest}.json"
    return f"{digest}.{hashlib.sha1(key.encode()).hexdigest()[:12]}.json"


class OcrCache:
    """page → text (or, for a page OCR could not read, the reason) for one file's content and
    engine, as a JSON file named by both: a page is never read twice, nor retried when it failed."""

    def __init__(self, cache_dir: Path | None, path: Path, key: str) -> None:
        self.file: Path | None = None
        self.key = key
        self.pages: dict[str, str] = {}
        self.failed: dict[str, str] = {}
        self._saved = (0, 0)  # how many pages and failures the file holds
        if cache_dir is None:
            return
        try:
            self.file = cache_dir / cache_name(file_digest(path), key)
        except OSError:
            return  # the file cannot be read: nothing to cache it by
        self.pages, self.failed = self._load()
        self._saved = (len(self.pages), len(self.failed))

    def _load(self) -> tuple[dict[str, str], dict[str, str]]:
        if self.file is None:
            return {}, {}
        try:
            data = json.loads(self.file.read_text(encoding="utf-8"))
            if data.get("engine") == self.key:
                return ({str(k): str(v) for k, v in data.get("pages", {}).items()},
                        {str(k): str(v) for k, v in data.get("failed", {}).items()})
        except (OSError, ValueError, AttributeError):
            pass  # no cache yet, or a damaged one that will be rewritten
        return {}, {}

    @property
    def dirty(self) -> bool:
        return (len(self.pages), len(self.failed)) != self._saved

    def save(self) -> None:
        """Write what was read since the last save; pages another reader of the same file saved
        meanwhile are kept."""
        if self.file is None or not self.dirty:
            return
        pages, failed = self._load()
        pages.update(self.pages)
        failed.update(self.failed)
        self.pages, self.failed = pages, {k: v for k, v in failed.items() if k not in pages}
        try:
            self.file.parent.mkdir(parents=True, exist_ok=True)
            write_text_atomic(self.file, json.dumps({"engine": self.key, "pages": self.pages,
                                                     "failed": self.failed}, ensure_ascii=False))
        except OSError as exc:
            log.warning("could not write the OCR cache: %s", exc)
        self._saved = (len(self.pages), len(self.failed))
