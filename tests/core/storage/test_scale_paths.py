"""The paths that keep a big library fast give the same answers as the plain ones: filtered dense
search, remembered filters, budgeted keyword search, estimated word counts, the key fingerprint
and the clean-close mark that lets opening skip the page check."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest

from app.core.records import Chunk
from app.core.search import keywords
from app.core.search.filters import AllowedPassages, Filters
from app.core.search.keywords import Keywords
from app.core.search.query import parse_query
from app.core.storage import catalog_health, clean_close
from app.core.storage.catalog import Catalog
from app.core.storage.vectors import UsearchStore, keys_fingerprint


def _clustered(n: int, dim: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((max(1, n // 100), dim)).astype(np.float32)
    x = centres[rng.integers(0, len(centres), n)] + 0.5 * rng.standard_normal((n, dim))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def _truth(vecs: np.ndarray, ids: np.ndarray, q: np.ndarray, allowed: np.ndarray, k: int) -> set:
    mask = np.isin(ids, allowed)
    sims = vecs[mask] @ q
    return set(ids[mask][np.argsort(-sims)[:k]].tolist())


# -- filtered dense search ------------------------------------------------------------------
@pytest.fixture
def graph(tmp_path: Path) -> tuple[UsearchStore, np.ndarray, np.ndarray]:
    """An index past its exact limit, so the graph and the filter paths answer."""
    vecs = _clustered(4000, 32, seed=5)
    ids = np.arange(1, 4001, dtype=np.uint64)
    store = UsearchStore(tmp_path / "v.usearch", 32, exact_limit=500)
    store.add(ids, vecs)
    return store, ids, vecs


def test_a_small_filter_is_searched_exactly_over_its_own_vectors(graph, monkeypatch) -> None:
    store, ids, vecs = graph
    monkeypatch.setattr("app.core.storage.vectors.SUBSET_EXACT_LIMIT", 1000)
    allowed = np.sort(np.random.default_rng(1).choice(ids, 300, replace=False))
    for q in _clustered(20, 32, seed=9):
        found, sims = store.search(q, 10, allowed=allowed)
        assert set(found.tolist()) == _truth(vecs, ids, q, allowed, 10)
        assert np.all(np.diff(sims) <= 1e-6)  # best first


def test_a_large_filter_returns_only_allowed_passages_and_finds_the_nearest(graph, monkeypatch) -> None:
    store, ids, vecs = graph
    monkeypatch.setattr("app.core.storage.vectors.SUBSET_EXACT_LIMIT", 100)
    allowed = ids[ids % 4 == 0]  # a quarter: the graph, asked deeper, then narrowed
    hits = total = 0
    for q in _clustered(20, 32, seed=11):
        found, _ = store.search(q, 10, allowed=allowed)
        assert set(found.tolist()) <= set(allowed.tolist())
        truth = _truth(vecs, ids, q, allowed, 10)
        hits += len(truth & set(found.tolist()))
        total += len(truth)
    assert hits / total >= 0.9


def test_a_remembered_filter_sees_vectors_added_after_it(graph, monkeypatch) -> None:
    store, ids, _ = graph
    monkeypatch.setattr("app.core.storage.vectors.SUBSET_EXACT_LIMIT", 1000)
    allowed = np.sort(np.append(ids[:200], np.uint64(9999)))  # 9999 is not in the index yet
    q = _clustered(1, 32, seed=3)[0]
    before, _ = store.search(q, 5, allowed=allowed)
    assert 9999 not in before.tolist()
    store.add(np.array([9999], dtype=np.uint64), q[None, :])  # the query's own vector
    after, sims = store.search(q, 5, allowed=allowed)
    assert after[0] == 9999 and sims[0] == pytest.approx(1.0, abs=1e-2)
    store.remove([9999])
    assert 9999 not in store.search(q, 5, allowed=allowed)[0].tolist()


# -- a catalog to search by words --------------------------------------------------------------
def _catalog(path: Path, files: dict[str, list[str]]) -> Catalog:
    cat = Catalog(path)
    with cat.transaction():
        for name, texts in files.items():
            fid = cat.put_file(name, str(Path(name).parent), 1, 1, None, "indexed")
            cat.add_chunks(fid, name, [Chunk(text=t, page=None, line_start=1, line_end=1,
                                             char_start=0, char_end=len(t)) for t in texts])
    return cat


def _library_words(n_files: int = 300) -> dict[str, list[str]]:
    rng = np.random.default_rng(7)
    vocab = [f"w{i}" for i in range(400)]
    weights = 1.0 / (np.arange(len(vocab)) + 1.0)
    weights /= weights.sum()
    out = {}
    for i in range(n_files):
        folder = "/lib/a" if i % 3 == 0 else "/lib/b"
        ext = ".txt" if i % 2 else ".md"
        out[f"{folder}/f{i:04d}{ext}"] = [
            " ".join(rng.choice(vocab, size=30, p=weights)) + " common" for _ in range(4)]
    return out


def test_filtered_keyword_search_equals_the_joined_search(tmp_path: Path) -> None:
    cat = _catalog(tmp_path / "c.sqlite", _library_words())
    try:
        kw = Keywords(cat.conn)
        allowed = AllowedPassages(cat.conn)
        for filters in (Filters(folder="/lib/a"), Filters(types=("md",))):
            where, params = filters.sql()
            ids = allowed.ids(filters)
            for text in ("w3 w40", "w120 w7 w300", "w1"):
                q = parse_query(text)
                narrowed = kw.search(q, where, params, 20, ids)
                joined = kw.search(q, where, params, 20, None)
                assert narrowed == joined and narrowed
                assert set(r for r, _ in narrowed) <= set(ids.tolist())
    finally:
        cat.close()


def test_remembered_filters_follow_files_added_and_removed(tmp_path: Path) -> None:
    cat = _catalog(tmp_path / "c.sqlite", {"/lib/a/one.txt": ["alpha"], "/lib/b/two.txt": ["beta"]})
    reader = Catalog(cat.path, readonly=True)
    try:
        allowed = AllowedPassages(reader.conn)
        in_a = Filters(folder="/lib/a")
        first = allowed.ids(in_a).tolist()
        assert len(first) == 1
        with cat.transaction():
            fid = cat.put_file("/lib/a/three.txt", "/lib/a", 1, 1, None, "indexed")
            new = cat.add_chunks(fid, "/lib/a/three.txt", [Chunk("gamma", None, 1, 1, 0, 5)])
        assert sorted(allowed.ids(in_a).tolist()) == sorted(first + new)
        with cat.transaction():
            cat.delete_file(fid)
        assert allowed.ids(in_a).tolist() == first
    finally:
        reader.close()
        cat.close()


def test_a_folder_filter_holds_its_subfolders_and_not_its_neighbours(tmp_path: Path) -> None:
    cat = _catalog(tmp_path / "c.sqlite", {"/lib/a/one.txt": ["alpha"], "/lib/a/deep/two.txt": ["alpha"],
                                            "/lib/ab/three.txt": ["alpha"], "/lib/a.txt": ["alpha"]})
    try:
        ids = AllowedPassages(cat.conn).ids(Filters(folder="/lib/a/"))
        paths = {r.path for r in cat.chunk_rows(ids.tolist()).values()}
        assert paths == {"/lib/a/one.txt", "/lib/a/deep/two.txt"}
    finally:
        cat.close()


def test_common_words_leave_the_keyword_query_only_past_the_row_budget(
        tmp_path: Path, monkeypatch) -> None:
    cat = _catalog(tmp_path / "c.sqlite", _library_words())
    try:
        kw = Keywords(cat.conn)
        q = parse_query("w0 w1 w250")
        assert kw.budgeted(q)[0].terms == q.terms  # a library within the budget keeps them all
        monkeypatch.setattr(keywords, "KEYWORD_ROWS", 300)
        kept, _ = kw.budgeted(q)
        df = kw.doc_freq(q.terms)
        assert "w250" in kept.terms  # the rarest always stays
        assert len(kept.terms) < len(q.terms)
        dropped = set(q.terms) - set(kept.terms)
        assert min(df[t] for t in dropped) >= max(df[t] for t in kept.terms)
        # Every passage found holds one of the words kept.
        found = kw.search(q, "1", [], 50)
        rows = cat.chunk_rows([r for r, _ in found])
        assert found and all(set(kept.terms) & set(rows[r].text.split()) for r, _ in found)
    finally:
        cat.close()


def test_counts_of_common_words_are_estimated_closely(tmp_path: Path, monkeypatch) -> None:
    cat = _catalog(tmp_path / "c.sqlite", _library_words(600))
    try:
        exact = Keywords(cat.conn).doc_freq(("w0", "w5", "w399", "common", "nowhere"))
        monkeypatch.setattr(keywords, "EXACT_COUNT", 64)
        monkeypatch.setattr(keywords, "SAMPLE_IDS", 400)
        estimated = Keywords(cat.conn).doc_freq(("w0", "w5", "w399", "common", "nowhere"))
        assert estimated["common"] == exact["common"] == 2400
        assert estimated["nowhere"] == exact["nowhere"] == 0
        for term in ("w0", "w5"):
            assert exact[term] > 64 and abs(estimated[term] - exact[term]) <= 0.2 * exact[term]
        assert estimated["w399"] == exact["w399"]  # rare: counted exactly
    finally:
        cat.close()


# -- opening ----------------------------------------------------------------------------------
def test_the_key_fingerprint_matches_the_catalog_until_they_differ(library, docs: Path) -> None:
    library.index([str(docs)])
    store = library.store
    assert keys_fingerprint(store.vectors.keys()) == store.catalog.embedded_fingerprint()
    some = store.vectors.keys()[:1]
    store.vectors.remove(some.tolist())
    assert keys_fingerprint(store.vectors.keys()) != store.catalog.embedded_fingerprint()


def test_a_cleanly_closed_catalog_opens_without_reading_every_page(
        library, docs: Path, monkeypatch) -> None:
    library.index([str(docs)])
    folder = library.index_folder
    library.close()
    assert clean_close.unchanged(folder)

    def no_page_check(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError("the page check ran")

    with monkeypatch.context() as m:
        m.setattr(catalog_health.sqlite3, "connect", no_page_check)
        assert catalog_health.damage(folder) is None
    # Any write since (here by another program) means the full check runs again.
    conn = sqlite3.connect(folder / "catalog.sqlite")
    conn.execute("INSERT INTO meta (key, value) VALUES ('someone', 'else')")
    conn.commit()
    conn.close()
    assert not clean_close.unchanged(folder)
    assert catalog_health.damage(folder) is None  # checked in full, and whole


def test_a_catalog_left_with_unsaved_commits_is_checked_in_full(tmp_path: Path) -> None:
    folder = tmp_path / "index"
    folder.mkdir()
    cat = Catalog(folder / "catalog.sqlite")
    with cat.transaction():
        cat.set_meta("k", "v")
    cat.conn.close()
    clean_close.record(folder)
    assert clean_close.unchanged(folder)
    cat = Catalog(folder / "catalog.sqlite")  # a writer that is killed before it closes
    with cat.transaction():
        cat.set_meta("k", "w")
    assert not clean_close.unchanged(folder)  # its write-ahead log holds the commit
    cat.close()


def test_searches_during_a_rebuild_answer_from_the_whole_old_index(graph) -> None:
    store, ids, vecs = graph
    q = _clustered(1, 32, seed=21)[0]
    before, _ = store.search(q, 10)
    seen_midway: list[list[int]] = []

    def batches():  # type: ignore[no-untyped-def]
        for start in range(0, len(ids), 1000):
            yield ids[start:start + 1000], vecs[start:start + 1000]
            seen_midway.append(store.search(q, 10)[0].tolist())

    assert store.rebuild(batches()) == len(ids)
    assert all(found == before.tolist() for found in seen_midway)
    assert len(store) == len(ids)
    assert set(store.search(q, 10)[0].tolist()) & set(before.tolist())
