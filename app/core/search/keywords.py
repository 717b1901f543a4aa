"""Keyword evidence at any size: each word's passage count, and BM25 candidates from the words that
fit a budget of matching rows, rarest first (a word in a large share of a big library is left out).

FTS5 scores every row an expression matches and, for its word weights, walks every row of each
word once more: a word found in 300,000 passages costs hundreds of milliseconds, and weighs little
(BM25's idf of a word in a tenth of the passages is about a third of a rare word's).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Iterable

import numpy as np

from app.core.search.filters import generation
from app.core.search.query import ParsedQuery, fts_expression

log = logging.getLogger(__name__)

TOKENIZER = "porter unicode61 remove_diacritics 2"  # the catalog's chunks_fts tokenizer
# FTS5 spends about a microsecond or two on every row an expression matches (its BM25 looks up
# each row's length), plus one more pass over each word's rows for its weight. The words of a
# query are taken rarest first while the rows they match stay within this budget; the rest
# (common words, whose weight is small) are left out of the keyword query. A library no bigger
# than the budget keeps every word.
KEYWORD_ROWS = 20_000
# Counting a word's passages exactly costs a pass over them; past this many, the count is
# estimated from SAMPLE_WINDOWS spread slices of the ids covering SAMPLE_IDS ids in all.
EXACT_COUNT = 4_096
SAMPLE_WINDOWS = 8
SAMPLE_IDS = 16_384
# Beside a filter, the unfiltered best are read this many times as deep as the filter's share
# of passages asks for, then narrowed in memory: cheaper than a join for every matching row.
FILTER_OVERSAMPLING = 2.0
# The name column (a file's name and its folder's) against the text, in BM25: a title weighs
# about twice a passage's words (BM25F practice), so "minutes extraordinary general meeting" finds
# the file so named before passages that mention one of the words.
NAME_WEIGHT = 2.0


class Keywords:
    """Document frequencies and budgeted BM25 search over one catalog connection."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self._lock = threading.Lock()
        self._seen: tuple[int, int] | None = None
        self._df: dict[str, int] = {}
        self._passages: int | None = None

    # -- counts --------------------------------------------------------------------------
    def _fresh(self) -> None:
        now = generation(self.conn)
        if now != self._seen:
            self._df.clear()
            self._passages = None
            self._seen = now

    def passages(self) -> int:
        """How many passages the catalog holds (the highest id: ids are never reused)."""
        with self._lock:
            self._fresh()
            return self._max_id()

    def _max_id(self) -> int:
        if self._passages is None:
            row = self.conn.execute("SELECT max(id) FROM chunks").fetchone()
            self._passages = int(row[0] or 0)
        return self._passages

    def doc_freq(self, terms: tuple[str, ...]) -> dict[str, int]:
        """How many passages hold each term, remembered until the catalog changes.

        Exact up to EXACT_COUNT; above, estimated from a sample of the ids (within about a
        tenth, which moves a common word's weight by about as much).
        """
        with self._lock:
            self._fresh()
            for term in dict.fromkeys(terms):
                if term not in self._df:
                    self._df[term] = self._count(term)
            return {t: self._df[t] for t in terms}

    def _count(self, term: str) -> int:
        expr = '"' + term.replace('"', '""') + '"'
        try:
            n = int(self.conn.execute(
                "SELECT count(*) FROM (SELECT 1 FROM chunks_fts WHERE chunks_fts MATCH ? "
                "LIMIT ?)", (expr, EXACT_COUNT)).fetchone()[0])
            top = self._max_id()
            if n < EXACT_COUNT or top <= 2 * SAMPLE_IDS:
                if n == EXACT_COUNT:  # a small library: counting them all is cheap
                    n = int(self.conn.execute(
                        "SELECT count(*) FROM chunks_fts WHERE chunks_fts MATCH ?",
                        (expr,)).fetchone()[0])
                return n
            width = SAMPLE_IDS // SAMPLE_WINDOWS
            step = top // SAMPLE_WINDOWS
            seen = 0
            for k in range(SAMPLE_WINDOWS):
                low = k * step + (step - width) // 2
                seen += int(self.conn.execute(
                    "SELECT count(*) FROM chunks_fts WHERE chunks_fts MATCH ? "
                    "AND rowid > ? AND rowid <= ?", (expr, low, low + width)).fetchone()[0])
            return max(n, round(seen * top / (width * SAMPLE_WINDOWS)))
        except sqlite3.Error:  # a term FTS cannot parse: treat it as absent
            return 0

    # -- search ----------------------------------------------------------------------------
    def budgeted(self, q: ParsedQuery) -> tuple[ParsedQuery, int]:
        """The query's words that fit the row budget, rarest first, and the rows they match.

        The rarest word always stays, so a query of common words alone still searches by them.
        """
        df = self.doc_freq(q.terms)
        rows = sum(df.values())
        if rows <= KEYWORD_ROWS or len(q.terms) < 2 or self.passages() <= KEYWORD_ROWS:
            return q, rows
        keep: list[str] = []
        rows = 0
        for term in sorted(q.terms, key=lambda t: df[t]):
            if keep and rows + df[term] > KEYWORD_ROWS:
                break
            keep.append(term)
            rows += df[term]
        return q.with_terms(tuple(t for t in q.terms if t in keep)), rows

    def search(self, q: ParsedQuery, where: str, params: list[object], limit: int,
               allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        """(passage id, BM25) of the best ``limit`` passages by the query's budgeted words.

        ``where``/``params`` narrow over ``files f``; ``allowed`` (the sorted passage ids the
        same narrowing lets through) lets most narrowed searches skip the join.
        """
        kept, rows = self.budgeted(q)
        expr = fts_expression(kept)
        if expr is None:
            return []
        # A single word more common than the budget: its newest passages stand for it.
        floor = 0
        top = self.passages()
        if rows > KEYWORD_ROWS and top:
            floor = int(top * (1.0 - KEYWORD_ROWS / rows))
        # bm25() is "lower is better". The words of a file's name and folder weigh like a title's.
        plain = (f"SELECT rowid, -bm25(chunks_fts, 1.0, {NAME_WEIGHT}) AS s FROM chunks_fts "
                 "WHERE chunks_fts MATCH ? AND rowid > ? ORDER BY s DESC LIMIT ?")
        try:
            if where == "1":
                return _pairs(self.conn.execute(plain, (expr, floor, limit)))
            if allowed is not None and top:
                share = max(len(allowed) / top, 1e-9)
                deep = int(limit * FILTER_OVERSAMPLING / share) + limit
                if deep <= KEYWORD_ROWS:
                    found = _pairs(self.conn.execute(plain, (expr, floor, deep)))
                    if len(found) < deep:  # every match was read: narrowing them is exact
                        return _narrow(found, allowed)[:limit]
                    narrowed = _narrow(found, allowed)
                    if len(narrowed) >= limit:  # the best allowed are among the best read
                        return narrowed[:limit]
            joined = (f"SELECT chunks_fts.rowid, -bm25(chunks_fts, 1.0, {NAME_WEIGHT}) AS s "
                      "FROM chunks_fts "
                      "JOIN chunks c ON c.id = chunks_fts.rowid JOIN files f ON f.id = c.file_id "
                      f"WHERE chunks_fts MATCH ? AND chunks_fts.rowid > ? AND {where} "
                      "ORDER BY s DESC LIMIT ?")
            return _pairs(self.conn.execute(joined, [expr, floor, *params, limit]))
        except sqlite3.Error as exc:  # an FTS syntax corner case must not break the search
            log.warning("keyword search failed for %r: %s", expr, exc)
            return []


def _pairs(rows: Iterable[tuple[int, float]]) -> list[tuple[int, float]]:
    return [(int(r[0]), float(r[1])) for r in rows]


def _narrow(found: list[tuple[int, float]], allowed: np.ndarray) -> list[tuple[int, float]]:
    if not found or len(allowed) == 0:
        return []
    ids = np.fromiter((r[0] for r in found), dtype=np.uint64, count=len(found))
    pos = np.searchsorted(allowed, ids).clip(0, len(allowed) - 1)
    keep = allowed[pos] == ids
    return [r for r, k in zip(found, keep.tolist(), strict=True) if k]
