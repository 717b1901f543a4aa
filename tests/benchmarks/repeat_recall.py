"""Dense recall@10 against exact search on the scale bench's library with repeated boilerplate,
vectors only (no catalog: minutes instead of an hour at 300k on two cores).

    python -m tests.benchmarks.repeat_recall N [SHARE]     # e.g. 300000 0.3

The vectors, their order and the queries are those `sift bench --scale N --duplicates SHARE`
writes and asks; a copy of a true neighbour counts as found (copies tie).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from app.core.measure.synthetic_library import (
    EXTENSIONS,
    FILE_SPREAD,
    PASSAGE_SPREAD,
    SEED,
    Boilerplate,
    World,
    _file_sizes,
    _layout,
    _passages,
    make_queries,
    unit,
)
from app.core.storage.vectors import UsearchStore

DIM = 384
K = 10
TIE = 1e-3


def vectors(n: int, share: float) -> np.ndarray:
    """The library's vectors in the order build_library writes them (the same draws)."""
    world = World.make(n, DIM)
    rng = np.random.default_rng(SEED + 2)
    sizes = _file_sizes(rng, n)
    layout = _layout(rng, "/x", len(sizes), len(world.centres))
    dup_rng = np.random.default_rng(SEED + 3)
    boilerplate = Boilerplate.make(world, dup_rng) if share > 0 else None
    ext_p = np.array([p for _, p in EXTENSIONS]) / sum(p for _, p in EXTENSIONS)
    out = np.empty((n, DIM), dtype=np.float16)
    pos = 0
    for start in range(0, len(sizes), 400):
        part = sizes[start:start + 400]
        fold = rng.integers(0, len(layout.folders), size=len(part))
        own = rng.random(len(part)) < 0.7
        topic = np.where(own, layout.folder_topics[fold, rng.integers(0, 3, len(part))],
                         rng.integers(0, len(world.centres), len(part)))
        file_vecs = world.near(rng, topic, FILE_SPREAD)
        rng.choice(len(EXTENSIONS), size=len(part), p=ext_p)  # the extension
        rng.random(len(part))  # the modification time
        owner = np.repeat(np.arange(len(part)), part)
        vecs = unit(file_vecs[owner] + PASSAGE_SPREAD * rng.standard_normal(
            (int(part.sum()), DIM)) / np.sqrt(DIM))
        texts = _passages(world, rng, topic[owner])
        if boilerplate is not None:
            boilerplate.replace(dup_rng, share, texts, vecs)
        out[pos:pos + len(vecs)] = vecs
        pos += len(vecs)
    return out


def main() -> None:
    n = int(sys.argv[1])
    share = float(sys.argv[2]) if len(sys.argv) > 2 else 0.3
    t0 = time.perf_counter()
    mat = vectors(n, share)
    ids = np.arange(1, n + 1, dtype=np.uint64)
    queries = make_queries(World.make(n, DIM), 45)[5:]
    with tempfile.TemporaryDirectory() as tmp:
        store = UsearchStore(Path(tmp) / "v.usearch", DIM)
        for start in range(0, n, 16_384):
            store.add(ids[start:start + 16_384], mat[start:start + 16_384].astype(np.float32),
                      bulk=True)
        built = time.perf_counter() - t0
        hits = 0
        for q in queries:
            sims = np.concatenate([unit(mat[s:s + 65_536].astype(np.float32)) @ q.vector
                                   for s in range(0, n, 65_536)])
            bar = np.sort(sims)[-K] - TIE
            truth = ids[np.argsort(-sims, kind="stable")[:K]]
            found, got = store.search(q.vector, 300)
            found, got = found[:K], got[:K]
            hits += int(np.sum(np.isin(found, truth) | (got >= bar)))
        entries = getattr(store, "entries", len(store))
    print(f"{n:,} passages, {share:.0%} repeats, {entries:,} graph entries: dense recall@10 "
          f"{hits / (K * len(queries)):.3f} over {len(queries)} queries (built in {built:.0f} s)")


if __name__ == "__main__":
    main()
