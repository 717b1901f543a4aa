"""Instant answers: how soon Sift answers, and how fast, while it loads and while it indexes.

    python -m tests.benchmarks.instant [--pdfs 120] [--queries 40] [--model ID] [--keep DIR]

Prints: the first start ever (backend check and export, once per machine and model); on a folder
of PDFs made from SciFact abstracts, the time until every file is findable by its words and the
time until the index is complete; search latency (p50/p95) while each stage runs and idle;
launch → first keyword answer and launch → first meaning answer of a fresh process (the
window's start, without the window); `sift search` in a fresh process, alone and with a
running `sift watch` answering it, and whether both give the same files in the same order.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

from app.core.host.paths import resolve_paths
from app.core.library import Library
from app.core.records import Progress
from app.core.service.index_service import lower_thread_priority
from app.core.settings import DEFAULT_MODEL, Settings
from tests.pdf_samples import pdf_bytes

REPO = Path(__file__).resolve().parents[2]
SCIFACT = REPO.parent / "shared" / "data" / "ir" / "scifact"
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
       "PYTHONPATH": str(REPO)}

LAUNCH = r"""
import json, sys, time
launch = float(sys.argv[1])
from app.core.library import Library
from app.core.host.paths import resolve_paths
from app.core.service.index_service import IndexService
lib = Library(resolve_paths(sys.argv[2]))
svc = IndexService(lib, watch=False)
svc.start()  # as the window does: the writer opens the index and loads the model meanwhile
first_kw = first_sem = None
kw_semantic = False
while first_sem is None and time.time() - launch < 120:
    resp = svc.search(sys.argv[3], rerank=False)
    now = time.time() - launch
    if resp.hits and first_kw is None:
        first_kw = now
        kw_semantic = resp.semantic
    if resp.hits and resp.semantic:
        first_sem = now
    time.sleep(0.01)
print(json.dumps({"keyword": first_kw, "keyword_was_semantic": kw_semantic, "meaning": first_sem,
                  "torch": "torch" in sys.modules}))
