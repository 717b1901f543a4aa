"""Indexing progress over both stages: counts, throttled reports, rate and time left."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from app.core.indexing.stages import EmbeddingStage, LaterStage
from app.core.records import Progress

ProgressFn = Callable[[Progress], None]


class ProgressTracker:
    """Counts both stages, throttles reports, and works out rate and time left.

    Time left comes from the remaining work, not the remaining files: bytes still to read in
    the words stage, passages still to embed in the meaning stage.
    """

    def __init__(self, callback: ProgressFn | None, interval: float = 0.1) -> None:
        self.callback = callback
        self.interval = interval
        self.last = 0.0
        self.stage = "words"
        self.words_done = self.words_total = 0
        self.bytes_done = self.bytes_total = 0
        self.meaning_done = self.meaning_total = 0
        self.passages_done = self.passages_total = 0
        self.chunks = 0
        self.current = ""
        self.started = time.monotonic()

    def scanning(self) -> None:
        if self.callback is not None:
            self.callback(Progress("scanning", message="Looking for files…", stage="scanning"))

    def start_words(self, files: int, size: int, stages: Sequence[LaterStage]) -> None:
        self.stage, self.started = "words", time.monotonic()
        self.words_total, self.bytes_total = files, size
        # Files already waiting for their embeddings (an earlier run that stopped) count too.
        self._waiting = 0
        for stage in stages:
            if stage.name == EmbeddingStage.name:
                self._waiting, self.passages_total = stage.pending()
        self.meaning_total = self._waiting
        self.emit(force=True)

    def file_read(self, path: str, size: int, passages: int | None, chunks: int) -> None:
        """A file went through the words stage; ``passages`` None when it has none to embed."""
        self.words_done += 1
        self.bytes_done += size
        self.chunks = chunks
        self.current = path
        if passages is not None:
            self.meaning_total += 1
            self.passages_total += passages
        self.emit()

    def kept(self, files: int, passages: int) -> None:
        """Passages (and whole files) that kept an earlier embedding: none to wait for."""
        self.meaning_total -= files
        self.passages_total -= passages

    def start_later(self) -> None:
        self.stage, self.started = "meaning", time.monotonic()
        self.current = ""
        self.emit(force=True)

    def step_done(self, stage: str, files: int, passages: int) -> None:
        if stage == EmbeddingStage.name:
            self.meaning_done += files
            self.passages_done += passages
        self.emit()

    def done(self, message: str) -> None:
        self.stage = "done"
        self.emit(force=True, phase="done", message=message)

    def emit(self, force: bool = False, phase: str = "indexing", message: str = "") -> None:
        if self.callback is None:
            return
        now = time.monotonic()
        if not force and now - self.last < self.interval:
            return
        self.last = now
        elapsed = max(now - self.started, 1e-6)
        if self.stage == "words":
            done, total, rate_of = self.words_done, self.words_total, self.bytes_done
            left = self.bytes_total - self.bytes_done
        else:
            done, total, rate_of = self.meaning_done, self.meaning_total, self.passages_done
            left = self.passages_total - self.passages_done
        rate = rate_of / elapsed
        eta = left / rate if rate > 0 and left > 0 else (0.0 if total and done >= total else None)
        if phase == "done":
            done = total = self.words_total
        self.callback(Progress(
            phase, files_done=done, files_total=total, chunks_done=self.chunks,
            current=self.current, rate=done / elapsed, eta_s=eta, message=message,
            stage=self.stage, words_done=self.words_done, words_total=self.words_total,
            meaning_done=self.meaning_done, meaning_total=self.meaning_total,
            passages_total=self.passages_total))
