"""Quit latency: stop Sift at random moments of indexing; how long until it is gone, and how it ends.

    python -m tests.benchmarks.quit_latency [--tries 20] [--files 300] [--model PATH_OR_ID]

Three ways to quit, each at ``--tries`` random moments of a first index of a fresh data folder:
the service's shutdown path in this process (what the window's Quit calls), `sift watch` sent
SIGTERM, and `sift index` sent SIGINT (Ctrl-C). After each, the index must reopen consistent.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import shutil
import signal
import statistics
import tempfile
import threading
import time
from pathlib import Path

from app.core.host.paths import resolve_paths
from app.core.library import Library
from app.core.service.index_service import IndexService, ServiceEvent
from app.core.settings import DEFAULT_MODEL, Settings, save_settings
from app.core.storage.store import IndexStore, describe_index

WORDS = ["river", "budget", "meeting", "invoice", "landlord", "puppy", "protein", "valve", "ocean",
         "report", "physics", "python", "deposit", "tenant", "mountain", "harvest"]


def make_corpus(folder: Path, files: int, rng: random.Random) -> None:
    for i in range(files):
        sub = folder / f"part{i % 6}"
        sub.mkdir(parents=True, exist_ok=True)
        body = "\n".join(" ".join(rng.choice(WORDS) for _ in range(14)) for _ in range(40))
        (sub / f"doc{i:04d}.txt").write_text(f"Document {i}.\n{body}\n", encoding="utf-8")


def consistent(data: Path) -> bool:
    """What a restart does first: open the catalog and compare it with the vector index."""
    indexes = [p for p in (data / "indexes").iterdir() if p.is_dir()] if (data / "indexes").exists() \
        else []
    for folder in indexes:
        meta = describe_index(folder)
        if not meta.get("dim"):
            continue
        store = IndexStore(folder, meta["model"], int(meta["dim"]), readonly=True)
        try:
            store.open_vectors()
            if not store.consistent():
                return False
        finally:
            store.catalog.close()
    return True


def fresh_data(root: Path, name: str, corpus: Path, model: str) -> Path:
    """A data folder with nothing indexed, whose encoder backend was already chosen.

    The one-time backend choice (minutes-long benchmarks of torch, ONNX…) is copied in from a
    warm-up, so that the quits land in indexing, as they do for a user after the first day.
    """
    data = root / name
    data.mkdir(parents=True)
    save_settings(data / "settings.json", Settings(folders=(str(corpus),), model=model))
    warm = root / "warm-cache"
    if not warm.exists():
        lib = Library(resolve_paths(root / "warm"), Settings(model=model))
        lib.embedder.load()
        lib.close()
        shutil.copytree(root / "warm" / "cache", warm)
    shutil.copytree(warm, data / "cache")
    return data


def indexing_service(data: Path, *, watch: bool) -> tuple[IndexService, threading.Event]:
    """A started service, and an event set when it reports its first progress (model loaded)."""
    started = threading.Event()

    def on_event(ev: ServiceEvent) -> None:
        if ev.kind == "progress":
            started.set()

    svc = IndexService(Library(resolve_paths(data)), watch=watch, on_event=on_event)
    svc.start()
    return svc, started


def in_process(root: Path, corpus: Path, model: str, tries: int, window: float,
               rng: random.Random) -> tuple[list[float], list[str]]:
    """The service's shutdown at a random moment of indexing (the window's Quit)."""
    latencies, outcomes = [], []
    for i in range(tries):
        data = fresh_data(root, f"svc{i}", corpus, model)
        svc, started = indexing_service(data, watch=True)
        started.wait(120)
        time.sleep(rng.uniform(0.0, window))
        t0 = time.perf_counter()
        in_time = svc.shutdown()
        latencies.append(time.perf_counter() - t0)
        deadline = time.monotonic() + 120
        while svc.stranded and time.monotonic() < deadline:  # a batch finishing on its own
            time.sleep(0.05)
        outcome = "writer stopped in time" if in_time else "batch finished after return"
        outcomes.append(outcome if consistent(data) else "INCONSISTENT")
    return latencies, outcomes


def cancel_in_process(root: Path, corpus: Path, model: str, tries: int, window: float,
                      rng: random.Random) -> tuple[list[float], list[str]]:
    """Cancel at a random moment of indexing: how long until the writer has stopped its job.

    The folders' state says "incomplete" at once; the latency is the writer reaching its next
    checkpoint (the end of the encoder slice in hand).
    """
    latencies, outcomes = [], []
    for i in range(tries):
        data = fresh_data(root, f"cancel{i}", corpus, model)
        svc, started = indexing_service(data, watch=False)
        started.wait(120)
        time.sleep(rng.uniform(0.0, window))
        t0 = time.perf_counter()
        svc.cancel()
        states = {s.state for s in svc.folder_states()}
        shown = time.perf_counter() - t0
        idle = svc.wait_idle(30.0)
        latencies.append(time.perf_counter() - t0)
        outcomes.append(("stopped" if idle else "STILL BUSY")
                        + f", shown {'/'.join(sorted(states))} after {shown * 1000:.0f} ms")
        svc.shutdown()
    return latencies, outcomes


def in_child(root: Path, corpus: Path, model: str, tries: int, window: float, command: str,
             sig: int, rng: random.Random) -> tuple[list[float], list[str]]:
    """`sift watch` / `sift index` forked from a helper that imported torch once; signalled."""
    from tests.core.indexing.test_crash import Runner

    runner = Runner(Path(__file__).resolve().parents[2])
    latencies, outcomes = [], []
    try:
        for i in range(tries):
            data = fresh_data(root, f"{command}{i}", corpus, model)
            pid = runner.start(["--data-dir", str(data), command])
            time.sleep(rng.uniform(1.0, window))
            t0 = time.perf_counter()
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
            status = runner.status()
            latencies.append(time.perf_counter() - t0)
            code = (f"exit {os.WEXITSTATUS(status)}" if os.WIFEXITED(status)
                    else f"signal {os.WTERMSIG(status)}")
            outcomes.append(code + ("" if consistent(data) else " INCONSISTENT"))
    finally:
        runner.close()
    return latencies, outcomes


def report(label: str, latencies: list[float], outcomes: list[str]) -> None:
    counts: dict[str, int] = {}
    for o in outcomes:
        counts[o] = counts.get(o, 0) + 1
    print(f"{label:32} n={len(latencies):3}  p50 {statistics.median(latencies) * 1000:7.0f} ms"
          f"  max {max(latencies) * 1000:7.0f} ms  outcomes: "
          + ", ".join(f"{k} ×{v}" for k, v in sorted(counts.items())), flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tries", type=int, default=20)
    ap.add_argument("--files", type=int, default=300)
    ap.add_argument("--model", default=DEFAULT_MODEL)
    ap.add_argument("--window", type=float, default=8.0, help="latest quit moment, seconds")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    # Started in the background (nohup, `&` in a script), this process and every child inherit
    # SIGINT ignored, and `sift index` rightly keeps it so: Ctrl-C would measure nothing. A
    # handler here is reset to the default in each child, as a terminal's Ctrl-C finds it.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="sift-quit-") as tmp:
        root = Path(tmp)
        corpus = root / "corpus"
        make_corpus(corpus, args.files, rng)
        print(f"{args.files} files, model {args.model}, quit {args.tries}× at random moments "
              f"of the first index", flush=True)
        report("service shutdown (window Quit)",
               *in_process(root, corpus, args.model, args.tries, args.window, rng))
        report("cancel (Cancel button)",
               *cancel_in_process(root, corpus, args.model, args.tries, args.window, rng))
        if hasattr(os, "fork"):
            report("sift watch, SIGTERM", *in_child(root, corpus, args.model, args.tries,
                                                    args.window + 2, "watch", signal.SIGTERM, rng))
            report("sift index, SIGINT (Ctrl-C)", *in_child(root, corpus, args.model, args.tries,
                                                            args.window + 2, "index",
                                                            signal.SIGINT, rng))


if __name__ == "__main__":
    main()
