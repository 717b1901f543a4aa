"""Ranking that holds on every collection: exact codes first, fusion by evidence, honest confidence,
unmatched phrases, and a rerank blend that cannot undo strong keyword evidence."""

from __future__ import annotations

import json
import random
import socket
from pathlib import Path

import numpy as np
import pytest

from app.core.search import confidence
from app.core.search.fusion import fuse, fuse_scores, promote, retriever_weights
from app.core.search.searcher import blend_by_position

WORDS = ("meeting notes budget revenue report invoice plumber boiler valve landlord deposit "
         "lease rent tenant river mountain ocean science physics chemistry biology apple "
         "banana cherry alpha beta gamma delta").split()


def test_a_code_typed_without_quotes_ranks_its_file_first(library, tmp_path: Path) -> None:
    notes = tmp_path / "generated"
    notes.mkdir()
    rng = random.Random(7)
    for i in range(2000):
        body = " ".join(rng.choice(WORDS) for _ in range(40))
        (notes / f"note-{i:04d}.txt").write_text(
            f"Note {i}. {body}\nReference: gedt{i:04d}q. {body[:80]}", encoding="utf-8")
    library.index([str(notes)])
    for code in ("gedt0005q", "gedt1234q"):
        hits = library.search(code, rerank=False).hits
        assert hits[0].path == str(notes / f"note-{code[4:8]}.txt")
    # Inside a sentence, and with the reranker on, the code still wins.
    resp = library.search("budget report gedt0042q meeting", rerank=True)
    assert resp.hits[0].path == str(notes / "note-0042.txt")


def test_a_quoted_phrase_no_file_holds_is_dropped_and_named(library, docs: Path) -> None:
    library.index([str(docs)])
    resp = library.search('"purple elephant parade" landlord deposit', rerank=False)
    assert resp.unmatched_phrases == ("purple elephant parade",)
    unquoted = library.search("purple elephant parade landlord deposit", rerank=False)
    assert resp.hits and [h.path for h in resp.hits] == [h.path for h in unquoted.hits]
    assert str(docs / "lease.txt") in [h.path for h in resp.hits]
    held = library.search('"the deposit" landlord', rerank=False)
    assert held.unmatched_phrases == ()


def test_search_json_names_unmatched_phrases(library, docs: Path) -> None:
    from app.cli import response_json

    library.index([str(docs)])
    data = response_json(library.search('"no such words anywhere" river', rerank=False))
    assert data["unmatched_phrases"] == ["no such words anywhere"]
    json.dumps(data)


def test_fusion_keeps_how_far_ahead_a_file_is_and_uses_what_exists() -> None:
    flat = [(i, 0.50 - 0.001 * i) for i in range(100)]
    sharp = [(1000, 9.5)] + [(1000 + i, 2.0 - 0.01 * i) for i in range(1, 100)]
    # Far ahead of every other keyword match, the file wins though meaning never listed it.
    assert fuse(flat, sharp)[0][0] == 1000
    # Agreement lifts a file above each list's own top.
    both = fuse([(1, 0.8), (2, 0.79), (3, 0.5)], [(3, 5.0), (2, 4.9), (1, 1.0)])
    assert both[0][0] == 2
    # With no meaning evidence (no embeddings yet) keywords decide alone, and vice versa.
    assert retriever_weights([], sharp) == (0.0, 1.0)
    assert retriever_weights(flat, []) == (1.0, 0.0)
    assert [f for f, _ in fuse([], sharp)][:3] == [1000, 1001, 1002]


