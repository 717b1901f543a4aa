"""sift bench: encode rate and faithfulness of each backend, and end-to-end indexing, on one passage set."""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

SHORT_TOKENS = 128  # the second row set: short passages (notes, code, chat)


@dataclass
class Row:
    """One backend measured on one set of passages."""

    label: str
    rate: float
    mean_cos: float = 1.0
    min_cos: float = 1.0
    overlap: float = 1.0
    note: str = ""


def run_bench(args: argparse.Namespace) -> int:
    """``sift bench``: printed for people, or one JSON object with ``--json``; ``--scale N``
    measures search over a synthetic library instead (no encoder)."""
    if getattr(args, "scale", None):
        from app.core.measure.scale_bench import run_scale

        return run_scale(args)
    from app.core.encoders.embedder import Embedder
    from app.core.host.paths import resolve_paths
    from app.core.settings import load_settings

    quiet = bool(getattr(args, "json", False))
    say = (lambda *a, **k: None) if quiet else print
    paths = resolve_paths(args.data_dir)
    settings = replace(load_settings(paths.settings_file), folders=())
    wanted = max(16, int(args.chunks or 400))
    embedder = Embedder(settings.model, backend=settings.backend, cache_dir=paths.cache_dir)
    info = embedder.load()
    max_tokens = min(settings.chunk_tokens, info.max_tokens)
    result: dict[str, Any] = {"model": info.name, "passages": wanted,
                              "corpus": args.corpus or "built-in passages",
                              "machine": machine_info(),
                              "chosen": info.backend, "chosen_id": info.backend_id,
                              "chosen_reason": info.reason, "load_s": info.load_seconds,
                              "backends_short": None}  # stays None when passages are short anyway
    _header(info, args.corpus, wanted, say)
    with tempfile.TemporaryDirectory(prefix="sift-bench-") as tmp:
        docs = Path(tmp) / "docs"
        files = _write_documents(_documents(args.corpus), docs, wanted, embedder, max_tokens,
                                 settings.chunk_overlap)
        sets = {tokens: _passages(files, embedder, tokens, settings.chunk_overlap)[:wanted]
                for tokens in (max_tokens, min(SHORT_TOKENS, max_tokens))}
        runners = _runners(embedder)
        for key, (tokens, texts) in zip(("backends", "backends_short"), sets.items(),
                                        strict=False):
            say(f"\npassages of up to {tokens} word pieces (mean {_mean_pieces(embedder, texts):.0f}),"
                f" {len(texts)} of them; raw encode, batches of {embedder.batch_size}:")
            rows = _backend_rows(embedder, runners, texts)
            result[key] = [_row_json(r, info.backend) for r in rows]
            result[f"{key}_max_tokens"] = tokens
            if not quiet:
                _print_rows(rows)
        if getattr(args, "quality", None):
            result["quality"] = _quality(Path(args.quality), runners, settings.model,
                                         Path(tmp) / "quality", args.quality_docs, say)
            for key in ("backends", "backends_short"):
                for row in result[key] or []:
                    row.update(result["quality"]["deltas"].get(row["name"], {}))
        del runners
        gc.collect()  # the other backends' runners and thread pools must not compete below
        result.update(_end_to_end(embedder, settings, docs, Path(tmp) / "data",
                                  sets[max_tokens], len(files), say=say))
    long_rows = result["backends"]
    result["float32_chunks_per_s"] = long_rows[0]["chunks_per_s"] if long_rows else None
    if quiet:
        print(json.dumps(result, indent=2))
    return 0


def machine_info() -> dict[str, Any]:
    """The CPU and the features that decide which backend is fast here."""
    import platform

    from app.core.encoders.backends.hardware import (
        DECIDING_FLAGS,
        cpu_flags,
        cpu_has_native_bf16,
        cpu_name,
        emulated_cap,
    )

    flags = cpu_flags()
    # A run on an emulated older CPU (tests/benchmarks/avx2_emulated.py) says so: CPUID's
    # answers are masked (the flags above follow them), or the runtimes were told a ceiling.
    cap = emulated_cap() or os.environ.get("ONEDNN_MAX_CPU_ISA")
    return {"cpu": cpu_name(), "machine": platform.machine(), "system": platform.system(),
            "cores": os.cpu_count(), "flags": sorted(flags & DECIDING_FLAGS),
            "isa_cap": cap or None,
            "native_bf16": cpu_has_native_bf16(),
            "load_average": os.getloadavg()[0] if hasattr(os, "getloadavg") else None}


