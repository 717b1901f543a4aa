"""``sift eval``: retrieval quality on a BEIR-layout collection, through the app's own index and search."""

from __future__ import annotations

import argparse
import json
import math
import os
import tempfile
import time
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

from app.core.storage.vectors import EXACT_LIMIT

STAGES = ("bm25", "dense", "hybrid", "hybrid+rerank")


def load_beir(folder: Path) -> tuple[dict[str, dict], dict[str, str], dict[str, dict[str, int]]]:
    """(corpus by id, queries by id, qrels: query id → {doc id: grade})."""
    corpus = {}
    with open(folder / "corpus.jsonl", encoding="utf-8") as f:
        for line in f:
            if line.strip():
                d = json.loads(line)
                corpus[str(d["_id"])] = d
    queries = {}
    with open(folder / "queries.jsonl", encoding="utf-8") as f:
        for line in f:
            if line.strip():
                q = json.loads(line)
                queries[str(q["_id"])] = q["text"]
    qrels: dict[str, dict[str, int]] = {}
    qrels_path = folder / "qrels.tsv"
    if not qrels_path.exists():
        qrels_path = folder / "qrels" / "test.tsv"
    with open(qrels_path, encoding="utf-8") as f:
        for i, line in enumerate(f):
            parts = line.rstrip("\n").split("\t")
            if i == 0 and not parts[-1].lstrip("-").isdigit():
                continue
            if len(parts) >= 3 and int(parts[2]) > 0:
                qrels.setdefault(parts[0], {})[parts[1]] = int(parts[2])
    return corpus, queries, qrels


def write_corpus(corpus: dict[str, dict], folder: Path) -> None:
    """Each document becomes ``<id>.txt``: the title, a blank line, the text."""
    folder.mkdir(parents=True, exist_ok=True)
    for doc_id, d in corpus.items():
        title = (d.get("title") or "").strip()
        text = (d.get("text") or "").strip()
        body = f"{title}\n\n{text}" if title else text
        (folder / f"{_safe(doc_id)}.txt").write_text(body or " ", encoding="utf-8")


def _safe(doc_id: str) -> str:
    return doc_id.replace("/", "_").replace(os.sep, "_")


