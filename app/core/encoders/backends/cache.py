"""Remembering backend decisions per model, machine and library versions, so later starts skip the check.

The decision is the computer's, not a data folder's: it is kept in the user's cache folder
(platformdirs), where every data folder of this user finds it, and keyed by the machine's facts
(hardware.machine_key), so a data folder carried to another computer is checked there again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from pathlib import Path
from typing import Any

from app.core.encoders.backends.hardware import machine_key
from app.core.encoders.models import ModelSource, model_slug
from app.core.host.atomic import write_text_atomic

log = logging.getLogger(__name__)

DECISIONS_FILE = "decisions.json"
MAX_ENTRIES = 32
CACHE_VERSION = 8  # bump when the way of deciding changes: old decisions are then redone
# Overrides the user's cache folder for decisions and exported models (tests, portable installs).
CACHE_ENV = "SIFT_MACHINE_CACHE"


def machine_cache_dir() -> Path:
    """The user's cache folder for what belongs to this computer: backend decisions, exports."""
    chosen = os.environ.get(CACHE_ENV)
    if chosen:
        return Path(chosen).expanduser()
    import platformdirs

    from app import APP_NAME

    return Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False))


def model_fingerprint(source: ModelSource) -> str:
    """Changes when a local model folder's files change (a retrained model needs a new check)."""
    parts = [source.name, source.location]
    folder = Path(source.location)
    if source.local and folder.is_dir():
        for p in sorted(folder.iterdir()):
            if p.is_file():
                st = p.stat()
                parts.append(f"{p.name}:{st.st_size}:{st.st_mtime_ns}")
    return hashlib.sha1("\n".join(parts).encode("utf-8")).hexdigest()


class DecisionCache:
    """A small JSON file of decisions under the cache folder; damage only costs a new check."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.path = folder / DECISIONS_FILE

    def export_dir(self, source: ModelSource) -> Path:
        """Where this model's ONNX export lives (per model version, shared by all backends)."""
        return self.folder / f"{model_slug(source.name)}-{model_fingerprint(source)[:10]}"

    @staticmethod
    def key(source: ModelSource, wanted: str) -> str:
        material = {"model": model_fingerprint(source), "wanted": wanted, **machine_key(),
                    "version": str(CACHE_VERSION)}
        return hashlib.sha1(json.dumps(material, sort_keys=True).encode()).hexdigest()

    def get(self, key: str) -> dict[str, str] | None:
        entry = self._read().get(key)
        return entry if isinstance(entry, dict) and "backend" in entry else None

    def put(self, key: str, model: str, backend: str, reason: str) -> None:
        data = self._read()
        data.pop(key, None)
        data[key] = {"model": model, "backend": backend, "reason": reason,
                     "decided": time.strftime("%Y-%m-%d %H:%M")}
        # Decisions for old library versions are never asked for again: keep the newest few.
        data = dict(list(data.items())[-MAX_ENTRIES:])
        try:
            write_text_atomic(self.path, json.dumps(data, indent=1, ensure_ascii=False) + "\n")
        except OSError as exc:  # a read-only cache folder only means checking again next time
            log.warning("could not remember the backend decision in %s: %s", self.path, exc)

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}
