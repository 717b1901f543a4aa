"""Freshness benchmark: how soon a saved file is searchable, and a burst of new files vs a full index.

    python -m tests.benchmarks.freshness [--model PATH_OR_ID] [--edits 50] [--burst 2000]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from app.core.host.paths import resolve_paths
from app.core.library import Library
from app.core.service.index_service import IndexService, lower_thread_priority
from app.core.settings import DEFAULT_MODEL, Settings

TOPICS = ["river", "budget", "meeting", "invoice", "landlord", "puppy", "protein", "valve",
          "ocean", "report", "physics", "python", "deposit", "tenant", "mountain", "harvest"]


@dataclass
class Result:
    label: str
    value: str


def note(i: int, word: str) -> str:
    """A small note on a couple of topics, with a word no other file has."""
    a, b = TOPICS[i % len(TOPICS)], TOPICS[(i * 7 + 3) % len(TOPICS)]
    return (f"Notes on the {a} and the {b}, number {i}.\n"
            f"Keep in mind the {a} before the next {b} review. Marker: {word}\n")


def searchable(svc: IndexService, word: str, path: Path) -> tuple[bool, float]:
    """Whether ``path`` is found for its marker word, and how long the search took."""
    started = time.perf_counter()
    hits = svc.search(f'"{word}"', limit=5, rerank=False).hits
    return any(h.path == str(path) for h in hits), time.perf_counter() - started


def wait_searchable(svc: IndexService, word: str, path: Path, timeout: float = 120.0) -> float:
    """Seconds from now until ``path`` is returned for ``word``."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if searchable(svc, word, path)[0]:
            return time.perf_counter() - started
        time.sleep(0.02)
    raise TimeoutError(f"{path} was not searchable after {timeout:.0f}s")


def freshness(svc: IndexService, folder: Path, edits: int) -> list[float]:
    """Write one file at a time and time until a search for its new word returns it."""
    latencies = []
    for i in range(edits):
        path = folder / f"edited{i % 10}.txt"  # the first ten are new files, then edits
        word = f"fresh{i}marker"
        started = time.perf_counter()
        path.write_text(note(i, word), encoding="utf-8")
        wait_searchable(svc, word, path)
        latencies.append(time.perf_counter() - started)
    return latencies


def burst(svc: IndexService, folder: Path, count: int) -> tuple[float, list[float]]:
    """Drop ``count`` new files at once; seconds until all are searchable, and search latencies."""
    target = folder / "burst"
    target.mkdir()
    started = time.perf_counter()
    for i in range(count):
        (target / f"b{i:05d}.txt").write_text(note(i, f"burst{i}marker"), encoding="utf-8")
    search_times: list[float] = []
    expected = svc.stats().files + count
    while svc.stats().files < expected or svc.busy:
        # A user searching meanwhile: answered from what is indexed so far.
        search_times.append(searchable(svc, "burst0marker", target / "b00000.txt")[1])
        time.sleep(0.2)
    for i in (0, count // 2, count - 1):
        wait_searchable(svc, f"burst{i}marker", target / f"b{i:05d}.txt")
    return time.perf_counter() - started, search_times


def full_index(settings: Settings, lib: Library, source: Path, root: Path) -> float:
    """The same files indexed from scratch by `Library.index` (model already loaded).

    On a background thread at the same low priority as the service's writer: torch's threads
    behave very differently on the main thread of a busy machine, which would skew the comparison.
    """
    copy = root / "scratch-copy"
    shutil.copytree(source, copy)
    fresh = Library(resolve_paths(root / "scratch-data"), settings, embedder=lib.embedder)
    took: list[float] = []

    def work() -> None:
        lower_thread_priority()
        started = time.perf_counter()
        fresh.index([str(copy)])
        took.append(time.perf_counter() - started)

    try:
        worker = threading.Thread(target=work, name="scratch-index")
        worker.start()
        worker.join()
    finally:
        fresh.release()
    return took[0]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run(model: str, backend: str, edits: int, count: int) -> list[Result]:
    with tempfile.TemporaryDirectory(prefix="sift-fresh-") as tmp:
        root = Path(tmp)
        folder = root / "docs"
        folder.mkdir()
        for i in range(20):
            (folder / f"seed{i}.txt").write_text(note(i, f"seed{i}marker"), encoding="utf-8")
        settings = Settings(model=model, backend=backend, rerank=False, reranker="")
        lib = Library(resolve_paths(root / "data"), settings)
        lib.add_folders([str(folder)])
        svc = IndexService(lib)
        svc.start()
        try:
            if not svc.wait_idle(600):
                raise TimeoutError("the first index did not finish")
            latencies = freshness(svc, folder, edits)
            burst_s, search_times = burst(svc, folder, count)
        finally:
            svc.stop()
        scratch_s = full_index(settings, lib, folder / "burst", root)
        lib.close()
    ms = [1000 * t for t in search_times] or [0.0]
    return [
        Result("model", f"{lib.embedder.name} ({backend})"),
        Result(f"write → searchable, p50 of {edits} edits", f"{1000 * statistics.median(latencies):.0f} ms"),
        Result(f"write → searchable, p95 of {edits} edits", f"{1000 * percentile(latencies, 0.95):.0f} ms"),
        Result(f"burst of {count} new files → all searchable", f"{burst_s:.1f} s"),
        Result(f"Library.index of the same {count} files", f"{scratch_s:.1f} s"),
        Result("search while the burst is indexed, p50 / max",
               f"{statistics.median(ms):.0f} / {max(ms):.0f} ms ({len(ms)} searches)"),
    ]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.benchmarks.freshness", description=__doc__)
    p.add_argument("--model", default=DEFAULT_MODEL, help="model id or folder")
    p.add_argument("--backend", default="auto")
    p.add_argument("--edits", type=int, default=50)
    p.add_argument("--burst", type=int, default=2000)
    args = p.parse_args(argv)
    results = run(args.model, args.backend, args.edits, args.burst)
    width = max(len(r.label) for r in results)
    print()
    for r in results:
        print(f"  {r.label:<{width}}  {r.value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
