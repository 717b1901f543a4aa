"""The bi-encoder: resolves and lazily loads the sentence-transformers model, encodes under a lock."""

from __future__ import annotations

import copy
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.core.errors import ModelUnavailable
from app.core.models import ModelSource, hub_reachable, quiet_hf_logging, resolve_model

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EmbedderInfo:
    """What is loaded and how it runs; shown by ``sift status`` and the status bar."""

    name: str
    origin: str
    dim: int
    max_tokens: int
    backend: str
    reason: str
    load_seconds: float


class Embedder:
    """One shared bi-encoder. Thread-safe: encoding is serialised by a lock.

    Loading is lazy (first use) because importing torch and sentence-transformers takes seconds.
    """

    def __init__(self, model: str, *, backend: str = "auto", batch_size: int = 16,
                 source: ModelSource | None = None) -> None:
        self.requested = model
        self.backend_choice = backend
        self.batch_size = batch_size
        self._source = source
        self._lock = threading.RLock()
        self._tok_lock = threading.Lock()
        self._chunk_tokenizer: Any = None
        self._model: Any = None
        self._runner: Any = None
        self._info: EmbedderInfo | None = None

    # -- loading -------------------------------------------------------------------------
    @property
    def source(self) -> ModelSource:
        if self._source is None:
            self._source = resolve_model(self.requested)
        return self._source

    @property
    def name(self) -> str:
        """The model's stable name (an id or a folder), used to keep indexes of models apart."""
        return self.source.name

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def load(self) -> EmbedderInfo:
        """Load the model now (idempotent)."""
        with self._lock:
            if self._info is None:
                self._load()
            assert self._info is not None
            return self._info

    def _load(self) -> None:
        started = time.perf_counter()
        quiet_hf_logging()
        from app.core.backends import choose_runner

        model = load_sentence_transformer(self.source)
        self._model = model
        # Chunking runs on another thread than encoding; a fast tokenizer used by two threads
        # at once fails ("Already borrowed"), so chunking gets its own copy.
        self._chunk_tokenizer = copy.deepcopy(model.tokenizer)
        self._runner, backend, reason = choose_runner(model, self.backend_choice)
        dim = int(_embedding_dim(model))
        self._info = EmbedderInfo(
            name=self.source.name,
            origin=self.source.origin,
            dim=dim,
            max_tokens=int(model.max_seq_length) - 2,
            backend=backend,
            reason=reason,
            load_seconds=time.perf_counter() - started,
        )
        log.info("embedding model %s (%s) on %s: %s", self.source.name, self.source.origin,
                 backend, reason)

    @property
    def info(self) -> EmbedderInfo:
        return self.load()

    # -- tokens, for chunking ------------------------------------------------------------
    def token_offsets(self, text: str) -> list[tuple[int, int]]:
        """Character spans of the word pieces of ``text`` (no special tokens)."""
        self.load()
        with self._tok_lock:
            enc = self._chunk_tokenizer(
                text, add_special_tokens=False, return_offsets_mapping=True,
                return_attention_mask=False, return_token_type_ids=False, truncation=False,
                verbose=False,
            )
        return [(int(a), int(b)) for a, b in enc["offset_mapping"]]

    # -- encoding ------------------------------------------------------------------------
    def embed_documents(self, texts: list[str]) -> np.ndarray:
        """Normalised float32 embeddings, one row per text."""
        if not texts:
            return np.zeros((0, self.info.dim), dtype=np.float32)
        self.load()
        # Longest first in batches of similar length (less padding); the lock is taken per
        # batch so that a query arriving meanwhile waits for one small batch at most.
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        out = np.zeros((len(texts), self.info.dim), dtype=np.float32)
        for start in range(0, len(order), self.batch_size):
            idx = order[start:start + self.batch_size]
            with self._lock:
                vecs = self._runner.encode_documents([texts[i] for i in idx], self.batch_size)
            out[idx] = vecs
        return out

    def embed_query(self, text: str) -> np.ndarray:
        """The normalised float32 embedding of a search query."""
        self.load()
        with self._lock:
            vec = self._runner.encode_queries([text], 1)
        return np.ascontiguousarray(vec[0], dtype=np.float32)


def _embedding_dim(model: Any) -> int:
    getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
    return int(getter())


def load_sentence_transformer(source: ModelSource) -> Any:
    """Load a SentenceTransformer from a folder, the local HF cache, or the hub, in that order."""
    quiet_hf_logging()
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:  # pragma: no cover - broken install
        raise ModelUnavailable(
            "sentence-transformers is not installed.", "Reinstall Sift (make run sets it up)."
        ) from exc
    attempts = [True] if source.local or not hub_reachable() else [True, False]
    last: Exception | None = None
    for local_only in attempts:
        try:
            return SentenceTransformer(source.location, device=_device(),
                                       local_files_only=local_only)
        except Exception as exc:  # the hub client raises many types for "not available"
            last = exc
    raise ModelUnavailable(
        f"Could not load the embedding model '{source.name}' ({type(last).__name__}: {last}).",
        "Connect to the internet once so it can be downloaded, or choose a local model folder "
        "(sift config model /path/to/model).",
    )


def _device() -> str:
    import torch

    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return "mps"
    return "cpu"
