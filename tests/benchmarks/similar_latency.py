"""Benchmark: how long "more like this" (sift similar) takes at 10k and 100k passages.

The libraries are synthetic (app/core/measure/synthetic_library.py, as `sift bench --scale`
builds them: topical folders, files of 1 to 200 passages, most short); they are written through
the app's catalog and vector index, then opened as Sift opens them. Each timing is one
Library.similar call for a file drawn at random: the file's mean vector searched once (the
method Sift uses). For comparison, the searches alone of the other method, one per passage of the
file (passage-to-passage best matches, before any grouping).

    .venv/bin/python tests/benchmarks/similar_latency.py [--sizes 10000 100000] [--files 60]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from app.core.measure.scale_bench import DEFAULT_DIM, InjectedQueries
from app.core.measure.synthetic_library import TOP_FOLDERS, build_library, library_root

MODEL = "synthetic-similar-bench"


def measure(n: int, files: int, workdir: Path) -> dict[str, float]:
    from app.core.host.paths import resolve_paths
    from app.core.library import Library
    from app.core.settings import Settings
    from app.core.storage.store import index_dir

    data_dir = workdir / f"lib-{n}"
    paths = resolve_paths(data_dir).ensure()
    t0 = time.perf_counter()
    build_library(index_dir(paths.indexes_dir, MODEL), MODEL, n, DEFAULT_DIM, library_root(data_dir))
    build_s = time.perf_counter() - t0
    tops = tuple(f"{library_root(data_dir)}/{top}" for top in TOP_FOLDERS)
    lib = Library(paths, Settings(model=MODEL, reranker="", rerank=False, folders=tops),
                  embedder=InjectedQueries(MODEL, DEFAULT_DIM))  # type: ignore[arg-type]
    searcher = lib.searcher()
    conn = searcher.catalog.conn
    rows = conn.execute("SELECT id, path, chunks FROM files WHERE status = 'indexed'").fetchall()
    sample = random.Random(0).sample(rows, min(files, len(rows)))
    mean_ms, per_passage_ms, sizes = [], [], []
    for i, (fid, path, chunks) in enumerate(sample):
        t0 = time.perf_counter()
        resp = lib.similar(path, limit=20)
        ms = (time.perf_counter() - t0) * 1e3
        assert path not in {h.path for h in resp.hits}
        ids = [r[0] for r in conn.execute("SELECT id FROM chunks WHERE file_id = ?", (fid,))]
        vecs = np.concatenate([m for _, m in searcher.catalog.embeddings(ids)])
        t0 = time.perf_counter()
        for v in vecs:
            searcher.vectors.search(np.ascontiguousarray(v, dtype=np.float32), 300)
        if i >= 3:  # warm-up: the first reads of the catalog's pages
            mean_ms.append(ms)
            sizes.append(chunks)
            per_passage_ms.append((time.perf_counter() - t0) * 1e3)
    lib.close()
    return {"passages": n, "files": len(rows), "build_s": build_s,
            "mean_vector_ms_p50": float(np.median(mean_ms)),
            "mean_vector_ms_p95": float(np.percentile(mean_ms, 95)),
            "mean_vector_ms_max": float(np.max(mean_ms)),
            "passage_to_passage_search_ms_p50": float(np.median(per_passage_ms)),
            "passage_to_passage_search_ms_p95": float(np.percentile(per_passage_ms, 95)),
            "passages_per_sampled_file_p50": float(np.median(sizes))}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--files", type=int, default=60)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    out = []
    with tempfile.TemporaryDirectory(prefix="sift-similar-") as tmp:
        for n in args.sizes:
            out.append(measure(n, args.files, Path(tmp)))
            r = out[-1]
            if not args.json:
                print(f"{n:>7} passages, {r['files']} files (built in {r['build_s']:.0f} s): "
                      f"similar {r['mean_vector_ms_p50']:.1f} ms median, "
                      f"{r['mean_vector_ms_p95']:.1f} ms p95, {r['mean_vector_ms_max']:.1f} max; "
                      f"one search per passage instead: {r['passage_to_passage_search_ms_p50']:.1f}"
                      f" ms median, {r['passage_to_passage_search_ms_p95']:.1f} ms p95 "
                      f"(searches alone)", flush=True)
    if args.json:
        print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
