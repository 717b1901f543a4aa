"""Meaning marks: the sentence of a passage closest in meaning to a question, found in a millisecond.

Running the transformer on every sentence shown would cost about a second per search on two cores.
The marks use the model's own word-piece vectors instead (its input embedding table, no
transformer pass): each query word piece finds its best match in a sentence, and the sentence whose
matches are best on average is the one that carries the question (a late-interaction score, as
ColBERT does with contextual vectors). Measured in tests/benchmarks/meaning_marks.py.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from app.core.search.query import STOPWORDS

log = logging.getLogger(__name__)

Span = tuple[int, int]
EMBEDDING_KEY = "embeddings.word_embeddings.weight"
# A sentence longer than this is cut at a clause break: the mark is a short span, not a paragraph.
MAX_SPAN_CHARS = 240
# Below this average best match the sentence shares nothing with the question: no mark.
MIN_SCORE = 0.2
# A sentence ends at . ! ? before a capital, at a blank line, or before a line that starts a list
# item, a heading or a table row; a hard-wrapped line of prose goes on.
_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9À-ÖØ-Þ])"
                           r"|\s*\n\s*\n\s*|\s*\n(?=[ \t]*(?:[-*+>#|•]|\d+[.)]\s))\s*")
_CLAUSE_END = re.compile(r"(?<=[;:,])\s+")
_WORD = re.compile(r"\w+")
WORD_CACHE = 200_000

Tokenize = Callable[[str], tuple[list[int], list[Span]]]


@dataclass(frozen=True)
class QueryPieces:
    """The query's content word pieces as unit vectors, ready to score sentences against."""

    vectors: np.ndarray  # (pieces, dim), float32, unit rows


def sentence_spans(text: str) -> list[Span]:
    """Sentences (and lines) of ``text`` as character spans, long ones cut at clause breaks."""
    spans: list[Span] = []
    start = 0
    for m in [*_SENTENCE_END.finditer(text), None]:
        end = m.start() if m is not None else len(text)
        piece = text[start:end]
        lead = len(piece) - len(piece.lstrip())
        a, b = start + lead, start + len(piece.rstrip())
        if b > a:
            spans.extend(_short(text, a, b))
        if m is not None:
            start = m.end()
    return spans


def _short(text: str, a: int, b: int) -> list[Span]:
    if b - a <= MAX_SPAN_CHARS:
        return [(a, b)]
    out: list[Span] = []
    start = a
    for m in _CLAUSE_END.finditer(text, a, b):
        if m.start() - start > MAX_SPAN_CHARS // 2 and b - m.end() > 20:
            out.append((start, m.start()))
            start = m.end()
    out.append((start, b))
    return out


