"""Recall@10 of the HNSW graph against exact search, for choosing its parameters above EXACT_LIMIT.

    python -m tests.benchmarks.dense_recall [--n 100000] [--dim 384] [--queries 200]

Vectors are clustered (topics) and queries are perturbed members plus fresh points near the
centres: closer to real queries than the index's own vectors, which flatter the graph. On a real
collection, ``app.core.storage.vectors.dense_recall`` measures the same on its real query embeddings.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

CANDIDATES = 300  # what the search asks the dense retriever for


def clustered(n: int, dim: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    centres = rng.standard_normal((max(1, n // 500), dim)).astype(np.float32)
    x = centres[rng.integers(0, len(centres), n)] + 0.9 * rng.standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True), centres


def queries(x: np.ndarray, centres: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    half = count // 2
    noise = rng.standard_normal((half, x.shape[1])) / np.sqrt(x.shape[1])
    members = x[rng.integers(0, len(x), half)] + 0.5 * noise
    near = centres[rng.integers(0, len(centres), count - half)]
    near = near / np.linalg.norm(near, axis=1, keepdims=True)
    near = near + 1.2 * rng.standard_normal(near.shape) / np.sqrt(x.shape[1])
    q = np.vstack([members, near]).astype(np.float32)
    return q / np.linalg.norm(q, axis=1, keepdims=True)


def main() -> None:
    from usearch.index import Index

    from app.core.storage import exact, vectors

    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--dim", type=int, default=384)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--connectivity", type=int, nargs="*", default=[16, vectors.CONNECTIVITY])
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    x, centres = clustered(args.n, args.dim, rng)
    q = queries(x, centres, args.queries, rng)
    truth = np.argsort(-(q @ x.T), axis=1)[:, :10]
    keys = np.arange(args.n, dtype=np.uint64)
    for m in args.connectivity:
        index = Index(ndim=args.dim, metric="cos", dtype=vectors.DTYPE, connectivity=m,
                      expansion_add=vectors.EXPANSION_ADD)
        t0 = time.perf_counter()
        index.add(keys, x, threads=2)
        build = time.perf_counter() - t0
        for ef in (64, 128, vectors.EXPANSION_SEARCH, 512):
            index.expansion_search = ef
            for wanted in (10, CANDIDATES):
                hits, t0 = 0, time.perf_counter()
                for i, v in enumerate(q):
                    found = index.search(v, wanted, threads=1).keys[:10]
                    hits += len(np.intersect1d(found, truth[i]))
                ms = (time.perf_counter() - t0) / len(q) * 1e3
                print(f"n={args.n} dim={args.dim} connectivity={m} expansion_search={ef} "
                      f"asking {wanted}: recall@10 {hits / truth.size:.4f}, {ms:.2f} ms/query "
                      f"(build {build:.0f} s)")
    matrix = exact.ExactMatrix()
    sample = min(args.n, vectors.EXACT_LIMIT)
    matrix.keys, matrix.mat, matrix.valid = keys[:sample], x[:sample], True
    t0 = time.perf_counter()
    for v in q[:50]:
        matrix.search(v, CANDIDATES, None)
    print(f"exact search over {sample} vectors: {(time.perf_counter() - t0) / 50 * 1e3:.2f} ms/query")


if __name__ == "__main__":
    main()
