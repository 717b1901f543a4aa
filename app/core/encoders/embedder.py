"""The bi-encoder: resolves and lazily loads the model on the best faithful backend; queries go first."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from app.core.encoders.model_facts import ModelFacts, offsets_from, read_facts
from app.core.encoders.models import ModelSource, quiet_hf_logging, resolve_model
from app.core.encoders.query_encoder import QueryEncoder, offsets_tokenizer
from app.core.host.native import NATIVE_IMPORTS, before_usearch

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
    backend_id: str = ""


class Embedder:
    """One shared bi-encoder. Thread-safe: encoding is serialised by a lock, one batch at a time.

    Loading is lazy (first use): importing torch and sentence-transformers takes seconds.
    """

    def __init__(self, model: str, *, backend: str = "auto", batch_size: int = 16,
                 source: ModelSource | None = None, cache_dir: Path | None = None) -> None:
        self.requested = model
        self.backend_choice = backend
        self.batch_size = batch_size
        self._source = source
        self._cache_dir = cache_dir
        # Loading and encoding have separate locks: a thread that only needs ``info`` or
        # chunking must not wait behind an encoding batch (the reader thread of the indexer).
        self._load_lock = threading.Lock()
        self._lock = threading.Lock()
        # Queries go first: Python locks are not fair, and a document loop that releases and
        # retakes the lock could otherwise keep a waiting query out for several batches.
        self._queries = threading.Condition()
        self._queries_waiting = 0
        self._tok_lock = threading.Lock()
        self._chunk_tokenizer: Any = None
        self._runner: Any = None
        self._info: EmbedderInfo | None = None
        # The light query encoder (torch-free), tried once; and the tokenizer of its export,
        # which lets chunking (the words stage) start before the model is loaded.
        self._light_lock = threading.Lock()
        self._light: QueryEncoder | None = None
        self._light_tried = False
        self._light_offsets: Any = None
        self._warming: threading.Thread | None = None
        self._facts: ModelFacts | None = None
        self._facts_read = False
        self._loader: threading.Thread | None = None
        self.on_first_check: Callable[[str], None] | None = None  # told: the one-time check starts

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
        return self._info is not None

    @property
    def cache_dir(self) -> Path:
        """Where backend decisions and exported models are kept: the computer's, not a data folder's."""
        if self._cache_dir is None:
            from app.core.encoders.backends.cache import machine_cache_dir

            self._cache_dir = machine_cache_dir()
        return self._cache_dir / "encoders"

    def load(self) -> EmbedderInfo:
        """Load the model now (idempotent); cheap once loaded."""
        info = self._info
        if info is not None:
            return info
        # The load holds the native-imports lock for seconds: a writer opening the index
        # (usearch needs onnxruntime loaded first) must not wait behind it.
        before_usearch()
        with self._load_lock:
            if self._info is None:
                self.light()  # first: queries are served while the full model loads
                with NATIVE_IMPORTS:
                    self._load()
                if self._light is None:
                    # Choosing an exported backend may just have made the export: look again.
                    with self._light_lock:
                        self._light_tried = False
            assert self._info is not None
            return self._info

    def load_in_background(self) -> threading.Thread:
        """Start loading the model on a thread of its own (once); the thread, to wait on.

        A load cannot be interrupted (torch, the backend check), so a writer that needs the model
        waits on this thread in short steps and stays free to answer Cancel and Quit.
        """
        # The load holds the native-imports lock for its whole length; onnxruntime comes first
        # here so that the caller opening the index (usearch) does not wait behind the load.
        before_usearch()
        with self._light_lock:
            if self._loader is None or (not self._loader.is_alive() and self._info is None):
                self._loader = threading.Thread(target=self._load_quietly, name="sift-model-load",
                                                daemon=True)
                self._loader.start()
            return self._loader

    def wait_loaded(self, stop: Callable[[], object]) -> EmbedderInfo | None:
        """Wait for the load started in the background, in 0.1 s steps that ``stop`` can end.

        None when ``stop()`` said so first (it may also raise, e.g. Cancelled); the model's
        facts once loaded; the load's own error if it failed.
        """
        loader = self.load_in_background()
        while loader.is_alive():
            if stop():
                return None
            loader.join(0.1)
        return self.load()  # loaded by now; if the load failed, this raises its error here

    def _load_quietly(self) -> None:
        try:
            self.load()
        except Exception:  # the waiting writer calls load() again and reports it in words
            log.exception("loading the embedding model failed")

    def _load(self) -> None:
        started = time.perf_counter()
        quiet_hf_logging()
        from app.core.encoders import backends

        choice = backends.load(self.source, self.backend_choice, self.cache_dir, self.on_first_check)
        self._runner = choice.runner
        self._chunk_tokenizer = _chunking_copy(choice.runner)
        self._info = EmbedderInfo(
            name=self.source.name,
            origin=self.source.origin,
            dim=choice.dim,
            max_tokens=choice.max_length - 2,
            backend=choice.label,
            reason=choice.reason,
            load_seconds=time.perf_counter() - started,
            backend_id=choice.backend,
        )
        log.info("embedding model %s (%s) on %s: %s", self.source.name, self.source.origin,
                 choice.label, choice.reason)

    @property
    def info(self) -> EmbedderInfo:
        return self.load()

    # -- the light query encoder -------------------------------------------------------------
    @property
    def export_dir(self) -> Path:
        """Where this model's ONNX export lives (shared with the exported backends)."""
        from app.core.encoders.backends.cache import DecisionCache

        return DecisionCache(self.cache_dir).export_dir(self.source)

    def light(self) -> QueryEncoder | None:
        """The torch-free query encoder, opened on first use; None when there is no export."""
        if not self._light_tried:
            with self._light_lock:
                if not self._light_tried:
                    with NATIVE_IMPORTS:
                        self._light = QueryEncoder.open(self.export_dir)
                    self._light_tried = True
        return self._light

    def prepare_queries(self) -> None:
        """Make queries answerable now: the light encoder if there is one, else the full model."""
        if self.light() is None:
            self.load()

    @property
    def query_ready(self) -> bool:
        """Whether a query can be embedded without waiting for a model to load."""
        return self._light is not None or self._info is not None

    def warm_up(self) -> None:
        """Get the query encoder ready in the background (returns at once)."""
        with self._light_lock:
            if self.query_ready or (self._warming is not None and self._warming.is_alive()):
                return
            self._warming = threading.Thread(target=self._warm, name="sift-query-encoder",
                                             daemon=True)
            self._warming.start()

    def _warm(self) -> None:
        try:
            self.prepare_queries()
        except Exception:  # the next blocking use reports it in words
            log.exception("loading the query encoder failed")

    def export_queries(self) -> bool:
        """Export the loaded torch model for the light query encoder, once; True if it is ready.

        Needs onnx (to export) and onnxruntime (to run); a model on a GPU is left as it is.
        """
        if self.light() is not None:
            return True
        model = getattr(self._runner, "model", None) if self._info is not None else None
        from app.core.encoders.backends.hardware import installed

        if model is None or not installed("onnx") or not installed("onnxruntime") or \
                not str(getattr(model, "device", "cpu")).startswith("cpu"):
            return False
        from app.core.encoders.backends import exported

        try:
            exported.export(_as_float32(model), self.export_dir)
        except Exception as exc:  # an unusual model: queries keep using the full model
            log.info("could not export %s for queries: %s", self.name, exc)
            return False
        with self._light_lock:
            self._light_tried = False
        return self.light() is not None

    # -- tokens, for chunking ------------------------------------------------------------
    @property
    def facts(self) -> ModelFacts | None:
        """What the model folder says of itself (width, limit, tokenizer), read without torch."""
        if not self._facts_read:
            source = self.source
            self._facts = read_facts(source.location) if source.local else None
            self._facts_read = True
        return self._facts

    @property
    def known_dim(self) -> int | None:
        """The embedding width if it is known without loading the model."""
        if self._info is not None:
            return self._info.dim
        light = self.light()
        if light is not None:
            return light.dim
        return self.facts.dim if self.facts is not None else None

    @property
    def max_tokens(self) -> int:
        """Word pieces a passage may hold, known without loading the model when it can be read."""
        if self._info is not None:
            return self._info.max_tokens
        light = self.light()
        if light is not None:
            return light.max_tokens
        return self.facts.max_tokens if self.facts is not None else self.info.max_tokens

    def token_offsets(self, text: str) -> list[tuple[int, int]]:
        """Character spans of the word pieces of ``text`` (no special tokens).

        Before the model is loaded they come from its export or its folder's tokenizer, so the
        words stage of indexing never waits for torch or the backend check.
        """
        if self._info is None:
            if self._light_offsets is None:
                if self.light() is not None:
                    self._light_offsets = offsets_tokenizer(self.export_dir)
                elif self.facts is not None:
                    self._light_offsets = offsets_from(self.facts)
            if self._light_offsets is not None:
                return self._light_offsets(text)
        self.load()
        with self._tok_lock:
            return self._chunk_tokenizer(text)

    # -- encoding ------------------------------------------------------------------------
    def embed_documents(self, texts: list[str]) -> np.ndarray:
        """Normalised float32 embeddings, one row per text."""
        dim = self.info.dim
        if not texts:
            return np.zeros((0, dim), dtype=np.float32)
        # Longest first in batches of similar length (less padding); the lock is taken per
        # batch so that a query arriving meanwhile waits for one small batch at most.
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        out = np.zeros((len(texts), dim), dtype=np.float32)
        for start in range(0, len(order), self.batch_size):
            idx = order[start:start + self.batch_size]
            batch = [texts[i] for i in idx]
            with self._queries:
                self._queries.wait_for(lambda: self._queries_waiting == 0, timeout=5.0)
            with self._lock:
                out[idx] = self._runner.encode_documents(batch, self.batch_size)
        return out

    def embed_query(self, text: str) -> np.ndarray:
        """The normalised float32 embedding of a search query (waits one batch at most).

        The light encoder, when there is one, answers at once: it is a session of its own,
        so a query never waits for an indexing batch.
        """
        light = self.light()
        if light is not None:
            with self.searching():
                return light.encode(text)
        self.load()
        return self._locked_query(text)

    def embed_query_nowait(self, text: str) -> np.ndarray | None:
        """The query's embedding if an encoder is ready; otherwise None, and one starts loading."""
        if self._light is not None:
            with self.searching():
                return self._light.encode(text)
        if self._info is not None:
            return self._locked_query(text)
        self.warm_up()
        return None

    def _locked_query(self, text: str) -> np.ndarray:
        with self.searching(), self._lock:
            vec = self._runner.encode_queries([text], 1)
        return np.ascontiguousarray(vec[0], dtype=np.float32)

    @contextlib.contextmanager
    def searching(self) -> Iterator[None]:
        """While a search runs, no new document batch starts: queries go first.

        A batch already running finishes (a few hundred ms at most); the indexer waits before
        the next one, so a search competes with one batch at most, never with a stream of them.
        """
        with self._queries:
            self._queries_waiting += 1
        try:
            yield
        finally:
            with self._queries:
                self._queries_waiting -= 1
                self._queries.notify_all()