class MeaningMarker:
    """Finds the sentence to mark, from the word-piece table of the search model."""

    def __init__(self, table: np.ndarray, tokenize: Tokenize, piece: Callable[[int], str | None]) -> None:
        self._table = table
        # Rows are scaled to unit length when used (a few thousand per search), by these.
        self._inverse_norm = 1.0 / np.maximum(np.linalg.norm(table, axis=1), 1e-9)
        self._tokenize = tokenize
        self._piece = piece
        # Per word piece: 1 carries meaning, 0 not (a stopword, punctuation), -1 not looked at yet.
        self._content = np.full(len(table), -1, dtype=np.int8)

    def _unit(self, ids: np.ndarray) -> np.ndarray:
        return self._table[ids] * self._inverse_norm[ids, None]

    @classmethod
    def from_folder(cls, folder: Path) -> MeaningMarker | None:
        """The marker of the model in ``folder`` (its tokenizer.json and safetensors); or None."""
        tok_file = folder / "tokenizer.json"
        weights = sorted(folder.glob("*.safetensors"))
        if not tok_file.is_file() or not weights:
            return None
        from safetensors import safe_open
        from tokenizers import Tokenizer

        table = None
        for path in weights:
            with safe_open(str(path), framework="numpy") as f:
                key = next((k for k in f.keys() if k.endswith(EMBEDDING_KEY)), None)  # noqa: SIM118
                if key is not None:
                    table = np.asarray(f.get_tensor(key), dtype=np.float32)
                    break
        if table is None:
            return None
        tok = Tokenizer.from_file(str(tok_file))
        tok.no_truncation()
        tok.no_padding()
        return cls(table, _word_cached(tok), tok.id_to_token)

    def _carries(self, ids: np.ndarray) -> np.ndarray:
        """Which of ``ids`` carry meaning; each word piece is looked at once."""
        ids = ids[ids < len(self._content)]
        seen = self._content[ids]
        for i in set(ids[seen < 0].tolist()) if (seen < 0).any() else ():
            piece = self._piece(i) or ""
            word = piece.removeprefix("##").casefold()
            self._content[i] = any(c.isalnum() for c in word) and word not in STOPWORDS \
                and not (piece.startswith("[") and piece.endswith("]"))
        return self._content[ids] > 0

    def query(self, text: str) -> QueryPieces | None:
        """The query's content word pieces; None when it has none."""
        ids = np.asarray(list(dict.fromkeys(self._tokenize(text)[0])), dtype=np.int64)
        keep = ids[ids < len(self._content)]
        keep = keep[self._carries(keep)]
        if not len(keep):
            return None
        return QueryPieces(self._unit(keep))

    def best_sentence(self, text: str, q: QueryPieces) -> Span | None:
        """The span of ``text`` closest in meaning to the query, or None when none comes close."""
        return self.best_sentences([text], q)[0]

    def best_sentences(self, texts: list[str], q: QueryPieces) -> list[Span | None]:
        """best_sentence for each of ``texts``, with one product of vectors for all of them.

        One product per search, not one per passage.
        """
        pieces = [self._pieces(text) for text in texts]
        found = [p for p in pieces if p is not None]
        if not found:
            return [None] * len(texts)
        unique, inverse = np.unique(np.concatenate([ids for _, ids, _ in found]),
                                    return_inverse=True)
        # (query pieces, distinct passage pieces). einsum, not BLAS: a product this small on
        # BLAS threads took 90 ms on two busy cores (1.5 ms here), see meaning_marks benchmark.
        sims = np.einsum("qd,nd->qn", q.vectors, self._table[unique]) * self._inverse_norm[unique]
        # Every sentence of every passage numbered in one row, so one reduction scores them all.
        bases = np.cumsum([0] + [len(spans) for spans, _, _ in found])
        which = np.concatenate([w + base for (_, _, w), base in zip(found, bases, strict=False)])
        present, cut = np.unique(which, return_index=True)
        best = np.maximum.reduceat(sims[:, inverse], cut, axis=1)  # each query piece's best
        scores = best.mean(axis=0)
        bounds = np.searchsorted(present, bases)
        chosen: list[Span | None] = []
        for k, (spans, _, _) in enumerate(found):
            lo, hi = int(bounds[k]), int(bounds[k + 1])
            top = lo + int(np.argmax(scores[lo:hi])) if hi > lo else -1
            ok = top >= 0 and float(scores[top]) >= MIN_SCORE
            chosen.append(spans[int(present[top] - bases[k])] if ok else None)
        marks = iter(chosen)
        return [None if p is None else next(marks) for p in pieces]

    def _pieces(self, text: str) -> tuple[list[Span], np.ndarray, np.ndarray] | None:
        """Sentences of ``text``, its content word pieces and the sentence each one is in."""
        spans = sentence_spans(text)
        if not spans:
            return None
        ids, offsets = self._tokenize(text)
        if not ids:
            return None
        ids_a = np.asarray(ids, dtype=np.int64)
        starts = np.asarray([o[0] for o in offsets], dtype=np.int64)
        keep = ids_a < len(self._content)
        keep[keep] = self._carries(ids_a[keep])
        ids_a, starts = ids_a[keep], starts[keep]
        sentence_starts = np.asarray([a for a, _ in spans], dtype=np.int64)
        which = np.searchsorted(sentence_starts, starts, side="right") - 1
        inside = which >= 0
        if not inside.any():
            return None
        return spans, ids_a[inside], which[inside]


def _word_cached(tok: Any) -> Tokenize:
    """Word pieces of a text, word by word through a cache: words repeat, and the tokenizer's
    full pass with offsets cost 1.4 ms per passage (40 ms a search) on two busy cores."""
    cache: dict[str, list[int]] = {}
    lock = threading.Lock()

    def tokenize(text: str) -> tuple[list[int], list[Span]]:
        ids: list[int] = []
        offsets: list[Span] = []
        for m in _WORD.finditer(text):
            word = m.group()
            pieces = cache.get(word)
            if pieces is None:
                with lock:
                    if len(cache) > WORD_CACHE:
                        cache.clear()
                    pieces = cache[word] = tok.encode(word, add_special_tokens=False).ids
            ids += pieces
            offsets += [m.span()] * len(pieces)
        return ids, offsets

    return tokenize


class MarkerSource:
    """The marker of one embedder's model, loaded once on first use (about 0.1 s), thread-safe."""

    def __init__(self, embedder: Any) -> None:
        self._embedder = embedder
        self._lock = threading.Lock()
        self._marker: MeaningMarker | None = None
        self._tried = False

    def warm(self) -> None:
        """Load it on a thread of its own now, so that the first search does not wait."""
        if not self._tried:
            threading.Thread(target=self.get, name="sift-meaning-marks", daemon=True).start()

    def get(self) -> MeaningMarker | None:
        if not self._tried:
            with self._lock:
                if not self._tried:
                    self._marker = self._load()
                    self._tried = True
        return self._marker

    def focus(self, text: str, passages: list[tuple[int, str]]) -> dict[int, Span]:
        """The sentence closest in meaning to ``text`` in each (id, passage text), by id."""
        marker = self.get()
        pieces = marker.query(text) if marker is not None and text else None
        if marker is None or pieces is None:
            return {}
        spans = marker.best_sentences([t for _, t in passages], pieces)
        return {i: s for (i, _), s in zip(passages, spans, strict=True) if s is not None}

    def _load(self) -> MeaningMarker | None:
        try:
            folder = model_folder(self._embedder.source)
            return MeaningMarker.from_folder(folder) if folder is not None else None
        except Exception as exc:  # an unusual model: snippets keep their word marks only
            log.info("meaning marks are off for this model: %s", exc)
            return None


def model_folder(source: Any) -> Path | None:
    """The model's folder on disk: a local folder, or the hub's cache (never the network)."""
    if source.local:
        return Path(source.location)
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return None
    found = try_to_load_from_cache(source.location, "tokenizer.json")
    return Path(found).parent if isinstance(found, str) else None
