"""Passages with identical embeddings share one entry of the vector graph: which passages each is.

An HNSW graph fed thousands of identical vectors (licence headers, signatures, log lines) fills
their neighbour lists with one another and cuts the rest of the graph off: a unique passage
next to 71,352 copies of one line was not among the graph's first 300 answers (issue 21). The
graph therefore holds one entry per distinct embedding, keyed by the chunk id of the first
passage that brought it; the other passages with the same embedding ("copies") are mapped to
that entry here. An entry whose own passage is gone stays while copies of it remain.

Only copies take memory beyond two arrays: a library without repeats keeps a digest per entry.
"""

from __future__ import annotations

import bisect
import hashlib
import io
from collections.abc import Callable

import numpy as np

from app.core.storage.exact import member

# New digests wait in a dict; merged into the sorted arrays past this many (a sort of all).
_MERGE_AT = 65_536

Alive = Callable[[np.ndarray], np.ndarray]  # entry keys -> which of them the graph holds


def digests(rows: np.ndarray) -> np.ndarray:
    """A 64-bit BLAKE2b digest of each float16 row: equal rows, equal digests."""
    rows = np.ascontiguousarray(rows, dtype=np.float16)
    raw = b"".join(hashlib.blake2b(r.tobytes(), digest_size=8).digest() for r in rows)
    return np.frombuffer(raw, dtype=np.uint64).copy()


