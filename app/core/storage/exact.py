"""Exact search over vectors held as one matrix, and the checks that tell a vector file is current."""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np

_BLOCK = 1 << 22


class ExactMatrix:
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
        # One thread: OpenBLAS's threads spin against each other on a busy two-core machine
        # (a 10,000-row product took 18 ms instead of 1).
        sims = np.einsum("ij,j->i", self.mat, query)
        keys = self.keys
        if allowed is not None:
            mask = member(keys, allowed)
            sims, keys = sims[mask], keys[mask]
        return _top(keys, sims, count)


def _top(keys: np.ndarray, sims: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
    if len(sims) == 0:
        return np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.float32)
    count = min(count, len(sims))
    top = np.argpartition(-sims, count - 1)[:count] if count < len(sims) else np.arange(len(sims))
    top = top[np.argsort(-sims[top], kind="stable")]
    return keys[top], sims[top]


def sorted_ids(ids: np.ndarray) -> np.ndarray:
    ids = np.asarray(ids, dtype=np.uint64)
    return ids if len(ids) < 2 or bool(np.all(ids[:-1] <= ids[1:])) else np.sort(ids)


def member(keys: np.ndarray, allowed_sorted: np.ndarray) -> np.ndarray:
    """Which ``keys`` are in ``allowed_sorted`` (a binary search each: the allowed set is large)."""
    if len(allowed_sorted) == 0:
        return np.zeros(len(keys), dtype=bool)
    pos = np.searchsorted(allowed_sorted, keys).clip(0, len(allowed_sorted) - 1)
    return allowed_sorted[pos] == keys


def keys_fingerprint(ids: np.ndarray) -> list[int]:
    """Count, largest, sum and a hashed sum of chunk ids: two sets that differ differ here.

    The same numbers as ``Catalog.embedded_fingerprint`` computes in SQL (ids below 2**32).
    """
    ids = np.asarray(ids, dtype=np.uint64)
    if len(ids) == 0:
        return [0, 0, 0, 0]
    hashed = (ids * np.uint64(FP_MULTIPLIER)) % np.uint64(FP_MODULUS)
    return [len(ids), int(ids.max()), int(ids.sum()), int(hashed.sum())]


FP_MULTIPLIER = 2654435761   # Knuth's multiplicative hash
FP_MODULUS = 4294967291      # the largest prime below 2**32


def file_crc32(path: Path) -> int:
    """CRC-32 of the file's bytes, read in blocks so memory stays flat."""
    crc = 0
    with open(path, "rb") as f:
        while block := f.read(_BLOCK):
            crc = zlib.crc32(block, crc)
    return crc
