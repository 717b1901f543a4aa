"""A file is found by its name and its folder's, and the list's order is the strength it shows."""

from __future__ import annotations

import json
import random
import sqlite3
from pathlib import Path

import pytest

from app.core.measure.evaluation import load_beir
from app.core.search import confidence
from app.core.search.exact import first_chunks, name_phrase
from app.core.search.filters import Filters
from app.core.search.query import parse_query, stem, words

MEANING = Path(__file__).resolve().parents[3] / "resources" / "calibration" / "meaning"
TOPICS = ("the boiler was serviced and the radiators bled before winter",
          "kibble twice a day for the puppy and fish oil on sundays",
          "the landlord returned the deposit when the lease ended",
          "sourdough needs a lively starter and a long cold proof",
          "the router was reset to factory settings and the password changed",
          "tomato plants want sun, water at the base and a cane each",
          "the lighthouse keeper trimmed the wicks and wound the clockwork",
          "notes from the weekly team meeting about the release",
          "the general store on the corner sells stamps and bread",
          "an extraordinary amount of rain fell in march")


def _library_of_meetings(root: Path) -> Path:
    rng = random.Random(3)
    notes = root / "notes"
    notes.mkdir()
    for i in range(40):
        (notes / f"note-{i:02d}.txt").write_text(
            f"{rng.choice(TOPICS)}. {rng.choice(TOPICS)}.", encoding="utf-8")
    board = root / "Board"
    board.mkdir()
    (board / "Minutes of the extraordinary general meeting 2024.txt").write_text(
        "Present: the chair, the treasurer and eleven members. The accounts were approved "
        "and the new statutes adopted by a two-thirds vote.", encoding="utf-8")
    return board


def test_a_file_is_found_first_by_the_words_of_its_name(library, tmp_path: Path) -> None:
    board = _library_of_meetings(tmp_path)
    library.index([str(tmp_path / "notes"), str(board)])
    # Words search: what a search has while the passages' meaning is still being computed (the
    # tiny test model's meaning is noise; tests/core/search/test_real_meaning.py has the real one).
    library.store.vectors.reset()
    resp = library.search("extraordinary general meeting", rerank=False)
    assert resp.hits[0].path.endswith("Minutes of the extraordinary general meeting 2024.txt")
    # Its strength is as strong as the words it holds: none below it is shown as stronger.
    assert resp.hits[0].score == max(h.score for h in resp.hits)
    assert resp.hits[0].score > 0.5


def test_a_file_is_found_by_the_name_of_its_folder(library, tmp_path: Path) -> None:
    board = _library_of_meetings(tmp_path)
    library.index([str(tmp_path / "notes"), str(board)])
    library.store.vectors.reset()
    resp = library.search("board statutes", rerank=False)
    assert resp.hits[0].path.startswith(str(board))
    # The folder's name alone finds it, though no passage says "board".
    assert library.search("board", rerank=False).hits[0].path.startswith(str(board))


def test_the_order_is_the_strength_for_every_query(library, tmp_path: Path) -> None:
    from app.cli import response_json

    rng = random.Random(11)
    vocab = ("lease landlord deposit rent boiler plumber invoice tax refund meeting minutes "
             "budget garden river mountain dog food puppy vet guitar chords lighthouse keeper "
             "sourdough starter flour router password backup disk").split()
    folder = tmp_path / "mixed"
    for i in range(120):
        sub = folder / rng.choice(("home", "work", "tax", "garden"))
        sub.mkdir(parents=True, exist_ok=True)
        name = "-".join(rng.sample(vocab, 2))
        body = " ".join(rng.choice(vocab) for _ in range(rng.randint(5, 60)))
        (sub / f"{name}-{i}.txt").write_text(body, encoding="utf-8")
    library.index([str(folder)])
    queries = [" ".join(rng.sample(vocab, rng.randint(1, 4))) for _ in range(40)]
    for text in [*queries, "when does the lease end", "how do barnacles attach to rocks"]:
        resp = library.search(text, rerank=False)
        scores = [h.score for h in resp.hits]
        assert scores == sorted(scores, reverse=True), text
        shown = [h["score"] for h in response_json(resp)["results"]]
        assert shown == sorted(shown, reverse=True), text


def test_the_order_is_the_strength_with_the_reranker_on(library, docs: Path) -> None:
    library.index([str(docs)])
    for text in ("dog food", "landlord deposit", "river ocean mountain", "alpha test"):
        resp = library.search(text, rerank=True)
        assert resp.reranked
        scores = [h.score for h in resp.hits]
        assert scores == sorted(scores, reverse=True), text