class Entries:
    """The mapping from graph entries to passages, kept in step with the graph by its owner."""

    def __init__(self) -> None:
        self._hashes = np.zeros(0, dtype=np.uint64)     # sorted digests of entries
        self._hash_keys = np.zeros(0, dtype=np.uint64)  # the entry key of each
        self._new: dict[int, int] = {}                  # digest -> entry key, not merged yet
        self.copies: dict[int, int] = {}                # chunk id -> its entry key
        self._members: dict[int, list[int]] = {}        # entry key -> its copies, ascending
        self.dead: set[int] = set()                     # entries whose own passage is gone
        self._lookup: tuple[np.ndarray, np.ndarray] | None = None  # copies as sorted arrays

    # -- changes ---------------------------------------------------------------------------
    def assign(self, ids: np.ndarray, hashes: np.ndarray, alive: Alive) -> np.ndarray:
        """Map new passages to entries; which of them need an entry of their own (a mask)."""
        ids = np.asarray(ids, dtype=np.uint64)
        fresh = np.ones(len(ids), dtype=bool)
        if len(ids) == 0:
            return fresh
        digests_ = np.asarray(hashes, dtype=np.uint64).tolist()
        known = self._find(hashes, alive)
        # Entries made by earlier batches and not merged yet: valid while the graph holds them.
        waiting = np.array([self._new.get(d, -1) for d in digests_], dtype=np.int64)
        if (waiting >= 0).any():
            held = np.asarray(alive(waiting[waiting >= 0].astype(np.uint64)), bool).reshape(-1)
            waiting[np.flatnonzero(waiting >= 0)[~held]] = -1
        made: dict[int, int] = {}  # digest -> entry made by this batch
        for i, (chunk, digest) in enumerate(zip(ids.tolist(), digests_, strict=True)):
            entry = made.get(digest, -1)
            if entry < 0:
                entry = int(waiting[i]) if waiting[i] >= 0 else known[i]
            if entry < 0:
                made[digest] = self._new[digest] = chunk
                continue
            fresh[i] = False
            self.copies[chunk] = entry
            bisect.insort(self._members.setdefault(entry, []), chunk)
        if not fresh.all():
            self._lookup = None
        return fresh

    def settle(self, alive: Alive) -> None:
        """Merge the waiting digests once there are many (after the graph took the new entries)."""
        if len(self._new) > _MERGE_AT:
            self.merge(alive)

    def _find(self, hashes: np.ndarray, alive: Alive) -> list[int]:
        """The entry key for each digest among the merged ones, or -1."""
        out = np.full(len(hashes), -1, dtype=np.int64)
        if len(self._hashes):
            pos = np.searchsorted(self._hashes, hashes).clip(0, len(self._hashes) - 1)
            hit = self._hashes[pos] == hashes
            if hit.any():
                keys = self._hash_keys[pos[hit]]
                ok = np.asarray(alive(keys), dtype=bool).reshape(-1)
                idx = np.flatnonzero(hit)[ok]
                out[idx] = keys[ok].astype(np.int64)
        return out.tolist()

    def release(self, ids: np.ndarray, in_graph: np.ndarray) -> list[int]:
        """Forget these passages; the entry keys the graph must now drop.

        ``in_graph``: whether each id is a key of the graph (an entry's own passage).
        """
        drop: list[int] = []
        for chunk, entry_own in zip(np.asarray(ids, dtype=np.uint64).tolist(),
                                    np.asarray(in_graph, dtype=bool).tolist(), strict=True):
            if chunk in self.copies:
                entry = self.copies.pop(chunk)
                members = self._members[entry]
                members.pop(bisect.bisect_left(members, chunk))
                self._lookup = None
                if not members:
                    del self._members[entry]
                    if entry in self.dead:
                        self.dead.discard(entry)
                        drop.append(entry)
            elif entry_own and chunk not in self.dead:
                if self._members.get(chunk):
                    self.dead.add(chunk)
                else:
                    drop.append(chunk)
        return drop

    def merge(self, alive: Alive) -> None:
        """Fold the new digests into the sorted arrays, leaving out entries the graph dropped."""
        hashes = np.concatenate([self._hashes, np.fromiter(self._new, np.uint64, len(self._new))])
        keys = np.concatenate([self._hash_keys,
                               np.fromiter(self._new.values(), np.uint64, len(self._new))])
        # A digest given a new entry after its old one was dropped: the newer one counts.
        order = np.argsort(hashes, kind="stable")
        hashes, keys = hashes[order], keys[order]
        last = np.ones(len(hashes), dtype=bool)
        last[:-1] = hashes[:-1] != hashes[1:]
        hashes, keys = hashes[last], keys[last]
        ok = np.asarray(alive(keys), dtype=bool).reshape(-1) if len(keys) else last[:0]
        self._hashes, self._hash_keys = hashes[ok], keys[ok]
        self._new = {}

    # -- reading -----------------------------------------------------------------------------
    def passages(self, entry_count: int) -> int:
        """How many passages ``entry_count`` entries of the graph stand for."""
        return entry_count - len(self.dead) + len(self.copies)

    def passage_ids(self, entry_keys: np.ndarray) -> np.ndarray:
        """Every passage the graph's entries stand for, ascending."""
        keys = np.asarray(entry_keys, dtype=np.uint64)
        if self.dead:
            keys = keys[~np.isin(keys, np.fromiter(self.dead, np.uint64, len(self.dead)))]
        if self.copies:
            keys = np.concatenate([keys, np.fromiter(self.copies, np.uint64, len(self.copies))])
        return np.sort(keys)

    def entry_of(self, ids: np.ndarray) -> np.ndarray:
        """The entry key standing for each passage id (itself unless it is a copy)."""
        ids = np.asarray(ids, dtype=np.uint64)
        if not self.copies:
            return ids
        chunks, entries = self._copy_arrays()
        pos = np.searchsorted(chunks, ids).clip(0, len(chunks) - 1)
        return np.where(chunks[pos] == ids, entries[pos], ids)

    def entries_of(self, allowed_sorted: np.ndarray) -> np.ndarray:
        """The entries standing for any of these passages, ascending."""
        if not self.copies:
            return allowed_sorted
        return np.unique(self.entry_of(allowed_sorted))

    def _copy_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        if self._lookup is None:
            chunks = np.fromiter(self.copies, np.uint64, len(self.copies))
            entries = np.fromiter(self.copies.values(), np.uint64, len(self.copies))
            order = np.argsort(chunks)
            self._lookup = (chunks[order], entries[order])
        return self._lookup

    def expand(self, keys: np.ndarray, sims: np.ndarray, count: int,
               allowed_sorted: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Entries best first to their passages best first (ties by id), at most ``count``.

        ``keys`` are entries standing for at least one of ``allowed_sorted`` when given.
        """
        if not self.copies and not self.dead:  # each entry is its one passage
            return keys[:count], sims[:count]
        out_keys: list[int] = []
        out_sims: list[float] = []
        for key, sim in zip(np.asarray(keys, dtype=np.uint64).tolist(), sims.tolist(),
                            strict=True):
            left = count - len(out_keys)
            if left <= 0:
                break
            if key not in self._members and key not in self.dead:
                out_keys.append(key)  # its one passage (allowed: it stands for an allowed one)
                out_sims.append(sim)
                continue
            own = [] if key in self.dead else [key]
            members = np.asarray(own + self._members.get(key, []), dtype=np.uint64)
            if allowed_sorted is not None:
                members = members[member(members, allowed_sorted)]
            taken = members[:left].tolist()
            out_keys += taken
            out_sims += [sim] * len(taken)
        return np.array(out_keys, dtype=np.uint64), np.array(out_sims, dtype=np.float32)

    # -- the file beside the graph's ---------------------------------------------------------
    def to_bytes(self, alive: Alive) -> bytes:
        self.merge(alive)
        buf = io.BytesIO()
        chunks, entries = self._copy_arrays() if self.copies else (np.zeros(0, np.uint64),) * 2
        np.savez(buf, hashes=self._hashes, hash_keys=self._hash_keys, copies=chunks,
                 copy_entries=entries, dead=np.fromiter(self.dead, np.uint64, len(self.dead)))
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, raw: bytes) -> Entries:
        """Read what ``to_bytes`` wrote; ValueError when it is not that."""
        try:
            with np.load(io.BytesIO(raw), allow_pickle=False) as z:
                arrays = {k: np.asarray(z[k], dtype=np.uint64) for k in
                          ("hashes", "hash_keys", "copies", "copy_entries", "dead")}
        except (OSError, KeyError, ValueError, TypeError) as exc:
            raise ValueError(f"unreadable passage map ({exc})") from exc
        if len(arrays["hashes"]) != len(arrays["hash_keys"]) or \
                len(arrays["copies"]) != len(arrays["copy_entries"]):
            raise ValueError("passage map arrays of unequal length")
        out = cls()
        out._hashes, out._hash_keys = arrays["hashes"], arrays["hash_keys"]
        if len(out._hashes) > 1 and not bool(np.all(out._hashes[:-1] < out._hashes[1:])):
            raise ValueError("passage map digests out of order")
        out.dead = set(arrays["dead"].tolist())
        for chunk, entry in zip(arrays["copies"].tolist(), arrays["copy_entries"].tolist(),
                                strict=True):
            out.copies[chunk] = entry
            out._members.setdefault(entry, []).append(chunk)
        for members in out._members.values():
            members.sort()
        return out

    def entry_keys(self) -> np.ndarray:
        """The entries this map knows a digest of (all of them once merged)."""
        return self._hash_keys

    def problem(self, graph_keys: np.ndarray) -> str | None:
        """Why this map does not fit a graph with these keys, or None."""
        graph = np.sort(np.asarray(graph_keys, dtype=np.uint64))
        if len(self._new) or not np.array_equal(np.sort(self._hash_keys), graph):
            return "passage map and graph disagree on the entries"
        if self.copies and not bool(np.all(member(
                np.fromiter(self._members, np.uint64, len(self._members)), graph))):
            return "passage map names entries the graph lacks"
        if self.dead and not bool(np.all(member(
                np.fromiter(self.dead, np.uint64, len(self.dead)), graph))):
            return "passage map names entries the graph lacks"
        if any(entry not in self._members for entry in self.dead):
            return "passage map keeps an entry that stands for nothing"
        return None
