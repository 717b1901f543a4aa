"""Read-only search: embed the query, find neighbours and keyword matches, fuse, rerank, group by file."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

import numpy as np

from app.core.encoders.embedder import Embedder
from app.core.encoders.reranker import Reranker
from app.core.records import FileHit, Passage, SearchResponse
from app.core.search import confidence
from app.core.search.exact import first_chunks
from app.core.search.filters import AllowedPassages, Filters
from app.core.search.fusion import COVERED_FILES, KEYWORD_TOP, fuse, promote, rrf
from app.core.search.keywords import Keywords
from app.core.search.meaning_marks import MarkerSource
from app.core.search.query import (
    ParsedQuery,
    contains_phrase,
    parse_query,
    phrase_expression,
)
from app.core.search.ranking_steps import (
    RERANK_FILES,
    _best_chunks,
    blend_by_position,
    name_words,
    read_snapshot,
)
from app.core.search.snippets import make_snippet, marked_snippet
from app.core.storage.catalog import Catalog, ChunkRow
from app.core.storage.vectors import VectorStore

log = logging.getLogger(__name__)

__all__ = ["Filters", "Ranked", "Searcher", "rrf"]

CANDIDATE_CHUNKS = 300     # from each retriever
# The window around the best passage's matching words that the cross-encoder reads: about the
# length of the MS MARCO passages such cross-encoders are trained on (~60 words, ~75 word pieces).
RERANK_WINDOW_CHARS = 360
PASSAGES_PER_FILE = 3
MAX_IDF_TERMS = 12
# The head of the fusion that is weighed file by file (meaning, words, name, lead) and given the
# strength it shows: every file a search may show, and at least this many.
STRENGTH_HEAD = 50


@dataclass
class Ranked:
    """Per-file rankings from each stage, for the app and for evaluation."""

    dense: list[tuple[int, float]] = field(default_factory=list)    # (file_id, best cosine)
    bm25: list[tuple[int, float]] = field(default_factory=list)     # (file_id, best bm25)
    fused: list[tuple[int, float]] = field(default_factory=list)    # the fusion, codes first
    hybrid: list[tuple[int, float]] = field(default_factory=list)   # with the strengths shown
    reranked: list[tuple[int, float]] | None = None
    best_chunk: dict[int, list[tuple[float, int]]] = field(default_factory=dict)
    rows: dict[int, ChunkRow] = field(default_factory=dict)
    unmatched_phrases: tuple[str, ...] = ()
    exact_code_files: set[int] = field(default_factory=set)
    strength: dict[int, float] = field(default_factory=dict)  # calibrated P(relevant)
    coverage: dict[int, float] = field(default_factory=dict)  # share of rare query words held
    cosine: dict[int, float] = field(default_factory=dict)    # best cosine, where known
    weak: bool = True  # no file is a good match (set by Searcher.assess)

    @property
    def final(self) -> list[tuple[int, float]]:
        return self.reranked if self.reranked is not None else self.hybrid


class _Rows(dict[int, ChunkRow]):
    """Passages of one search by id: those shown are read up front, any other when first asked."""

    def __init__(self, catalog: Catalog) -> None:
        super().__init__()
        self._catalog = catalog

    def __missing__(self, chunk_id: int) -> ChunkRow:
        row = self._catalog.chunk_rows([chunk_id]).get(chunk_id)
        if row is None:
            raise KeyError(chunk_id)
        self[chunk_id] = row
        return row


class Searcher:
    """Answers queries from one index. Uses its own read-only catalog connection."""

    def __init__(self, catalog: Catalog, vectors: VectorStore, embedder: Embedder,
                 reranker: Reranker | None = None) -> None:
        self.catalog = catalog
        self.vectors = vectors
        self.embedder = embedder
        self.reranker = reranker
        self.keywords = Keywords(catalog.conn)
        self.allowed = AllowedPassages(catalog.conn)
        # One search at a time on this connection, each in a read transaction of its own.
        self._snapshot = threading.Lock()
        self._last_query: tuple[str, np.ndarray] | None = None  # the strength reuses it
        self.marks = MarkerSource(embedder)  # the sentence that answers, marked by meaning
        self.marks.warm()

    def search(self, text: str, *, limit: int = 20, filters: Filters | None = None,
               rerank: bool = True) -> SearchResponse:
        """One query answered from one state of the catalog.

        The writer commits while searches run: a passage ranked a moment ago may be deleted
        (a folder removed) before its text is read. Every read of a search therefore happens in
        one read transaction, which in WAL mode sees the catalog as it was at its first read.
        """
        with self._snapshot, read_snapshot(self.catalog.conn):
            return self._search(text, limit=limit, filters=filters, rerank=rerank)

    def similar(self, path: str, *, limit: int = 20, part: str = "") -> SearchResponse:
        """More like this: the files closest in meaning to ``path`` (see similar.py)."""
        from app.core.search.similar import find_similar

        with self._snapshot, read_snapshot(self.catalog.conn):
            return find_similar(self, path, limit=limit, part=part)

    def _search(self, text: str, *, limit: int, filters: Filters | None,
                rerank: bool) -> SearchResponse:
        started = time.perf_counter()
        q = parse_query(text)
        filters = filters or Filters()
        semantic = self.embedder.query_ready  # before: a query never waits for the model to load
        ranked = self.rank(q, filters=filters, depth=max(limit, RERANK_FILES), rerank=rerank)
        self.assess(q, ranked, count=limit)
        focus = self.meaning_focus(q.semantic_text, ranked, limit) if semantic else {}
        hits = tuple(self._hit(file_id, ranked, q, focus) for file_id, _ in ranked.final[:limit])
        note = ""
        if rerank and ranked.reranked is None and self.reranker is not None:
            note = self.reranker.note
        elif rerank and self.reranker is None:
            note = "reranking is off: no cross-encoder is configured."
        elif not rerank:
            note = "reranking is off (turned off in settings)."
        return SearchResponse(query=text, hits=hits, reranked=ranked.reranked is not None,
                              rerank_note=note, elapsed_ms=(time.perf_counter() - started) * 1e3,
                              weak=ranked.weak, semantic=semantic,
                              unmatched_phrases=ranked.unmatched_phrases)

    # -- stages ----------------------------------------------------------------------------
    def rank(self, q: ParsedQuery, *, filters: Filters | None = None, depth: int = 100,
             rerank: bool = True) -> Ranked:
        filters = filters or Filters()
        out = Ranked()
        # A quoted phrase that no file holds would empty the results: search without it, say so.
        out.unmatched_phrases = tuple(p for p in q.phrases if not self._phrase_found(p, filters))
        if out.unmatched_phrases:
            q = q.without_phrases(out.unmatched_phrases)
        chunk_scores: dict[int, dict[str, float]] = {}
        for chunk_id, score in self._dense(q, filters):
            chunk_scores.setdefault(chunk_id, {})["dense"] = score
        for chunk_id, score in self._keyword(q, filters):
            chunk_scores.setdefault(chunk_id, {})["bm25"] = score
        doc_freq = self._doc_freq(q)
        idf = confidence.idf_weights(doc_freq, self._passage_count())
        code_chunks = first_chunks(self.catalog.conn, q, filters, doc_freq, idf)
        for chunk_id in code_chunks:
            chunk_scores.setdefault(chunk_id, {})
        # Which file each candidate is in; the text only of what is shown (fetched below) or
        # asked for later (``_Rows``): hundreds of candidates, a few dozen passages shown.
        files = self.catalog.chunk_files(list(chunk_scores))  # deleted ones are missing
        out.rows = _Rows(self.catalog)
        if q.phrases:
            out.rows.update(self.catalog.chunk_rows(list(files)))
            chunk_scores = {c: s for c, s in chunk_scores.items() if c in out.rows
                            and all(contains_phrase(out.rows[c].text, p) for p in q.phrases)}
        dense_best: dict[int, float] = {}
        bm25_best: dict[int, float] = {}
        for chunk_id, scores in chunk_scores.items():
            fid = files.get(chunk_id)
            if fid is None:  # deleted since the vector index was searched
                continue
            if "dense" in scores and scores["dense"] > dense_best.get(fid, -2.0):
                dense_best[fid] = scores["dense"]
            if "bm25" in scores and scores["bm25"] > bm25_best.get(fid, -1e9):
                bm25_best[fid] = scores["bm25"]
        out.dense = sorted(dense_best.items(), key=lambda kv: -kv[1])
        out.bm25 = sorted(bm25_best.items(), key=lambda kv: -kv[1])
        out.best_chunk = _best_chunks(chunk_scores, files)
        # The keyword list's best files' meaning, and how much of the question they hold, weigh
        # its say (fusion.keyword_relatedness, fusion.COVER_SHARE).
        cosine = dict(dense_best)
        unknown = {fid for fid, _ in out.bm25[:KEYWORD_TOP]} - set(cosine)
        if out.dense and unknown:
            cosine.update(self._cosines(q, [c for c, f in files.items() if f in unknown], files))
        covered = [fid for fid, _ in out.bm25[:COVERED_FILES]]
        out.rows.update(self.catalog.chunk_rows(
            [c for fid in covered for _, c in out.best_chunk.get(fid, [])[:PASSAGES_PER_FILE]
             if c not in out.rows]))
        hybrid = fuse(out.dense, out.bm25, cosine=cosine,
                      coverage={fid: self._coverage(fid, out, idf) for fid in covered})
        out.exact_code_files = {files[c] for c in code_chunks
                                if c in files and c in chunk_scores}
        listed = {fid for fid, _ in hybrid}
        low = hybrid[-1][1] if hybrid else 0.5
        hybrid += [(fid, low) for fid in sorted(out.exact_code_files - listed)]
        out.fused = promote(hybrid, out.exact_code_files)
        head = out.fused[:max(depth, STRENGTH_HEAD)]
        shown = [c for fid, _ in head for _, c in out.best_chunk.get(fid, [])[:PASSAGES_PER_FILE]]
        out.rows.update(self.catalog.chunk_rows([c for c in shown if c not in out.rows]))
        self._weigh(q, out, head, files, cosine, idf)
        out.hybrid = self._shown_strengths(out, head) + out.fused[len(head):]
        if rerank and self.reranker is not None and out.hybrid and self.reranker.available:
            out.reranked = self._rerank(q, out)
        return out

    def _weigh(self, q: ParsedQuery, out: Ranked, head: list[tuple[int, float]],
               files: dict[int, int], known: dict[int, float],
               idf: dict[str, float]) -> None:
        """Each head file's evidence: its best cosine (read from the catalog for a file only the
        keywords listed), the share of the query's rare words its shown passages and name hold,
        and its lead in the fusion (and whether it stands far ahead of all others); then its
        calibrated strength."""
        cosine = dict(known) if out.dense else {}
        missing = {fid for fid, _ in head} - set(cosine)
        if out.dense and missing:
            cosine.update(self._cosines(q, [c for c, f in files.items() if f in missing], files))
        leads = [confidence.lead(fused) for _, fused in head]
        for (fid, _), standout in zip(head, confidence.standouts(leads), strict=True):
            out.strength[fid] = confidence.relevance_probability(
                cosine.get(fid), self._coverage(fid, out, idf), standout)
        out.cosine = cosine

    @staticmethod
    def _coverage(fid: int, out: Ranked, idf: dict[str, float]) -> float:
        """The share of the query's rare-word mass a file's shown passages and name hold
        (remembered in ``out.coverage``)."""
        if fid not in out.coverage:
            chunks = out.best_chunk.get(fid, [])[:PASSAGES_PER_FILE]
            texts = [out.rows[c].text for _, c in chunks]
            if chunks:
                texts.append(name_words(out.rows[chunks[0][1]]))
            out.coverage[fid] = confidence.coverage(texts, idf)
        return out.coverage[fid]

    def _cosines(self, q: ParsedQuery, chunk_ids: list[int], files: dict[int, int],
                 ) -> dict[int, float]:
        """The best cosine of each file among these of its passages (from stored embeddings)."""
        vec = self._query_vector(q)
        best: dict[int, float] = {}
        if vec is None or not chunk_ids:
            return best
        for keys, mat in self.catalog.embeddings(chunk_ids):
            sims = mat @ vec / np.linalg.norm(mat, axis=1).clip(1e-9)
            for key, sim in zip(keys.tolist(), sims.tolist(), strict=True):
                fid = files[int(key)]
                best[fid] = max(best.get(fid, -2.0), float(sim))
        return best

    def _query_vector(self, q: ParsedQuery) -> np.ndarray | None:
        last = self._last_query
        if last is not None and last[0] == q.semantic_text:
            return last[1]
        return self.embedder.embed_query_nowait(q.semantic_text) if q.semantic_text else None

    def _shown_strengths(self, out: Ranked,
                         order: list[tuple[int, float]]) -> list[tuple[int, float]]:
        """``order`` with the strength each file shows: its calibrated probability, pooled with
        its neighbours' where the order puts a weaker file above a stronger one (isotonic along
        the order), so the strength never rises down the list and the order stays the fusion's.
        """
        pooled = confidence.non_increasing([out.strength[fid] for fid, _ in order])
        for (fid, _), p in zip(order, pooled, strict=True):
            out.strength[fid] = p
        return [(fid, p) for (fid, _), p in zip(order, pooled, strict=True)]

    def _phrase_found(self, phrase: str, filters: Filters) -> bool:
        expr = phrase_expression(phrase)
        if expr is None:
            return True
        where, params = filters.sql()
        sql = ("SELECT 1 FROM chunks_fts JOIN chunks c ON c.id = chunks_fts.rowid "
               f"JOIN files f ON f.id = c.file_id WHERE chunks_fts MATCH ? AND {where} LIMIT 1")
        try:
            return self.catalog.conn.execute(sql, [expr, *params]).fetchone() is not None
        except Exception as exc:  # an FTS syntax corner case: keep the phrase as typed
            log.warning("phrase lookup failed for %r: %s", phrase, exc)
            return True

    def _dense(self, q: ParsedQuery, filters: Filters) -> list[tuple[int, float]]:
        if not q.semantic_text:
            return []
        vec = self.embedder.embed_query_nowait(q.semantic_text)
        if vec is None:  # the model is still loading: keyword evidence alone for now
            return []
        allowed = None
        if filters.active:
            allowed = self.allowed.ids(filters)
            if len(allowed) == 0:
                return []
        self._last_query = (q.semantic_text, vec)
        keys, sims = self.vectors.search(vec, CANDIDATE_CHUNKS, allowed=allowed)
        return [(int(k), float(s)) for k, s in zip(keys, sims, strict=True)]

    def _keyword(self, q: ParsedQuery, filters: Filters) -> list[tuple[int, float]]:
        where, params = filters.sql()
        allowed = self.allowed.ids(filters) if filters.active else None
        return self.keywords.search(q, where, params, CANDIDATE_CHUNKS, allowed)

    def _rerank(self, q: ParsedQuery, out: Ranked) -> list[tuple[int, float]]:
        """The head of the hybrid list reordered by a blend of its order and the cross-encoder.

        The cross-encoder reads a short window around each file's best passage; its scores are
        blended with the retrieval scores, the retrieval share shrinking down the list. Files
        holding a code the query names stay first.
        """
        assert self.reranker is not None
        head = [kv for kv in out.hybrid[:RERANK_FILES] if kv[0] in out.best_chunk]
        windows = [make_snippet(out.rows[out.best_chunk[fid][0][1]].text, q,
                                width=RERANK_WINDOW_CHARS)[0] for fid, _ in head]
        logits = self.reranker.logits(q.semantic_text, windows)
        if len(logits) != len(head):
            return out.hybrid
        blended = blend_by_position([s for _, s in head], logits)
        # The blend is the lead now: the strength follows the order the cross-encoder helped make.
        mean, std = float(np.mean(blended)), float(np.std(blended)) or 1.0
        leads = [max(-confidence.MAX_LEAD, min(confidence.MAX_LEAD, (b - mean) / std))
                 for b in blended]
        for (fid, _), standout in zip(head, confidence.standouts(leads), strict=True):
            out.strength[fid] = confidence.relevance_probability(
                out.cosine.get(fid), out.coverage.get(fid, 0.0), standout)
        ranked = [kv for kv, _ in sorted(zip(head, blended, strict=True), key=lambda hb: -hb[1])]
        order = self._shown_strengths(out, promote(ranked, out.exact_code_files))
        floor = min(out.strength[f] for f, _ in order) if order else 0.0
        tail = [(fid, min(floor, out.strength.get(fid, floor))) for fid, _ in out.hybrid
                if fid not in {f for f, _ in head}]
        return order + tail

    # -- confidence and presentation -------------------------------------------------------
    def assess(self, q: ParsedQuery, ranked: Ranked, count: int = 20) -> None:
        """Set ``ranked.weak``: whether even the best file shown is unlikely to answer.

        The strength of each file was weighed in ``rank``, from the evidence that ordered it.
        """
        shown = [fid for fid, _ in ranked.final[:count]]
        if not shown:
            return
        # Best meaning anywhere in the list counts: the top may be a keyword match.
        best_cos = ranked.dense[0][1] if ranked.dense else None
        ranked.weak = confidence.is_weak(best_cos, ranked.coverage.get(shown[0], 0.0))

    def _doc_freq(self, q: ParsedQuery) -> dict[str, int]:
        return self.keywords.doc_freq(q.terms[:MAX_IDF_TERMS])

    def _passage_count(self) -> int:
        return self.keywords.passages()

    def meaning_focus(self, text: str, ranked: Ranked, count: int) -> dict[int, tuple[int, int]]:
        """The sentence closest in meaning to ``text`` in each passage shown, by chunk id."""
        shown = [c for fid, _ in ranked.final[:count]
                 for _, c in ranked.best_chunk.get(fid, [])[:PASSAGES_PER_FILE]]
        return self.marks.focus(text, [(c, ranked.rows[c].text) for c in shown])

    def _hit(self, file_id: int, ranked: Ranked, q: ParsedQuery,
             focus: dict[int, tuple[int, int]] | None = None) -> FileHit:
        passages: list[Passage] = []
        for chunk_score, chunk_id in ranked.best_chunk.get(file_id, [])[:PASSAGES_PER_FILE]:
            row = ranked.rows[chunk_id]
            snippet, offset, spans, meaning = marked_snippet(row.text, q, (focus or {}).get(chunk_id))
            line = row.line_start + row.text.count("\n", 0, max(0, offset))
            passages.append(Passage(chunk_id=chunk_id, text=snippet, page=row.page, line=line,
                                    line_end=row.line_end, score=chunk_score,
                                    highlights=tuple(spans), location=row.location,
                                    meaning=tuple(meaning)))
        first = ranked.rows[ranked.best_chunk[file_id][0][1]]
        # An e-mail attachment is its own result, at the path of the mail that holds it.
        return FileHit(path=first.container or first.path,
                       score=float(ranked.strength.get(file_id, 0.0)),
                       passages=tuple(passages), ext=first.ext, mtime=first.mtime_ns / 1e9,
                       attachment=first.member, attached_to=first.member_of,
                       part=first.member_key)
