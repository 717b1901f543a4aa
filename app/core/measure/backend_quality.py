"""What a backend costs in retrieval quality: nDCG@10 with its document embeddings against float32's.

A BEIR-layout collection is indexed once by the app itself with torch float32 (same files,
chunking and keyword index as ``sift eval``); its stored embeddings are the reference. A backend
re-encodes the same passages, and the app's own Searcher ranks with those vectors, so dense and
hybrid nDCG@10 differ only by the document embeddings. Queries stay float32, as the app embeds
them (the light ONNX float32 query encoder), whatever backend indexes. Search is exact, as the
app's is below 50,000 passages. Used by ``sift bench --quality`` and
tests/benchmarks/quant_eval.py.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

Encode = Callable[[list[str]], np.ndarray]


@dataclass
class Reference:
    """A collection indexed with float32: its passages, their embeddings, the queries'."""

    name: str
    library: Any
    ids: np.ndarray
    texts: list[str]
    vectors: np.ndarray
    queries: dict[str, str]
    query_vectors: dict[str, np.ndarray]  # by semantic text
    qrels: dict[str, dict[str, int]]

    def close(self) -> None:
        self.library.close()


def subset(corpus: dict[str, dict], qrels: dict[str, dict[str, int]], qids: list[str],
           max_docs: int) -> dict[str, dict]:
    """Every judged document and others drawn at random (fixed seed) up to ``max_docs``.

    A cheaper task with the same queries; a backend's delta to float32 stays comparable,
    though absolute figures are higher than on the whole collection.
    """
    if not max_docs or len(corpus) <= max_docs:
        return corpus
    judged = {d for q in qids for d in qrels[q] if d in corpus}
    others = sorted(set(corpus) - judged)
    rng = np.random.default_rng(0)
    keep = judged | set(rng.choice(others, size=max(0, min(len(others), max_docs - len(judged))),
                                   replace=False).tolist())
    return {d: v for d, v in corpus.items() if d in keep}


def index_reference(folder: Path, work: Path, *, model: str, cache_dir: Path | None = None,
                    max_docs: int = 0, max_queries: int = 0) -> Reference:
    """Index ``folder`` (BEIR layout) into ``work`` with float32, once; later calls reuse it."""
    from app.core.encoders.embedder import Embedder
    from app.core.host.paths import resolve_paths
    from app.core.library import Library
    from app.core.measure.evaluation import load_beir, write_corpus
    from app.core.settings import Settings

    corpus, queries, qrels = load_beir(folder)
    qids = [q for q in queries if q in qrels]
    if max_queries:
        qids = qids[:max_queries]
    corpus = subset(corpus, qrels, qids, max_docs)
    docs = work / "docs"
    if not docs.exists() or len(os.listdir(docs)) != len(corpus):
        write_corpus(corpus, docs)
    paths = resolve_paths(work / "data")
    settings = replace(Settings(model=model), folders=(), rerank=False, backend="torch-float32")
    embedder = Embedder(model, backend="torch-float32", cache_dir=cache_dir or paths.cache_dir)
    lib = Library(paths, settings, embedder=embedder)
    lib.index([str(docs)])  # a no-op once indexed
    parts = list(lib.searcher().catalog.embeddings())
    ids = np.concatenate([p[0] for p in parts])
    vectors = np.concatenate([p[1] for p in parts])
    rows = lib.searcher().catalog.chunk_rows([int(i) for i in ids])
    texts = [rows[int(i)].text for i in ids]
    from app.core.search.query import parse_query

    # Embedded as the searcher asks: the query's semantic text (quotes and codes removed).
    semantic = {parse_query(queries[q]).semantic_text for q in qids}
    qvecs = {t: embedder.embed_query(t) for t in semantic if t}
    return Reference(folder.name, lib, ids, texts, vectors, {q: queries[q] for q in qids}, qvecs,
                     {q: qrels[q] for q in qids})


def encode_passages(encode: Encode, texts: list[str], batch: int = 16) -> np.ndarray:
    """Embeddings of ``texts`` in their order, encoded longest first as the indexer does."""
    order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
    out: np.ndarray | None = None
    for start in range(0, len(order), batch):
        idx = order[start:start + batch]
        v = encode([texts[i] for i in idx])
        if out is None:
            out = np.zeros((len(texts), v.shape[1]), dtype=np.float32)
        out[idx] = v
    return out if out is not None else np.zeros((0, 0), dtype=np.float32)


def ndcg(ref: Reference, vectors: np.ndarray) -> tuple[float, float]:
    """(dense, hybrid) nDCG@10 of the collection searched with ``vectors`` for its passages."""
    from app.core.measure.evaluation import ndcg_at
    from app.core.search.query import parse_query
    from app.core.search.searcher import Searcher

    searcher = Searcher(ref.library.searcher().catalog, _Vectors(ref.ids, vectors),  # type: ignore[arg-type]
                        _Queries(ref.query_vectors), None)  # type: ignore[arg-type]
    dense, hybrid = [], []
    for qid, text in ref.queries.items():
        ranked = searcher.rank(parse_query(text), depth=100, rerank=False)
        stems = {fid: Path(ranked.rows[ranked.best_chunk[fid][0][1]].path).stem
                 for fid in ranked.best_chunk}
        dense.append(ndcg_at([stems[f] for f, _ in ranked.dense[:10]], ref.qrels[qid]))
        hybrid.append(ndcg_at([stems[f] for f, _ in ranked.hybrid[:10]], ref.qrels[qid]))
    return float(np.mean(dense)), float(np.mean(hybrid))


class _Vectors:
    """Exact search over one backend's embeddings, in the vector store's interface."""

    def __init__(self, ids: np.ndarray, vecs: np.ndarray) -> None:
        self.ids, self.vecs = ids, vecs

    def __len__(self) -> int:
        return len(self.ids)

    def search(self, query: np.ndarray, count: int,
               allowed: Any = None) -> tuple[np.ndarray, np.ndarray]:
        sims = self.vecs @ query
        count = min(count, len(sims))
        top = np.argpartition(-sims, count - 1)[:count] if count else np.zeros(0, dtype=int)
        top = top[np.argsort(-sims[top], kind="stable")]
        return self.ids[top], sims[top]


class _Queries:
    """Float32 query embeddings made beforehand, in the embedder's interface."""

    query_ready = True

    def __init__(self, by_text: dict[str, np.ndarray]) -> None:
        self.vecs = by_text

    def embed_query_nowait(self, text: str) -> np.ndarray | None:
        return self.vecs.get(text)
