"""Stages after a file is findable by its words (embedding now, OCR later), resumable from the catalog."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from app.core.encoders.embedder import Embedder
from app.core.storage.catalog import STAGE_MEANING, STAGE_WORDS
from app.core.storage.store import IndexStore

EMBED_BATCH = 128  # passages committed together: at most this much embedding is redone after a crash
SLICE_SECONDS = 0.4   # encoding between two cancel checks: Cancel and Quit act well within a second
MAX_SLICE = 64       # on a fast machine, slices stay small enough to share the CPU with queries


@dataclass(frozen=True)
class StepResult:
    """What one step of a later stage did."""

    files: int       # files that finished the stage
    passages: int    # passages processed
    seconds: float
    kept: int = 0    # of those, passages that took an embedding stored for the same text


class LaterStage(Protocol):
    """A stage that runs on the writer thread after the words stage, one small committed step at a time.

    Its state lives in the catalog (the ``files.stage`` column and whatever it stores), so a
    quit, a crash or a cancel never repeats a finished step. An OCR stage, for example, takes
    files it marked for OCR, stores their text as chunks and puts them back at stage 'words',
    which the embedding stage then picks up.
    """

    name: str

    def pending(self) -> tuple[int, int]:
        """(files, passages) waiting for this stage; passages may be 0 when unknown."""
        ...

    def step(self, checkpoint: Callable[[], None]) -> StepResult | None:
        """Do and commit one batch; None when nothing is left. ``checkpoint`` raises Cancelled."""
        ...


class EmbeddingStage:
    """Embeds the passages of files at stage 'words', newest first; a file is done when all are."""

    name = STAGE_MEANING

    def __init__(self, store: IndexStore, embedder: Embedder, batch: int = EMBED_BATCH) -> None:
        self.store = store
        self.embedder = embedder
        self.batch = batch
        self._slice = 4  # passages per encoder call between cancel checks; grows with the rate seen

    def pending(self) -> tuple[int, int]:
        counts = self.store.catalog.stage_counts()
        return counts[STAGE_WORDS], counts["pending_chunks"]

    @property
    def slice(self) -> int:
        """Passages one encoder call takes now: about SLICE_SECONDS of work."""
        return self._slice

    def step(self, checkpoint: Callable[[], None], most: int | None = None) -> StepResult | None:
        """One committed batch of at most ``most`` passages (default: the stage's batch)."""
        cat = self.store.catalog
        batch = self.batch if most is None else max(1, min(most, self.batch))
        todo: list[tuple[int, list[tuple[int, str]], bool]] = []  # file, its chunks, all of them?
        taken = 0
        for file_id in cat.files_at_stage(STAGE_WORDS, limit=batch):
            chunks = cat.unembedded_chunks(file_id)
            room = batch - taken
            if len(chunks) > room:
                if not todo:  # a large file: its first passages now, the rest in later steps
                    todo.append((file_id, chunks[:room], False))
                break
            todo.append((file_id, chunks, True))
            taken += len(chunks)
            if taken >= batch:
                break
        if not todo:
            return None
        self._wait_for_model(checkpoint)
        started = time.perf_counter()
        ids = [cid for _, chunks, _ in todo for cid, _ in chunks]
        texts = [text for _, chunks, _ in todo for _, text in chunks]
        vectors = np.zeros((len(texts), self.embedder.info.dim), dtype=np.float32)
        # A passage whose text was embedded already (anywhere in the catalog, or twice in this
        # step) takes that embedding instead of being embedded again.
        known = cat.embeddings_for_texts(texts)
        first: dict[str, int] = {}
        kept = 0
        for i, text in enumerate(texts):
            if text in known:
                vectors[i] = np.frombuffer(known[text], dtype=np.float16)
                kept += 1
            elif text in first:
                kept += 1
            else:
                first[text] = i
        # Longest first (less padding), in slices so that Cancel and Pause act within one.
        order = sorted(first.values(), key=lambda i: -len(texts[i]))
        start = 0
        while start < len(order):
            checkpoint()
            idx = order[start:start + self._slice]
            began = time.perf_counter()
            vectors[idx] = self.embedder.embed_documents([texts[i] for i in idx])
            self._fit_slice(len(idx), time.perf_counter() - began)
            start += len(idx)
        for i, text in enumerate(texts):
            if text in first and first[text] != i:
                vectors[i] = vectors[first[text]]
        with cat.transaction():
            if ids:
                cat.set_embeddings(ids, vectors)
            for file_id, _, complete in todo:
                if complete:
                    cat.set_stage(file_id, STAGE_MEANING)
        # The catalog has committed; the vector index follows (repaired from it after a crash).
        if ids:
            self.store.vectors.add(np.asarray(ids, dtype=np.uint64), vectors)
        return StepResult(files=sum(1 for *_, complete in todo if complete), passages=len(ids),
                          seconds=time.perf_counter() - started, kept=kept)

    def _fit_slice(self, passages: int, seconds: float) -> None:
        """Size the next slice by the rate just measured, so each takes about SLICE_SECONDS.

        A fixed count is a second on a fast machine and many on a slow or busy one; the rate
        follows the CPU, the backend and the load.
        """
        if seconds <= 0:
            return
        fitted = int(passages / seconds * SLICE_SECONDS)
        self._slice = max(1, min(MAX_SLICE, fitted, 2 * self._slice))

    def _wait_for_model(self, checkpoint: Callable[[], None]) -> None:
        """The words stage ran on the model folder's tokenizer; embedding needs the model itself.

        Its load runs on a thread of its own, so Cancel and Quit still act within a step here.
        """
        if not self.embedder.loaded:
            self.embedder.wait_loaded(checkpoint)  # checkpoint raises Cancelled to stop