def test_keyword_matches_unrelated_in_meaning_lose_their_say() -> None:
    # A question whose answer shares no word with it: the keyword list holds only incidental
    # matches of one word (files about something else: cosine near 0 with the question).
    dense = [(1, 0.40)] + [(i, 0.36 - 0.001 * i) for i in range(2, 100)]
    words = [(1000, 9.5)] + [(1000 + i, 2.0 - 0.01 * i) for i in range(1, 100)]
    unrelated = {1: 0.40, 1000: -0.03, 1001: 0.0, 1002: 0.02}
    assert fuse(dense, words)[0][0] == 1000                     # far ahead by its words...
    assert fuse(dense, words, cosine=unrelated)[0][0] == 1      # ...which mean nothing here
    # On-topic keyword matches keep their full weight; partly related ones part of it.
    assert retriever_weights(dense, words, relatedness=0.8) == retriever_weights(dense, words)
    wd, ww = retriever_weights(dense, words, relatedness=0.2)
    assert 0.0 < ww < retriever_weights(dense, words)[1] and wd + ww == pytest.approx(1.0)
    assert retriever_weights(dense, words, relatedness=-0.05) == (1.0, 0.0)
    # Before the keyword files' embeddings exist nothing is known of their meaning: full weight.
    assert fuse(dense, words, cosine={1: 0.40})[0][0] == 1000
    # A model whose cosines say nothing (all alike) leaves the words their say.
    flat = {i: 0.93 for i in [*range(1, 100), *range(1000, 1100)]}
    assert fuse([(i, 0.93) for i in range(1, 100)], words, cosine=flat)[0][0] == 1000


def test_keyword_matches_holding_little_of_the_question_lose_their_say() -> None:
    # "rich man in the jazz age chasing a lost love": the keyword list's best file holds one of
    # its words ("lost and found: ..."), a fifth of its rare-word mass; the answer holds none.
    dense = [(1, 0.40)] + [(i, 0.36 - 0.001 * i) for i in range(2, 100)]
    words = [(1000, 9.5)] + [(1000 + i, 2.0 - 0.01 * i) for i in range(1, 100)]
    related = {1: 0.40, 1000: 0.35, 1001: 0.34, 1002: 0.33}  # on the subject, so no help there
    assert fuse(dense, words, cosine=related)[0][0] == 1000
    assert fuse(dense, words, cosine=related, coverage={1000: 0.2})[0][0] == 1
    assert fuse(dense, words, cosine=related, coverage={1000: 0.9})[0][0] == 1000
    # A keyword file holding most of the question keeps the words' full say; none of it, none.
    full = retriever_weights(dense, words)
    assert retriever_weights(dense, words, coverage=0.4) == full
    assert retriever_weights(dense, words, coverage=0.9) == full
    wd, ww = retriever_weights(dense, words, coverage=0.2)
    assert 0.0 < ww < full[1] and wd + ww == pytest.approx(1.0)
    assert retriever_weights(dense, words, coverage=0.0) == (1.0, 0.0)
    # Both measures of an incidental match compound; neither touches a list with no rival.
    assert retriever_weights(dense, words, relatedness=0.2, coverage=0.2)[1] < ww
    assert retriever_weights([], words, coverage=0.0) == (0.0, 1.0)


def test_a_lone_keyword_match_stands_out_only_as_far_as_it_holds_the_question() -> None:
    # Sixty notes; one keyword file, close behind the answer in meaning. Normalised over all
    # sixty, the lone match stands about eight deviations out, which no meaning gap outweighs.
    dense = [(1, 0.40), (2, 0.36)] + [(i, 0.30 - 0.004 * i) for i in range(3, 61)]
    lone = [(2, 3.4)]
    cosine = {fid: c for fid, c in dense}
    assert fuse(dense, lone, cosine=cosine, coverage={2: 0.5})[0][0] == 2   # a name: it leads
    # Holding one word of many ("rich"), it stands one deviation out: meaning decides.
    assert fuse(dense, lone, cosine=cosine, coverage={2: 0.2})[0][0] == 1
    # Its list's weight alone (the coverage gate without the cap) would not be enough.
    gated = retriever_weights(dense, lone, coverage=0.2)
    assert fuse_scores([dense, lone], weights=gated)[0][0] == 2


def test_strengths_shown_never_rise_down_the_list() -> None:
    pooled = confidence.non_increasing([0.74, 0.34, 0.73, 0.2, 0.06, 0.1])
    assert pooled == sorted(pooled, reverse=True)
    assert pooled[0] == 0.74 and pooled[1] == pooled[2] == pytest.approx((0.34 + 0.73) / 2)
    assert sum(pooled) == pytest.approx(0.74 + 0.34 + 0.73 + 0.2 + 0.06 + 0.1)
    assert confidence.non_increasing([0.9, 0.5, 0.1]) == [0.9, 0.5, 0.1]
    assert confidence.non_increasing([]) == []


def test_promote_keeps_relative_order() -> None:
    order = [(1, 0.9), (2, 0.8), (3, 0.7), (4, 0.6)]
    assert [f for f, _ in promote(order, {4, 2})] == [2, 4, 1, 3]


