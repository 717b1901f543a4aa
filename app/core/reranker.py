"""The cross-encoder that reorders the best candidates; optional, and honest about being off."""

from __future__ import annotations

import logging
import math
import threading
from typing import Any

from app.core.models import ModelSource, hub_reachable, quiet_hf_logging, resolve_model

log = logging.getLogger(__name__)


class Reranker:
    """Loads a sentence-transformers CrossEncoder lazily; ``available`` says whether it works."""

    def __init__(self, model: str, *, max_length: int = 320) -> None:
        self.requested = model
        self.max_length = max_length
        self._lock = threading.Lock()
        self._model: Any = None
        self._error: str | None = None
        self.source: ModelSource = resolve_model(model, offline_default=False)

    @property
    def name(self) -> str:
        return self.source.name

    def load(self) -> bool:
        """Try to load the model once; afterwards ``note`` says why if it failed."""
        with self._lock:
            if self._model is not None or self._error is not None:
                return self._model is not None
            if not self.source.local and not _cached(self.source.location) and not hub_reachable():
                # Known without importing torch (seconds): a fresh `sift search` stays fast.
                self._error = ("it is not in the local model cache and the Hugging Face Hub "
                               "cannot be reached (offline?); a local folder works too: "
                               "sift config reranker /path/to/cross-encoder")
                return False
            quiet_hf_logging()
            try:
                from sentence_transformers import CrossEncoder
            except ImportError as exc:  # pragma: no cover - broken install
                self._error = f"sentence-transformers unavailable ({exc})"
                return False
            attempts = [True] if self.source.local or not hub_reachable() else [True, False]
            for local_only in attempts:
                try:
                    self._model = CrossEncoder(self.source.location, max_length=self.max_length,
                                               local_files_only=local_only)
                    break
                except Exception as exc:  # offline, missing, or not a cross-encoder
                    self._error = _short(exc)
            if self._model is None and not self.source.local and not hub_reachable():
                self._error = ("it is not in the local model cache and the Hugging Face Hub "
                               "cannot be reached (offline?); a local folder works too: "
                               "sift config reranker /path/to/cross-encoder")
            if self._model is not None:
                self._error = None
                log.info("reranker %s loaded", self.source.name)
                return True
            log.info("reranker %s unavailable: %s", self.source.name, self._error)
            return False

    @property
    def available(self) -> bool:
        return self.load()

    @property
    def note(self) -> str:
        """Why reranking is off, in words for the user; empty when it is on."""
        if self._model is not None:
            return ""
        return (f"reranking is off: the cross-encoder '{self.source.name}' could not be loaded "
                f"({self._error or 'not tried'}). Results are ranked by the hybrid search alone.")

    def scores(self, query: str, passages: list[str]) -> list[float]:
        """Relevance of each passage to the query, in (0, 1)."""
        if not passages or not self.load():
            return []
        with self._lock:
            raw = self._model.predict([(query, p) for p in passages], batch_size=16,
                                      show_progress_bar=False, convert_to_numpy=True,
                                      activation_fn=_identity)
        return [_sigmoid(float(x)) for x in raw]


def _cached(repo_id: str) -> bool:
    """Whether the hub's local cache holds this model (looked up without the network)."""
    try:
        from huggingface_hub import try_to_load_from_cache

        return isinstance(try_to_load_from_cache(repo_id, "config.json"), str)
    except Exception:  # an odd id or an old huggingface_hub: let the full load decide
        return True


def _identity(x: Any) -> Any:
    return x


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, x))))


def _short(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]
