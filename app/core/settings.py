"""Typed settings with defaults, saved atomically as versioned JSON, with migrations."""

from __future__ import annotations

import contextlib
import json
import logging
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from app.core.host.atomic import write_text_atomic

log = logging.getLogger(__name__)

SETTINGS_VERSION = 1
DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
DEFAULT_RERANKER = "cross-encoder/ms-marco-MiniLM-L6-v2"

# Folders nobody wants searched; gitignore syntax, applied below every indexed folder.
DEFAULT_EXCLUDES: tuple[str, ...] = (
    ".*/",
    "node_modules/",
    "__pycache__/",
    "venv/",
    "env/",
    "site-packages/",
    "build/",
    "dist/",
    "target/",
    "*.egg-info/",
    "*.min.js",
    "*.lock",
    "package-lock.json",
)


@dataclass(frozen=True)
class Settings:
    """Everything a user can choose. Unknown keys in the file are ignored, missing ones defaulted."""

    folders: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    model: str = DEFAULT_MODEL
    reranker: str = DEFAULT_RERANKER
    rerank: bool = True
    backend: str = "auto"
    chunk_tokens: int = 256
    chunk_overlap: int = 32
    results: int = 20
    max_file_mb: int = 50
    pdf_timeout_s: float = 60.0
    # Read scanned PDF pages and images by OCR (in the background, cached by content).
    ocr: bool = True
    # Languages of the scans, as Tesseract codes ("deu", "eng", "rus"…). Empty, or only English
    # and Chinese: the bundled engine; any other: Tesseract, where it and the packs are installed.
    ocr_languages: tuple[str, ...] = ()
    respect_gitignore: bool = True
    extra: dict[str, Any] = field(default_factory=dict)

    def with_folder(self, folder: str) -> Settings:
        if folder in self.folders:
            return self
        return replace(self, folders=(*self.folders, folder))

    def without_folder(self, folder: str) -> Settings:
        return replace(self, folders=tuple(f for f in self.folders if f != folder))


def _migrate(data: dict[str, Any]) -> dict[str, Any]:
    """Bring an older settings dict up to SETTINGS_VERSION, one version at a time."""
    version = int(data.get("version", 0))
    if version < 1:
        # Version 0 (pre-release) called the folder list "roots".
        if "roots" in data and "folders" not in data:
            data["folders"] = data.pop("roots")
        version = 1
    data["version"] = version
    return data


def load_settings(path: Path) -> Settings:
    """Read settings, tolerating a missing or damaged file (the damaged one is kept aside)."""
    if not path.exists():
        return Settings()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
    except (OSError, ValueError) as exc:
        log.warning("settings file %s is unreadable (%s); using defaults", path, exc)
        with contextlib.suppress(OSError):
            path.replace(path.with_suffix(".damaged.json"))
        return Settings()
    data = _migrate(data)
    known = {f.name: f for f in fields(Settings)}
    values: dict[str, Any] = {}
    defaults = Settings()
    for name, value in data.items():
        if name not in known:
            continue
        default = getattr(defaults, name)
        if isinstance(default, tuple) and isinstance(value, list):
            value = tuple(str(v) for v in value)
        elif isinstance(default, bool):
            value = bool(value)
        elif isinstance(default, int) and not isinstance(value, bool):
            value = int(value)
        elif isinstance(default, float):
            value = float(value)
        values[name] = value
    return replace(defaults, **values)


def save_settings(path: Path, settings: Settings) -> None:
    """Write settings atomically, with their version."""
    data = asdict(settings)
    data["version"] = SETTINGS_VERSION
    text = json.dumps(data, indent=2, ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a folder name that is not UTF-8: \u escapes keep it exact
        text = json.dumps(data, indent=2)
    write_text_atomic(path, text + "\n")
