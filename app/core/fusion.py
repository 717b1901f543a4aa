"""Fusing the keyword and meaning rankings into one, weighting each by its evidence on this query."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

RRF_K = 60
DEPTH = 100          # files of each list that take part in the normalisation
# The dense retriever's share when neither list stands out more than the other. Learned once
# across the shared collections (scifact, cranfield, msmarco-sub5k); leave-one-collection-out
# gives the same value within 0.05 (tests/benchmarks/fusion_study.py).
DENSE_PRIOR = 0.6
FEW_FILES = 10       # a code found verbatim in at most this many files ranks them first

Ranking = Sequence[tuple[int, float]]


def znorm(ranking: Ranking, depth: int = DEPTH) -> tuple[dict[int, float], float]:
    """z-scores of a ranking's top ``depth`` items, and the score of an item it did not list.

    Absent from a list means worse than anything the list retrieved: one deviation below its
    lowest.
    """
    head = ranking[:depth]
    if not head:
        return {}, 0.0
    values = np.array([v for _, v in head], dtype=np.float64)
    mean, std = float(values.mean()), float(values.std()) or 1.0
    z = {item: (v - mean) / std for item, v in head}
    return z, min(z.values()) - 1.0


def standout(ranking: Ranking, depth: int = DEPTH) -> float:
    """How far this list's best item stands above the rest of its list, in deviations.

    A retriever that found something specific ranks it far above the crowd; one that is guessing
    (BM25 matching only common words, embeddings of a query about a code) gives a flat list.
    """
    values = np.array([v for _, v in ranking[:depth]], dtype=np.float64)
    if len(values) < 3:
        # One or two matches for a keyword query are themselves strong evidence (a rare word).
        return 3.0 if len(values) else 0.0
    rest = values[1:]
    std = float(rest.std()) or 1e-9
    return max(0.0, float((values[0] - rest.mean()) / std))


def retriever_weights(dense: Ranking, bm25: Ranking, *, dense_prior: float = DENSE_PRIOR,
                      tilt: float = 1.0) -> tuple[float, float]:
    """Per-query weights (dense, keyword), summing to one.

    The prior (learned across collections) is tilted towards whichever list stands out more on
    this query, by the odds of their standouts, so a retriever that is guessing on this query
    cannot drag the fused list below the one that is not.
    """
    if not dense:
        return 0.0, 1.0
    if not bm25:
        return 1.0, 0.0
    sd, sb = standout(dense), standout(bm25)
    odds = (dense_prior / (1 - dense_prior)) * ((sd + 1.0) / (sb + 1.0)) ** tilt
    wd = odds / (1 + odds)
    return wd, 1 - wd


def fuse(dense: Ranking, bm25: Ranking, *, dense_prior: float = DENSE_PRIOR,
         adaptive: bool = True, keyword_complete: bool = False,
         tilt: float = 1.0) -> list[tuple[int, float]]:
    """One ranking of files from the dense and keyword rankings (each best-first, file level).

    ``keyword_complete``: the keyword list holds every match (it was not cut off), so a file
    missing from it matched no query word at all.
    """
    if adaptive:
        weights = retriever_weights(dense, bm25, dense_prior=dense_prior, tilt=tilt)
    else:
        weights = (dense_prior, 1 - dense_prior)
    return fuse_scores([dense, bm25], weights=weights,
                       absent=[None, 0.0 if keyword_complete else None])


def fuse_scores(rankings: Sequence[Ranking], weights: Sequence[float] | None = None,
                depth: int = DEPTH, absent: Sequence[float | None] | None = None,
                ) -> list[tuple[int, float]]:
    """Convex combination of z-normalised scores from several retrievers.

    Unlike rank fusion it keeps how *far* ahead a candidate is: a file that BM25 scores far
    above all others is not pulled level with the dense retriever's tenth guess. Each list is
    normalised over every candidate of the fusion, a candidate it did not list scoring
    ``absent`` (a keyword list that was not cut off knows its non-matches score exactly 0), or
    else one deviation below its lowest. The result is squashed into (0, 1); order unchanged.
    """
    weights = list(weights) if weights is not None else [1.0] * len(rankings)
    absent = list(absent) if absent is not None else [None] * len(rankings)
    total = sum(weights) or 1.0
    heads = [dict(r[:depth]) for r in rankings]
    items = sorted(set().union(*heads)) if heads else []
    if not items:
        return []
    fused = np.zeros(len(items))
    for w, head, missing in zip(weights, heads, absent, strict=True):
        if not head or w == 0:
            continue
        listed = np.array(list(head.values()), dtype=np.float64)
        if missing is None:
            missing = float(listed.min() - (listed.std() or 1.0))
        values = np.array([head.get(i, missing) for i in items], dtype=np.float64)
        std = float(values.std()) or 1.0
        fused += w * (values - values.mean()) / std
    fused /= total
    order = sorted(range(len(items)), key=lambda k: (-fused[k], items[k]))
    return [(items[k], 1.0 / (1.0 + math.exp(-float(fused[k])))) for k in order]


def promote(order: Sequence[tuple[int, float]], first: set[int]) -> list[tuple[int, float]]:
    """``order`` with the files in ``first`` moved ahead of all others, keeping relative orders."""
    if not first:
        return list(order)
    ahead = [kv for kv in order if kv[0] in first]
    return ahead + [kv for kv in order if kv[0] not in first]


def rrf(rankings: Sequence[Ranking], k: int = RRF_K,
        weights: Sequence[float] | None = None) -> list[tuple[int, float]]:
    """Weighted reciprocal rank fusion of several rankings of the same items."""
    weights = list(weights) if weights is not None else [1.0] * len(rankings)
    fused: dict[int, float] = {}
    # Scaled so that an item ranked first by every retriever scores 1.0.
    scale = (k + 1) / max(sum(weights), 1e-9)
    for ranking, weight in zip(rankings, weights, strict=True):
        for rank, (item, _) in enumerate(ranking, start=1):
            fused[item] = fused.get(item, 0.0) + weight * scale / (k + rank)
    return sorted(fused.items(), key=lambda kv: -kv[1])
