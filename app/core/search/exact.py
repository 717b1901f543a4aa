"""Exact evidence that puts a few files first: a code the query names, a rare name it holds, or
the whole query in a file's name (or its folder's)."""

from __future__ import annotations

import logging
import sqlite3

from app.core.search.filters import Filters
from app.core.search.fusion import FEW_FILES
from app.core.search.keywords import KEYWORD_ROWS
from app.core.search.query import STOPWORDS, ParsedQuery, phrase_expression, word_spans

log = logging.getLogger(__name__)

_JOIN = ("FROM chunks_fts JOIN chunks c ON c.id = chunks_fts.rowid JOIN files f ON f.id = c.file_id "
         "WHERE chunks_fts MATCH ? AND {where}")
# A query word held by at most FEW_FILES passages that carries this share of the query's
# rare-word mass is a name (query_names). Of the shared collections' questions one has one.
NAME_SHARE = 0.7
# FTS5 walks the rows of the query's words to find those in a name: past this many for the rarest
# word the look-up costs more than the search it serves (and so common a word names many files).
NAME_LOOKUP_ROWS = KEYWORD_ROWS


def first_chunks(conn: sqlite3.Connection, q: ParsedQuery, filters: Filters,
                 doc_freq: dict[str, int], idf: dict[str, float]) -> list[int]:
    """Passages of the files that hold one of the query's codes or rare names verbatim, or whose
    name holds the whole query, wherever few files do (a passage each, at least).

    ``doc_freq`` and ``idf``: the passages holding each of the query's words and its weight. A
    query whose every word is in more than NAME_LOOKUP_ROWS passages is not looked up in names.
    """
    where, params = filters.sql()
    found: list[int] = []
    for code in dict.fromkeys((*q.codes, *query_names(doc_freq, idf))):
        found += _verbatim(conn, phrase_expression(code), where, params)
    if min(doc_freq.values(), default=0) <= NAME_LOOKUP_ROWS:
        found += _named(conn, q, where, params)
    return list(dict.fromkeys(found))


def query_names(doc_freq: dict[str, int], idf: dict[str, float]) -> tuple[str, ...]:
    """Words of the query that name something: held by at most FEW_FILES passages and carrying
    NAME_SHARE of the query's rare-word mass ("the invoice from Müller"). Like a code, they put
    the few files holding them first: a surname means little to the model, and a z-normalised
    fusion lets many near-equal files by meaning outvote it."""
    total = sum(idf.values())
    return tuple(t for t, w in idf.items()
                 if total > 0 and 0 < doc_freq[t] <= FEW_FILES and w / total >= NAME_SHARE)


def name_phrase(q: ParsedQuery) -> str | None:
    """The query as a file's name would hold it: its words without the stopwords that begin or
    end it ("the invoice from the plumber" → "invoice from the plumber")."""
    words = [w for _, _, w in word_spans(q.text.replace('"', " "))]
    content = [i for i, w in enumerate(words) if w.casefold() not in STOPWORDS]
    if content:
        words = words[content[0]:content[-1] + 1]
    return " ".join(words) or None


def _verbatim(conn: sqlite3.Connection, expr: str | None, where: str,
              params: list[object]) -> list[int]:
    if expr is None:
        return []
    sql = f"SELECT c.id, c.file_id {_JOIN.format(where=where)} LIMIT ?"
    try:
        rows = conn.execute(sql, [expr, *params, 4 * FEW_FILES]).fetchall()
    except sqlite3.Error as exc:
        log.warning("code lookup failed for %r: %s", expr, exc)
        return []
    if 0 < len({r[1] for r in rows}) <= FEW_FILES and len(rows) < 4 * FEW_FILES:
        return [int(r[0]) for r in rows]
    return []


def _named(conn: sqlite3.Connection, q: ParsedQuery, where: str,
           params: list[object]) -> list[int]:
    """The first passage of each file whose name (or folder's name) holds the whole query, when
    at most FEW_FILES files' do: what a person typing a file's name wants first."""
    phrase = name_phrase(q)
    expr = phrase_expression(phrase) if phrase else None
    if expr is None:
        return []
    try:
        # Every passage of a file carries its name: DISTINCT stops at the eleventh file.
        files = [int(r[0]) for r in conn.execute(
            f"SELECT DISTINCT c.file_id {_JOIN.format(where=where)} LIMIT ?",
            [f"name : {expr}", *params, FEW_FILES + 1])]
        if not 0 < len(files) <= FEW_FILES:
            return []
        return [int(conn.execute("SELECT min(id) FROM chunks WHERE file_id = ?",
                                 (f,)).fetchone()[0]) for f in files]
    except sqlite3.Error as exc:
        log.warning("name lookup failed for %r: %s", phrase, exc)
        return []
