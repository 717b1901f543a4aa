"""sift bench --scale: a synthetic library of N passages, written and searched through the app's own code.

No encoder runs: passages are Zipf-distributed pseudo-words (so BM25 does real work on common
and rare words alike) and their embeddings are clustered unit vectors, one topic per file with
the folder's topics more likely, and the topic's words mixed into the text so both retrievers
find the same files. Queries carry a vector near a topic, handed to the real search path in
place of the encoder. Opening and searching run in a fresh process, so its peak memory and
open time are what a user's Sift would see.
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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

VOCABULARY = 50_000
ZIPF_S = 1.07            # English word frequencies follow roughly 1/rank^1.07
ZIPF_Q = 2.7             # Mandelbrot's offset: the very top words are a little flatter
TOPIC_WORDS = 24         # per topic, drawn from mid-frequency words
TOPIC_SHARE = 0.12       # share of a passage's words that come from its topic
FILE_SPREAD = 0.8        # how far a file's vector strays from its topic's centre
PASSAGE_SPREAD = 0.9     # how far a passage strays from its file's vector
QUERY_SPREAD = 1.0
EXTENSIONS = ((".pdf", 0.25), (".docx", 0.15), (".txt", 0.18), (".md", 0.18), (".py", 0.09),
              (".html", 0.08), (".csv", 0.07))
TOP_FOLDERS = ("Documents", "Projects", "Work", "Notes", "Research", "Archive", "Invoices",
               "Mail", "Code", "Books", "Photos-scanned", "Taxes")
YEARS = 6
QUERIES = 100
WARMUP = 5
SEED = 13
DEFAULT_DIM = 384  # all-MiniLM-L6-v2's, for a model not on disk yet
MARK = "synthetic_bench"  # meta key of a catalog the bench wrote: only such a one is replaced


# -- the synthetic world ---------------------------------------------------------------------
@dataclass
class World:
    """Everything the library and its queries are drawn from; the same for the same seed."""

    dim: int
    vocab: np.ndarray        # of str
    cdf: np.ndarray          # Zipf cumulative probabilities over vocab
    centres: np.ndarray      # (topics, dim) unit vectors
    topic_words: np.ndarray  # (topics, TOPIC_WORDS) vocab indices

    @classmethod
    def make(cls, n: int, dim: int, seed: int = SEED) -> World:
        rng = np.random.default_rng(seed)
        vocab = _pseudo_words(rng, VOCABULARY)
        weights = 1.0 / (np.arange(VOCABULARY) + ZIPF_Q) ** ZIPF_S
        cdf = np.cumsum(weights) / weights.sum()
        topics = int(np.clip(n // 400, 8, 2500))
        centres = _unit(rng.standard_normal((topics, dim)))
        topic_words = rng.integers(300, 20_000, size=(topics, TOPIC_WORDS))
        return cls(dim, vocab, cdf, centres, topic_words)

    def near(self, rng: np.random.Generator, topics: np.ndarray, spread: float) -> np.ndarray:
        noise = rng.standard_normal((len(topics), self.dim)) / np.sqrt(self.dim)
        return self.centres[topics] + spread * noise

    def zipf_words(self, rng: np.random.Generator, count: int) -> np.ndarray:
        return np.searchsorted(self.cdf, rng.random(count)).clip(0, VOCABULARY - 1)


def _pseudo_words(rng: np.random.Generator, count: int) -> np.ndarray:
    """Distinct pronounceable words of 2-4 syllables (not English: no stemming surprises)."""
    onsets = [*"bdfgklmnprstvz", "br", "ch", "st", "tr", "pl", "sh", "kr", "gl"]
    vowels = ["a", "e", "i", "o", "u", "ai", "ou", "ei"]
    codas = ["", "", "", "n", "r", "s", "l", "m", "t"]
    syllables = [o + v + c for o in onsets for v in vowels for c in codas]
    words: dict[str, None] = {}
    while len(words) < count:
        picks = rng.integers(0, len(syllables), size=(count, 4))
        parts = rng.integers(2, 5, size=count)
        for row, k in zip(picks, parts, strict=True):
            words["".join(syllables[i] for i in row[:k])] = None
    return np.array(list(words)[:count], dtype=object)


def _unit(m: np.ndarray) -> np.ndarray:
    m = np.asarray(m, dtype=np.float32)
    return m / np.maximum(np.linalg.norm(m, axis=-1, keepdims=True), 1e-12)


@dataclass(frozen=True)
class Query:
    text: str
    vector: np.ndarray


def make_queries(world: World, count: int, seed: int = SEED + 1) -> list[Query]:
    """Two to four words (a topic word, mid-frequency words, sometimes a very common one)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        topic = int(rng.integers(len(world.centres)))
        words = [world.topic_words[topic, rng.integers(TOPIC_WORDS)]]
        words += list(rng.integers(50, 5000, size=int(rng.integers(1, 3))))
        if rng.random() < 0.4:
            words.append(int(rng.integers(0, 30)))  # a word in most passages: BM25's worst case
        vec = _unit(world.near(rng, np.array([topic]), QUERY_SPREAD))[0]
        out.append(Query(" ".join(world.vocab[w] for w in words), vec))
    return out