def _row_json(r: Row, chosen: str) -> dict[str, Any]:
    measured = not r.note
    return {"name": r.label, "available": measured, "note": r.note or None,
            "chosen": r.label == chosen,
            "chunks_per_s": _num(r.rate) if measured else None,
            "mean_cos": _num(r.mean_cos) if measured else None,
            "min_cos": _num(r.min_cos) if measured else None,
            "top10_overlap": _num(r.overlap) if measured else None,
            # Retrieval quality needs a labelled collection: --quality DIR measures it.
            "ndcg_delta": None, "ndcg_delta_dense": None}


def _quality(folder: Path, runners: dict[str, Any], model: str, work: Path, max_docs: int,
             say: Callable[..., None]) -> dict[str, Any]:
    """nDCG@10 of each backend's document embeddings against float32's on a BEIR collection.

    ``ndcg_delta`` is the hybrid ranking's (what search shows), ``ndcg_delta_dense`` the
    dense ranking's alone; backend minus float32, so a loss is negative.
    """
    from app.core.measure.backend_quality import encode_passages, index_reference, ndcg

    say(f"\nretrieval quality on {folder.name} (float32 indexes it first; at most "
        f"{max_docs or 'all'} documents):")
    ref = index_reference(folder, work, model=model, max_docs=max_docs)
    try:
        base_dense, base_hybrid = ndcg(ref, ref.vectors)
        deltas: dict[str, dict[str, float | None]] = {}
        for label, runner in runners.items():
            if runner is None:
                continue
            vecs = encode_passages(lambda t, r=runner: r.encode_documents(t, 16), ref.texts)
            dense, hybrid = ndcg(ref, vecs)
            deltas[label] = {"ndcg_delta": _num(hybrid - base_hybrid),
                             "ndcg_delta_dense": _num(dense - base_dense)}
            say(f"  {label:<28} nDCG@10 hybrid {hybrid:.4f} ({hybrid - base_hybrid:+.4f}), "
                f"dense {dense:.4f} ({dense - base_dense:+.4f})")
        return {"collection": folder.name, "documents": len(os.listdir(work / "docs")),
                "passages": len(ref.ids), "queries": len(ref.queries),
                "float32_ndcg_dense": _num(base_dense), "float32_ndcg_hybrid": _num(base_hybrid),
                "deltas": deltas}
    finally:
        ref.close()


def _num(x: float) -> float | None:
    return None if x != x else round(float(x), 6)


def _header(info: Any, corpus: str | None, wanted: int, say: Callable[..., None]) -> None:
    import platform

    from app.core.encoders.backends.hardware import cpu_name

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    say(f"Sift bench: {info.name}; {wanted} passages from {corpus or 'built-in passages'}")
    say(f"machine: {cpu_name()} ({platform.machine()}), {os.cpu_count()} cores, "
        f"load average {load:.1f} (other work skews rates; compare rows of one run)")
    say(f"chosen backend: {info.backend} (loaded in {info.load_seconds:.1f}s) — {info.reason}")


def _documents(corpus: str | None) -> list[str]:
    """Documents as ``sift eval`` writes them: the title, a blank line, the text."""
    if not corpus:
        import random

        from app.core.encoders.backends.check import CHECK_PASSAGES

        # The check sentences in another order in each document: every passage is distinct,
        # as in a real library (repeated passages are embedded once, which would flatter
        # the end-to-end rate).
        sentences = list(CHECK_PASSAGES[:16])
        out = []
        for k in range(1600):
            order = sentences[:]
            random.Random(k).shuffle(order)
            out.append(" ".join(order))
        return out
    out = []
    with open(Path(corpus) / "corpus.jsonl", encoding="utf-8") as f:
        for line in f:
            if line.strip():
                d = json.loads(line)
                title, text = (d.get("title") or "").strip(), (d.get("text") or "").strip()
                out.append(f"{title}\n\n{text}" if title else text)
    return out


def _write_documents(documents: list[str], folder: Path, wanted: int, embedder: Any,
                     max_tokens: int, overlap: int) -> list[Path]:
    """Write documents as files until their chunks reach ``wanted``; the files, in order."""
    from app.core.extract import extract
    from app.core.extract.chunking import chunk_sections

    folder.mkdir(parents=True)
    files: list[Path] = []
    count = 0
    for i, text in enumerate(d for d in documents if d.strip()):
        path = folder / f"{i:06d}.txt"
        path.write_text(text, encoding="utf-8")
        files.append(path)
        count += len(chunk_sections(extract(path), embedder.token_offsets, max_tokens, overlap))
        if count >= wanted:
            break
    return files