def test_an_older_index_gains_folder_words_in_place(library, tmp_path: Path) -> None:
    from app.core.storage.catalog import Catalog

    board = _library_of_meetings(tmp_path)
    library.index([str(board)])
    path = library.store.folder / "catalog.sqlite"
    library.release()
    # As a version-5 catalog stored it: the file's own name only.
    conn = sqlite3.connect(path)
    conn.execute("UPDATE chunks_fts SET name = 'Minutes of the extraordinary general meeting "
                 "2024 txt'")
    conn.execute("UPDATE meta SET value = '5' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()
    catalog = Catalog(path)
    names = {r[0] for r in catalog.conn.execute("SELECT name FROM chunks_fts")}
    version = catalog.get_meta("schema_version")
    catalog.close()
    assert names == {"Minutes of the extraordinary general meeting 2024 txt Board"}
    assert version == "6"


def test_meaning_questions_share_no_content_word_with_their_answers() -> None:
    corpus, queries, qrels = load_beir(MEANING)
    assert len(queries) >= 50 and set(qrels) == set(queries)
    fts = sqlite3.connect(":memory:")
    fts.execute("CREATE VIRTUAL TABLE t USING fts5(x, tokenize='porter unicode61')")
    for qid, text in queries.items():
        terms = parse_query(text).terms
        for doc_id in qrels[qid]:
            doc = f"{corpus[doc_id]['title']} {corpus[doc_id]['text']}"
            assert not {stem(w) for w in words(doc.casefold())} & {stem(t) for t in terms}, text
            fts.execute("DELETE FROM t")
            fts.execute("INSERT INTO t VALUES (?)", (doc,))
            for t in terms:
                assert fts.execute("SELECT 1 FROM t WHERE t MATCH ?",
                                   (json.dumps(t),)).fetchone() is None, (text, t)


def test_strength_rises_with_each_piece_of_evidence() -> None:
    base = confidence.relevance_probability(0.3, 0.2)
    assert confidence.relevance_probability(0.6, 0.2) > base
    assert confidence.relevance_probability(0.3, 0.9) > base
    assert confidence.relevance_probability(0.3, 0.2, 2.0) > base
    # A right answer by meaning alone shares no word with the question, but stands far ahead of
    # every other file in meaning: it is not shown as noise...
    assert confidence.relevance_probability(0.45, 0.0, 2.5) > 0.3
    # ...while the same cosine in a crowd of equals is.
    assert confidence.relevance_probability(0.45, 0.0, 0.0) < 0.1
    # Where the words carry the file, standing out adds nothing they have not said.
    assert (confidence.relevance_probability(0.45, 1.0, 2.5)
            == confidence.relevance_probability(0.45, 1.0, 0.0))


def test_only_a_file_far_ahead_of_all_others_stands_out() -> None:
    assert confidence.standouts([4.8, 2.0, 1.5]) == [pytest.approx(2.8), 0.0, 0.0]
    assert confidence.standouts([1.5, 4.8, 2.0]) == [0.0, pytest.approx(2.8), 0.0]
    assert confidence.standouts([3.0, 3.0, 1.0]) == [0.0, 0.0, 0.0]   # two alike: neither
    assert confidence.standouts([2.0]) == [0.0] and confidence.standouts([]) == []


def rng_text(n: int) -> str:
    """``n`` words of the notes' topics, always the same."""
    rng = random.Random(5)
    return " ".join(rng.choice(TOPICS).split()[rng.randrange(3)] for _ in range(n))


def test_typing_a_files_name_finds_it_first(library, tmp_path: Path) -> None:
    notes = tmp_path / "notes"
    notes.mkdir()
    for i in range(20):  # notes that say the words often, with meaning of their own
        (notes / f"crossing-{i:02d}.txt").write_text(
            f"Log {i}: the north sea was rough; north sea ferries late; north sea gales again.",
            encoding="utf-8")
    (notes / "North Sea.md").write_text(  # a long note that never says its name's words
        "Ferries from Harwich leave at nine. " + rng_text(120), encoding="utf-8")
    for i in range(12):  # a name many files share puts none of them first
        (notes / f"Invoice {i}.txt").write_text(f"Amount due: {i * 10} euros.", encoding="utf-8")
    library.index([str(notes)])
    for query in ("north sea", "the North Sea", "North-Sea"):
        assert library.search(query, rerank=False).hits[0].path == str(notes / "North Sea.md")
    assert name_phrase(parse_query("the invoice from the plumber")) == "invoice from the plumber"
    assert name_phrase(parse_query("notes")) == "notes"  # stopwords alone stay what was typed
    searcher = library.searcher()
    assert first_chunks(searcher.catalog.conn, parse_query("invoice"), Filters(), {}, {}) == []
    assert len(first_chunks(searcher.catalog.conn, parse_query("north sea"), Filters(), {}, {})) == 1
