"""How sure a result is: a calibrated probability that a file is relevant, and "no good match".

Three pieces of evidence: the file's best cosine with the query (meaning), how much of the query's
rare-word mass the shown passages and the file's name hold (words, weighted by inverse document
frequency, so "the best way to learn guitar" is not matched by "best" and "way"), and, where the
words do not carry the file, how far the fusion puts it ahead of every other file (its standout:
a right answer by meaning alone shares no word with the question but stands far ahead of the
rest). A logistic model over them is fitted (tests/benchmarks/fusion_study.py) on the top ten of
every question of the shared collections and of paraphrase questions that share no content word
with their answers, asked of their answers among 6,583 remote texts (resources/calibration/
meaning), labelled by their relevance judgements, plus the top ten of other collections'
questions (off-topic there, so none relevant); each collection weighs alike.

The fusion orders the list and this model says how sure each file is; where the two disagree (a
file the model thinks weaker listed above a stronger one) the strengths shown are pooled along the
order (``non_increasing``), so a lower strength never stands above a higher one and the order
keeps the fusion's ranking quality: ordering by the model itself ranks worse (it is fitted for
probabilities, not order; docs/ranking.md).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

from app.core.search.query import stem, stem_matches

# Fitted logistic coefficients: intercept, cosine, coverage, cosine × coverage, standout ×
# (1 - coverage); fitted on the three shared collections and the paraphrase questions among
# remote texts together (fusion_study.py fit).
COEF = (-4.71, 3.68, 2.523, 2.73, 1.243)
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


def standouts(leads: Sequence[float]) -> list[float]:
    """How far each file's lead stands above every other file's: positive for the one file the
    fusion puts clearly first, zero for the rest."""
    if len(leads) < 2:
        return [0.0] * len(leads)
    top, second = sorted(leads, reverse=True)[:2]
    return [max(0.0, v - second) if v == top else 0.0 for v in leads]


def features(cosine: float | None, cover: float, standout: float = 0.0) -> tuple[float, ...]:
    """The model's inputs: cosine (a file with no embedding yet takes the median relevant
    file's), coverage, their product, and the standout where words do not carry the file (a
    right answer by meaning alone shares no word but stands far ahead)."""
    c = UNKNOWN_COSINE if cosine is None else cosine
    return c, cover, c * cover, standout * (1.0 - cover)


def relevance_probability(cosine: float | None, cover: float, standout: float = 0.0, *,
                          coef: tuple[float, ...] | None = None) -> float:
    """The calibrated probability that a file with this evidence is relevant to the query."""
    a, *weights = coef or COEF
    x = a + sum(w * v for w, v in zip(weights, features(cosine, cover, standout), strict=True))
    return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, x))))


def is_weak(best_cosine: float | None, best_coverage: float | None) -> bool:
    """Whether even the best file is unlikely to answer the query (no file: weak too)."""
    if best_coverage is None:
        return True
    meaning = best_cosine is not None and best_cosine >= WEAK_COSINE
    return not meaning and best_coverage < WEAK_COVERAGE


def non_increasing(values: Sequence[float]) -> list[float]:
    """The non-increasing sequence closest to ``values`` in least squares (pool adjacent
    violators): each run the order puts against the evidence shows its mean."""
    blocks: list[list[float]] = []  # [mean, count]
    for v in values:
        blocks.append([float(v), 1.0])
        while len(blocks) > 1 and blocks[-2][0] < blocks[-1][0]:
            mean, count = blocks.pop()
            prev = blocks[-1]
            prev[0] = (prev[0] * prev[1] + mean * count) / (prev[1] + count)
            prev[1] += count
    return [mean for mean, count in blocks for _ in range(int(count))]