# -- writing the library through the catalog's and vector store's own API ---------------------
@dataclass
class Layout:
    folders: list[str]
    folder_topics: np.ndarray  # (folders, 3)


def _layout(rng: np.random.Generator, root: str, files: int, topics: int) -> Layout:
    count = max(len(TOP_FOLDERS), files // 40)
    folders = []
    for i in range(count):
        top = TOP_FOLDERS[i % len(TOP_FOLDERS)]
        depth = i // len(TOP_FOLDERS)
        sub = "" if depth == 0 else f"/{2015 + depth % 10}/project-{depth:04d}"
        folders.append(f"{root}/{top}{sub}")
    return Layout(folders, rng.integers(0, topics, size=(count, 3)))


def build_library(folder: Path, model_name: str, n: int, dim: int, root: str,
                  progress: Any = None) -> dict[str, Any]:
    """Write ``n`` passages into a new index at ``folder``; what was written."""
    from app.core.records import Chunk
    from app.core.store import IndexStore

    world = World.make(n, dim)
    rng = np.random.default_rng(SEED + 2)
    sizes = _file_sizes(rng, n)
    layout = _layout(rng, root, len(sizes), len(world.centres))
    exts = [e for e, _ in EXTENSIONS]
    ext_p = np.array([p for _, p in EXTENSIONS]) / sum(p for _, p in EXTENSIONS)
    now_ns = time.time_ns()
    store = IndexStore(folder, model_name, dim)
    try:
        with store.catalog.transaction():
            store.catalog.set_meta(MARK, "1")
        written = 0
        batch = 400  # files per transaction
        for start in range(0, len(sizes), batch):
            part = sizes[start:start + batch]
            fidx = np.arange(start, start + len(part))
            fold = rng.integers(0, len(layout.folders), size=len(part))
            own = rng.random(len(part)) < 0.7
            topic = np.where(own, layout.folder_topics[fold, rng.integers(0, 3, len(part))],
                             rng.integers(0, len(world.centres), len(part)))
            file_vecs = world.near(rng, topic, FILE_SPREAD)
            ext = rng.choice(len(exts), size=len(part), p=ext_p)
            mtimes = now_ns - (rng.random(len(part)) * YEARS * 365 * 86400 * 1e9).astype(np.int64)
            total = int(part.sum())
            owner = np.repeat(np.arange(len(part)), part)
            vecs = _unit(file_vecs[owner] + PASSAGE_SPREAD * rng.standard_normal(
                (total, dim)) / np.sqrt(dim))
            texts = _passages(world, rng, topic[owner])
            ids_all: list[int] = []
            with store.catalog.transaction():
                pos = 0
                for j, count in enumerate(part):
                    path = f"{layout.folders[fold[j]]}/file-{fidx[j]:07d}{exts[ext[j]]}"
                    mine = texts[pos:pos + count]
                    fid = store.catalog.put_file(path, os.path.dirname(path),
                                                 sum(len(t) for t in mine), int(mtimes[j]),
                                                 f"{fidx[j]:040x}", "indexed")
                    chunks = [Chunk(text=t, page=(k + 1) if exts[ext[j]] == ".pdf" else None,
                                    line_start=6 * k + 1, line_end=6 * k + 6, char_start=0,
                                    char_end=len(t)) for k, t in enumerate(mine)]
                    # With embeddings, add_chunks puts the file straight at stage 'meaning'.
                    ids_all += store.catalog.add_chunks(fid, path, chunks, vecs[pos:pos + count])
                    pos += count
            store.vectors.add(np.asarray(ids_all, dtype=np.uint64), vecs)
            written += total
            if progress is not None:
                progress(written, n)
        store.save()
    finally:
        store.close()
    return {"chunks": n, "files": len(sizes), "folders": len(layout.folders),
            "topics": len(world.centres)}


def _file_sizes(rng: np.random.Generator, n: int) -> np.ndarray:
    """Passages per file: most files short, a few long (geometric, mean about 5, at most 200)."""
    sizes = []
    left = n
    while left > 0:
        s = np.minimum(rng.geometric(0.2, size=max(16, left // 4)), 200)
        for v in s:
            v = int(min(v, left))
            sizes.append(v)
            left -= v
            if left == 0:
                break
    return np.array(sizes, dtype=np.int64)


def _passages(world: World, rng: np.random.Generator, topics: np.ndarray) -> list[str]:
    """One passage per entry of ``topics``: 40 to 200 words (mean 120), about an eighth topical."""
    lengths = rng.integers(40, 201, size=len(topics))
    total = int(lengths.sum())
    words = world.zipf_words(rng, total)
    topical = rng.random(total) < TOPIC_SHARE
    owner = np.repeat(np.arange(len(topics)), lengths)
    words[topical] = world.topic_words[topics[owner[topical]],
                                       rng.integers(0, TOPIC_WORDS, int(topical.sum()))]
    strings = world.vocab[words]
    ends = np.cumsum(lengths)
    return [" ".join(strings[e - size:e]) for e, size in zip(ends, lengths, strict=True)]


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
    from app.core.library import Library
    from app.core.paths import resolve_paths
    from app.core.search import Filters
    from app.core.settings import Settings

    world = World.make(n, dim)
    queries = make_queries(world, count + WARMUP)
    fake = InjectedQueries(model_name, dim)
    settings = Settings(model=model_name, reranker="", rerank=False)
    t0 = time.perf_counter()
    lib = Library(resolve_paths(data_dir), settings, embedder=fake)  # type: ignore[arg-type]
    searcher = lib.searcher()  # opens the catalog, loads and checks the vector file
    open_s = time.perf_counter() - t0
    sync = lib.sync_report.action if lib.sync_report else ""
    folder = f"{library_root(data_dir)}/{TOP_FOLDERS[0]}"  # with its subfolders: about 1/12
    cases = {"": Filters(), "filtered_": Filters(folder=folder),
             "type_filtered_": Filters(types=("pdf",))}
    out: dict[str, Any] = {"open_s": open_s, "open_sync": sync}
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
    out["open_parts_s"] = _open_parts(lib)
    lib.close()
    return out


def library_root(data_dir: Path) -> str:
    """Where the synthetic files would live (they are never written to disk)."""
    return str(Path(data_dir).resolve() / "library")


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
    from app.core import catalog_health
    from app.core.hashing import file_digest

    vectors = lib.store.vectors
    parts = {}
    for name, call in (("quick_check", lambda: catalog_health.damage(lib.index_folder)),
                       ("vector_checksum", lambda: file_digest(vectors.path)),
                       ("vector_load", vectors.load),
                       ("catalog_ids", lib.store.catalog.chunk_ids)):
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
    from app.core.query import parse_query

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
    from app.core.search import CANDIDATE_CHUNKS

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
        sims = qmat @ _unit(mat).T
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
        truth = best[prefix][1]  # fewer than k columns where the filter lets fewer through
        for qi, q in enumerate(queries):
            found, _ = store.vectors.search(q.vector, CANDIDATE_CHUNKS, allowed=allowed[prefix])
            hits += len(np.intersect1d(found[:k], truth[qi]))
        out[prefix.rstrip("_") or "none"] = hits / max(1, truth.size)
    return out


def _child_main() -> None:
    spec = json.loads(sys.argv[1])
    print(json.dumps(measure(Path(spec["data_dir"]), spec["model"], spec["dim"], spec["n"],
                             spec.get("queries", QUERIES))))


# -- the command ------------------------------------------------------------------------------
def run_scale(args: argparse.Namespace) -> int:
    from app.core.errors import KnownError
    from app.core.paths import resolve_paths
    from app.core.settings import load_settings
    from app.core.store import IndexStore, index_dir

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
        built = build_library(folder, name, n, dim, library_root(data_dir), progress)
        build_s = time.perf_counter() - t0
        if not quiet:
            print(file=sys.stderr)
        result: dict[str, Any] = {**built, "model": name, "dim": dim, "build_s": build_s,
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
    from app.core.models import resolve_model
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
    from app.core.store import describe_index

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
                           "from app.core.scale_bench import _child_main; _child_main()", spec],
                          capture_output=True, text=True, env=env,
                          cwd=str(Path(__file__).resolve().parents[2]), check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the measuring process failed:\n{done.stderr[-3000:]}")
    out: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    out["measure_s"] = time.perf_counter() - t0
    return out


def _rebuild_seconds(folder: Path, name: str, dim: int) -> float:
    """How long opening takes when the vector file is gone: rebuilt from the catalog, saved."""
    from app.core.store import VECTORS_FILE, IndexStore

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

    from app.core.backends.hardware import cpu_name

    return {"cpu": cpu_name(), "cores": os.cpu_count(), "machine": platform.machine(),
            "load_average": os.getloadavg()[0] if hasattr(os, "getloadavg") else None}


def _print_human(r: dict[str, Any]) -> None:
    print(f"{r['chunks']:,} passages in {r['files']:,} files, {r['folders']:,} folders "
          f"(built in {r['build_s']:.1f}s); machine: {r['cpu']}, {r['cores']} cores, "
          f"load {r['load_average']:.1f}")
    print(f"disk: catalog {r['catalog_mb']:.0f} MB + vectors {r['vectors_mb']:.0f} MB")
    print(f"open (fresh process): {r['open_s']:.2f}s; rebuild vectors from catalog: "
          f"{r['rebuild_s']:.1f}s; peak memory while searching: {r['peak_rss_mb']:.0f} MB")
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
        f"{k} {v:.3f}" for k, v in r["dense_recall_at_10"].items()))


__all__ = ["InjectedQueries", "World", "build_library", "make_queries", "measure", "run_scale"]