def _passages(files: list[Path], embedder: Any, tokens: int, overlap: int) -> list[str]:
    """The files' passages as the indexer cuts them, at ``tokens`` word pieces at most."""
    from app.core.extract import extract
    from app.core.extract.chunking import chunk_sections

    return [c.text for f in files
            for c in chunk_sections(extract(f), embedder.token_offsets, tokens, overlap)]


def _mean_pieces(embedder: Any, texts: list[str]) -> float:
    return sum(len(embedder.token_offsets(t)) for t in texts) / max(1, len(texts))


def encode_rate(encode: Callable[[list[str]], np.ndarray], texts: list[str],
                batch: int = 16) -> tuple[float, float, np.ndarray]:
    """(passages/s, CPU ms per passage, vectors) as the app encodes: longest first, in batches.

    A warm-up batch comes first: the first calls build kernels for each shape.
    """
    order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
    encode([texts[i] for i in order[:16]])
    out: list[np.ndarray] = []
    cpu, t0 = time.process_time(), time.perf_counter()
    for start in range(0, len(order), batch):
        out.append(encode([texts[i] for i in order[start:start + batch]]))
    seconds, cpu = time.perf_counter() - t0, time.process_time() - cpu
    vectors = np.zeros((len(texts), out[0].shape[1]), dtype=np.float32)
    vectors[order] = np.concatenate(out)
    return len(texts) / seconds, cpu * 1000 / len(texts), vectors


def _backend_rows(embedder: Any, runners: dict[str, Any], texts: list[str]) -> list[Row]:
    """Every backend on the same passages, batch by batch in turn.

    Taking turns per batch spreads any load from other processes evenly over the backends,
    so their rows compare even on a busy machine.
    """
    from app.core.encoders.backends import agreement, neighbour_overlap

    order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
    batch = embedder.batch_size
    seconds = {label: 0.0 for label in runners}
    parts: dict[str, list[np.ndarray]] = {label: [] for label in runners}
    for runner in runners.values():
        if runner is not None:  # warm-up: the first calls build kernels for each shape
            runner.encode_documents([texts[i] for i in order[:batch]], batch)
    for start in range(0, len(order), batch):
        chunk = [texts[i] for i in order[start:start + batch]]
        for label, runner in runners.items():
            if runner is not None:
                t0 = time.perf_counter()
                parts[label].append(runner.encode_documents(chunk, batch))
                seconds[label] += time.perf_counter() - t0
    rows: list[Row] = []
    reference: np.ndarray | None = None
    for label, runner in runners.items():
        if runner is None:
            rows.append(Row(label.split(":", 1)[0], float("nan"), note=label.split(":", 1)[1]))
            continue
        vecs = np.zeros((len(texts), embedder.info.dim), dtype=np.float32)
        vecs[order] = np.concatenate(parts[label])
        reference = vecs if reference is None else reference  # torch float32 comes first
        mean, low = agreement(reference, vecs)
        rows.append(Row(label, len(texts) / seconds[label], mean, low,
                        neighbour_overlap(reference, vecs, 10)))
    return rows


def _runners(embedder: Any) -> dict[str, Any]:
    """label → runner for every backend; "backend:unavailable: why" → None where it cannot run."""
    from app.core.encoders.backends import BACKENDS
    from app.core.encoders.backends.cache import DecisionCache
    from app.core.encoders.backends.choice import Unavailable, build_runner
    from app.core.encoders.backends.torch_runner import load_sentence_transformer

    model = load_sentence_transformer(embedder.source)
    export_dir = DecisionCache(embedder.cache_dir).export_dir(embedder.source)
    out: dict[str, Any] = {}
    for backend in BACKENDS:
        try:
            runner, label = build_runner(backend, model, export_dir)
            out[label] = runner
        except Unavailable as exc:
            out[f"{backend}:unavailable: {exc}"] = None
        except Exception as exc:  # a runtime broken here: a row saying so, as "auto" would skip it
            log.warning("backend %s failed to start", backend, exc_info=True)
            out[f"{backend}:failed: {type(exc).__name__}: {exc}"] = None
    return out


