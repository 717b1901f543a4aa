"""A light, torch-free query encoder: the model exported to ONNX once, run by onnxruntime.

It starts in a fraction of a second (no torch, no sentence-transformers), so a fresh `sift search`
and a window that has just opened can embed queries long before the document encoder is loaded,
and queries never wait behind indexing batches: it is a session of its own.
"""

from __future__ import annotations

import importlib.util
import logging
import threading
from pathlib import Path
from typing import Any

import numpy as np

from app.core.encoders.backends.exported import TOKENIZER_FILE, ExportSpec, load_spec

log = logging.getLogger(__name__)


class QueryEncoder:
    """Embeds queries exactly as the exported model does; also lends its tokenizer for chunking."""

    def __init__(self, folder: Path, spec: ExportSpec) -> None:
        self.folder = folder
        self.spec = spec
        self._runner = _single_thread_runner(folder, spec)
        self._lock = threading.Lock()

    @classmethod
    def open(cls, folder: Path) -> QueryEncoder | None:
        """The encoder of the export in ``folder``; None when there is none or no onnxruntime."""
        spec = load_spec(folder)
        if spec is None or importlib.util.find_spec("onnxruntime") is None:
            return None
        try:
            return cls(folder, spec)
        except Exception as exc:  # a damaged export or a broken runtime: the full model serves
            log.warning("the light query encoder in %s cannot be used: %s", folder, exc)
            return None

    @property
    def dim(self) -> int:
        return self.spec.dim

    @property
    def max_tokens(self) -> int:
        """Word pieces per passage, without the two special tokens (as EmbedderInfo counts them)."""
        return self.spec.max_length - 2

    def encode(self, text: str) -> np.ndarray:
        """The normalised float32 embedding of one query."""
        with self._lock:
            vec = self._runner.encode_queries([text], 1)
        return np.ascontiguousarray(vec[0], dtype=np.float32)


def _single_thread_runner(folder: Path, spec: ExportSpec) -> Any:
    """An onnxruntime session that computes on the calling thread only.

    A query is a few word pieces: one thread answers it in milliseconds, at the priority of
    the thread that asked (the search), never on worker threads created by a lowered-priority
    indexing thread, and without spinning against the indexer for the cores.
    """
    import onnxruntime as ort

    from app.core.encoders.backends.exported import ONNX_FILE, ExportedRunner

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    session = ort.InferenceSession(str(folder / ONNX_FILE), options,
                                   providers=["CPUExecutionProvider"])

    def forward(inputs: dict[str, np.ndarray]) -> np.ndarray:
        return session.run(None, inputs)[0]

    return ExportedRunner(folder, spec, forward)


def offsets_tokenizer(folder: Path) -> Any:
    """Word-piece offsets from the export's tokenizer (no truncation), for chunking; or None."""
    path = folder / TOKENIZER_FILE
    if load_spec(folder) is None or not path.is_file():
        return None
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(path))
    tok.no_truncation()
    tok.no_padding()
    lock = threading.Lock()

    def offsets(text: str) -> list[tuple[int, int]]:
        with lock:
            return tok.encode(text, add_special_tokens=False).offsets

    return offsets
