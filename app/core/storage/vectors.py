"""The vector index: a contract and its usearch implementation (the only module importing usearch).

Small collections are searched exactly (a matrix product over the vectors held in memory); only
above ``EXACT_LIMIT`` vectors does the HNSW graph answer, with parameters chosen by measured
recall on real queries; a filter's passages are searched exactly over their own vectors when
few, through the graph asked deeper when many. Passages with identical embeddings share one
entry (``entries``): thousands of equal vectors wreck an HNSW graph. The file on disk is a cache
of the catalog: the passage map and a sidecar holding both files' checksums, the counts, the
passages' fingerprint and the dimension are written with it, and loaded only when they match.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import weakref
from collections.abc import Iterable
from pathlib import Path
from typing import Protocol

import numpy as np

from app.core.host.atomic import write_atomic
from app.core.host.native import before_usearch
from app.core.storage import sidecar
from app.core.storage.entries import Entries, digests
from app.core.storage.exact import ExactMatrix, keys_fingerprint, member, sorted_ids
from app.core.storage.recall import dense_recall

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
        self._entries = Entries()
        self._exact = ExactMatrix()
        self.dirty = False
        self.load_error: str | None = None
        self.removed_since_build = 0
        self._expected: sidecar.Expected | None = None
        self.fingerprint: list[int] | None = None  # of the keys of the file last loaded or saved
        self.save_seconds = 0.0  # how long the last save took (the indexer spaces saves by it)
        self._changes = 0  # counts every change, so cached filter matrices know they are stale
        self._subset: tuple[weakref.ref[np.ndarray], int, ExactMatrix] | None = None

    @property
    def sidecar(self) -> Path:
        return self.path.with_name(self.path.name + ".json")

    @property
    def passage_map(self) -> Path:
        return self.path.with_name(self.path.name + ".passages")

    @property
    def entries(self) -> int:
        """Distinct embeddings: the graph's size (the passages may be many more)."""
        with self._lock:
            return len(self._index)

    def _alive(self, keys: np.ndarray) -> np.ndarray:
        return np.asarray(self._index.contains(keys), dtype=bool).reshape(-1)

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
            self._entries = Entries()
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
                    self._entries = Entries.from_bytes(self.passage_map.read_bytes())
                except Exception as exc:  # written by another usearch major, or unreadable
                    problem = f"unreadable ({exc})"
            if problem is None:
                problem = self._check_loaded()
            if problem is not None:
                log.warning("vector index %s unusable (%s); it will be rebuilt", self.path, problem)
                self.load_error = problem
                self.fingerprint = None
                self._index = self._new()
                self._entries = Entries()
                return False
            # Not stored in the file: set again after every load.
            self._index.expansion_add = EXPANSION_ADD
            self._index.expansion_search = EXPANSION_SEARCH
            self.dirty = False
            return True

    def _verify(self) -> str | None:
        """Why the files on disk cannot be trusted, or None when they match their sidecar."""
        self._expected, problem = sidecar.verify(self.sidecar, self.path, self.passage_map,
                                                 ndim=self.ndim, dtype=DTYPE)
        if self._expected is not None:
            self.fingerprint = self._expected.fingerprint
        return problem

    def _check_loaded(self) -> str | None:
        if self._index.ndim != self.ndim:
            return f"dimension {self._index.ndim} != {self.ndim}"
        expected = self._expected
        assert expected is not None  # verified before loading
        if len(self._index) != expected.entries:
            return f"{len(self._index)} vectors where the checksum file says {expected.entries}"
        problem = self._entries.problem(self._graph_keys())
        if problem is None and len(self) != expected.passages:
            problem = f"{len(self)} passages where the checksum file says {expected.passages}"
        return problem

    def __len__(self) -> int:
        """Passages, copies included."""
        with self._lock:
            return self._entries.passages(len(self._index))

    def _graph_keys(self) -> np.ndarray:
        if len(self._index) == 0:
            return np.zeros(0, dtype=np.uint64)
        return np.asarray(self._index.keys, dtype=np.uint64)

    def keys(self) -> np.ndarray:
        """The chunk ids of every passage held, ascending."""
        with self._lock:
            return self._entries.passage_ids(self._graph_keys())

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
            present = self._alive(ids) | (self._entries.entry_of(ids) != ids)
            if present.any():
                ids, vectors = ids[~present], vectors[~present]
            fresh = self._entries.assign(ids, digests(vectors), self._alive)
            ids, vectors = ids[fresh], vectors[fresh]
            for start in range(0, len(ids), step):
                self._index.add(ids[start:start + step], vectors[start:start + step],
                                threads=threads)
            self._entries.settle(self._alive)
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
            drop = self._entries.release(keys, self._alive(keys))
            if drop:
                self._index.remove(np.asarray(drop, dtype=np.uint64))
            self._changed()
            self.dirty = True
            self.removed_since_build += len(drop)

    def search(self, query: np.ndarray, count: int,
               allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The ``count`` nearest chunk ids and their cosine similarities, best first.

        ``allowed`` (chunk ids, best sorted and the same array for the same filter) restricts
        the search; exact below ``exact_limit`` distinct vectors, and over the allowed vectors
        when they are few (``SUBSET_EXACT_LIMIT``). Copies of one passage tie, listed by id.
        """
        query = np.asarray(query, dtype=np.float32).reshape(-1)
        unit = query / (np.linalg.norm(query) or 1.0)
        with self._lock:
            n = len(self._index)
            if n == 0 or count <= 0:
                return np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.float32)
            if allowed is None:
                if n <= self.exact_limit:
                    keys, sims = self._exact_matrix().search(unit, count, None)
                else:
                    keys, sims = self._approximate(query, count, None)
                return self._entries.expand(keys, sims, count)
            given = allowed
            allowed = sorted_ids(allowed)
            entries = self._entries.entries_of(allowed)
            if n <= self.exact_limit:
                keys, sims = self._exact_matrix().search(unit, count, entries)
            elif len(entries) <= SUBSET_EXACT_LIMIT:
                keys, sims = self._subset_matrix(given, entries).search(unit, count, None)
            else:
                keys, sims = self._approximate(query, count, entries)
            return self._entries.expand(keys, sims, count, allowed)

    def _subset_matrix(self, allowed: np.ndarray, entries: np.ndarray) -> ExactMatrix:
        """The allowed passages' vectors as one matrix, kept while index and filter stay."""
        if self._subset is not None:
            ref, changes, matrix = self._subset
            if ref() is allowed and changes == self._changes:
                return matrix
        keys = entries[self._alive(entries)]
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
            keys, sims = self._approximate(np.asarray(query, dtype=np.float32).reshape(-1),
                                           count, None)
            return self._entries.expand(keys, sims, count)

    def search_exact(self, query: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
        """Brute force over every vector whatever the size (the truth recall is measured against)."""
        query = np.asarray(query, dtype=np.float32).reshape(-1)
        with self._lock:
            if len(self._index) == 0:
                return np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.float32)
            keys, sims = self._exact_matrix().search(query / (np.linalg.norm(query) or 1.0),
                                                     count, None)
            return self._entries.expand(keys, sims, count)

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
            keys = self._graph_keys()
            self._exact.keys, self._exact.mat = keys, self._unit_rows(keys)
            self._exact.valid = True
        return self._exact

    def save(self) -> None:
        """Write the graph, the passage map and their checksum file, each atomically."""
        started = time.monotonic()
        with self._mutating:  # searches go on: writing the files only reads the index
            graph: dict[str, int] = {}

            def write(tmp: Path) -> None:
                self._index.save(str(tmp), progress=_yield_now_and_then)
                graph.update(sidecar.file_info(tmp))

            fingerprint = keys_fingerprint(self.keys())
            mapped = self._entries.to_bytes(self._alive)
            write_atomic(self.passage_map, lambda tmp: _write_bytes(tmp, mapped))
            # Sidecar last: a crash between the files leaves a mismatch, which means a rebuild.
            write_atomic(self.path, write)
            sidecar.write(self.sidecar, ndim=self.ndim, dtype=DTYPE, entries=len(self._index),
                          passages=len(self), fingerprint=fingerprint, graph=graph,
                          passage_map=sidecar.file_info(self.passage_map))
            self.fingerprint = fingerprint
            self.dirty = False
        self.save_seconds = time.monotonic() - started

    def rebuild(self, batches: Iterable[tuple[np.ndarray, np.ndarray]]) -> int:
        """Replace the index with one built from ``batches`` of (ids, vectors); how many passages.

        Built beside the current one with every core, then swapped in: searches meanwhile go
        on over the old index instead of waiting, or seeing a half-built one.
        """
        with self._mutating:
            fresh, entries = self._new(), Entries()

            def alive(keys: np.ndarray) -> np.ndarray:
                return np.asarray(fresh.contains(keys), dtype=bool).reshape(-1)

            threads = os.cpu_count() or 1
            added = 0
            for ids, vectors in batches:
                ids = np.asarray(ids, dtype=np.uint64)
                if len(ids):
                    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
                    own = entries.assign(ids, digests(vectors), alive)
                    if own.any():
                        fresh.add(ids[own], vectors[own], threads=threads)
                    entries.settle(alive)
                    added += len(ids)
            with self._lock:
                self._index, self._entries = fresh, entries
                self._changed()
                self.dirty = True
                self.removed_since_build = 0
            return added

    def reset(self) -> None:
        with self._mutating, self._lock:
            self._index, self._entries = self._new(), Entries()
            self._changed()
            self.dirty = True
            self.removed_since_build = 0


def _write_bytes(path: Path, data: bytes) -> None:
    path.write_bytes(data)


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

__all__ = ["DTYPE", "EXACT_LIMIT", "UsearchStore", "VectorStore", "dense_recall", "keys_fingerprint"]
