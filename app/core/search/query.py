"""Understanding a query: its words, quoted phrases, and the FTS5 expression that finds them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from app.core.errors import KnownError

_WORD = re.compile(r"\w+", re.UNICODE)
# Names and codes: E-4711, ISO_9001, v2.3.1, INV2024, GDPR. Meaning-based search blurs them;
# keyword evidence must weigh more when a query holds one.
_IDENTIFIER = re.compile(
    r"(?<![\w-])(?:"
    r"\w+(?:[-_./:#]\w+)+"                 # E-4711, ISO_9001, v2.3.1, 2024-03
    r"|[A-Za-z]+\d\w*|\d+[A-Za-z]\w*"      # INV2024, 3M, B12
    r"|\d{4,}"                             # invoice numbers, years
    r"|[A-Z]{2,}[a-z]?"                    # GDPR, HIV, PDFs
    r")(?![\w-])"
)
_PHRASE = re.compile(r'"([^"]+)"')
# Caps on what one query may ask: each quoted phrase is one more look-up of the catalog, and
# 30,000 of them did not finish in 300 s (issue 21). A long question is a few hundred
# characters; a pasted paragraph fits too.
MAX_QUERY_CHARS = 2_000
MAX_PHRASES = 16

# Words that carry no topic; dropping them keeps keyword search from matching every passage.
STOPWORDS = frozenset("""
a about above after again against all am an and any are as at be because been before being
below between both but by can could did do does doing down during each few for from further
had has have having he her here hers herself him himself his how i if in into is it its itself
just me more most my myself no nor not now of off on once only or other our ours ourselves out
over own same she should so some such than that the their theirs them themselves then there
these they this those through to too under until up very was we were what when where which
while who whom why will with would you your yours yourself yourselves find show me file files
document documents note notes say said
""".split())


@dataclass(frozen=True)
class ParsedQuery:
    """A query split into what must appear verbatim and the words that rank."""

    text: str
    phrases: tuple[str, ...]
    terms: tuple[str, ...]
    identifiers: tuple[str, ...] = ()

    @property
    def semantic_text(self) -> str:
        """What the bi-encoder sees: the whole query without quote marks."""
        return self.text.replace('"', " ").strip()

    @property
    def codes(self) -> tuple[str, ...]:
        """Identifiers that mix letters and digits (gedt0005q, E-4711, INV2024): typed to be found
        verbatim, so the files holding them, when few, rank first."""
        return tuple(i for i in self.identifiers
                     if any(c.isdigit() for c in i) and any(c.isalpha() for c in i) and len(i) >= 3)

    def with_terms(self, terms: tuple[str, ...]) -> ParsedQuery:
        """The same query ranking by ``terms`` only (phrases and codes stay)."""
        return ParsedQuery(text=self.text, phrases=self.phrases, terms=terms,
                           identifiers=self.identifiers)

    def without_phrases(self, dropped: tuple[str, ...]) -> ParsedQuery:
        """The same query with some quoted phrases no longer required (their words still rank)."""
        return ParsedQuery(text=self.text, phrases=tuple(p for p in self.phrases if p not in dropped),
                           terms=self.terms, identifiers=self.identifiers)


class QueryTooLong(KnownError):
    """A query over the caps: the message says which, and what to do."""


def check_query(text: str) -> None:
    """QueryTooLong when ``text`` is longer, or quotes more phrases, than a search takes."""
    if len(text) > MAX_QUERY_CHARS:
        raise QueryTooLong(
            f"The query is too long: {len(text):,} characters, at most {MAX_QUERY_CHARS:,}.",
            "Shorten it to the words that matter; a question or a few words find more than a "
            "pasted page.")
    phrases = sum(1 for p in _PHRASE.findall(text) if p.strip())
    if phrases > MAX_PHRASES:
        raise QueryTooLong(f"The query quotes {phrases:,} phrases, at most {MAX_PHRASES}.",
                           "Quote only what must appear word for word.")


def parse_query(text: str) -> ParsedQuery:
    """The query's phrases, ranking words and identifiers; QueryTooLong over the caps."""
    check_query(text)
    phrases = tuple(p.strip() for p in _PHRASE.findall(text) if p.strip())
    words = [w.casefold() for w in _WORD.findall(text)]
    terms = [w for w in words if w not in STOPWORDS]
    if not terms:
        terms = words
    unquoted = _PHRASE.sub(" ", text)
    identifiers = tuple(dict.fromkeys(
        m.group() for m in _IDENTIFIER.finditer(unquoted)
        if m.group().casefold() not in STOPWORDS and (not m.group().isalpha() or len(m.group()) > 1)))
    return ParsedQuery(text=text.strip(), phrases=phrases, terms=tuple(dict.fromkeys(terms)),
                       identifiers=identifiers)


