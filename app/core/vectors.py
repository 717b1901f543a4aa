"""The vector index: a contract and its usearch implementation (the only module importing usearch).

Small collections are searched exactly (a matrix product over the vectors held in memory); only
above ``EXACT_LIMIT`` vectors does the HNSW graph answer, with parameters chosen by measured
recall on real queries. The file on disk is a cache of the catalog: a sidecar holding its
checksum, key count and dimension is written with it, and the file is loaded only when they match.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Protocol

import numpy as np

from app.core.atomic import write_atomic, write_text_atomic
from app.core.hashing import file_digest
from app.core.native import before_usearch

log = logging.getLogger(__name__)

# f16 halves memory with no measurable recall loss for normalised embeddings; pinned so every
# machine writes the same file.
DTYPE = "f16"
# Brute force over this many 384-d vectors is one matrix product of a few milliseconds and is
# always right; HNSW lost true neighbours of real queries (issue 11) well below this size.
EXACT_LIMIT = 50_000
# Above EXACT_LIMIT the graph answers. The search asks it for 300 candidates, so the candidate
# pool is at least that wide whatever expansion_search says; recall@10 against exact search,
# measured on real queries by `sift eval` and at 100k+ vectors by tests/benchmarks/dense_recall.py.
CONNECTIVITY = 16
EXPANSION_ADD = 128
EXPANSION_SEARCH = 128
SIDECAR_VERSION = 1


class VectorStore(Protocol):
    """What the indexer and the search need from a vector index, whatever implements it."""

    def __len__(self) -> int: ...
    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None: ...
    def remove(self, ids: Iterable[int]) -> None: ...
    def search(self, query: np.ndarray, count: int,
               allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]: ...
    def keys(self) -> np.ndarray: ...
    def save(self) -> None: ...


class _ExactMatrix:
    """The index's vectors as one float32 matrix for brute-force search, kept up to date lazily."""

    def __init__(self) -> None:
        self.keys = np.zeros(0, dtype=np.uint64)
        self.mat = np.zeros((0, 0), dtype=np.float32)
        self.valid = False

    def invalidate(self) -> None:
        self.valid = False
        self.keys = np.zeros(0, dtype=np.uint64)
        self.mat = np.zeros((0, 0), dtype=np.float32)

    def search(self, query: np.ndarray, count: int,
               allowed: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        sims = self.mat @ query
        keys = self.keys
        if allowed is not None:
            mask = np.isin(keys, allowed)
            sims, keys = sims[mask], keys[mask]
        if len(sims) == 0:
            return np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.float32)
        count = min(count, len(sims))
        top = np.argpartition(-sims, count - 1)[:count] if count < len(sims) else np.arange(len(sims))
        top = top[np.argsort(-sims[top], kind="stable")]
        return keys[top], sims[top]