svc.stop()
lib.close()
"""


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def line(label: str, value: str) -> None:
    print(f"  {label:<48} {value}", flush=True)


def ms(values: list[float]) -> str:
    return (f"p50 {pct(values, 50) * 1e3:6.1f} ms   p95 {pct(values, 95) * 1e3:6.1f} ms   "
            f"(n={len(values)})")


def load_scifact(n_docs: int, n_queries: int) -> tuple[list[str], list[str]]:
    docs: list[str] = []
    with open(SCIFACT / "corpus.jsonl", encoding="utf-8") as f:
        for row in f:
            d = json.loads(row)
            docs.append(f"{d.get('title', '')}\n{d['text']}")
            if len(docs) >= n_docs:
                break
    queries: list[str] = []
    with open(SCIFACT / "queries.jsonl", encoding="utf-8") as f:
        for row in f:
            queries.append(json.loads(row)["text"])
            if len(queries) >= n_queries:
                break
    return docs, queries


def marker(i: int) -> str:
    return f"zqmarker{i:04d}"


def make_pdfs(folder: Path, docs: list[str], n: int, pages: int = 4) -> None:
    """``n`` PDFs of ``pages`` abstracts each; page 1 holds a word no other file has."""
    folder.mkdir(parents=True)
    for i in range(n):
        texts = []
        for p in range(pages):
            body = docs[(i * pages + p) % len(docs)]
            if p == 0:
                body = f"Reference {marker(i)}.\n{body}"
            safe = body.encode("cp1252", "replace").decode("cp1252")
            texts.append("\n".join(textwrap.wrap(safe, 90)))
        (folder / f"paper-{i:04d}.pdf").write_bytes(pdf_bytes(texts))


def first_start(data: Path, model: str) -> None:
    """The one-time cost: choose the backend (checked against float32) and export for queries."""
    t0 = time.perf_counter()
    lib = Library(resolve_paths(data), Settings(model=model, rerank=False))
    info = lib.embedder.load()
    t1 = time.perf_counter()
    ready = lib.embedder.export_queries()
    t2 = time.perf_counter()
    lib.save_settings()
    lib.close()
    line("first start ever: model + backend check", f"{t1 - t0:6.1f} s   ({info.backend})")
    line("first start ever: query encoder export", f"{t2 - t1:6.1f} s   (ready: {ready})")


def index_pdfs(data: Path, pdfs: Path, n: int, queries: list[str]) -> None:
    lib = Library(resolve_paths(data))
    lib.embedder.prepare_queries()
    stage = {"now": "words", "words_at": None}
    started = time.perf_counter()

    def progress(p: Progress) -> None:
        if p.stage == "meaning" and stage["words_at"] is None:
            stage["words_at"] = time.perf_counter() - started
        stage["now"] = p.stage or stage["now"]

    result: dict[str, object] = {}

    def run() -> None:
        lower_thread_priority()  # as the app's writer thread does
        result.update(report=lib.index([str(pdfs)], progress))

    worker = threading.Thread(target=run)
    worker.start()
    lat: dict[str, list[float]] = {"words": [], "meaning": []}
    findable_at = None
    i = 0
    while worker.is_alive():
        now_stage = stage["now"]
        t = time.perf_counter()
        lib.search(queries[i % len(queries)], rerank=False)
        if now_stage in lat and worker.is_alive():
            lat[now_stage].append(time.perf_counter() - t)
        i += 1
        if findable_at is None and stage["words_at"] is not None:
            found = sum(1 for k in range(n) if _found(lib, k))
            findable_at = time.perf_counter() - started
            line("files findable by their words when checked", f"{found}/{n}")
        time.sleep(0.05)  # a person types; a query every ~50 ms is a fast typist
    worker.join()
    total = time.perf_counter() - started
    report = result["report"]
    line("PDFs", f"{n} ({report.added} added, {report.skipped} skipped, "  # type: ignore[attr-defined]
         f"{report.chunks} passages)")  # type: ignore[attr-defined]
    line("every file findable by its words after", f"{stage['words_at'] or total:6.1f} s")
    line("index complete (every passage embedded) after", f"{total:6.1f} s")
    line("search while indexing: words stage", ms(lat["words"]))
    line("search while indexing: meaning stage", ms(lat["meaning"]))
    idle = []
    for q in queries * 2:
        t = time.perf_counter()
        lib.search(q, rerank=False)
        idle.append(time.perf_counter() - t)
    line("search idle", ms(idle))
    assert all(_found(lib, k) for k in range(n)), "a file is not findable by its words"
    lib.close()


def _found(lib: Library, k: int) -> bool:
    hits = lib.search(marker(k), limit=3, rerank=False).hits
    return any(h.path.endswith(f"paper-{k:04d}.pdf") for h in hits)


def launch_to_answers(data: Path, query: str, label: str) -> None:
    launch = time.time()
    out = subprocess.run([sys.executable, "-c", LAUNCH, str(launch), str(data), query],
                         capture_output=True, text=True, env=ENV, cwd=REPO, timeout=300)
    if out.returncode != 0:
        print(out.stderr[-2000:])
        return
    r = json.loads(out.stdout.strip().splitlines()[-1])
    kw, sem = r["keyword"], r["meaning"]
    line(f"launch → first keyword answer ({label})", "none" if kw is None else f"{kw:6.2f} s"
         + ("  (already with meaning)" if r["keyword_was_semantic"] else ""))
    line(f"launch → first meaning answer ({label})", "none" if sem is None else f"{sem:6.2f} s")


def cli_search(data: Path, query: str) -> tuple[float, list[str]]:
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "app", "--data-dir", str(data), "search",
                          "--json", "--no-rerank", query],
                         capture_output=True, text=True, env=ENV, cwd=REPO, timeout=300)
    took = time.perf_counter() - t0
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-2000:])
    return took, [r["path"] for r in json.loads(out.stdout)["results"]]


def cli(data: Path, queries: list[str], runs: int) -> None:
    from app.core.ipc import ask_alive

    alone = [cli_search(data, q) for q in queries[:runs]]
    line("`sift search`, fresh process, no Sift running",
         f"median {statistics.median(t for t, _ in alone):5.2f} s   "
         f"max {max(t for t, _ in alone):5.2f} s")
    watch = subprocess.Popen([sys.executable, "-m", "app", "--data-dir", str(data), "watch"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV,
                             cwd=REPO)
    try:
        deadline = time.time() + 120
        while not ask_alive(data) and time.time() < deadline:
            time.sleep(0.2)
        served = [cli_search(data, q) for q in queries[:runs]]
    finally:
        watch.send_signal(signal.SIGTERM)
        watch.wait(30)
    line("`sift search`, fresh process, `sift watch` running",
         f"median {statistics.median(t for t, _ in served):5.2f} s   "
         f"max {max(t for t, _ in served):5.2f} s")
    same = sum(a[1] == b[1] for a, b in zip(alone, served, strict=True))
    line("same files in the same order either way", f"{same}/{len(alone)} queries")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--pdfs", type=int, default=120)
    p.add_argument("--queries", type=int, default=40)
    p.add_argument("--cli-runs", type=int, default=5)
    p.add_argument("--model", default=DEFAULT_MODEL)
    p.add_argument("--keep", help="work in this folder and keep it")
    args = p.parse_args()
    os.environ.update({k: v for k, v in ENV.items() if k != "PYTHONPATH"})
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="sift-instant-"))
    shutil.rmtree(work / "data", ignore_errors=True)
    shutil.rmtree(work / "pdfs", ignore_errors=True)
    try:
        docs, queries = load_scifact(args.pdfs * 4, args.queries)
        make_pdfs(work / "pdfs", docs, args.pdfs)
        print(f"Instant answers ({args.model}, {os.cpu_count()} CPUs)", flush=True)
        first_start(work / "data", args.model)
        index_pdfs(work / "data", work / "pdfs", args.pdfs, queries)
        launch_to_answers(work / "data", queries[0], "first launch")
        launch_to_answers(work / "data", queries[1], "next launch")
        cli(work / "data", queries, args.cli_runs)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
