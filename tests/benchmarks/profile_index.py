"""Index the first N documents of a BEIR corpus with the app's pipeline, for profiling (py-spy, cProfile)."""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from app.core.host.paths import resolve_paths
from app.core.library import Library
from app.core.measure.evaluation import load_beir, write_corpus
from app.core.settings import Settings


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("corpus", type=Path)
    p.add_argument("-n", type=int, default=1000)
    p.add_argument("--backend", default="auto")
    args = p.parse_args()
    corpus, _, _ = load_beir(args.corpus)
    sample = dict(list(corpus.items())[: args.n])
    with tempfile.TemporaryDirectory(prefix="sift-prof-") as tmp:
        docs = Path(tmp) / "docs"
        write_corpus(sample, docs)
        lib = Library(resolve_paths(Path(tmp) / "data"), replace(Settings(), backend=args.backend))
        t0 = time.perf_counter()
        info = lib.embedder.load()
        t_load = time.perf_counter() - t0
        t0 = time.perf_counter()
        report = lib.index([str(docs)])
        dt = time.perf_counter() - t0
        lib.close()
    print(f"{info.backend}: load {t_load:.1f}s; {report.chunks} chunks in {dt:.1f}s "
          f"= {report.chunks / dt:.1f}/s (embed {report.embed_seconds:.1f}s)")


if __name__ == "__main__":
    main()
