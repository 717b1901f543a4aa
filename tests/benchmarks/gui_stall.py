"""How smooth the window stays while indexing: the longest event-loop stall (target ≤ 50 ms).

A 10 ms precise QTimer records how late each tick is while a folder of a few thousand files is
indexed, and a simulated user types into the search box (so searches run too) and scrolls the
results. Not collected by pytest. Run (offscreen, or under Xvfb with DISPLAY set):

    QT_QPA_PLATFORM=offscreen .venv/bin/python tests/benchmarks/gui_stall.py --files 3000 --seconds 120
"""

from __future__ import annotations

import argparse
import collections
import gc
import json
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
CORPUS = Path("/work/shared/data/ir/scifact/corpus.jsonl")
TICK_MS = 10
MEASURING: list[bool] = []  # non-empty while measuring (handlers before it don't count)
QUERIES = ("vitamin D and bone fractures", "does smoking cause lung cancer", "gut bacteria and obesity",
           "antibiotic resistance in hospitals", "sleep and memory consolidation")


def write_papers(target: Path, count: int, corpus: Path = CORPUS) -> int:
    """Scientific abstracts (BEIR SciFact) as text files: a realistic folder of many small files."""
    target.mkdir(parents=True, exist_ok=True)
    written = 0
    with corpus.open(encoding="utf-8") as f:
        for line in f:
            if written >= count:
                break
            doc = json.loads(line)
            name = re.sub(r"[^\w\- ]+", "", doc["title"])[:60].strip() or doc["_id"]
            (target / f"{name} {doc['_id']}.txt").write_text(f"{doc['title']}\n\n{doc['text']}\n",
                                                           encoding="utf-8")
            written += 1
    return written


