"""sift bench --scale: search latency, memory, open and rebuild time over a synthetic library.

The library (``synthetic_library``) is written through the app's own catalog and vector store;
opening and searching then run in a fresh process, so its peak memory and open time are what a
user's Sift would see.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from app.core.measure.synthetic_library import (
    MARK,
    TOP_FOLDERS,
    Query,
    World,
    build_library,
    library_root,
    make_queries,
    unit,
)

QUERIES = 100
WARMUP = 5
DEFAULT_DIM = 384  # all-MiniLM-L6-v2's, for a model not on disk yet
TIE = 1e-3  # cosines this close are one: vectors are stored as float16


# -- measuring in a fresh process ---------------------------------------------------------------
class InjectedQueries:
    """Stands in for the embedder at search time: the query vector is given, not computed."""

    def __init__(self, name: str, dim: int) -> None:
        self.name = name
        self.dim = dim
        self.current: np.ndarray | None = None
        self.query_ready = True
        self.loaded = False

    def embed_query_nowait(self, text: str) -> np.ndarray | None:
        return self.current

    def load(self) -> Any:
        return type("Info", (), {"dim": self.dim})()

    @contextlib.contextmanager
    def searching(self) -> Iterator[None]:
        yield


def measure(data_dir: Path, model_name: str, dim: int, n: int,
            count: int = QUERIES) -> dict[str, Any]:
    """Open the index as Sift does and time searches; in its own process (peak memory)."""
    from app.core.host.paths import resolve_paths
    from app.core.library import Library
    from app.core.search.searcher import Filters
    from app.core.settings import Settings

    world = World.make(n, dim)
    queries = make_queries(world, count + WARMUP)
    fake = InjectedQueries(model_name, dim)
    tops = tuple(f"{library_root(data_dir)}/{top}" for top in TOP_FOLDERS)
    settings = Settings(model=model_name, reranker="", rerank=False, folders=tops)
    t0 = time.perf_counter()
    lib = Library(resolve_paths(data_dir), settings, embedder=fake)  # type: ignore[arg-type]
    # What `sift status` and the folders panel read, first thing, on cold files.
    lib.stats()
    lib.folder_counts()
    lib.skipped()
    status_ms = (time.perf_counter() - t0) * 1000
    t0 = time.perf_counter()
    searcher = lib.searcher()  # opens the catalog, loads and checks the vector file
    open_s = time.perf_counter() - t0
    sync = lib.sync_report.action if lib.sync_report else ""
    folder = f"{library_root(data_dir)}/{TOP_FOLDERS[0]}"  # with its subfolders: about 1/12
    cases = {"": Filters(), "filtered_": Filters(folder=folder),
             "type_filtered_": Filters(types=("pdf",))}
    out: dict[str, Any] = {"open_s": open_s, "open_sync": sync, "status_ms": status_ms}
    for prefix, filters in cases.items():
        times = []
        for i, q in enumerate(queries):
            fake.current = q.vector
            response = lib.search(q.text, limit=20, filters=filters, rerank=False)
            if i >= WARMUP:
                times.append(response.elapsed_ms)
        out[f"{prefix}query_ms_p50"] = float(np.percentile(times, 50))
        out[f"{prefix}query_ms_p95"] = float(np.percentile(times, 95))
    out["peak_rss_mb"] = peak_rss_mb()
    out["filter_share"] = _shares(searcher.catalog.conn, cases)
    out["breakdown_ms"] = _breakdown(searcher, fake, queries[WARMUP:WARMUP + 40], cases)
    out["dense_recall_at_10"] = _recall(lib, queries[WARMUP:WARMUP + 40], cases)
    out["graph_entries"] = lib.store.vectors.entries  # distinct embeddings; copies share one
    out["open_parts_s"] = _open_parts(lib)
    lib.close()
    return out


def peak_rss_mb() -> float:
    """This process's peak resident memory.

    On Linux from VmHWM: ru_maxrss of a child started by a big parent carries the parent's
    peak over the fork, whatever the child itself uses.
    """
    with contextlib.suppress(OSError, ValueError, IndexError), \
            open("/proc/self/status", encoding="ascii", errors="replace") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb / 1024 if sys.platform != "darwin" else kb / (1024 * 1024)


def _open_parts(lib: Any) -> dict[str, float]:
    """Where opening spends its time, timed again on a warm cache (so lower bounds)."""
    from app.core.storage import catalog_health
    from app.core.storage.exact import file_crc32

    vectors = lib.store.vectors
    parts = {}
    for name, call in (("quick_check", lambda: catalog_health.damage(lib.index_folder)),
                       ("vector_checksum", lambda: file_crc32(vectors.path)),
                       ("vector_load", vectors.load),
                       ("key_fingerprint", lib.store.catalog.embedded_fingerprint)):
        t0 = time.perf_counter()
        call()
        parts[name] = time.perf_counter() - t0
    return parts


def _shares(conn: Any, cases: dict[str, Any]) -> dict[str, float]:
    """The share of passages each filter lets through."""
    total = conn.execute("SELECT count(*) FROM chunks").fetchone()[0] or 1
    out = {}
    for prefix, filters in cases.items():
        if filters.active:
            where, params = filters.sql()
            n = conn.execute(f"SELECT count(*) FROM chunks c JOIN files f ON f.id = c.file_id "
                             f"WHERE {where}", params).fetchone()[0]
            out[prefix.rstrip("_") or "none"] = n / total
    return out


def _breakdown(searcher: Any, fake: InjectedQueries, queries: list[Query],
               cases: dict[str, Any]) -> dict[str, float]:
    """Median and 95th percentile of each step, to show where a slow query spends its time."""
    from app.core.search.query import parse_query

    steps: dict[str, list[float]] = {}
    for prefix, filters in cases.items():
        for q in queries:
            parsed = parse_query(q.text)
            fake.current = q.vector
            calls = [("dense", searcher._dense, (parsed, filters)),
                     ("keyword", searcher._keyword, (parsed, filters))]
            if not filters.active:  # word weights ignore filters
                calls.append(("doc_freq", searcher._doc_freq, (parsed,)))
            for name, call, call_args in calls:
                t0 = time.perf_counter()
                call(*call_args)
                steps.setdefault(f"{prefix}{name}", []).append((time.perf_counter() - t0) * 1e3)
            # The whole search in its three parts: retrieval and fusion, the strength of each
            # shown file, and building the shown passages (snippets).
            t0 = time.perf_counter()
            ranked = searcher.rank(parsed, filters=filters, depth=20, rerank=False)
            t1 = time.perf_counter()
            searcher.assess(parsed, ranked, count=20)
            t2 = time.perf_counter()
            for fid, _ in ranked.final[:20]:
                searcher._hit(fid, ranked, parsed)
            t3 = time.perf_counter()
            for name, ms in (("rank", t1 - t0), ("assess", t2 - t1), ("snippets", t3 - t2)):
                steps.setdefault(f"{prefix}{name}", []).append(ms * 1e3)
    return {k: float(np.median(v)) for k, v in steps.items()} | {
        f"{k}_p95": float(np.percentile(v, 95)) for k, v in steps.items()}


def _recall(lib: Any, queries: list[Query], cases: dict[str, Any]) -> dict[str, float]:
    """Recall@10 of the search's dense step against exact search, without and with filters.

    The exact answer streams the catalog's embeddings once, so memory stays flat.
    """
    from app.core.search.searcher import CANDIDATE_CHUNKS

    store = lib.store
    conn = lib.searcher().catalog.conn
    qmat = np.stack([q.vector for q in queries])
    allowed: dict[str, np.ndarray | None] = {}
    for prefix, filters in cases.items():
        if filters.active:
            where, params = filters.sql()
            allowed[prefix] = np.fromiter((r[0] for r in conn.execute(
                f"SELECT c.id FROM chunks c JOIN files f ON f.id = c.file_id WHERE {where}",
                params)), dtype=np.uint64)
        else:
            allowed[prefix] = None
    k = 10
    best = {p: (np.full((len(queries), 0), -2.0), np.zeros((len(queries), 0), np.uint64))
            for p in cases}
    for ids, mat in store.catalog.embeddings(batch=20_000):
        sims = qmat @ unit(mat).T
        for prefix in cases:
            mask = None if allowed[prefix] is None else np.isin(ids, allowed[prefix])
            s = sims if mask is None else sims[:, mask]
            i = ids if mask is None else ids[mask]
            scores, keys = best[prefix]
            scores = np.concatenate([scores, s], axis=1)
            keys = np.concatenate([keys, np.broadcast_to(i, s.shape)], axis=1)
            top = np.argsort(-scores, axis=1)[:, :k]
            best[prefix] = (np.take_along_axis(scores, top, 1), np.take_along_axis(keys, top, 1))
    out = {}
    for prefix in cases:
        hits = 0
        scores, truth = best[prefix]  # fewer than k columns where the filter lets fewer through
        for qi, q in enumerate(queries):
            found, sims = store.vectors.search(q.vector, CANDIDATE_CHUNKS, allowed=allowed[prefix])
            found, sims = found[:k], sims[:k]
            # A copy of a true neighbour is as right as the neighbour: identical passages tie,
            # and which of them exact search lists is arbitrary.
            bar = scores[qi, -1] - TIE if scores.shape[1] else np.inf
            hits += int(np.sum(np.isin(found, truth[qi]) | (sims >= bar)))
        out[prefix.rstrip("_") or "none"] = hits / max(1, truth.size)
    return out


def _child_main() -> None:
    spec = json.loads(sys.argv[1])
    print(json.dumps(measure(Path(spec["data_dir"]), spec["model"], spec["dim"], spec["n"],
                             spec.get("queries", QUERIES))))


# -- the command ------------------------------------------------------------------------------
def run_scale(args: argparse.Namespace) -> int:
    from app.core.errors import KnownError
    from app.core.host.paths import resolve_paths
    from app.core.settings import load_settings
    from app.core.storage.store import IndexStore, index_dir

    n = int(args.scale)
    settings = load_settings(resolve_paths(args.data_dir).settings_file) if args.data_dir \
        else None
    model = settings.model if settings else None
    name, dim = _model_name_and_dim(model)
    quiet = bool(getattr(args, "json", False))
    with _data_dir(args.data_dir) as data_dir:
        paths = resolve_paths(data_dir).ensure()
        folder = index_dir(paths.indexes_dir, name)
        if IndexStore.exists(folder):
            if not _is_synthetic(folder):
                raise KnownError(f"{data_dir} holds a real index; give an empty --data-dir.")
            shutil.rmtree(folder)

        def progress(done: int, total: int) -> None:
            if not quiet:
                print(f"\r  writing {done:,} of {total:,} passages", end="", file=sys.stderr,
                      flush=True)

        if not quiet:
            print(f"Sift scale bench: {n:,} synthetic passages, {dim} dimensions, in {folder}",
                  file=sys.stderr)
        t0 = time.perf_counter()
        duplicates = float(getattr(args, "duplicates", 0.0) or 0.0)
        built = build_library(folder, name, n, dim, library_root(data_dir), progress,
                              duplicates=duplicates)
        build_s = time.perf_counter() - t0
        if not quiet:
            print(file=sys.stderr)
        result: dict[str, Any] = {**built, "duplicates": duplicates, "model": name, "dim": dim,
                                  "build_s": build_s,
                                  "build_peak_rss_mb": peak_rss_mb()}
        result["catalog_mb"] = _mb(folder, "catalog.sqlite")
        result["vectors_mb"] = _mb(folder, "vectors.usearch")
        result["disk_mb"] = result["catalog_mb"] + result["vectors_mb"]
        result.update(_measure_in_child(data_dir, name, dim, n))
        result["rebuild_s"] = _rebuild_seconds(folder, name, dim)
    result.update(_machine())
    if quiet:
        print(json.dumps(result, indent=2))
    else:
        _print_human(result)
    return 0


def _model_name_and_dim(model: str | None) -> tuple[str, int]:
    """The configured model's index name and dimension, read from its files (nothing loaded)."""
    from app.core.encoders.models import resolve_model
    from app.core.settings import DEFAULT_MODEL

    source = resolve_model(model or DEFAULT_MODEL)
    if source.local:
        # The pooling layer's output size; sentence-transformers renamed the key in version 5.
        for cfg in sorted(Path(source.location).glob("*Pooling*/config.json")):
            with contextlib.suppress(OSError, ValueError):
                conf = json.loads(cfg.read_text(encoding="utf-8"))
                dim = conf.get("embedding_dimension") or conf.get("word_embedding_dimension")
                if dim:
                    return source.name, int(dim)
    return source.name, DEFAULT_DIM


