"""How sure a result is: a calibrated probability that a file is relevant, and "no good match".

Three pieces of evidence: the file's best cosine with the query (meaning), how much of the query's
rare-word mass the shown passages and the file's name hold (words, weighted by inverse document
frequency, so "the best way to learn guitar" is not matched by "best" and "way"), and how far the
fusion puts the file ahead of the other candidates (its lead, in deviations). A logistic model
over them is fitted (tests/benchmarks/fusion_study.py) on the top ten of every question of the
shared collections and of paraphrase questions that share no content word with their answers
(resources/calibration/meaning), labelled by their relevance judgements, plus the top ten of
other collections' questions (off-topic there, so none relevant); each collection weighs alike.
The searcher orders the files it shows by this probability, so a lower strength never stands
above a higher one.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

from app.core.search.query import stem, stem_matches

# Fitted logistic coefficients: intercept, cosine, coverage, cosine × coverage, lead; fitted on
# the three shared collections and the paraphrase questions together (fusion_study.py fit).
COEF = (-4.863, 3.417, 2.231, 2.45, 0.337)
# A lead beyond this many deviations says nothing more (and a code's promotion has none).
MAX_LEAD = 6.0
# "No good match" when the best file is neither close in meaning nor holds the query's rare
# words. Measured on the shared collections' own questions (never flagged) against other
# collections' questions (off-topic) and questions whose relevant files were removed; and the
# real model puts word-free matches ("canine nutrition" → a note on feeding a dog) at 0.37–0.52
# while gibberish and off-topic questions stay below 0.2.
WEAK_COSINE = 0.35
WEAK_COVERAGE = 0.5
# A file found only by its words (no embedding yet, or the query encoder still loading) is
# scored with the median cosine of a relevant file, so its words decide.
UNKNOWN_COSINE = 0.45


def idf_weights(doc_freq: Mapping[str, int], n_docs: int) -> dict[str, float]:
    """Inverse document frequency of each query term (a term in no passage weighs most)."""
    n = max(n_docs, 1)
    return {t: math.log((n + 1) / (df + 0.5)) for t, df in doc_freq.items()}


def coverage(texts: Iterable[str], idf: Mapping[str, float]) -> float:
    """The share of the query's IDF mass whose terms appear (by light stem) in ``texts``."""
    total = sum(idf.values())
    if total <= 0:
        return 0.0
    wanted = {stem(t): w for t, w in idf.items()}
    stems = frozenset(wanted)
    seen: set[str] = set()
    for text in texts:
        seen.update(stem(w) for _, _, w in stem_matches(text, stems))
    return sum(w for s, w in wanted.items() if s in seen) / total


def lead(fused: float) -> float:
    """A fused score (the fusion's squashed deviations, in (0, 1)) as deviations again."""
    p = min(max(fused, 1e-9), 1.0 - 1e-9)
    return max(-MAX_LEAD, min(MAX_LEAD, math.log(p / (1.0 - p))))


def features(cosine: float | None, cover: float, lead_: float = 0.0) -> tuple[float, ...]:
    """The model's inputs: cosine (a file with no embedding yet takes the median relevant
    file's), coverage, their product, and the lead."""
    c = UNKNOWN_COSINE if cosine is None else cosine
    return c, cover, c * cover, lead_


def relevance_probability(cosine: float | None, cover: float, lead_: float = 0.0, *,
                          coef: tuple[float, ...] | None = None) -> float:
    """The calibrated probability that a file with this evidence is relevant to the query."""
    a, *weights = coef or COEF
    x = a + sum(w * v for w, v in zip(weights, features(cosine, cover, lead_), strict=True))
    return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, x))))


def is_weak(best_cosine: float | None, best_coverage: float | None) -> bool:
    """Whether even the best file is unlikely to answer the query (no file: weak too)."""
    if best_coverage is None:
        return True
    meaning = best_cosine is not None and best_cosine >= WEAK_COSINE
    return not meaning and best_coverage < WEAK_COVERAGE
