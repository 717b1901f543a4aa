"""The cross-encoder that reorders the best candidates; optional, offline unless asked, and fast.

Speed comes from three choices: the cross-encoder reads a short window around each file's best
passage (not the whole chunk), its input is capped accordingly, and it runs at the fastest
precision whose scores keep float32's order on a probe batch (dynamic int8, or bfloat16 on CPUs
with native support), else float32.
"""

from __future__ import annotations

import logging
import math
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from app.core.encoders.models import (
    DOWNLOAD_ENV,
    ModelSource,
    downloads_allowed,
    quiet_hf_logging,
    resolve_model,
)

log = logging.getLogger(__name__)

WINDOW_TOKENS = 128  # query + window around the best passage; chunks are 256 tokens
_PROBE = [
    ("what causes rust on iron", "Iron rusts when oxygen and water react with its surface."),
    ("what causes rust on iron", "The recipe needs two cups of flour and an egg."),
    ("deposit returned by the landlord", "The landlord returned the full deposit in May."),
    ("deposit returned by the landlord", "Mountains rise where plates collide."),
    ("python function return value", "A function returns None unless it says otherwise."),
    ("python function return value", "The river floods every spring after the snow melts."),
]


class Reranker:
    """Loads a sentence-transformers CrossEncoder lazily; ``available`` says whether it works.

    Only local copies are used (a folder, or the Hugging Face cache) unless the user allowed
    downloads (``allow_download`` or ``SIFT_ALLOW_DOWNLOAD=1``); then the first use downloads
    the model once, with a progress bar on stderr.
    """

    def __init__(self, model: str, *, max_length: int = WINDOW_TOKENS,
                 allow_download: bool | None = None, precision: str = "auto") -> None:
        self.requested = model
        self.max_length = max_length
        self.allow_download = allow_download
        self.requested_precision = precision
        self.precision = "float32"
        self._lock = threading.Lock()
        self._model: Any = None
        self._error: str | None = None
        self.source: ModelSource = resolve_model(model, offline_default=False)

    @property
    def name(self) -> str:
        return self.source.name

    def _may_download(self) -> bool:
        return downloads_allowed() if self.allow_download is None else self.allow_download

    def load(self) -> bool:
        """Try to load the model once; afterwards ``note`` says why if it failed."""
        with self._lock:
            if self._model is not None or self._error is not None:
                return self._model is not None
            location = self._local_location()
            if location is None:
                return False
            quiet_hf_logging()
            try:
                from sentence_transformers import CrossEncoder
            except ImportError as exc:  # pragma: no cover - broken install
                self._error = f"sentence-transformers unavailable ({exc})"
                return False
            try:
                self._model = CrossEncoder(location, max_length=self.max_length,
                                           local_files_only=True, device="cpu")
            except Exception as exc:  # missing files, or not a cross-encoder
                self._error = _short(exc)
                log.info("reranker %s unavailable: %s", self.source.name, self._error)
                return False
            self._choose_precision()
            log.info("reranker %s loaded (%s)", self.source.name, self.precision)
            return True

    def _local_location(self) -> str | None:
        """A folder to load from without the network, downloading first only if allowed."""
        if self.source.local:
            return self.source.location
        cached = _cached_snapshot(self.source.location)
        if cached is not None:
            return cached
        if not self._may_download():
            self._error = ("it has not been downloaded yet, and Sift connects to the network only "
                           "when asked: run `sift get-reranker` once to download it (or set "
                           f"{DOWNLOAD_ENV}=1), or point to a local copy: "
                           "sift config reranker /path/to/cross-encoder")
            return None
        try:
            return self.download()
        except Exception as exc:  # offline, or no such model
            self._error = f"download failed ({_short(exc)})"
            return None

    def download(self, progress: Callable[[str], None] | None = None) -> str:
        """Fetch the model into the Hugging Face cache (an explicit user action), showing progress."""
        from huggingface_hub import snapshot_download
        from huggingface_hub.utils import enable_progress_bars

        say = progress or (lambda text: print(text, file=sys.stderr, flush=True))
        say(f"Downloading the reranker {self.source.name} (once; about 90 MB)…")
        enable_progress_bars()
        folder = snapshot_download(self.source.location)
        say("Reranker downloaded.")
        return str(folder)

    def _choose_precision(self) -> None:
        """The fastest candidate whose probe scores keep float32's order and values closely."""
        self.precision = "float32"
        if self.requested_precision == "float32":
            return
        base = self._model
        reference = self._raw(base, _PROBE)
        best_time = self._timed(base)
        candidates: list[tuple[str, Callable[[], Any]]] = [("int8", lambda: _int8_copy(base))]
        from app.core.encoders.backends.hardware import cpu_has_native_bf16

        if cpu_has_native_bf16():
            candidates.append(("bfloat16", lambda: _bf16_copy(base)))
        for label, make in candidates:
            if self.requested_precision not in ("auto", label):
                continue
            try:
                model = make()
                scores = self._raw(model, _PROBE)
            except Exception as exc:  # a torch build without quantized kernels
                log.info("reranker precision %s unusable: %s", label, exc)
                continue
            if not faithful(reference, scores):
                log.info("reranker precision %s is not faithful; not used", label)
                continue
            elapsed = self._timed(model)
            if elapsed < best_time * 0.9:
                self._model, self.precision, best_time = model, label, elapsed

    def _timed(self, model: Any) -> float:
        pairs = _PROBE * 3
        self._raw(model, pairs)
        t = time.perf_counter()
        self._raw(model, pairs)
        return time.perf_counter() - t

    def _raw(self, model: Any, pairs: list[tuple[str, str]]) -> list[float]:
        raw = model.predict(pairs, batch_size=32, show_progress_bar=False,
                            convert_to_numpy=True, activation_fn=_identity)
        return [float(x) for x in raw.reshape(-1)]

    @property
    def available(self) -> bool:
        return self.load()

    @property
    def present(self) -> bool:
        """Whether a search can use it without a download it may not make: no load, no network."""
        if self._model is not None or self._error is not None:
            return self._model is not None
        if self.source.local:
            import os

            return os.path.isdir(self.source.location)
        return _cached_snapshot(self.source.location) is not None or self._may_download()

    @property
    def note(self) -> str:
        """Why reranking is off, in words for the user; empty when it is on."""
        if self._model is not None:
            return ""
        return (f"reranking is off: the cross-encoder '{self.source.name}' could not be loaded "
                f"({self._error or 'not tried'}). Results are ranked by the hybrid search alone.")

    def logits(self, query: str, passages: list[str]) -> list[float]:
        """Raw relevance scores of each passage for the query (higher is better)."""
        if not passages or not self.load():
            return []
        with self._lock:
            return self._raw(self._model, [(query, p) for p in passages])

    def scores(self, query: str, passages: list[str]) -> list[float]:
        """Relevance of each passage to the query, in (0, 1)."""
        return [_sigmoid(x) for x in self.logits(query, passages)]


