"""The PyTorch path: loading the sentence-transformers model, and running it in float32 or bfloat16."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from app.core.encoders.models import ModelSource, hub_reachable, quiet_hf_logging
from app.core.errors import ModelUnavailable


class TorchRunner:
    """Runs a SentenceTransformer as it is (whatever dtype and device it has)."""

    def __init__(self, model: Any) -> None:
        self.model = model

    @property
    def tokenizer(self) -> Any:
        """The fast (``tokenizers``) tokenizer, or None for a slow Python one."""
        return getattr(self.model.tokenizer, "backend_tokenizer", None)

    def encode_documents(self, texts: list[str], batch_size: int) -> np.ndarray:
        return self._encode(getattr(self.model, "encode_document", self.model.encode), texts,
                            batch_size)

    def encode_queries(self, texts: list[str], batch_size: int) -> np.ndarray:
        return self._encode(getattr(self.model, "encode_query", self.model.encode), texts,
                            batch_size)

    @staticmethod
    def _encode(fn: Any, texts: list[str], batch_size: int) -> np.ndarray:
        import torch

        with torch.inference_mode():
            out = fn(texts, batch_size=batch_size, normalize_embeddings=True,
                     show_progress_bar=False, convert_to_numpy=True)
        # Normalised again in float32: a bfloat16 model's unit vectors are off by up to 0.4 %,
        # and callers rely on dot product = cosine.
        out = np.asarray(out, dtype=np.float32)
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)


def bfloat16_runner(model: Any, *, keep_original: bool) -> TorchRunner:
    """The model cast to bfloat16; a copy when the float32 original is still needed."""
    import torch

    target = copy.deepcopy(model) if keep_original else model
    return TorchRunner(target.to(torch.bfloat16))


def device_of(model: Any) -> str:
    return str(getattr(model, "device", "cpu"))


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
            return SentenceTransformer(source.location, device=best_device(),
                                       local_files_only=local_only)
        except Exception as exc:  # the hub client raises many types for "not available"
            last = exc
    raise ModelUnavailable(
        f"Could not load the embedding model '{source.name}' ({type(last).__name__}: {last}).",
        "Connect to the internet once so it can be downloaded, or choose a local model folder "
        "(sift config model /path/to/model).",
    )


def best_device() -> str:
    """CUDA, then Apple's MPS, then the CPU."""
    import torch

    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return "mps"
    return "cpu"