def fts_expression(q: ParsedQuery) -> str | None:
    """An FTS5 MATCH expression: any of the terms, and every quoted phrase."""
    def quote(s: str) -> str:
        return '"' + s.replace('"', '""') + '"'

    parts: list[str] = []
    # A multi-part identifier also matches as a phrase, so 'E-4711' ranks its exact form first.
    compound = [" ".join(_WORD.findall(i)) for i in q.identifiers if len(_WORD.findall(i)) > 1]
    if q.terms:
        parts.append("(" + " OR ".join(quote(t) for t in (*q.terms, *compound)) + ")")
    parts.extend(quote(" ".join(_WORD.findall(p))) for p in q.phrases if _WORD.search(p))
    return " AND ".join(parts) if parts else None


def phrase_expression(phrase: str) -> str | None:
    """The FTS5 expression that matches ``phrase`` as consecutive words."""
    words = _WORD.findall(phrase)
    return '"' + " ".join(words).replace('"', '""') + '"' if words else None


def contains_phrase(text: str, phrase: str) -> bool:
    """Whether ``text`` holds ``phrase`` verbatim, ignoring case and runs of whitespace/punctuation."""
    return _squash(phrase) in _squash(text)


def _squash(s: str) -> str:
    return " " + " ".join(w.casefold() for w in _WORD.findall(s)) + " "


_SUFFIXES = ("ations", "ation", "ings", "ing", "ies", "ied", "es", "ed", "ly", "s")


# Confidence and snippets stem every word of every shown passage; a library's vocabulary is
# small next to its text, so most words are stemmed once.
@lru_cache(maxsize=1 << 16)
def stem(word: str) -> str:
    """A light English stem, enough to highlight 'deposits' for the query word 'deposit'."""
    w = word.casefold()
    for suffix in _SUFFIXES:
        if len(w) > len(suffix) + 3 and w.endswith(suffix):
            return w[: -len(suffix)]
    return w


def word_spans(text: str) -> list[tuple[int, int, str]]:
    return [(m.start(), m.end(), m.group()) for m in _WORD.finditer(text)]


def words(text: str) -> set[str]:
    """The distinct words of ``text``."""
    return set(_WORD.findall(text))


def stem_matches(text: str, stems: frozenset[str]) -> list[tuple[int, int, str]]:
    """(start, end, word) of the words of ``text`` whose light stem is one of ``stems``.

    A stem is a prefix of its word's casefolded form, so in ASCII text only the places where a
    stem starts a word are looked at (found by ``str.find``); other text is read word by word.
    """
    if not stems:
        return []
    if not (text.isascii() and all(s.isascii() for s in stems)):
        return [(m.start(), m.end(), w) for m in _WORD.finditer(text)
                if stem(w := m.group()) in stems]
    low = text.lower()
    found: dict[int, tuple[int, int, str]] = {}
    for s in stems:
        i = low.find(s)
        while i != -1:
            if i not in found and (i == 0 or not _word_char(low[i - 1])):
                m = _WORD.match(text, i)
                if m is not None and stem(w := m.group()) in stems:
                    found[i] = (i, m.end(), w)
            i = low.find(s, i + 1)
    return [found[i] for i in sorted(found)]


def _word_char(c: str) -> bool:
    return c.isalnum() or c == "_"
