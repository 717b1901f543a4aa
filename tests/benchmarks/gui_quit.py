"""Quit latency of the window: Ctrl+Q at random moments of loading and indexing, exit codes.

With --cancel, Cancel is pressed at the random moment instead (then Ctrl+Q 3 s later), and the
time from Cancel until the engine stands still is measured too.

Each try starts the real app in a subprocess (tests/gui/app_driver.py, offscreen), adds a folder
of notes, and presses Ctrl+Q after a random delay; the latency runs from the key to the process
being gone. Not collected by pytest. Run:

    .venv/bin/python tests/benchmarks/gui_quit.py --tries 20            # tiny test model
    .venv/bin/python tests/benchmarks/gui_quit.py --tries 10 --real     # the shipped model
"""

from __future__ import annotations

import argparse
import collections
import random
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tries", type=int, default=20)
    parser.add_argument("--files", type=int, default=1500)
    parser.add_argument("--max-delay", type=float, default=12.0, help="latest quit, s after start")
    parser.add_argument("--real", action="store_true", help="the shipped default model")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--cancel", action="store_true", help="measure Cancel, then quit")
    args = parser.parse_args()
    from app.core.settings import Settings, save_settings
    from tests.gui.real_app import make_data_dir, run_app, write_notes
    from tests.tiny_models import build_bi_encoder

    rng = random.Random(args.seed)
    home = Path(tempfile.mkdtemp(prefix="sift-quit-"))
    notes = write_notes(home / "notes", args.files)
    model = None if args.real else build_bi_encoder(home / "model")
    latencies: list[float] = []
    cancels: list[float] = []
    codes: collections.Counter[int] = collections.Counter()
    troubles = 0
    try:
        for i in range(args.tries):
            data = home / f"data{i}"
            if model is None:
                data.mkdir()
                save_settings(data / "settings.json", Settings())
            else:
                make_data_dir(data, model)
            delay = int(rng.uniform(0.0, args.max_delay) * 1000)
            steps = [(0, "add", str(notes)), (delay, "cancel", ""), (3000, "quit", "")] if args.cancel \
                else [(0, "add", str(notes)), (delay, "quit", "")]
            run = run_app(data, steps, timeout=180)
            cancelled = [float(line.split()[1]) for line in run.out.splitlines()
                         if line.startswith("CANCELLED-AFTER")]
            cancels += cancelled
            codes[run.code] += 1
            troubles += bool(run.troubles)
            latency = f"{run.quit_latency_s:.2f} s" if run.quit_latency_s is not None else "?"
            what = "cancel" if args.cancel else "quit"
            extra = f" (cancel took {cancelled[0]:.2f} s)" if cancelled else ""
            print(f"try {i + 1:2}: {what} {delay / 1000:5.1f} s after start → exit {run.code}, "
                  f"quit {latency}{extra}"
                  + (f"  {run.troubles[:2]}" if run.troubles else ""), flush=True)
            if run.quit_latency_s is not None:
                latencies.append(run.quit_latency_s)
            shutil.rmtree(data, ignore_errors=True)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    if not latencies:
        print("no measurement")
        return 1
    ordered = sorted(latencies)
    print(f"model: {'all-MiniLM-L6-v2 (shipped)' if args.real else 'tiny test model'}; {len(ordered)} tries; "
          f"quit latency p50 {statistics.median(ordered):.2f} s, "
          f"p95 {ordered[max(0, int(len(ordered) * 0.95) - 1)]:.2f} s, max {ordered[-1]:.2f} s; "
          f"exit codes {dict(codes)}; runs with warnings or errors printed: {troubles}")
    if cancels:
        cancels.sort()
        print(f"cancel while indexing → engine idle: {len(cancels)} tries, "
              f"p50 {statistics.median(cancels):.2f} s, max {cancels[-1]:.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
