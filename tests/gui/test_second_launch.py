"""A second Sift on the same data folder is never a dead window: it brings the first to the front
and exits, or, while a Sift without a window indexes there, it says so and takes over after it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from app.core.host import datalock
from app.core.ipc import ask_alive
from tests.gui.real_app import ROOT, make_data_dir, run_app

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="the driver's channel cue is POSIX here")


def _start_app(data_dir: Path, script: str) -> subprocess.Popen[str]:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "HF_HUB_OFFLINE": "1",
           "TOKENIZERS_PARALLELISM": "false", "PYTHONFAULTHANDLER": "1"}
    return subprocess.Popen([sys.executable, "-m", "tests.gui.app_driver", "--data-dir", str(data_dir),
                             "--script", script, "--no-watch", "-v"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_a_second_launch_brings_the_first_window_to_the_front_and_exits(
        tmp_path: Path, tiny_model: Path) -> None:
    data_dir = make_data_dir(tmp_path / "data", tiny_model)
    cue = tmp_path / "second-done"
    first = _start_app(data_dir, f'[[0, "await", "{cue}"], [100, "quit", ""]]')
    try:
        deadline = time.monotonic() + 90
        while not ask_alive(data_dir) and time.monotonic() < deadline:
            assert first.poll() is None, first.communicate()
            time.sleep(0.2)
        second = run_app(data_dir, [(20_000, "quit", "")], timeout=60)
        assert second.code == 0, second.describe()
        assert "already open on the data folder" in second.out and f"(process {first.pid})" in second.out
        assert "STEP quit" not in second.out  # it never showed a window of its own
    finally:
        cue.touch()
        _out, err = first.communicate(timeout=60)
    assert first.returncode == 0, err[-4000:]
    assert "its window comes to the front" in err


def _wait_file(path: Path, app: subprocess.Popen[str], seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists() and time.monotonic() < deadline:
        assert app.poll() is None, app.communicate()
        time.sleep(0.1)
    assert path.exists(), "the app never reached its cue"


def test_while_a_sift_without_a_window_indexes_the_window_says_so_and_takes_over(
        tmp_path: Path, tiny_model: Path) -> None:
    data_dir = make_data_dir(tmp_path / "data", tiny_model)
    seen, released = tmp_path / "seen", tmp_path / "released"
    datalock.acquire(data_dir, wait=False)  # held as `sift index` holds it, by this process
    try:
        app = _start_app(data_dir, json.dumps([
            [0, "await-strip", "Another Sift"], [0, "say-state", ""], [0, "touch", str(seen)],
            [0, "await", str(released)], [0, "await-engine", ""], [0, "say-state", ""], [0, "quit", ""]]))
        _wait_file(seen, app)
    finally:
        datalock.release(data_dir)
        released.touch()
    out, err = app.communicate(timeout=90)
    assert app.returncode == 0, err[-4000:]
    states = [line for line in out.splitlines() if line.startswith("STATE")]
    assert states[0].startswith("STATE engine=False strip=Another Sift (process"), out
    assert "This window takes over when it ends" in states[0]
    assert states[1].startswith("STATE engine=True"), out  # it took over: it indexes and searches
    assert "sift: Another Sift (process" in err  # the terminal says which way it went


def test_while_sift_watch_indexes_the_window_searches_through_it(tmp_path: Path, tiny_model: Path) -> None:
    from app.core.ipc import QueryServer
    from app.core.records import FileHit, Passage, SearchResponse

    data_dir = make_data_dir(tmp_path / "data", tiny_model)
    seen = tmp_path / "seen"
    passage = Passage(chunk_id=1, text="The keeper's log", page=None, line=1, line_end=1, score=0.9)

    def answer(request: Any) -> SearchResponse:  # as `sift watch` answers over its channel
        return SearchResponse(request.query, (FileHit("/notes/keeper.txt", 0.9, (passage,), ".txt"),),
                              reranked=False)

    datalock.acquire(data_dir, wait=False)
    server = QueryServer(data_dir, answer)
    assert server.start()
    try:
        app = _start_app(data_dir, json.dumps([
            [0, "await-strip", "Another Sift"], [0, "say-state", ""], [0, "search", "lighthouse keeper"],
            [0, "await-answer", "lighthouse keeper"], [0, "touch", str(seen)], [0, "quit", ""]]))
        _wait_file(seen, app)
        out, err = app.communicate(timeout=90)
    finally:
        server.stop()
        datalock.release(data_dir)
    assert app.returncode == 0, err[-4000:]
    assert "answers the searches here (read-only)" in out
    assert "ANSWER 'lighthouse keeper' ['keeper.txt']" in out