def test_rerank_blend_keeps_a_far_ahead_retrieval_top() -> None:
    retrieval = [0.99, 0.50, 0.49, 0.48, 0.47]
    logits = [-3.0, 4.0, -2.0, -2.5, -1.0]  # the cross-encoder prefers the second file
    blended = blend_by_position(retrieval, logits)
    assert int(np.argmax(blended)) == 0
    # Lower down, the cross-encoder may reorder what retrieval barely separated.
    retrieval = [0.9] + [0.5 - 0.001 * i for i in range(14)]
    logits = [0.0] * 14 + [5.0]
    blended = blend_by_position(retrieval, logits)
    assert blended[14] > blended[11]


def test_confidence_is_low_without_evidence_and_high_with_it() -> None:
    idf = confidence.idf_weights({"xqzvw": 0, "blorptang": 0, "fnordlex": 0}, 5000)
    assert confidence.coverage(["The landlord kept the deposit."], idf) == 0.0
    assert confidence.is_weak(0.12, 0.0)            # gibberish: far in meaning, no words
    assert not confidence.is_weak(0.45, 0.0)        # meaning without shared words
    assert not confidence.is_weak(None, 1.0)        # words alone (no embeddings yet)
    assert confidence.is_weak(None, None)           # nothing found
    assert confidence.relevance_probability(0.12, 0.0) < 0.1
    assert confidence.relevance_probability(0.75, 0.9) > 0.5
    idf = confidence.idf_weights({"guitar": 0, "learn": 900, "best": 1500}, 5000)
    assert confidence.coverage(["The best way to learn is practice."], idf) < 0.5
    assert confidence.coverage(["Guitars: learning the best chords"], idf) == pytest.approx(1.0)


def test_strength_is_a_probability_and_the_order_is_kept(library, docs: Path) -> None:
    library.index([str(docs)])
    resp = library.search("landlord deposit", rerank=False)
    assert all(0.0 < h.score < 1.0 for h in resp.hits)
    assert resp.hits[0].path == str(docs / "lease.txt")


def test_files_without_embeddings_are_still_found(library, docs: Path) -> None:
    library.index([str(docs)])
    store = library.store
    store.vectors.reset()  # as if no passage had been embedded yet
    resp = library.search("landlord deposit", rerank=False)
    assert resp.hits and resp.hits[0].path == str(docs / "lease.txt")


def test_search_opens_no_network_connection(library, docs: Path, monkeypatch) -> None:
    from app.core.encoders.reranker import Reranker

    library.index([str(docs)])
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("SIFT_ALLOW_DOWNLOAD", raising=False)
    monkeypatch.setenv("HF_HOME", str(docs.parent / "empty-hf-home"))
    attempts: list[object] = []

    def refuse(*args: object, **kwargs: object) -> None:
        attempts.append(args)
        raise OSError("network use in a test")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    library._reranker = Reranker("cross-encoder/ms-marco-MiniLM-L6-v2")
    library._searcher = None
    resp = library.search("dog food", rerank=True)
    assert resp.hits and not resp.reranked
    assert "not been downloaded" in resp.rerank_note
    assert attempts == []


def test_a_faster_precision_is_used_only_when_it_keeps_the_order() -> None:
    from app.core.encoders.reranker import faithful

    reference = [-2.0, 3.0, 0.5, 1.0]
    assert faithful(reference, [-1.98, 3.01, 0.52, 0.99])
    assert not faithful(reference, [-2.0, 3.0, 1.01, 1.0])   # two files swap
    assert not faithful(reference, [-1.0, 4.0, 1.5, 2.0])     # same order, values drift


def test_the_reranker_runs_at_a_chosen_precision_and_blends(library, docs: Path, tiny_reranker) -> None:  # type: ignore[no-untyped-def]
    from app.core.encoders.reranker import Reranker

    library._reranker = Reranker(str(tiny_reranker))
    library._searcher = None
    library.index([str(docs)])
    resp = library.search("landlord deposit", rerank=True)
    assert resp.reranked and library.reranker is not None
    assert library.reranker.precision in ("float32", "int8", "bfloat16")
    assert len({h.path for h in resp.hits}) == len(resp.hits)
