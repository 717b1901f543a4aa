"""Meaning marks: the sentence closest in meaning to the question becomes the marked window."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.core.search.meaning_marks import MarkerSource, sentence_spans
from app.core.search.query import parse_query
from app.core.search.snippets import marked_snippet
from tests.word_marker import word_marker


def test_the_sentence_closest_in_meaning_is_marked_not_the_one_sharing_words() -> None:
    m = word_marker({"canine": [1, 0], "puppy": [0.95, 0.05], "kibble": [0.9, 0.1],
                 "nutrition": [0.9, 0.2], "lease": [0, 1], "deposit": [0.1, 1]})
    text = ("The lease and the deposit. The puppy and the kibble. The lease and the deposit.")
    pieces = m.query("canine nutrition")
    assert pieces is not None
    a, b = m.best_sentence(text, pieces)
    assert text[a:b] == "The puppy and the kibble."


def test_nothing_is_marked_when_no_sentence_comes_close() -> None:
    m = word_marker({"canine": [1, 0], "lease": [0, 1]})
    pieces = m.query("canine")
    assert pieces is not None
    assert m.best_sentence("The lease. The lease and the lease.", pieces) is None
    assert m.query("the and") is None  # stopwords only: nothing to compare


def test_sentences_and_long_ones_cut_at_clauses() -> None:
    text = "First one. Second one!\nA line\n\n" + "word, " * 80 + "end."
    spans = [text[a:b] for a, b in sentence_spans(text)]
    assert spans[:3] == ["First one.", "Second one!", "A line"]
    assert all(len(s) <= 240 for s in spans)
    assert "".join(spans[3:]).replace(" ", "") == text.split("\n\n")[1].replace(" ", "")


def test_the_window_holds_the_sentence_with_word_marks_kept() -> None:
    filler = "Nothing to see here at all. " * 20
    target = "Protein keeps a puppy healthy."
    text = filler + target + " " + filler + "Puppy again."
    a = text.index(target)
    snippet, offset, words, meaning = marked_snippet(text, parse_query("puppy"),
                                                     (a, a + len(target)))
    assert len(meaning) == 1
    ma, mb = meaning[0]
    assert snippet[ma:mb] == target
    assert any(snippet[x:y].lower() == "puppy" for x, y in words)
    assert text[offset + 1:offset + 1 + 10] == snippet[1:11]  # the offset points into the text


def test_search_results_carry_a_meaning_mark(library, docs: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(MarkerSource, "_load", lambda self: word_marker())
    library.index([str(docs)])
    hit = next(h for h in library.search("dog food").hits if h.path.endswith("dogs.md"))
    passage = hit.passages[0]
    assert passage.meaning, "a shown passage has its sentence marked by meaning"
    a, b = passage.meaning[0]
    assert passage.text[a:b] == "Dog food and canine nutrition: protein for a puppy."


@pytest.mark.real_model
def test_with_the_real_model_the_answering_sentence_is_marked(tmp_path: Path) -> None:
    from app.core.host.paths import resolve_paths
    from app.core.library import Library
    from app.core.settings import Settings

    notes = tmp_path / "notes"
    notes.mkdir()
    answer = "The vet said to cut down on treats."
    (notes / "rex.txt").write_text(
        "Rex came home in May. He sleeps on the blue sofa by the window. " + answer +
        " The car needs new tyres before winter.", encoding="utf-8")
    lib = Library(resolve_paths(tmp_path / "data"), Settings(rerank=False))
    try:
        lib.index([str(notes)])
        passage = lib.search("advice from the veterinarian").hits[0].passages[0]
    finally:
        lib.close()
    (a, b), = passage.meaning
    assert passage.text[a:b] == answer
    assert not passage.highlights  # no word of the question is in the note


def test_meaning_marks_survive_the_query_channel() -> None:
    """A running Sift answers `sift search` over the channel: the marks travel with the answer."""
    from app.core.ipc import response_from_json, response_to_json
    from app.core.records import FileHit, Passage, SearchResponse

    passage = Passage(chunk_id=1, text="A puppy eats. It grows.", page=None, line=1, line_end=1,
                      score=0.5, highlights=((2, 7),), meaning=((0, 13),))
    resp = SearchResponse(query="puppy", hits=(FileHit(path="/a.txt", score=0.5,
                                                       passages=(passage,)),), reranked=False)
    back = response_from_json(json.loads(json.dumps(response_to_json(resp))))
    assert back.hits[0].passages[0].meaning == ((0, 13),)
    assert back.hits[0].passages[0].highlights == ((2, 7),)
