"""The vector index: a contract and its usearch implementation (the only module importing usearch).

Small collections are searched exactly (a matrix product over the vectors held in memory); only
above ``EXACT_LIMIT`` vectors does the HNSW graph answer, with parameters chosen by measured
recall on real queries; a filter's passages are searched exactly over their own vectors when
few, through the graph asked deeper when many. The file on disk is a cache of the catalog: a
sidecar holding its checksum, key count, key fingerprint and dimension is written with it, and
the file is loaded only when they match.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import weakref
from collections.abc import Iterable
from pathlib import Path
from typing import Protocol

import numpy as np

from app.core.hashing import file_digest
from app.core.host.atomic import write_atomic, write_text_atomic
from app.core.host.native import before_usearch
from app.core.storage.exact import (
    ExactMatrix,
    file_crc32,
    keys_fingerprint,
    member,
    sorted_ids,
)

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
# Version 2 checks the file with CRC-32 (5x faster than BLAKE2b here: 0.3 s a GB) and records the
# fingerprint of its keys; version-1 sidecars are still read, with BLAKE2b.
SIDECAR_VERSION = 2
# A filter that lets through at most this many passages of a larger index is searched exactly,
# over its own vectors held as a matrix until the index or the filter changes (150 MB at most).
SUBSET_EXACT_LIMIT = 100_000
# Above it the graph is asked for enough neighbours that about this many times ``count`` pass
# (its cost grows with the neighbours asked for: 1,500 of 100,000 took 17 ms, 7,000 took 76).
FILTER_OVERSAMPLING = 1.2


class VectorStore(Protocol):
    """What the indexer and the search need from a vector index, whatever implements it."""

    def __len__(self) -> int: ...
    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None: ...
    def remove(self, ids: Iterable[int]) -> None: ...
    def search(self, query: np.ndarray, count: int,
               allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]: ...
    def keys(self) -> np.ndarray: ...
    def save(self) -> None: ...


class UsearchStore:
    """A usearch index (cosine) keyed by chunk id, guarded by a lock, saved atomically."""

    def __init__(self, path: Path, ndim: int, *, exact_limit: int = EXACT_LIMIT) -> None:
        self.path = path
        self.ndim = ndim
        self.exact_limit = exact_limit
        # Searches and changes take ``_lock``; changes and saving take ``_mutating``, so writing
        # the file (seconds at a million vectors) never holds up a search.
        self._lock = threading.RLock()
        self._mutating = threading.RLock()
        self._index = self._new()
        self._exact = ExactMatrix()
        self.dirty = False
        self.load_error: str | None = None
        self.removed_since_build = 0
        self._expected_count = -1
        self.fingerprint: list[int] | None = None  # of the keys of the file last loaded or saved
        self.save_seconds = 0.0  # how long the last save took (the indexer spaces saves by it)
        self._changes = 0  # counts every change, so cached filter matrices know they are stale
        self._subset: tuple[weakref.ref[np.ndarray], int, ExactMatrix] | None = None

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
        with self._mutating, self._lock:
            self._index = self._new()
            self._changed()
            self.load_error = None
            self.fingerprint = None
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
                self.fingerprint = None
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
        if not isinstance(meta, dict) or meta.get("version") not in (1, SIDECAR_VERSION):
            return "checksum file of another version"
        if meta.get("ndim") != self.ndim or meta.get("dtype") != DTYPE:
            return f"dimension {meta.get('ndim')} != {self.ndim}"
        try:
            size = self.path.stat().st_size
            if size != meta.get("size"):
                return f"size {size} != {meta.get('size')}"
            if meta["version"] == 1:
                if file_digest(self.path) != meta.get("blake2b"):
                    return "checksum mismatch"
            elif file_crc32(self.path) != meta.get("crc32"):
                return "checksum mismatch"
        except OSError as exc:
            return f"unreadable ({exc})"
        self._expected_count = int(meta.get("count", -1))
        fingerprint = meta.get("keys")
        if isinstance(fingerprint, list) and len(fingerprint) == 4:
            self.fingerprint = [int(v) for v in fingerprint]
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

    def add(self, ids: np.ndarray, vectors: np.ndarray, *, bulk: bool = False) -> None:
        """Add vectors; ids already present are left as they are (ids are never reused).

        ``bulk`` (a rebuild, nobody searching yet) uses every core in large batches.
        """
        ids = np.asarray(ids, dtype=np.uint64)
        if len(ids) == 0:
            return
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        # Otherwise batches of a few hundred on one thread: every call holds the GIL (and the
        # lock searches wait on) for its whole length.
        step, threads = (16_384, os.cpu_count() or 1) if bulk else (512, 1)
        with self._mutating, self._lock:
            present = np.asarray(self._index.contains(ids), dtype=bool).reshape(-1)
            if present.any():
                ids, vectors = ids[~present], vectors[~present]
            for start in range(0, len(ids), step):
                self._index.add(ids[start:start + step], vectors[start:start + step],
                                threads=threads)
            self._changed()
            self.dirty = True

    def _changed(self) -> None:
        self._changes += 1
        self._exact.invalidate()
        self._subset = None

    def remove(self, ids: Iterable[int]) -> None:
        keys = np.fromiter((int(i) for i in ids), dtype=np.uint64)
        if len(keys) == 0:
            return
        with self._mutating, self._lock:
            self._index.remove(keys)
            self._changed()
            self.dirty = True
            self.removed_since_build += len(keys)

    def search(self, query: np.ndarray, count: int,
               allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The ``count`` nearest chunk ids and their cosine similarities, best first.

        ``allowed`` (chunk ids, best sorted and the same array for the same filter) restricts
        the search; exact below ``exact_limit`` vectors, and over the allowed vectors when they
        are few (``SUBSET_EXACT_LIMIT``).
        """
        query = np.asarray(query, dtype=np.float32).reshape(-1)
        unit = query / (np.linalg.norm(query) or 1.0)
        with self._lock:
            n = len(self._index)
            if n == 0 or count <= 0:
                return np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.float32)
            if n <= self.exact_limit:
                return self._exact_matrix().search(
                    unit, count, None if allowed is None else sorted_ids(allowed))
            if allowed is None:
                return self._approximate(query, count, None)
            if len(allowed) <= SUBSET_EXACT_LIMIT:
                return self._subset_matrix(allowed).search(unit, count, None)
            return self._approximate(query, count, sorted_ids(allowed))

    def _subset_matrix(self, allowed: np.ndarray) -> ExactMatrix:
        """The allowed passages' vectors as one matrix, kept while index and filter stay."""
        if self._subset is not None:
            ref, changes, matrix = self._subset
            if ref() is allowed and changes == self._changes:
                return matrix
        keys = np.asarray(allowed, dtype=np.uint64)
        keys = keys[np.asarray(self._index.contains(keys), dtype=bool).reshape(-1)]
        matrix = ExactMatrix()
        matrix.keys, matrix.mat, matrix.valid = keys, self._unit_rows(keys), True
        self._subset = (weakref.ref(allowed), self._changes, matrix)
        return matrix

    def _unit_rows(self, keys: np.ndarray) -> np.ndarray:
        if len(keys) == 0:
            return np.zeros((0, self.ndim), dtype=np.float32)
        # In slices: usearch hands back one array per key, and a second full copy at 100,000
        # rows would be another 150 MB at the peak.
        mat = np.empty((len(keys), self.ndim), dtype=np.float32)
        for start in range(0, len(keys), 8192):
            part = keys[start:start + 8192]
            mat[start:start + len(part)] = np.stack(self._index.get(part, dtype=np.float32))
        norms = np.sqrt(np.einsum("ij,ij->i", mat, mat))[:, None]
        norms[norms == 0] = 1.0
        mat /= norms  # in place: at 100,000 rows each copy is 150 MB
        return mat

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
                     allowed_sorted: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        wanted = count
        if allowed_sorted is not None:
            # Enough neighbours that about FILTER_OVERSAMPLING x count of them are allowed.
            share = max(len(allowed_sorted) / max(len(self._index), 1), 1e-6)
            wanted = min(len(self._index), int(count * FILTER_OVERSAMPLING / share) + count)
        matches = self._index.search(query, wanted, threads=1)
        keys = np.asarray(matches.keys, dtype=np.uint64)
        sims = 1.0 - np.asarray(matches.distances, dtype=np.float32)
        if allowed_sorted is not None:
            mask = member(keys, allowed_sorted)
            keys, sims = keys[mask][:count], sims[mask][:count]
        return keys, sims

    def _exact_matrix(self) -> ExactMatrix:
        if not self._exact.valid:
            keys = self.keys()
            self._exact.keys, self._exact.mat = keys, self._unit_rows(keys)
            self._exact.valid = True
        return self._exact

    def save(self) -> None:
        """Write the index and its checksum file atomically (usearch itself writes in place)."""
        started = time.monotonic()
        with self._mutating:  # searches go on: writing the file only reads the index
            info: dict[str, object] = {}

            def write(tmp: Path) -> None:
                self._index.save(str(tmp), progress=_yield_now_and_then)
                info["size"] = tmp.stat().st_size
                info["crc32"] = file_crc32(tmp)

            fingerprint = keys_fingerprint(self.keys())
            # Sidecar last: a crash between the two leaves a mismatch, which means a rebuild.
            write_atomic(self.path, write)
            write_text_atomic(self.sidecar, json.dumps({
                "version": SIDECAR_VERSION, "ndim": self.ndim, "dtype": DTYPE,
                "count": len(self._index), "keys": fingerprint, **info}))
            self.fingerprint = fingerprint
            self.dirty = False
        self.save_seconds = time.monotonic() - started

    def rebuild(self, batches: Iterable[tuple[np.ndarray, np.ndarray]]) -> int:
        """Replace the index with one built from ``batches`` of (ids, vectors); how many.

        Built beside the current one with every core, then swapped in: searches meanwhile go
        on over the old index instead of waiting, or seeing a half-built one.
        """
        with self._mutating:
            fresh = self._new()
            threads = os.cpu_count() or 1
            added = 0
            for ids, vectors in batches:
                ids = np.asarray(ids, dtype=np.uint64)
                if len(ids):
                    fresh.add(ids, np.ascontiguousarray(vectors, dtype=np.float32),
                              threads=threads)
                    added += len(ids)
            with self._lock:
                self._index = fresh
                self._changed()
                self.dirty = True
                self.removed_since_build = 0
            return added

    def reset(self) -> None:
        with self._mutating, self._lock:
            self._index = self._new()
            self._changed()
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


def _yield_now_and_then(done: int, total: int) -> bool:
    """usearch's save progress: hand the GIL to the window and the searches every few thousand
    nodes. usearch writes while holding the GIL; at a million passages one save would otherwise
    stop every other Python thread for over a second (tick gaps measured at 100k: 266 ms
    without, 98 ms with, the rest being the vector block it writes in one piece)."""
    if not done & 4095:
        time.sleep(0)  # releases the GIL; any waiting thread runs
    return True


# usearch checks a callback's annotations as types; this module's are strings (postponed).
_yield_now_and_then.__annotations__ = {"done": int, "total": int, "return": bool}
