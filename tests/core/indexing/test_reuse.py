"""A changed file's unchanged passages, and a copy's, keep their embeddings: not embedded again."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np

from app.core.indexing.scanner import normalize_folder
from app.core.storage.catalog import STAGE_WORDS
from tests.pdf_samples import make_pdf

TOPICS = ("rivers carry sediment to the delta", "the court dismissed the appeal",
          "sourdough needs a long cold proof", "the invoice lists the boiler valve",
          "glaciers retreat in warm summers", "the compiler inlines small functions",
          "owls hunt mice at night", "the treaty was signed in the spring")


def _notes(n: int) -> str:
    return "\n\n".join(f"Note {i}: {TOPICS[i % len(TOPICS)]}, and more about item {i}."
                       for i in range(n)) + "\n"


def _stored_match_their_text(library) -> None:  # type: ignore[no-untyped-def]
    """Every stored embedding is the embedding of its own passage's text (float16 storage)."""
    cat = library.store.catalog
    ids = cat.chunk_ids().tolist()
    rows = cat.chunk_rows(ids)
    stored = {int(i): v for part_ids, vecs in cat.embeddings(ids)
              for i, v in zip(part_ids, vecs, strict=True)}
    fresh = library.embedder.embed_documents([rows[i].text for i in ids])
    for i, vec in zip(ids, fresh, strict=True):
        np.testing.assert_allclose(stored[i], vec, atol=2e-3)


def test_appending_to_a_file_embeds_only_the_new_passages(library, tmp_path: Path) -> None:
    folder = tmp_path / "notes"
    folder.mkdir()
    target = folder / "journal.txt"
    target.write_text(_notes(30), encoding="utf-8")
    first = library.index([str(folder)])
    total = library.stats().chunks
    assert total >= 6 and first.embedded == total

    target.write_text(_notes(30) + "\nA new entry: the heron waited by the weir.\n",
                      encoding="utf-8")
    os.utime(target, ns=(1, 10**18))
    seen = []
    second = library.index([str(folder)], on_progress=seen.append)
    assert second.updated == 1
    last = [p for p in seen if p.phase != "done"][-1]
    assert last.passages_total == second.embedded
    after = library.stats().chunks
    # Only the passages the new text touched were embedded; the rest kept their vectors.
    assert second.reused >= total - 2
    assert second.embedded == after - second.reused and second.embedded <= 2
    assert library.store.consistent()
    _stored_match_their_text(library)
    assert library.search("heron by the weir", rerank=False).hits[0].path == str(target)


def test_editing_one_page_of_a_pdf_keeps_the_other_pages(library, tmp_path: Path) -> None:
    folder = tmp_path / "pdfs"
    folder.mkdir()
    pages = [_notes(3).replace("Note", f"Page {p} note") for p in range(5)]
    make_pdf(folder / "report.pdf", pages)
    library.index([str(folder)])
    before = library.stats().chunks

    pages[2] = "This page was rewritten: the budget for the bridge doubled."
    make_pdf(folder / "report.pdf", pages)
    os.utime(folder / "report.pdf", ns=(1, 10**18))
    report = library.index([str(folder)])
    assert report.updated == 1
    per_page = before // 5
    assert report.reused >= before - per_page - 1
    assert report.embedded == library.stats().chunks - report.reused
    assert library.store.consistent()
    _stored_match_their_text(library)
    hit = library.search("bridge budget", rerank=False).hits[0]
    assert hit.path == str(folder / "report.pdf") and hit.passages[0].page == 3


def test_a_copy_in_another_folder_is_findable_by_meaning_at_once(library, tmp_path: Path) -> None:
    a, b = tmp_path / "work", tmp_path / "backup"
    a.mkdir()
    b.mkdir()
    (a / "plan.txt").write_text(_notes(8), encoding="utf-8")
    library.index([str(a)])
    passages = library.stats().chunks

    shutil.copy2(a / "plan.txt", b / "plan.txt")
    library.add_folders([normalize_folder(b)])
    seen = []
    report = library.index([str(b)], on_progress=seen.append)
    assert report.added == 1
    assert report.reused == passages and report.embedded == 0
    # The progress shown never promised passages to embed that needed none.
    last = [p for p in seen if p.phase != "done"][-1]
    assert (last.meaning_total, last.passages_total) == (0, 0)
    # Done at once: nothing waits at the words stage, and both copies have their vectors.
    assert library.store.catalog.stage_counts()[STAGE_WORDS] == 0
    assert len(library.store.vectors) == 2 * passages
    assert library.store.consistent()
    _stored_match_their_text(library)
    hits = library.search("sediment at the delta", rerank=False).hits
    assert {h.path for h in hits[:2]} == {str(a / "plan.txt"), str(b / "plan.txt")}