def _print_rows(rows: list[Row]) -> None:
    base = rows[0].rate if rows and rows[0].rate == rows[0].rate else float("nan")
    print(f"  {'backend':<28}{'chunks/s':>9}{'vs fp32':>9}{'mean cos':>10}{'min cos':>9}"
          f"{'top-10':>8}")
    for r in rows:
        if r.note:
            print(f"  {r.label:<28}{'-':>9}  ({r.note})")
            continue
        print(f"  {r.label:<28}{r.rate:>9.1f}{r.rate / base:>8.2f}x{r.mean_cos:>10.5f}"
              f"{r.min_cos:>9.5f}{r.overlap:>8.3f}")


def _end_to_end(embedder: Any, settings: Any, docs: Path, data: Path, texts: list[str],
                files: int, rounds: int = 2,
                say: Callable[..., None] = print) -> dict[str, Any]:
    """``sift index`` of the documents, interleaved with raw encodes of the chosen backend.

    Interleaving spreads other processes' load over both; CPU time per passage is printed too
    because, unlike wall time, it hardly depends on what else runs.
    """
    raw = [_raw_run(embedder, texts)]
    e2e: list[tuple[float, float]] = []
    chunks = kept = 0
    from app.core.storage.vectors import EXACT_LIMIT

    recall: float | None = None
    for i in range(rounds):
        rate, cpu_ms, chunks, recall, kept = _index_run(embedder, settings, docs, data / str(i),
                                                        texts)
        e2e.append((rate, cpu_ms))
        raw.append(_raw_run(embedder, texts))
    raw_rate, raw_cpu = (float(np.mean(v)) for v in zip(*raw, strict=True))
    e2e_rate, e2e_cpu = (float(np.mean(v)) for v in zip(*e2e, strict=True))
    say(f"\nend to end (sift index, {embedder.info.backend}, {rounds} runs): {files} files, "
        f"{chunks} passages: " + ", ".join(f"{r:.1f}" for r, _ in e2e) + " chunks/s")
    if kept:
        say(f"{kept} of those passages repeat another's text and were not embedded again")
    say("raw encode of the same passages through the embedder, before/between/after: "
        + ", ".join(f"{r:.1f}" for r, _ in raw) + " chunks/s")
    say(f"ratio end-to-end / raw: {e2e_rate / raw_rate:.2f} by wall time; "
        f"{raw_cpu / e2e_cpu:.2f} by CPU time per passage ({e2e_cpu:.1f} vs {raw_cpu:.1f} ms)")
    if recall is not None:
        say(f"recall@10 of the HNSW graph against exact search: {recall:.3f} (searches "
            f"below {EXACT_LIMIT:,} passages are exact)")
    return {"end_to_end_chunks_per_s": e2e_rate, "end_to_end_runs": [r for r, _ in e2e],
            "end_to_end_cpu_ms_per_chunk": e2e_cpu, "end_to_end_files": files,
            "end_to_end_chunks": chunks, "end_to_end_already_embedded": kept,
            "chosen_raw_chunks_per_s": raw_rate,
            "chosen_raw_cpu_ms_per_chunk": raw_cpu, "hnsw_recall_at_10": recall,
            "exact_search_below": EXACT_LIMIT}


def _raw_run(embedder: Any, texts: list[str]) -> tuple[float, float]:
    """(passages/s, CPU ms per passage) of the embedder alone."""
    rate, cpu_ms, _ = encode_rate(embedder.embed_documents, texts, len(texts))
    return rate, cpu_ms


def _index_run(embedder: Any, settings: Any, docs: Path, data: Path,
               texts: list[str]) -> tuple[float, float, int, float | None, int]:
    """(passages/s, CPU ms per passage, passages, dense recall@10, passages that were not
    embedded because their text was already) of a fresh ``sift index``.

    Recall is that of the index's graph against exact search, for queries made of the first
    words of passages (real queries: an index's own vectors as queries flatter the graph).
    """
    from app.core.host.paths import resolve_paths
    from app.core.library import Library
    from app.core.storage.vectors import dense_recall

    lib = Library(resolve_paths(data), settings, embedder=embedder)
    try:
        _ = lib.store  # open the index first: only indexing is timed
        cpu, t0 = time.process_time(), time.perf_counter()
        report = lib.index([str(docs)])
        seconds, cpu = time.perf_counter() - t0, time.process_time() - cpu
        queries = [" ".join(t.split()[:8]) for t in texts[:: max(1, len(texts) // 40)]]
        vecs = np.stack([embedder.embed_query(q) for q in queries if q]) if queries else None
        recall = dense_recall(lib.store.vectors, vecs) if vecs is not None else None
    finally:
        lib.close()
    return report.chunks / seconds, cpu * 1000 / report.chunks, report.chunks, recall, \
        report.reused
