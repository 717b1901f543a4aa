"""Real-folder benchmark: papers and books added to a fresh index, against Recoll on the same files.

    python -m tests.benchmarks.real_folder FOLDER [--scan-from PDF] [--no-recoll] [--no-overlap]
        [--model PATH_OR_ID] [--timeout 1800] [--until embedded|words] [--encoder-cache DIR]

FOLDER holds real files (for instance about 200 research papers, a few of them scanned, and a
few long plain-text books); it is read, never changed, except that with ``--scan-from`` a second
round adds a 30-page scan rasterised from that PDF (pdftoppm) and removes it afterwards.

Each round prints: seconds until every text file is findable by its words, until every passage
is embedded, OCR pages per minute (pages the OCR cache holds by then over the minutes since the
folder was added), peak RSS (Sift's process and its workers), and search latency while the stages
ran. Recoll (``recollindex -c CONFDIR``, pdftotext, no OCR) indexes the same folder in the same
run, as the reference line for the words figure. The model is loaded once before the rounds: its
first-launch cost is printed apart and is not in any round's figures.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sqlite3
import statistics
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from app.core.encoders.embedder import Embedder
from app.core.host.paths import resolve_paths
from app.core.library import Library
from app.core.service.folder_state import ServiceEvent
from app.core.service.index_service import IndexService
from app.core.settings import DEFAULT_MODEL, Settings

QUERIES = ["garbage collection of lists", "consensus in distributed systems", "type inference",
           "probabilistic counting", "the convict on the marshes", "lambda calculus reduction",
           "cache replacement policy", "leaves of grass", "byzantine failures", "monads"]
SCAN_PAGES = 30
SCAN_NAME = "zz-benchmark-scan-30-pages.pdf"


@dataclass
class Round:
    label: str
    words_s: float | None = None
    embedded_s: float | None = None
    files: int = 0
    passages: int = 0
    ocr_pages: int = 0
    ocr_minutes: float = 0.0
    peak_rss_mb: float = 0.0
    waiting: int = 0        # passages still without an embedding when the round ended
    seconds: float = 0.0    # how long the round ran
    searches: dict[str, list[float]] = field(default_factory=dict)


def rss_mb(proc: psutil.Process) -> float:
    """Resident memory of the process and its workers (PDF reader, OCR), in MiB."""
    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            continue
    return total / 2**20


def stage_counts(catalog: Path) -> tuple[int, int, int]:
    """(files at stage words, passages without embedding, indexed files), read-only."""
    conn = sqlite3.connect(f"file:{catalog}?mode=ro", uri=True, timeout=5)
    try:
        words = conn.execute("SELECT count(*) FROM files WHERE status = 'indexed' "
                             "AND stage = 'words'").fetchone()[0]
        pending = conn.execute("SELECT count(*) FROM chunks WHERE file_id IN (SELECT id FROM "
                               "files WHERE stage = 'words') AND length(embedding) = 0"
                               ).fetchone()[0]
        files = conn.execute("SELECT count(*) FROM files WHERE status = 'indexed'").fetchone()[0]
        return int(words), int(pending), int(files)
    finally:
        conn.close()


def ocr_pages(cache: Path) -> tuple[int, float]:
    """Pages the OCR cache holds, and the time of its latest write."""
    pages, latest = 0, 0.0
    for f in cache.glob("*.json") if cache.is_dir() else []:
        try:
            pages += len(json.loads(f.read_text(encoding="utf-8")).get("pages", {}))
            latest = max(latest, f.stat().st_mtime)
        except (OSError, ValueError):
            continue
    return pages, latest


def run_sift(folder: Path, root: Path, embedder: Embedder, model: str, label: str,
             overlap: bool, timeout: float, words_only: bool = False) -> Round:
    result = Round(label)
    settings = Settings(model=model, rerank=False, reranker="")
    lib = Library(resolve_paths(root / "data"), settings, embedder=embedder)
    if not overlap:
        make = lib.indexer

        def no_overlap():  # type: ignore[no-untyped-def]
            indexer = make()
            indexer.overlap = False
            return indexer

        lib.indexer = no_overlap  # type: ignore[method-assign]
    lib.add_folders([str(folder)])
    words_done = threading.Event()

    def on_event(event: ServiceEvent) -> None:
        p = event.progress
        if event.kind == "progress" and p is not None and p.stage in ("meaning", "done") \
                and p.words_total and not words_done.is_set():
            result.words_s = time.perf_counter() - started
            words_done.set()

    svc = IndexService(lib, watch=False, on_event=on_event)
    proc = psutil.Process()
    stop = threading.Event()

    def search_meanwhile() -> None:
        i = 0
        while not stop.wait(1.0):
            phase = "meaning" if words_done.is_set() else "words"
            began = time.perf_counter()
            svc.search(QUERIES[i % len(QUERIES)], limit=10, rerank=False)
            result.searches.setdefault(phase, []).append(time.perf_counter() - began)
            i += 1

    started, wall_start = time.perf_counter(), time.time()
    svc.start()
    searcher = threading.Thread(target=search_meanwhile, daemon=True)
    searcher.start()
    catalog = lib.index_folder / "catalog.sqlite"
    try:
        while time.perf_counter() - started < timeout:
            result.peak_rss_mb = max(result.peak_rss_mb, rss_mb(proc))
            if words_done.is_set() and words_only:
                break
            if words_done.is_set() and catalog.exists():
                words, pending, files = stage_counts(catalog)
                if words == 0 and pending == 0:
                    result.embedded_s = time.perf_counter() - started
                    result.files = files
                    break
            time.sleep(0.5)
        result.seconds = time.perf_counter() - started
        if result.embedded_s is None and catalog.exists():
            words, result.waiting, result.files = stage_counts(catalog)
        stats = svc.stats()
        result.passages = stats.chunks
        pages, latest = ocr_pages(lib.paths.cache_dir / "ocr")
        result.ocr_pages = pages
        result.ocr_minutes = max(latest - wall_start, 0.0) / 60 if pages else 0.0
    finally:
        stop.set()
        searcher.join(10)
        svc.shutdown(timeout=10)
    return result


def run_recoll(folder: Path, root: Path) -> float | None:
    """Seconds for `recollindex` to index ``folder`` from scratch (None: Recoll is not installed)."""
    if shutil.which("recollindex") is None:
        return None
    conf = root / "recoll"
    conf.mkdir(parents=True, exist_ok=True)
    (conf / "recoll.conf").write_text(f"topdirs = {folder}\n", encoding="utf-8")
    started = time.perf_counter()
    subprocess.run(["recollindex", "-c", str(conf), "-z"], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def make_scan(source: Path, out: Path, pages: int = SCAN_PAGES, dpi: int = 150) -> None:
    """A scanned-looking PDF: ``pages`` pages of ``source`` as grey images, no text layer."""
    from PIL import Image

    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["pdftoppm", "-r", str(dpi), "-gray", "-f", "1", "-l", str(pages),
                        "-png", str(source), f"{tmp}/p"], check=True)
        images = [Image.open(p).convert("L") for p in sorted(Path(tmp).glob("p*.png"))]
        if len(images) < pages:
            raise SystemExit(f"{source} has fewer than {pages} pages")
        images[0].save(out, "PDF", resolution=float(dpi), save_all=True,
                       append_images=images[1:])


def median_ms(values: list[float]) -> str:
    if not values:
        return "-"
    ordered = sorted(values)
    return (f"median {statistics.median(ordered) * 1000:.0f} ms, "
            f"max {ordered[-1] * 1000:.0f} ms ({len(ordered)} searches)")


def report(r: Round, recoll: float | None) -> None:
    def s(v: float | None) -> str:
        return "not reached" if v is None else f"{v:.1f} s"

    print(f"\n== {r.label}")
    print(f"  findable by words   : {s(r.words_s)}"
          + (f"   (Recoll, same folder, this run: {recoll:.1f} s)" if recoll else ""))
    print(f"  fully embedded      : {s(r.embedded_s)}  ({r.files} files, {r.passages} passages)")
    if r.embedded_s is None and r.seconds:
        done = r.passages - r.waiting
        print(f"    by then           : {done} of {r.passages} passages embedded in "
              f"{r.seconds:.0f} s ({done / r.seconds:.1f} passages/s overall)")
    rate = r.ocr_pages / r.ocr_minutes if r.ocr_minutes else 0.0
    print(f"  OCR                 : {r.ocr_pages} pages in {r.ocr_minutes:.1f} min"
          f" = {rate:.1f} pages/min")
    print(f"  peak RSS            : {r.peak_rss_mb:.0f} MiB (Sift and its workers)")
    for phase, values in r.searches.items():
        print(f"  search while {phase:7s}: {median_ms(values)}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("folder", type=Path)
    ap.add_argument("--model", default=DEFAULT_MODEL)
    ap.add_argument("--scan-from", type=Path, help="a PDF whose first 30 pages become a scan")
    ap.add_argument("--no-recoll", action="store_true")
    ap.add_argument("--no-overlap", action="store_true",
                    help="embed only after the words stage (the behaviour before)")
    ap.add_argument("--timeout", type=float, default=1800.0, help="per round, seconds")
    ap.add_argument("--until", choices=("embedded", "words"), default="embedded",
                    help="end each round once everything is embedded, or findable by words")
    ap.add_argument("--encoder-cache", type=Path, default=Path(tempfile.gettempdir()) /
                    "sift-real-folder-encoders",
                    help="kept between runs: the backend is chosen once, not at every run")
    args = ap.parse_args()
    folder = args.folder.resolve()
    with tempfile.TemporaryDirectory(prefix="sift-real-") as tmp:
        root = Path(tmp)
        began = time.perf_counter()
        embedder = Embedder(args.model, cache_dir=args.encoder_cache)
        embedder.load()
        print(f"model {embedder.name} ({embedder.info.backend}) loaded in "
              f"{time.perf_counter() - began:.1f} s, before the rounds")
        rounds: list[tuple[Round, float | None]] = []
        recoll = None if args.no_recoll else run_recoll(folder, root / "r1")
        label = "the folder" + (" (no overlap)" if args.no_overlap else "")
        words_only = args.until == "words"
        rounds.append((run_sift(folder, root / "s1", embedder, args.model, label,
                                not args.no_overlap, args.timeout, words_only), recoll))
        report(*rounds[-1])
        if args.scan_from is not None:
            scan = folder / SCAN_NAME
            make_scan(args.scan_from, scan)
            try:
                recoll = None if args.no_recoll else run_recoll(folder, root / "r2")
                rounds.append((run_sift(folder, root / "s2", embedder, args.model,
                                        f"{label} + one {SCAN_PAGES}-page scan",
                                        not args.no_overlap, args.timeout, words_only),
                               recoll))
                report(*rounds[-1])
            finally:
                scan.unlink(missing_ok=True)
        if len(rounds) == 2 and rounds[0][0].words_s and rounds[1][0].words_s:
            moved = rounds[1][0].words_s - rounds[0][0].words_s
            print(f"\nthe scan moved the words figure by {moved:+.1f} s")


if __name__ == "__main__":
    main()
