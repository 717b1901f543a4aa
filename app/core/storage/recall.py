"""Recall of the vector graph against exact search: how often the graph finds the true neighbours."""

from __future__ import annotations

from typing import Protocol

import numpy as np


class Searchable(Protocol):
    """A vector index answering both by its graph and by brute force."""

    def __len__(self) -> int: ...
    def search_exact(self, query: np.ndarray,
                     count: int) -> tuple[np.ndarray, np.ndarray]: ...
    def search_approximate(self, query: np.ndarray,
                           count: int) -> tuple[np.ndarray, np.ndarray]: ...


def dense_recall(store: Searchable, queries: np.ndarray, k: int = 10) -> float:
    """Mean recall@k of the HNSW graph against exact search, for the given query vectors.

    Measured on real queries: the index's own vectors as queries flatter the graph (issue 11).
    """
    queries = np.atleast_2d(np.asarray(queries, dtype=np.float32))
    if len(store) == 0 or len(queries) == 0:
        return 1.0
    hits = 0
    total = 0
    for q in queries:
        truth, _ = store.search_exact(q, k)
        approx, _ = store.search_approximate(q, k)
        hits += len(np.intersect1d(truth, approx))
        total += len(truth)
    return hits / total if total else 1.0
