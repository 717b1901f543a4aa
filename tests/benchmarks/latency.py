"""Query latency of the search path in a warm process, with and without cross-encoder reranking.

    python -m tests.benchmarks.latency --collection ../shared/data/ir/scifact [--keep DIR]

No cross-encoder weights can be downloaded here, so reranking is timed with a randomly
initialised cross-encoder of the same shape as ms-marco-MiniLM-L6-v2 (6 layers, 384 wide,
the real MiniLM word-piece vocabulary): the same arithmetic, meaningless scores.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path


def build_minilm_shaped_cross_encoder(folder: Path) -> Path:
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    from app.core.encoders.models import offline_default_model

    source = offline_default_model()
    if source is None:
        raise SystemExit("the offline all-MiniLM-L6-v2 copy is needed for its vocabulary")
    torch.manual_seed(0)
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(source / "vocab.txt", folder / "vocab.txt")
    tok = BertTokenizerFast(vocab_file=str(folder / "vocab.txt"), do_lower_case=True)
    config = BertConfig(vocab_size=len(tok), hidden_size=384, num_hidden_layers=6,
                        num_attention_heads=12, intermediate_size=1536,
                        max_position_embeddings=512, num_labels=1)
    BertForSequenceClassification(config).save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def rerank_costs(lib, texts: list[str], ce: Path) -> None:  # type: ignore[no-untyped-def]
    """Cross-encoder time for the top 20 files of each query: before (whole 256-token chunks,
    float32, 320-token cap) and now (short windows around the matching words, chosen precision)."""
    from app.core.encoders.reranker import Reranker
    from app.core.search.query import parse_query
    from app.core.search.searcher import RERANK_FILES, RERANK_WINDOW_CHARS
    from app.core.search.snippets import make_snippet

    searcher = lib.searcher()
    cases = []
    for text in texts:
        q = parse_query(text)
        ranked = searcher.rank(q, rerank=False)
        head = [fid for fid, _ in ranked.hybrid[:RERANK_FILES] if fid in ranked.best_chunk]
        chunks = [ranked.rows[ranked.best_chunk[fid][0][1]].text for fid in head]
        windows = [make_snippet(c, q, width=RERANK_WINDOW_CHARS)[0] for c in chunks]
        cases.append((q.semantic_text, chunks, windows))
    setups = (("before: whole chunks, float32, 320 tokens", Reranker(str(ce), max_length=320,
                                                                     precision="float32"), 1),
              ("now: windows, float32", Reranker(str(ce), precision="float32"), 2),
              ("now: windows, auto precision", Reranker(str(ce)), 2))
    times: dict[str, list[float]] = {label: [] for label, _, _ in setups}
    for _, reranker, which in setups:
        reranker.load()
        reranker.logits(cases[0][0], cases[0][which])
    # Interleaved, so that other work on a shared machine weighs on every setup alike.
    for case in cases:
        for label, reranker, which in setups:
            t0 = time.perf_counter()
            reranker.logits(case[0], case[which])
            times[label].append((time.perf_counter() - t0) * 1e3)
    for label, reranker, _ in setups:
        print(f"rerank 20 files, {label} [{reranker.precision}]: "
              f"p50 {percentile(times[label], 0.5):6.1f} ms   p95 {percentile(times[label], 0.95):6.1f} ms"
              f"   ({len(times[label])} queries)")


def main() -> None:
    from app.core.encoders.reranker import Reranker
    from app.core.host.paths import resolve_paths
    from app.core.library import Library
    from app.core.measure.evaluation import load_beir, write_corpus
    from app.core.settings import Settings

    ap = argparse.ArgumentParser()
    ap.add_argument("--collection", default="../shared/data/ir/scifact")
    ap.add_argument("--keep", help="reuse/keep the index in this folder")
    ap.add_argument("--queries", type=int, default=100)
    ap.add_argument("--rerank-only", action="store_true", help="time the cross-encoder stage alone")
    args = ap.parse_args()
    corpus, queries, _ = load_beir(Path(args.collection))
    tmp = None if args.keep else tempfile.TemporaryDirectory()
    work = Path(args.keep or tmp.name)  # type: ignore[union-attr]
    docs = work / "docs"
    if not docs.exists():
        write_corpus(corpus, docs)
    ce = build_minilm_shaped_cross_encoder(work / "ce-minilm-shape")
    lib = Library(resolve_paths(work / "data"), Settings(rerank=False))
    lib.index([str(docs)])
    lib._reranker = Reranker(str(ce))
    texts = list(queries.values())[: args.queries]
    rerank_costs(lib, texts[: min(len(texts), 20)], ce)
    if args.rerank_only:
        lib.close()
        return
    lib.search(texts[0], rerank=True)  # warm: model loads, caches fill
    for label, rerank in (("hybrid (no rerank)", False), ("hybrid + rerank top 20", True)):
        times = []
        for text in texts:
            t0 = time.perf_counter()
            lib.search(text, rerank=rerank)
            times.append((time.perf_counter() - t0) * 1e3)
        print(f"{label:<26} p50 {percentile(times, 0.5):7.1f} ms   p95 {percentile(times, 0.95):7.1f} ms"
              f"   mean {statistics.mean(times):7.1f} ms   ({len(times)} queries)")
    lib.settings = replace(lib.settings)
    lib.close()
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    main()