def ndcg_at(ranked: list[str], rels: dict[str, int], k: int = 10) -> float:
    dcg = sum((2 ** rels.get(d, 0) - 1) / math.log2(i + 2) for i, d in enumerate(ranked[:k]))
    ideal = sorted(rels.values(), reverse=True)[:k]
    idcg = sum((2 ** g - 1) / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg > 0 else 0.0


def recall_at(ranked: list[str], rels: dict[str, int], k: int = 100) -> float:
    return len(set(ranked[:k]) & set(rels)) / len(rels) if rels else 0.0


def mrr_at(ranked: list[str], rels: dict[str, int], k: int = 10) -> float:
    for i, d in enumerate(ranked[:k]):
        if d in rels:
            return 1.0 / (i + 1)
    return 0.0


def score_run(run: dict[str, list[str]], qrels: dict[str, dict[str, int]]) -> dict[str, float]:
    qids = [q for q in qrels if q in run]
    if not qids:
        return {"ndcg@10": 0.0, "recall@100": 0.0, "mrr@10": 0.0}
    return {
        "ndcg@10": sum(ndcg_at(run[q], qrels[q]) for q in qids) / len(qids),
        "recall@100": sum(recall_at(run[q], qrels[q]) for q in qids) / len(qids),
        "mrr@10": sum(mrr_at(run[q], qrels[q]) for q in qids) / len(qids),
    }


def run_eval(args: argparse.Namespace) -> int:
    from app.core.encoders.reranker import Reranker
    from app.core.host.paths import resolve_paths
    from app.core.library import Library
    from app.core.search.query import parse_query
    from app.core.settings import load_settings

    folder = Path(args.dir)
    corpus, queries, qrels = load_beir(folder)
    qids = [q for q in queries if q in qrels]
    if args.max_queries:
        qids = qids[: args.max_queries]
    base = load_settings(resolve_paths(args.data_dir).settings_file)
    keep = Path(args.keep) if args.keep else None
    tmp = None if keep else tempfile.TemporaryDirectory(prefix="sift-eval-")
    work = keep or Path(tmp.name)  # type: ignore[union-attr]
    docs = work / "docs"
    try:
        if not docs.exists() or len(os.listdir(docs)) != len(corpus):
            write_corpus(corpus, docs)
        settings = replace(base, folders=(), rerank=not args.no_rerank,
                           reranker=args.reranker or base.reranker)
        lib = Library(resolve_paths(work / "data"), settings)
        lib.embedder.load()  # model load and backend check are start-up, not indexing
        t0 = time.perf_counter()
        report = lib.index([str(docs)])
        index_s = time.perf_counter() - t0
        info = lib.embedder.info
        print(f"{folder.name}: {len(corpus)} documents, {len(qids)} queries; "
              f"model {info.name} on {info.backend}")
        print(f"indexed {report.chunks} new passages in {index_s:.1f}s "
              f"({report.added} files added, {report.unchanged} unchanged, {report.skipped} skipped)")
        searcher = lib.searcher()
        reranker: Reranker | None = searcher.reranker
        rerank_on = bool(reranker is not None and reranker.available)
        if reranker is not None and not rerank_on:
            print(f"({reranker.note})")
        runs: dict[str, dict[str, list[tuple[str, float]]]] = {s: {} for s in STAGES}
        latencies = []
        for qid in qids:
            t = time.perf_counter()
            ranked = searcher.rank(parse_query(queries[qid]), depth=100, rerank=rerank_on)
            latencies.append(time.perf_counter() - t)
            paths = {fid: ranked.rows[ranked.best_chunk[fid][0][1]].path
                     for fid in ranked.best_chunk}
            for stage, items in (("bm25", ranked.bm25), ("dense", ranked.dense),
                                 ("hybrid", ranked.hybrid), ("hybrid+rerank", ranked.reranked)):
                if items is None:
                    continue
                runs[stage][qid] = [(Path(paths[fid]).stem, s) for fid, s in items[:100]]
        print(f"{'stage':<15}{'nDCG@10':>9}{'R@100':>9}{'MRR@10':>9}")
        for stage in STAGES:
            if not runs[stage]:
                continue
            m = score_run({q: [d for d, _ in r] for q, r in runs[stage].items()}, qrels)
            print(f"{stage:<15}{m['ndcg@10']:>9.4f}{m['recall@100']:>9.4f}{m['mrr@10']:>9.4f}")
        latencies.sort()
        p50 = latencies[len(latencies) // 2] * 1e3
        p95 = latencies[int(len(latencies) * 0.95) - 1] * 1e3 if latencies else 0.0
        print(f"query latency (all stages): p50 {p50:.0f} ms, p95 {p95:.0f} ms")
        print(f"dense recall@10 of the HNSW graph vs exact, on these queries: "
              f"{graph_recall(lib, [queries[q] for q in qids[:200]]):.4f} "
              f"({len(searcher.vectors)} vectors; exact search is used up to {EXACT_LIMIT})")
        if args.run_out:
            write_trec(Path(args.run_out), runs)
            print(f"run written to {args.run_out}")
        lib.close()
    finally:
        if tmp is not None:
            tmp.cleanup()
    return 0


def graph_recall(lib, texts: list[str]) -> float:  # type: ignore[no-untyped-def]
    """Recall@10 of the vector index's HNSW graph against exact search, on real query texts."""
    import numpy as np

    from app.core.storage.vectors import dense_recall

    if not texts:
        return 1.0
    vecs = np.stack([lib.embedder.embed_query(t) for t in texts])
    return dense_recall(lib.store.vectors, vecs)


def write_trec(path: Path, runs: dict[str, dict[str, list[tuple[str, float]]]]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for stage, per_query in runs.items():
            for qid, items in per_query.items():
                f.writelines(_trec_lines(qid, items, stage))


def _trec_lines(qid: str, items: Iterable[tuple[str, float]], tag: str) -> Iterable[str]:
    for rank, (doc, score) in enumerate(items, 1):
        yield f"{qid} Q0 {doc} {rank} {score:.6f} {tag}\n"