@contextlib.contextmanager
def _data_dir(given: str | None) -> Iterator[Path]:
    if given:
        yield Path(given)
        return
    with tempfile.TemporaryDirectory(prefix="sift-scale-") as tmp:
        yield Path(tmp)


def _is_synthetic(folder: Path) -> bool:
    from app.core.storage.store import describe_index

    return describe_index(folder).get(MARK) == "1"


def _mb(folder: Path, name: str) -> float:
    total = sum(p.stat().st_size for p in folder.glob(name + "*") if p.is_file())
    return total / 2**20


def _measure_in_child(data_dir: Path, name: str, dim: int, n: int) -> dict[str, Any]:
    spec = json.dumps({"data_dir": str(data_dir), "model": name, "dim": dim, "n": n,
                       "queries": QUERIES})
    env = {**os.environ, "SIFT_DATA_DIR": str(data_dir)}
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-c",
                           "from app.core.measure.scale_bench import _child_main; _child_main()", spec],
                          capture_output=True, text=True, env=env,
                          cwd=str(Path(__file__).resolve().parents[3]), check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the measuring process failed:\n{done.stderr[-3000:]}")
    out: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    out["measure_s"] = time.perf_counter() - t0
    return out


def _rebuild_seconds(folder: Path, name: str, dim: int) -> float:
    """How long opening takes when the vector file is gone: rebuilt from the catalog, saved."""
    from app.core.storage.store import VECTORS_FILE, IndexStore

    for p in folder.glob(VECTORS_FILE + "*"):
        p.unlink()
    t0 = time.perf_counter()
    store = IndexStore(folder, name, dim)
    try:
        report = store.open_vectors()
    finally:
        store.close()
    assert report.action == "rebuilt"
    return time.perf_counter() - t0