class UsearchStore:
    """A usearch index (cosine) keyed by chunk id, guarded by a lock, saved atomically."""

    def __init__(self, path: Path, ndim: int, *, exact_limit: int = EXACT_LIMIT) -> None:
        self.path = path
        self.ndim = ndim
        self.exact_limit = exact_limit
        self._lock = threading.RLock()
        self._index = self._new()
        self._exact = _ExactMatrix()
        self.dirty = False
        self.load_error: str | None = None
        self.removed_since_build = 0
        self._expected_count = -1

    @property
    def sidecar(self) -> Path:
        return self.path.with_name(self.path.name + ".json")

    def _new(self):  # type: ignore[no-untyped-def]
        before_usearch()  # onnxruntime imported after usearch crashes the process
        from usearch.index import Index

        return Index(ndim=self.ndim, metric="cos", dtype=DTYPE, connectivity=CONNECTIVITY,
                     expansion_add=EXPANSION_ADD, expansion_search=EXPANSION_SEARCH)

    def load(self) -> bool:
        """Load the saved file; False (and an empty index) when it is missing or fails its checks.

        A damaged file can crash usearch's loader (a segfault, a huge allocation, a hang), so
        nothing is handed to usearch before its size and checksum match the sidecar.
        """
        with self._lock:
            self._index = self._new()
            self._exact.invalidate()
            self.load_error = None
            if not self.path.exists():
                self.load_error = "missing"
                return False
            problem = self._verify()
            if problem is None:
                try:
                    self._index.load(str(self.path))
                except Exception as exc:  # written by another usearch major, or unreadable
                    problem = f"unreadable ({exc})"
            if problem is None:
                problem = self._check_loaded()
            if problem is not None:
                log.warning("vector index %s unusable (%s); it will be rebuilt", self.path, problem)
                self.load_error = problem
                self._index = self._new()
                return False
            # Not stored in the file: set again after every load.
            self._index.expansion_add = EXPANSION_ADD
            self._index.expansion_search = EXPANSION_SEARCH
            self.dirty = False
            return True

    def _verify(self) -> str | None:
        """Why the file on disk cannot be trusted, or None when it matches its sidecar."""
        try:
            meta = json.loads(self.sidecar.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return "no valid checksum file"
        if not isinstance(meta, dict) or meta.get("version") != SIDECAR_VERSION:
            return "checksum file of another version"
        if meta.get("ndim") != self.ndim or meta.get("dtype") != DTYPE:
            return f"dimension {meta.get('ndim')} != {self.ndim}"
        try:
            size = self.path.stat().st_size
            if size != meta.get("size"):
                return f"size {size} != {meta.get('size')}"
            if file_digest(self.path) != meta.get("blake2b"):
                return "checksum mismatch"
        except OSError as exc:
            return f"unreadable ({exc})"
        self._expected_count = int(meta.get("count", -1))
        return None

    def _check_loaded(self) -> str | None:
        if self._index.ndim != self.ndim:
            return f"dimension {self._index.ndim} != {self.ndim}"
        if len(self._index) != self._expected_count:
            return f"{len(self._index)} vectors where the checksum file says {self._expected_count}"
        return None

    def __len__(self) -> int:
        with self._lock:
            return len(self._index)

    def keys(self) -> np.ndarray:
        with self._lock:
            if len(self._index) == 0:
                return np.zeros(0, dtype=np.uint64)
            return np.asarray(self._index.keys, dtype=np.uint64)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add vectors; ids already present are left as they are (ids are never reused)."""
        ids = np.asarray(ids, dtype=np.uint64)
        if len(ids) == 0:
            return
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        with self._lock:
            present = np.asarray(self._index.contains(ids), dtype=bool).reshape(-1)
            if present.any():
                ids, vectors = ids[~present], vectors[~present]
            # Batches of a few hundred: every call holds the GIL for its whole length.
            for start in range(0, len(ids), 512):
                self._index.add(ids[start:start + 512], vectors[start:start + 512], threads=1)
            self._exact.invalidate()
            self.dirty = True

    def remove(self, ids: Iterable[int]) -> None:
        keys = np.fromiter((int(i) for i in ids), dtype=np.uint64)
        if len(keys) == 0:
            return
        with self._lock:
            self._index.remove(keys)
            self._exact.invalidate()
            self.dirty = True
            self.removed_since_build += len(keys)

    def search(self, query: np.ndarray, count: int,
               allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The ``count`` nearest chunk ids and their cosine similarities, best first.

        ``allowed`` (chunk ids) restricts the search; exact below ``exact_limit`` vectors.
        """
        query = np.asarray(query, dtype=np.float32).reshape(-1)
        with self._lock:
            n = len(self._index)
            if n == 0 or count <= 0:
                return np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.float32)
            if n <= self.exact_limit:
                return self._exact_matrix().search(query / (np.linalg.norm(query) or 1.0),
                                                   count, allowed)
            return self._approximate(query, count, allowed)

    def search_approximate(self, query: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
        """The HNSW graph's answer whatever the size (for measuring its recall)."""
        with self._lock:
            return self._approximate(np.asarray(query, dtype=np.float32).reshape(-1), count, None)

    def search_exact(self, query: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
        """Brute force over every vector whatever the size (the truth recall is measured against)."""
        query = np.asarray(query, dtype=np.float32).reshape(-1)
        with self._lock:
            if len(self._index) == 0:
                return np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.float32)
            return self._exact_matrix().search(query / (np.linalg.norm(query) or 1.0), count, None)

    def _approximate(self, query: np.ndarray, count: int,
                     allowed: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        wanted = count if allowed is None else count * 8
        matches = self._index.search(query, wanted, threads=1)
        keys = np.asarray(matches.keys, dtype=np.uint64)
        sims = 1.0 - np.asarray(matches.distances, dtype=np.float32)
        if allowed is not None:
            mask = np.isin(keys, allowed)
            keys, sims = keys[mask][:count], sims[mask][:count]
        return keys, sims

    def _exact_matrix(self) -> _ExactMatrix:
        if not self._exact.valid:
            keys = self.keys()
            rows = self._index.get(keys, dtype=np.float32) if len(keys) else ()
            mat = (np.stack(rows).astype(np.float32, copy=False) if len(rows)
                   else np.zeros((0, self.ndim), dtype=np.float32))
            norms = np.linalg.norm(mat, axis=1, keepdims=True)
            norms[norms == 0] = 1.0
            self._exact.keys, self._exact.mat, self._exact.valid = keys, mat / norms, True
        return self._exact

    def save(self) -> None:
        """Write the index and its checksum file atomically (usearch itself writes in place)."""
        with self._lock:
            info: dict[str, object] = {}

            def write(tmp: Path) -> None:
                self._index.save(str(tmp))
                info["size"] = tmp.stat().st_size
                info["blake2b"] = file_digest(tmp)

            # Sidecar last: a crash between the two leaves a mismatch, which means a rebuild.
            write_atomic(self.path, write)
            write_text_atomic(self.sidecar, json.dumps({
                "version": SIDECAR_VERSION, "ndim": self.ndim, "dtype": DTYPE,
                "count": len(self._index), **info}))
            self.dirty = False

    def reset(self) -> None:
        with self._lock:
            self._index = self._new()
            self._exact.invalidate()
            self.dirty = True
            self.removed_since_build = 0


def dense_recall(store: UsearchStore, queries: np.ndarray, k: int = 10) -> float:
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