def test_copies_waiting_together_are_embedded_once(library, tmp_path: Path) -> None:
    """Two copies that reach the embedding stage together (neither embedded yet): one is
    embedded, the other takes its embeddings; a half-embedded file lends nothing."""
    from app.core.indexing.indexer import Indexer

    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (a / "x.txt").write_text(_notes(30), encoding="utf-8")
    (b / "x.txt").write_text(_notes(30), encoding="utf-8")
    library.add_folders([normalize_folder(a), normalize_folder(b)])
    words_only = Indexer(library.store, library.embedder, library.settings, library.control,
                         later_stages=[])
    words_only.index_folders([normalize_folder(a)])
    per_copy = library.stats().chunks
    report = library.index([str(b)])
    assert report.reused == per_copy and report.embedded == per_copy
    assert library.store.catalog.stage_counts()[STAGE_WORDS] == 0
    assert len(library.store.vectors) == 2 * per_copy
    assert library.store.consistent()
    _stored_match_their_text(library)


def test_a_copy_of_a_large_file_indexed_with_it_is_embedded_once(library, tmp_path: Path) -> None:
    """Larger than one embedding step: the copy's passages come after the original is done."""
    from app.core.indexing.stages import EmbeddingStage

    folder = tmp_path / "big"
    (folder / "1").mkdir(parents=True)
    (folder / "2").mkdir()
    (folder / "1" / "long.txt").write_text(_notes(90), encoding="utf-8")
    shutil.copy2(folder / "1" / "long.txt", folder / "2" / "long.txt")
    library.add_folders([normalize_folder(folder)])
    stage = EmbeddingStage(library.store, library.embedder, batch=8)
    from app.core.indexing.indexer import Indexer

    indexer = Indexer(library.store, library.embedder, library.settings, library.control,
                      later_stages=[stage])
    report = indexer.index_folders([normalize_folder(folder)])
    total = library.stats().chunks
    assert total // 2 > 8  # each copy takes several steps
    assert report.embedded + report.reused == total
    assert report.embedded <= total // 2 + 8  # the copy waits for the original, at most a step
    assert library.store.consistent()
    _stored_match_their_text(library)


def test_a_new_version_of_a_document_embeds_only_its_changed_sections(library,
                                                                      tmp_path: Path) -> None:
    """contract v2 beside contract v1: different files (other content), mostly the same text."""
    folder = tmp_path / "contracts"
    folder.mkdir()
    clauses = [f"## Clause {i}\n\n{_notes(6)}" for i in range(8)]
    (folder / "contract v1.md").write_text("\n\n".join(clauses), encoding="utf-8")
    library.index([str(folder)])

    clauses[3] = "## Clause 3\n\nThe tenant pays the heating costs from the first of May."
    (folder / "contract v2.md").write_text("\n\n".join(clauses), encoding="utf-8")
    report = library.index([str(folder)])
    assert report.added == 1
    # The heading marks are read away (Markdown as its rendered page), so the changed clause
    # shifts the cuts of the passages around it too: at most those are embedded again.
    assert report.embedded <= 6 and report.reused >= report.chunks - 6
    assert library.store.consistent()
    _stored_match_their_text(library)
    # The changed clause is found by its words (the tiny test model's meaning is noise).
    library.store.vectors.reset()
    assert library.search("who pays for heating", rerank=False).hits[0].path == \
        str(folder / "contract v2.md")


def test_passages_stored_before_keys_existed_still_serve_their_own_edits(library,
                                                                         tmp_path: Path) -> None:
    """A catalog from the previous version has no passage keys: it opens, gains the table, and
    an edited file still keeps its unchanged passages' embeddings."""
    import sqlite3

    folder = tmp_path / "notes"
    folder.mkdir()
    target = folder / "journal.txt"
    target.write_text(_notes(30), encoding="utf-8")
    library.index([str(folder)])
    total = library.stats().chunks
    path = library.index_folder / "catalog.sqlite"
    library.close()
    conn = sqlite3.connect(path)
    conn.executescript("DROP TRIGGER passage_keys_delete; DROP TABLE passage_keys;")
    conn.close()

    from app.core.host.paths import resolve_paths
    from app.core.library import Library

    lib = Library(resolve_paths(tmp_path / "data"), library.settings, embedder=library.embedder)
    try:
        target.write_text(_notes(30) + "\nA new entry about the heron.\n", encoding="utf-8")
        os.utime(target, ns=(1, 10**18))
        report = lib.index([str(folder)])
        assert report.reused >= total - 2 and report.embedded <= 2
        assert lib.store.consistent()
        keyed = lib.store.catalog.conn.execute("SELECT count(*) FROM passage_keys").fetchone()[0]
        assert keyed == lib.stats().chunks  # the file's new passages have their keys
    finally:
        lib.close()
