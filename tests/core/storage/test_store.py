"""The catalog is the source of truth: the vector index is rebuilt or repaired from it."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from app.core.storage.store import IndexStore


def _reopen(library) -> IndexStore:  # type: ignore[no-untyped-def]
    library.close()
    store = IndexStore(library.index_folder, library.embedder.name, library.embedder.info.dim)
    store.open_vectors()
    return store


def test_missing_vector_file_is_rebuilt_from_the_catalog(library, docs: Path) -> None:
    library.index([str(docs)])
    (library.index_folder / "vectors.usearch").unlink()
    store = _reopen(library)
    assert store.sync is not None and store.sync.action == "rebuilt"
    assert store.consistent() and len(store.vectors) == store.catalog.counts()[1]


def test_corrupt_vector_file_is_rebuilt(library, docs: Path) -> None:
    library.index([str(docs)])
    (library.index_folder / "vectors.usearch").write_bytes(b"garbage" * 100)
    store = _reopen(library)
    assert store.sync is not None and store.sync.action == "rebuilt"
    assert store.consistent()


def test_vector_file_behind_the_catalog_is_repaired(library, docs: Path) -> None:
    library.index([str(docs)])
    vec_file = library.index_folder / "vectors.usearch"
    files = [vec_file, *(library.index_folder / f"vectors.usearch.{ext}"
                         for ext in ("json", "passages"))]
    stale = [f.read_bytes() for f in files]
    (docs / "new.txt").write_text("apple banana cherry", encoding="utf-8")
    (docs / "code.py").unlink()
    library.index([str(docs)])
    # As if the process died before saving the index (graph, passage map and checksums).
    for f, old in zip(files, stale, strict=True):
        f.write_bytes(old)
    store = _reopen(library)
    assert store.sync is not None and store.sync.action == "repaired"
    assert store.sync.added >= 1 and store.sync.removed >= 1
    assert store.consistent()


def test_search_results_survive_a_rebuild(library, docs: Path) -> None:
    library.index([str(docs)])
    before = [h.path for h in library.search("river ocean", rerank=False).hits]
    (library.index_folder / "vectors.usearch").unlink()
    library.close()
    from app.core.library import Library

    again = Library(library.paths, library.settings, embedder=library.embedder)
    try:
        assert [h.path for h in again.search("river ocean", rerank=False).hits] == before
    finally:
        again.close()


def test_embeddings_are_normalised_and_stored(library, docs: Path) -> None:
    library.index([str(docs)])
    for _, mat in library.store.catalog.embeddings():
        assert np.allclose(np.linalg.norm(mat, axis=1), 1.0, atol=1e-2)


def test_heavy_churn_compacts_the_vector_index(library, docs: Path) -> None:
    library.index([str(docs)])
    store = library.store
    store.vectors.removed_since_build = 10_000  # as after many edits
    store.vectors.dirty = True
    store.save()
    assert store.vectors.removed_since_build == 0
    assert store.consistent()
    assert library.search("river ocean", rerank=False).hits
