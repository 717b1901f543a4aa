"""Quitting the real app in a subprocess: exit code 0, nothing alarming printed, files private."""

from __future__ import annotations

import os
import random
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.gui.real_app import ROOT, make_data_dir, run_app, write_notes

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="process checks use Linux")


@pytest.fixture(scope="module")
def notes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_notes(tmp_path_factory.mktemp("quit") / "notes", 600)


def test_quit_at_random_moments_of_loading_and_indexing_exits_cleanly(
        tmp_path: Path, tiny_model: Path, notes: Path) -> None:
    rng = random.Random(int(os.environ.get("SIFT_QUIT_SEED", "9")))
    latencies = []
    for attempt in range(3):
        data = make_data_dir(tmp_path / f"data{attempt}", tiny_model)
        run = run_app(data, [(rng.randint(0, 1500), "add", str(notes)),
                             (rng.randint(200, 6000), "quit", "")])
        assert run.code == 0 and not run.troubles, run.describe()
        assert run.quit_latency_s is not None
        latencies.append(run.quit_latency_s)
    print("quit latency (s):", ", ".join(f"{x:.2f}" for x in latencies))


def test_search_settings_skipped_then_quit_exits_cleanly(tmp_path: Path, tiny_model: Path,
                                                         notes: Path) -> None:
    """The sequence that ended in "shared QObject was deleted directly" and a segfault."""
    data = make_data_dir(tmp_path / "data", tiny_model)
    run = run_app(data, [(0, "add", str(notes)), (2500, "search", "river budget"), (800, "settings", ""),
                         (600, "skipped", ""), (400, "esc", ""), (400, "about", ""), (600, "quit", "")])
    assert run.code == 0 and not run.troubles, run.describe()
    assert "STEP quit" in run.out


def test_sigterm_quits_python_m_app_like_ctrl_q(tmp_path: Path, tiny_model: Path, notes: Path) -> None:
    data = make_data_dir(tmp_path / "data", tiny_model, folders=(str(notes),))
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "HF_HUB_OFFLINE": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "app", "--data-dir", str(data)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(6)  # the model loaded, indexing under way
    proc.send_signal(signal.SIGTERM)
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err[-4000:]
    assert "did not stop" not in err and "Traceback" not in err, err[-4000:]


def test_every_file_sift_writes_is_in_its_data_folder_and_private(
        tmp_path: Path, tiny_model: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    folder = write_notes(home / "Documents", 5)
    data = make_data_dir(home / "sift-data", tiny_model)
    before = {p for p in home.rglob("*")}
    env: dict[str, Any] = {"HOME": str(home), "XDG_CONFIG_HOME": "", "XDG_DATA_HOME": "",
                           "XDG_CACHE_HOME": "", "XDG_STATE_HOME": ""}
    run = run_app(data, [(0, "add", str(folder)), (3000, "choose", ""), (800, "settings", ""),
                         (800, "quit", "")], env=env)
    assert run.code == 0 and not run.troubles, run.describe()
    written = [p for p in home.rglob("*") if p not in before]
    outside = [str(p) for p in written if data not in p.parents and p != data]
    assert outside == []
    assert (data / "window.ini").exists()
    loose = [f"{p} {stat.filemode(p.stat().st_mode)}" for p in data.rglob("*")
             if p.is_file() and p.stat().st_mode & 0o077]
    assert loose == []


@pytest.mark.real_model
@pytest.mark.parametrize("script", [
    [(12000, "add", "NOTES"), (3000, "search", "river budget"), (1000, "settings", ""),
     (1000, "skipped", ""), (500, "esc", ""), (500, "quit", "")],
    [(12000, "add", "NOTES"), (3000, "search", "river budget"), (500, "quit", "")],
], ids=["dialogs-then-quit", "quit-while-indexing"])
def test_with_the_real_model_quit_exits_cleanly(tmp_path: Path, notes: Path, script: list[Any]) -> None:
    """With the shipped model (its native thread pools) these aborted: exit 134 or 139 before."""
    from app.core.settings import Settings, save_settings

    data = tmp_path / "data"
    data.mkdir()
    save_settings(data / "settings.json", Settings())
    steps = [(delay, name, str(notes) if arg == "NOTES" else arg) for delay, name, arg in script]
    run = run_app(data, steps, timeout=120)
    assert run.code == 0 and not run.troubles, run.describe()
    assert "STEP quit" in run.out
    print(f"quit latency with the real model: {run.quit_latency_s:.2f} s")
