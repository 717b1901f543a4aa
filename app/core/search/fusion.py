"""Fusing the keyword and meaning rankings into one, weighting each by its evidence on this query."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

RRF_K = 60
DEPTH = 100          # files of each list that take part in the normalisation
# The dense retriever's share of the fused score, learned once across the shared collections
# (tests/benchmarks/fusion_study.py): of 0.5-0.85, 0.7 has the best mean margin over the better
# single retriever (cranfield +0.026, msmarco-sub5k -0.001, scifact +0.037 nDCG@10) and keeps
# every collection within 0.005 of it. Per-query signals of which retriever is right (how far
# each list's top stands out, the lists' overlap, the share of rare query words the keyword top
# holds) were measured too: none predicted it (|r| < 0.1), and weighting by them lost up to
# 0.014 nDCG@10. So one weight holds, and a query adapts fusion only where the evidence is
# unambiguous: a list with nothing to say, keyword matches unrelated in meaning to the question
# or holding little of it, and codes found verbatim in few files.
DENSE_PRIOR = 0.7
FEW_FILES = 10       # a code found verbatim in at most this many files ranks them first
# Words matched by files that are unrelated in meaning to the question are incidental ("misread"
# in a paper on proteins for "romance where the heroine misreads an arrogant rich suitor"). How
# related the keyword list's best files are is measured against the best file by meaning: the
# mean cosine of the KEYWORD_TOP best keyword files as a share of the dense list's top cosine (a
# share, so that it holds for any model's scale of cosines, and a model whose cosines say
# nothing keeps every share near one). The keyword list's say falls from full at RELATED_SHARE
# to nothing at 0. On the shared collections the share has a median of 0.80-0.86 (0.41-0.58
# for the lowest 2 %); for questions that share no content word with their answer, 0.21-0.26
# (docs/ranking.md).
KEYWORD_TOP = 3
RELATED_SHARE = 0.4
# Words matched by a file that holds little of the question are incidental too: the keyword
# list's best file holding one word of "rich man in the jazz age chasing a lost love" is not
# evidence of an answer. The keyword list's say falls from full where its best file holds
# COVER_SHARE of the question's rare-word mass (weighted by inverse document frequency, as the
# strength's coverage) to nothing where it holds none. Its best file holds a median 0.61-1.0 of
# that mass on the shared collections and the entity collection (0.32-0.57 for the lowest
# tenth), and 0.18-0.25 for questions that share no content word with their answer.
# Such a file also stands at most sqrt(files the keyword list holds) deviations out: normalised
# over sixty candidates, the one file of a short keyword list stands about eight deviations out
# however little of the question it holds, which outweighs any difference in meaning. A file
# holding most of the question keeps its lead (a name typed alone, found in one file).
COVER_SHARE = 0.4
# The keyword list's first files whose coverage is weighed, which is all that can need the cap:
# a list of n <= 16 files is all weighed, and of a longer one at most 2 * DEPTH / n < 16 files
# (by Chebyshev, over at most 2 * DEPTH candidates) stand more than sqrt(n) deviations out.
COVERED_FILES = 16

Ranking = Sequence[tuple[int, float]]


def keyword_relatedness(dense: Ranking, bm25: Ranking,
                        cosine: Mapping[int, float]) -> float | None:
    """How close in meaning the keyword list's best files are to the question, as a share of the
    closest file's cosine (1: as close; 0 or less: unrelated); None where it cannot be told (no
    embedding of a keyword file yet, or nothing close in meaning at all)."""
    known = [cosine[fid] for fid, _ in bm25[:KEYWORD_TOP] if fid in cosine]
    if not known or not dense or dense[0][1] <= 0:
        return None
    return sum(known) / len(known) / dense[0][1]


def retriever_weights(dense: Ranking, bm25: Ranking, *, dense_prior: float = DENSE_PRIOR,
                      relatedness: float | None = None,
                      coverage: float | None = None) -> tuple[float, float]:
    """Weights (dense, keyword) for this query, summing to one.

    A retriever with nothing to say (no embeddings yet, the query encoder still loading, or no
    keyword in any file) gets no weight, so the other decides alone; so does a keyword list
    whose best files are unrelated in meaning to the question (``relatedness``, see
    keyword_relatedness) or whose best file holds none of its rare words (``coverage``: the
    share of the question's rare-word mass it holds, see COVER_SHARE).
    """
    if not dense:
        return 0.0, 1.0
    if not bm25:
        return 1.0, 0.0
    words = 1.0 - dense_prior
    if relatedness is not None:
        words *= min(1.0, max(0.0, relatedness / RELATED_SHARE))
    if coverage is not None:
        words *= min(1.0, max(0.0, coverage / COVER_SHARE))
    return dense_prior / (dense_prior + words), words / (dense_prior + words)


def fuse(dense: Ranking, bm25: Ranking, *, dense_prior: float = DENSE_PRIOR,
         cosine: Mapping[int, float] | None = None,
         coverage: Mapping[int, float] | None = None) -> list[tuple[int, float]]:
    """One ranking of files from the dense and keyword rankings (each best-first, file level).

    ``cosine``: each file's best cosine with the question, where known (the keyword list's best
    files among them); ``coverage``: the share of the question's rare-word mass each of the
    keyword list's first COVERED_FILES files holds. Both weigh the keyword list; a file holding
    little of the question is also held to sqrt(files listed) deviations (COVER_SHARE).
    """
    related = keyword_relatedness(dense, bm25, cosine) if cosine is not None else None
    coverage = coverage or {}
    top = coverage.get(bm25[0][0]) if bm25 else None
    weights = retriever_weights(dense, bm25, dense_prior=dense_prior, relatedness=related,
                                coverage=top)
    ceiling = math.sqrt(len(bm25[:DEPTH]))
    caps = {fid: ceiling for fid, share in coverage.items() if share < COVER_SHARE}
    return fuse_scores([dense, bm25], weights=weights, caps=[{}, caps])


def fuse_scores(rankings: Sequence[Ranking], weights: Sequence[float] | None = None,
                depth: int = DEPTH, absent: Sequence[float | None] | None = None,
                caps: Sequence[Mapping[int, float]] | None = None,
                ) -> list[tuple[int, float]]:
    """Convex combination of z-normalised scores from several retrievers.

    Unlike rank fusion it keeps how *far* ahead a candidate is: a file that BM25 scores far
    above all others is not pulled level with the dense retriever's tenth guess. Each list is
    normalised over every candidate of the fusion, a candidate it did not list scoring
    ``absent`` (a keyword list that was not cut off knows its non-matches score exactly 0), or
    else one deviation below its lowest. ``caps``: per list, the most deviations some of its
    items may stand out. The result is squashed into (0, 1); order unchanged.
    """
    weights = list(weights) if weights is not None else [1.0] * len(rankings)
    absent = list(absent) if absent is not None else [None] * len(rankings)
    caps = list(caps) if caps is not None else [{}] * len(rankings)
    total = sum(weights) or 1.0
    heads = [dict(r[:depth]) for r in rankings]
    items = sorted(set().union(*heads)) if heads else []
    if not items:
        return []
    fused = np.zeros(len(items))
    for w, head, missing, cap in zip(weights, heads, absent, caps, strict=True):
        if not head or w == 0:
            continue
        listed = np.array(list(head.values()), dtype=np.float64)
        if missing is None:
            missing = float(listed.min() - (listed.std() or 1.0))
        values = np.array([head.get(i, missing) for i in items], dtype=np.float64)
        std = float(values.std()) or 1.0
        z = (values - values.mean()) / std
        if cap:
            ceiling = np.array([cap.get(i, np.inf) for i in items])
            z = np.minimum(z, ceiling)
        fused += w * z
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