def _as_float32(model: Any) -> Any:
    """The model in float32: the export must match the float32 reference (a copy if cast)."""
    import copy

    import torch

    if next(model.parameters()).dtype == torch.float32:
        return model
    return copy.deepcopy(model).to(torch.float32)


def _chunking_copy(runner: Any) -> Any:
    """A private tokenizer for chunking, returning word-piece offsets.

    Chunking runs on another thread than encoding, and a tokenizer that two threads use at
    once fails ("Already borrowed"); the copy also has no truncation, so long texts keep all
    their pieces.
    """
    fast = getattr(runner, "tokenizer", None)
    if fast is not None:
        from tokenizers import Tokenizer

        tok = Tokenizer.from_str(fast.to_str())
        tok.no_truncation()
        tok.no_padding()

        def offsets(text: str) -> list[tuple[int, int]]:
            return tok.encode(text, add_special_tokens=False).offsets

        return offsets
    import copy

    slow = copy.deepcopy(runner.model.tokenizer)

    def slow_offsets(text: str) -> list[tuple[int, int]]:
        enc = slow(text, add_special_tokens=False, return_offsets_mapping=True,
                   return_attention_mask=False, return_token_type_ids=False, truncation=False,
                   verbose=False)
        return [(int(a), int(b)) for a, b in enc["offset_mapping"]]

    return slow_offsets
