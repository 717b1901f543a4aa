"""Searching: hybrid retrieval, grouping by file, snippets, phrases, filters and reranking."""

from __future__ import annotations

import os
from pathlib import Path

from app.core.search.query import fts_expression, parse_query
from app.core.search.searcher import Filters, rrf
from app.core.search.snippets import make_snippet


def test_results_are_grouped_by_file_with_highlighted_snippets(library, docs: Path) -> None:
    library.index([str(docs)])
    resp = library.search("landlord deposit", rerank=False)
    top = resp.hits[0]
    assert top.path == str(docs / "lease.txt")
    assert len({h.path for h in resp.hits}) == len(resp.hits)
    passage = top.passages[0]
    marked = {passage.text[a:b].lower() for a, b in passage.highlights}
    assert {"landlord", "deposit"} <= marked
    assert passage.line == 1 and passage.page is None


def test_quoted_phrase_must_appear_in_every_result(library, docs: Path) -> None:
    (docs / "near.txt").write_text("The river is near the ocean and a mountain.", encoding="utf-8")
    library.index([str(docs)])
    resp = library.search('"mountain to the ocean" river', rerank=False)
    assert [h.path for h in resp.hits] == [str(docs / "sub" / "river.txt")]


def test_filters_narrow_by_folder_type_and_date(library, docs: Path) -> None:
    library.index([str(docs)])
    sub = library.search("river ocean", filters=Filters(folder=str(docs / "sub")), rerank=False)
    assert {h.path for h in sub.hits} == {str(docs / "sub" / "river.txt")}
    py = library.search("alpha", filters=Filters(types=("py",)), rerank=False)
    assert [h.path for h in py.hits] == [str(docs / "code.py")]
    old = docs / "lease.txt"
    os.utime(old, (1_000_000, 1_000_000))
    library.index([str(docs)])
    recent = library.search("landlord deposit", filters=Filters(modified_after=2_000_000),
                            rerank=False)
    assert str(old) not in {h.path for h in recent.hits}


def test_reranker_reorders_and_says_so(library, docs: Path) -> None:
    library.index([str(docs)])
    resp = library.search("dog food", rerank=True)
    assert resp.reranked is True and resp.rerank_note == ""
    assert all(0.0 < h.score < 1.0 for h in resp.hits)


def test_without_a_reranker_search_works_and_says_why(library, docs: Path, tmp_path) -> None:
    from app.core.encoders.reranker import Reranker

    library._reranker = Reranker(str(tmp_path / "no-such-model"))
    library.index([str(docs)])
    resp = library.search("dog food", rerank=True)
    assert resp.hits and resp.reranked is False
    assert "reranking is off" in resp.rerank_note


def test_file_names_are_searchable(library, tmp_path: Path) -> None:
    d = tmp_path / "named"
    d.mkdir()
    (d / "Müller_Sanitär invoice.txt").write_text("Total due: 120 EUR.", encoding="utf-8")
    (d / "other.txt").write_text("Total due: 80 EUR for apples.", encoding="utf-8")
    library.index([str(d)])
    assert library.search("muller sanitar", rerank=False).hits[0].path.endswith("invoice.txt")


def test_exact_codes_are_found_by_keywords(library, tmp_path: Path) -> None:
    d = tmp_path / "codes"
    d.mkdir()
    (d / "a.txt").write_text("Error E-4711 occurs when the valve is stuck.", encoding="utf-8")
    (d / "b.txt").write_text("Error E-4712 occurs when the boiler is cold.", encoding="utf-8")
    library.index([str(d)])
    assert library.search("E-4711", rerank=False).hits[0].path == str(d / "a.txt")


def test_query_parsing_keeps_phrases_and_drops_stopwords() -> None:
    q = parse_query('what did the landlord say about "the deposit"')
    assert q.phrases == ("the deposit",)
    assert "landlord" in q.terms and "what" not in q.terms
    expr = fts_expression(q)
    assert expr is not None and '"the deposit"' in expr


def test_query_with_only_punctuation_does_not_crash(library, docs: Path) -> None:
    library.index([str(docs)])
    assert library.search('"" ** ( OR NOT', rerank=False).query


def test_rrf_rewards_agreement() -> None:
    fused = rrf([[(1, 0.9), (2, 0.8), (3, 0.1)], [(3, 9.0), (1, 5.0)]])
    assert [item for item, _ in fused] == [1, 3, 2]
    assert fused[0][1] <= 1.0


def test_snippet_centres_on_the_matching_words() -> None:
    text = "filler " * 200 + "the landlord kept the deposit " + "filler " * 200
    snippet, offset, spans = make_snippet(text, parse_query("landlord deposit"))
    assert "landlord kept the deposit" in snippet
    assert len(snippet) < 400 and offset > 0
    assert [snippet[a:b] for a, b in spans] == ["landlord", "deposit"]


def test_a_search_answers_while_the_writer_deletes_what_it_ranked(library, docs: Path,
                                                                   monkeypatch) -> None:
    # A folder removed while a search runs: its passages vanish between the ranking and the
    # reading of their text. The search answers from the catalog as it was when it started.
    library.index([str(docs)])
    searcher = library.searcher()
    writer = library.store.catalog
    ranked_files = searcher.catalog.chunk_files

    def then_deleted(ids):  # type: ignore[no-untyped-def]
        files = ranked_files(ids)
        with writer.transaction():
            for file_id in set(files.values()):
                library.store.vectors.remove(writer.delete_file(file_id))
        return files

    monkeypatch.setattr(searcher.catalog, "chunk_files", then_deleted)
    resp = library.search("landlord deposit", rerank=False)
    assert resp.hits and resp.hits[0].path == str(docs / "lease.txt")
    assert resp.hits[0].passages[0].text
    monkeypatch.undo()
    assert library.search("landlord deposit", rerank=False).hits == ()  # the next one: gone
