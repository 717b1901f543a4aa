"""Running the real app in a subprocess (``tests.gui.app_driver``) on tiny models, and reading its end."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Warnings of the offscreen platform that say nothing about Sift (as in conftest.py).
HARMLESS = ("This plugin does not support propagateSizeHints()", "This plugin does not support raise()",
            "This plugin does not support grabbing the keyboard")


@dataclass
class AppRun:
    """How one run of the app ended."""

    code: int
    out: str
    err: str
    quit_latency_s: float | None  # from the Quit key to the process gone

    @property
    def qt_warnings(self) -> list[str]:
        return [line for line in self.err.splitlines()
                if line.startswith("QT-WARNING") and not any(h in line for h in HARMLESS)]

    @property
    def troubles(self) -> list[str]:
        """Lines no clean run prints: Qt warnings, tracebacks, aborts, threads left running."""
        bad = ("Traceback", "terminate called", "Fatal Python error", "did not stop", "Segmentation",
               "malloc", "QThread: Destroyed", "shared QObject")
        return self.qt_warnings + [line for line in self.err.splitlines() if any(b in line for b in bad)]

    def describe(self) -> str:
        # A crash dump names the crashing thread first; the tail alone would cut it off.
        fatal = self.err.find("Fatal Python error")
        head = f"--- crash\n{self.err[fatal:fatal + 4000]}\n" if fatal >= 0 else ""
        return f"exit {self.code}\n--- stdout\n{self.out[-3000:]}\n{head}--- stderr\n{self.err[-6000:]}"


def make_data_dir(folder: Path, model: Path, folders: tuple[str, ...] = ()) -> Path:
    """A data folder whose settings use the tiny model (no download, no reranker)."""
    from app.core.settings import Settings, save_settings

    folder.mkdir(parents=True, exist_ok=True)
    save_settings(folder / "settings.json", Settings(model=str(model), backend="torch-float32", rerank=False,
                                                     chunk_tokens=48, chunk_overlap=8, folders=folders))
    return folder


def write_notes(folder: Path, n: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        (folder / f"note{i:04}.txt").write_text(
            f"Meeting notes {i}: the budget, the report and the river.\n" * 20, encoding="utf-8")
    return folder


def run_app(data_dir: Path, script: list[tuple[int, str, str]], *, timeout: float = 90.0,
            env: dict[str, str] | None = None, watch: bool = True) -> AppRun:
    """Start the app, play ``script`` ([delay_ms, action, argument]…) in it, wait for it to end."""
    full_env = dict(os.environ)
    full_env.update({"QT_QPA_PLATFORM": "offscreen", "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
                     "PYTHONFAULTHANDLER": "1"})
    full_env.update(env or {})
    cmd = [sys.executable, "-m", "tests.gui.app_driver", "--data-dir", str(data_dir),
           "--script", json.dumps(script)]
    if not watch:
        cmd.append("--no-watch")
    proc = subprocess.Popen(cmd, cwd=ROOT, env=full_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        # SIGABRT first: faulthandler (PYTHONFAULTHANDLER) prints where every thread is stuck.
        proc.send_signal(signal.SIGABRT)
        try:
            out, err = proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
        return AppRun(-9, out, err + "\n(killed: the app did not end in time)", None)
    ended = time.time()
    quit_at = [float(line.split()[1]) for line in out.splitlines() if line.startswith("QUIT-AT")]
    return AppRun(proc.returncode, out, err, ended - quit_at[-1] if quit_at else None)