def faithful(reference: list[float], candidate: list[float]) -> bool:
    """Whether ``candidate`` scores rank pairs as ``reference`` does and stay close to it."""
    if len(reference) != len(candidate) or not reference:
        return False
    spread = (max(reference) - min(reference)) or 1.0
    if max(abs(a - b) for a, b in zip(reference, candidate, strict=True)) > 0.05 * spread:
        return False
    order = sorted(range(len(reference)), key=lambda i: reference[i])
    return sorted(range(len(candidate)), key=lambda i: candidate[i]) == order


def _int8_copy(model: Any) -> Any:
    import copy
    import warnings

    import torch

    clone = copy.deepcopy(model)
    # Whole module tree: where the transformer sits differs between sentence-transformers versions.
    with warnings.catch_warnings():  # eager-mode quantization is deprecated, not yet removed
        warnings.simplefilter("ignore")
        torch.ao.quantization.quantize_dynamic(clone, {torch.nn.Linear}, dtype=torch.qint8,
                                               inplace=True)
    return clone


def _bf16_copy(model: Any) -> Any:
    import copy

    import torch

    return copy.deepcopy(model).to(torch.bfloat16)


def _cached_snapshot(repo_id: str) -> str | None:
    """The folder of this model in the Hugging Face cache, found without the network."""
    try:
        from huggingface_hub import try_to_load_from_cache

        config = try_to_load_from_cache(repo_id, "config.json")
    except Exception:  # an odd id or an old huggingface_hub
        return None
    if not isinstance(config, str):
        return None
    import os

    return os.path.dirname(config)


def _identity(x: Any) -> Any:
    return x


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, x))))


def _short(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]