def time_slots() -> dict[str, list[float]]:
    """Time the window's own handlers (patched on the classes, before any signal is connected),
    to tell our work on the GUI thread from other causes of lateness."""
    from app.gui.controller import Controller
    from app.gui.folders_panel import FoldersPanel
    from app.gui.main_window import MainWindow
    from app.gui.preview import PreviewPane
    from app.gui.results_view import ResultsView
    from app.gui.status_bar import StatusBar

    slots: dict[str, list[float]] = {}
    # Garbage collection runs on whichever thread triggers it, holding the GIL: time it too.
    collections = slots.setdefault("gc (any thread)", [])
    started: list[float] = []

    def on_gc(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started[:] = [time.perf_counter()]
        elif started and MEASURING:
            ms = (time.perf_counter() - started[0]) * 1000
            collections.append(ms)
            if ms > 20:
                print(f"  gc of generation {info['generation']} took {ms:.0f} ms "
                      f"({info['collected']} collected, {gc.get_freeze_count()} frozen, "
                      f"{len(gc.get_objects())} tracked)", flush=True)

    gc.callbacks.append(on_gc)
    targets = [(MainWindow, "show_response"), (MainWindow, "_show_folders"), (MainWindow, "_progress"),
               (MainWindow, "_text_changed"), (MainWindow, "search_now"), (StatusBar, "set_stats"),
               (ResultsView, "set_response"), (PreviewPane, "show_passage"), (PreviewPane, "_render"),
               (FoldersPanel, "set_folders"), (Controller, "_on_event"), (Controller, "_refreshed")]
    for cls, name in targets:
        original = getattr(cls, name)
        times = slots.setdefault(f"{cls.__name__}.{name}", [])

        def timed(self: Any, *a: Any, _f: Any = original, _t: list[float] = times, **k: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return _f(self, *a, **k)
            finally:
                if MEASURING:
                    _t.append((time.perf_counter() - t0) * 1000)

        setattr(cls, name, timed)
    return slots


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=3000)
    parser.add_argument("--seconds", type=float, default=120.0, help="stop measuring after this long")
    parser.add_argument("--model", help="embedding model (default: the app's default)")
    parser.add_argument("--no-typing", action="store_true", help="measure without a simulated user")
    parser.add_argument("--switch-ms", type=float, help="sys.setswitchinterval, in ms (default: the app's)")
    parser.add_argument("--normal-priority", action="store_true",
                        help="leave the indexing thread at normal priority (the service lowers it)")
    parser.add_argument("--baseline", action="store_true",
                        help="the same, without indexing: what the machine itself adds")
    parser.add_argument("--data-dir", help="an existing library to open (with --baseline: typing "
                        "over it, e.g. the million passages `sift bench --scale` keeps there)")
    args = parser.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    home = Path(tempfile.mkdtemp(prefix="sift-stall-"))
    folder = home / "papers"
    n = 0 if args.baseline and args.data_dir else write_papers(folder, args.files)
    data = Path(args.data_dir) if args.data_dir else home / "data"
    if args.model:
        from app.core.settings import Settings, save_settings

        data.mkdir()
        save_settings(data / "settings.json", Settings(model=args.model))

    from PySide6.QtCore import Qt, QTimer

    from app.gui.application import StartupClock, launch, make_application, parse_args

    app = make_application([])
    if args.normal_priority:
        import app.core.service.writer_jobs as service_module

        service_module.lower_thread_priority = lambda: None
    if args.switch_ms is not None:
        sys.setswitchinterval(args.switch_ms / 1000)
    slots = time_slots()
    window, loader = launch(parse_args(["--data-dir", str(data), "--no-watch"]), StartupClock(False))

    def failed(exc: object) -> None:
        print(f"the engine did not load: {exc}", file=sys.stderr)
        window.close()

    loader.failed.connect(failed)
    c = window.controller
    lateness: list[tuple[float, float, float]] = []  # (s since start, ms late, GUI-thread CPU ms)
    state = {"phase": "loading", "last": 0.0, "t0": 0.0, "typed": 0}

    def tick() -> None:
        # CPU time tells a busy GUI thread (our own work) from a waiting one (GIL, other processes).
        now, cpu = time.perf_counter(), time.thread_time()
        if state["phase"] == "indexing":
            lateness.append((now - state["t0"], (now - state["last"]) * 1000 - TICK_MS,
                             (cpu - state.get("cpu", cpu)) * 1000))
        state["last"], state["cpu"] = now, cpu

    def user() -> None:
        """Type a query one key at a time (each key restarts the debounce), then scroll the results."""
        if state["phase"] != "indexing":
            return
        query = QUERIES[int(state["typed"]) // 40 % len(QUERIES)]
        i = int(state["typed"]) % 40
        window.search_box.setText(query[: i + 1] if i < len(query) else query)
        view = window.results_view
        view.verticalScrollBar().setValue((view.verticalScrollBar().value() + 40)
                                          % max(1, view.verticalScrollBar().maximum() + 1))
        state["typed"] += 1

    def control() -> None:
        phase = state["phase"]
        # Measured once the loader's one-time warm-up (reranker imports) is over: steady indexing.
        # An existing library is measured as opened: its start-up checks may still be running.
        settled = bool(args.data_dir) or not c.service.busy if c.ready else False
        if phase == "loading" and c.ready and settled and not loader.running:
            state["phase"] = "indexing"
            MEASURING.append(True)
            if os.environ.get("SIFT_STALL_HISTOGRAM"):
                state["hist"] = collections.Counter(type(o).__name__ for o in gc.get_objects())
                state["modules"] = set(sys.modules)
            state["t0"] = state["last"] = time.perf_counter()
            if args.baseline:
                window.add_folders([str(ROOT / "resources" / "sample")])  # something to search
            else:
                window.add_folders([str(folder)])
            print("measuring the baseline…" if args.baseline else f"indexing {n} files…", flush=True)
        elif phase == "indexing":
            elapsed = time.perf_counter() - state["t0"]
            done = elapsed > 3 and not c.service.busy and not args.baseline
            if done or elapsed > args.seconds:
                state["phase"] = "done"
                MEASURING.clear()
                if "hist" in state:
                    grown = collections.Counter(type(o).__name__ for o in gc.get_objects()) - state["hist"]
                    print("objects that piled up:", grown.most_common(12), flush=True)
                    new = sorted({m.split(".")[0] for m in set(sys.modules) - state["modules"]})
                    print(f"{len(set(sys.modules) - state['modules'])} modules imported meanwhile, from:",
                          new, flush=True)
                state["elapsed"] = elapsed
                if not done:
                    c.cancel()
                QTimer.singleShot(0, window.close)

    ticker = QTimer()
    ticker.setTimerType(Qt.TimerType.PreciseTimer)
    ticker.timeout.connect(tick)
    ticker.start(TICK_MS)
    typist = QTimer()
    typist.timeout.connect(user)
    if not args.no_typing:
        typist.start(120)
    supervisor = QTimer()
    supervisor.timeout.connect(control)
    supervisor.start(200)
    app.exec()

    stats = c.current_library.stats() if c.current_library is not None else None
    shutil.rmtree(home, ignore_errors=True)
    if not lateness:
        print("no measurement (the model did not load?)")
        return 1
    late = sorted(ms for _, ms, _ in lateness)
    worst = sorted(lateness, key=lambda x: -x[1])[:5]
    print(f"GIL switch interval {sys.getswitchinterval() * 1000:.1f} ms; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"measured {state.get('elapsed', 0):.0f} s of indexing; {stats.files if stats else '?'} of {n} "
          f"files indexed; {len(late)} ticks; typing: {'off' if args.no_typing else 'on'}")
    print(f"event-loop lateness: median {statistics.median(late):.1f} ms, "
          f"p99 {late[int(len(late) * 0.99) - 1]:.1f} ms, max {late[-1]:.1f} ms; "
          f"ticks later than 50 ms: {sum(ms > 50 for ms in late)}")
    print("worst stalls (at s: ms late, of which the GUI thread ran ms): " + ", ".join(
        f"{t:.1f} s: {ms:.0f} ({cpu:.0f})" for t, ms, cpu in worst))
    print("longest GUI-thread slots (ms): " + ", ".join(
        f"{name} {max(times):.1f} (n={len(times)})" for name, times in sorted(
            slots.items(), key=lambda kv: -max(kv[1], default=0)) if times))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