def _machine() -> dict[str, Any]:
    import platform

    from app.core.encoders.backends.hardware import cpu_name

    return {"cpu": cpu_name(), "cores": os.cpu_count(), "machine": platform.machine(),
            "load_average": os.getloadavg()[0] if hasattr(os, "getloadavg") else None}


def _print_human(r: dict[str, Any]) -> None:
    print(f"{r['chunks']:,} passages in {r['files']:,} files, {r['folders']:,} folders "
          f"(built in {r['build_s']:.1f}s); machine: {r['cpu']}, {r['cores']} cores, "
          f"load {r['load_average']:.1f}")
    if r.get("repeats"):
        print(f"repeats: {r['repeats']:,} passages ({r['duplicates']:.0%}) copy "
              "boilerplate texts, some a little changed")
    print(f"disk: catalog {r['catalog_mb']:.0f} MB + vectors {r['vectors_mb']:.0f} MB")
    print(f"open (fresh process): {r['open_s']:.2f}s; rebuild vectors from catalog: "
          f"{r['rebuild_s']:.1f}s; peak memory while searching: {r['peak_rss_mb']:.0f} MB")
    print(f"status (counts, folders, skipped; cold files): {r['status_ms']:.0f} ms")
    print("opening, warm, s: " + ", ".join(f"{k} {v:.2f}" for k, v in r["open_parts_s"].items()))
    shares = r["filter_share"]
    print(f"hybrid query, ms p50 / p95:  all {r['query_ms_p50']:.1f} / {r['query_ms_p95']:.1f}; "
          f"one folder ({shares.get('filtered', 0):.0%} of passages) "
          f"{r['filtered_query_ms_p50']:.1f} / {r['filtered_query_ms_p95']:.1f}; "
          f"pdf only ({shares.get('type_filtered', 0):.0%}) "
          f"{r['type_filtered_query_ms_p50']:.1f} / {r['type_filtered_query_ms_p95']:.1f}")
    print("steps, ms p50: " + ", ".join(f"{k} {v:.1f}" for k, v in r["breakdown_ms"].items()
                                        if not k.endswith("_p95")))
    print("dense recall@10 vs exact: " + ", ".join(
        f"{k} {v:.3f}" for k, v in r["dense_recall_at_10"].items())
        + f" ({r['graph_entries']:,} distinct vectors in the graph)")


__all__ = ["InjectedQueries", "measure", "peak_rss_mb", "run_scale"]
