"""Repeated passages (licence headers, signatures, logs) share one graph entry, never hiding unique ones."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.core.storage.vectors import UsearchStore

DIM = 32


def _unit(m: np.ndarray) -> np.ndarray:
    m = np.asarray(m, dtype=np.float32)
    return m / np.linalg.norm(m, axis=-1, keepdims=True)


def _library(rng: np.random.Generator, distinct: int, copies: int) -> tuple[np.ndarray, np.ndarray]:
    """``distinct`` boilerplate vectors repeated ``copies`` times each, in a shuffled order."""
    pool = _unit(rng.standard_normal((distinct, DIM)))
    vecs = pool[rng.permutation(np.repeat(np.arange(distinct), copies))]
    return np.arange(1, len(vecs) + 1, dtype=np.uint64), vecs


def _store(tmp_path: Path, exact_limit: int = 0) -> UsearchStore:
    return UsearchStore(tmp_path / "v.usearch", DIM, exact_limit=exact_limit)


def test_a_unique_passage_among_thousands_of_copies_is_found_first(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    ids, vecs = _library(rng, 200, 40)
    note = _unit(rng.standard_normal(DIM))
    store = _store(tmp_path)  # the graph answers, whatever the size
    store.add(ids, vecs)
    store.add(np.array([9_000], dtype=np.uint64), note[None])
    assert len(store) == 8_001 and store.entries == 201
    query = _unit(note + 0.3 * rng.standard_normal(DIM) / np.sqrt(DIM))
    found, sims = store.search(query, 300)
    assert found[0] == 9_000 and sims[0] > 0.9
    # Every passage is still there to be found: copies come back, tied, by id.
    best_copy = found[1]
    twins = ids[np.all(vecs == vecs[best_copy - 1], axis=1)]
    assert list(found[1:1 + len(twins)]) == sorted(twins.tolist())
    assert np.all(sims[1:1 + len(twins)] == sims[1])


def test_copies_count_as_one_vector_for_the_exact_search_limit(tmp_path: Path) -> None:
    """A 45 MB one-line log (71,352 equal passages) and a note: two vectors, searched exactly."""
    rng = np.random.default_rng(2)
    log_line = _unit(rng.standard_normal(DIM))
    note = _unit(rng.standard_normal(DIM))
    store = _store(tmp_path, exact_limit=10)
    store.add(np.arange(1, 5_001, dtype=np.uint64), np.repeat(log_line[None], 5_000, 0))
    store.add(np.array([6_000], dtype=np.uint64), note[None])
    assert store.entries == 2
    found, _ = store.search(note, 3)
    assert list(found) == [6_000, 1, 2]
    exact, _ = store.search_exact(note, 3)
    assert list(exact) == list(found)


def test_filters_see_each_copy_of_a_passage(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    ids, vecs = _library(rng, 20, 50)
    store = _store(tmp_path, exact_limit=5)
    store.add(ids, vecs)
    target = vecs[0]
    twins = ids[np.all(vecs == target, axis=1)]
    allowed = np.sort(twins[1::2])  # only some copies pass the filter
    found, _ = store.search(target, 10, allowed=allowed)
    assert list(found) == sorted(allowed.tolist())[:10]
    found, _ = store.search(target, 10, allowed=np.array([twins[-1]], dtype=np.uint64))
    assert list(found) == [twins[-1]]


def test_removing_copies_keeps_the_rest_findable(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    line = _unit(rng.standard_normal(DIM))
    other = _unit(rng.standard_normal((30, DIM)))
    store = _store(tmp_path)
    store.add(np.arange(1, 11, dtype=np.uint64), np.repeat(line[None], 10, 0))
    store.add(np.arange(100, 130, dtype=np.uint64), other)
    store.remove([1, 2, 3])  # the first passage, whose vector the graph holds, among them
    assert len(store) == 37 and store.entries == 31
    assert list(store.search(line, 7)[0]) == list(range(4, 11))
    store.remove(range(4, 11))
    assert store.entries == 30 and 4 not in store.search(line, 5)[0]
    # The text comes back later (a file restored): found again, as a new entry.
    store.add(np.array([200, 201], dtype=np.uint64), np.repeat(line[None], 2, 0))
    assert store.entries == 31 and list(store.search(line, 2)[0]) == [200, 201]


def test_the_passage_map_is_saved_checked_and_rebuilt_when_damaged(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    ids, vecs = _library(rng, 10, 30)
    store = _store(tmp_path)
    store.add(ids, vecs)
    store.remove(ids[:40])
    store.save()
    again = _store(tmp_path)
    assert again.load() and len(again) == 260 and again.entries == store.entries
    assert np.array_equal(again.keys(), ids[40:])
    q = vecs[-1]
    assert list(again.search(q, 20)[0]) == list(store.search(q, 20)[0])
    data = bytearray(again.passage_map.read_bytes())
    data[len(data) // 2] ^= 0xFF
    again.passage_map.write_bytes(bytes(data))
    broken = _store(tmp_path)
    assert not broken.load() and "passages" in (broken.load_error or "")
    again.passage_map.unlink()
    assert not _store(tmp_path).load()


def test_a_rebuild_shares_entries_like_adding_does(tmp_path: Path) -> None:
    rng = np.random.default_rng(6)
    ids, vecs = _library(rng, 50, 20)
    store = _store(tmp_path)
    assert store.rebuild([(ids[:400], vecs[:400]), (ids[400:], vecs[400:])]) == 1_000
    assert store.entries == 50 and len(store) == 1_000
    assert np.array_equal(store.keys(), ids)


@pytest.mark.parametrize("bulk", [False, True])
def test_recall_against_exact_search_with_repeats_and_near_repeats(tmp_path: Path,
                                                                    bulk: bool) -> None:
    rng = np.random.default_rng(7)
    _, vecs = _library(rng, 100, 30)
    near = _unit(vecs[:1_000] + 0.05 * rng.standard_normal((1_000, DIM)) / np.sqrt(DIM))
    unique = _unit(rng.standard_normal((2_000, DIM)))
    all_vecs = np.vstack([vecs, near, unique])
    all_ids = np.arange(1, len(all_vecs) + 1, dtype=np.uint64)
    store = _store(tmp_path)
    store.add(all_ids, all_vecs, bulk=bulk)
    hits = 0
    queries = _unit(unique[:50] + 0.5 * rng.standard_normal((50, DIM)) / np.sqrt(DIM))
    for q in queries:
        found, sims = store.search(q, 10)
        truth, true_sims = store.search_exact(q, 10)
        hits += int(np.sum(np.isin(found, truth) | (sims >= true_sims[-1] - 1e-3)))
    assert hits / 500 >= 0.95
