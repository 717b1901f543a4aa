"""Random sessions of the real window: every one must end with exit 0 and nothing alarming printed.

Each session starts the real app in a subprocess (tests/gui/app_driver.py, offscreen, its own home
folder), plays 2–9 random user actions at random moments (add or remove a folder, among them
nested ones; search; the settings, skipped-files, about and file dialogs; Esc; pause; cancel) and
then quits. Timing is the point: actions land while the model loads, while the first index runs,
while a dialog is open. A session that crashes, hangs (it is aborted so that the report shows
where every thread stood) or prints a warning is written to --failures. Not collected by pytest:

    .venv/bin/python tests/benchmarks/gui_fuzz.py --sessions 200 --seed 1
"""

from __future__ import annotations

import argparse
import collections
import random
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

ACTIONS = ("add", "add", "remove", "search", "settings", "skipped", "about", "esc", "pause",
           "cancel", "choose")
QUERIES = ("river budget", "notes 12", "zzqx blorf", '"the report"')
DELAYS_MS = (0, 50, 300, 1000, 2500)


def session(rng: random.Random, folders: list[str]) -> list[tuple[int, str, str]]:
    steps = []
    for _ in range(rng.randint(2, 9)):
        name = rng.choice(ACTIONS)
        arg = rng.choice(folders) if name in ("add", "remove") else \
            rng.choice(QUERIES) if name == "search" else ""
        steps.append((rng.choice(DELAYS_MS), name, arg))
    steps.append((rng.choice((0, 100, 800, 3000)), "quit", ""))
    return steps


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--failures", type=Path, default=Path(tempfile.gettempdir()) / "sift-fuzz",
                        help="where the report of each failed session is written")
    args = parser.parse_args()
    from tests.gui.real_app import make_data_dir, run_app, write_notes
    from tests.tiny_models import build_bi_encoder

    base = Path(tempfile.mkdtemp(prefix="sift-fuzz-"))
    args.failures.mkdir(parents=True, exist_ok=True)
    outcomes: collections.Counter[str] = collections.Counter()
    try:
        model = build_bi_encoder(base / "model")
        shared = write_notes(base / "notes", 300)
        for k in range(args.sessions):
            seed = args.seed + k
            rng = random.Random(seed)
            home = base / f"home{seed}"
            home.mkdir()
            inner = write_notes(home / "Documents" / "inner", rng.randint(1, 30))
            data = make_data_dir(home / "sift-data", model)
            steps = session(rng, [str(shared), str(home / "Documents"), str(inner)])
            run = run_app(data, steps, env={"HOME": str(home)}, timeout=120)
            ok = run.code == 0 and not run.troubles
            outcomes["clean" if ok else f"exit {run.code}" if run.code else "warnings"] += 1
            print(f"session {seed}: {'ok' if ok else f'FAILED (exit {run.code})'}", flush=True)
            if not ok:
                report = args.failures / f"session-{seed}.txt"
                report.write_text(f"{steps!r}\n{run.describe()}\n===== stderr\n{run.err}", encoding="utf-8")
                print(f"  report: {report}", flush=True)
            shutil.rmtree(home, ignore_errors=True)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    print(f"{args.sessions} sessions, seeds {args.seed}–{args.seed + args.sessions - 1}: {dict(outcomes)}")
    return 0 if outcomes["clean"] == args.sessions else 1


if __name__ == "__main__":
    raise SystemExit(main())
