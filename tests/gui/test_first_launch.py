"""The first launch on a computer explains its one-time backend check; a second data folder skips it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from app.core.settings import Settings, save_settings
from tests.gui.real_app import ROOT

NOTICE = "Choosing the fastest way to run"


def _launch(data_dir: Path, machine_cache: Path, settings: Settings) -> subprocess.CompletedProcess[str]:
    """The real app on ``data_dir`` until its status bar names the model's backend, then Quit."""
    data_dir.mkdir(parents=True)
    save_settings(data_dir / "settings.json", settings)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "HF_HUB_OFFLINE": "1",
           "TOKENIZERS_PARALLELISM": "false", "SIFT_MACHINE_CACHE": str(machine_cache)}
    script = [[0, "await-model", ""], [0, "quit", ""]]
    return subprocess.run([sys.executable, "-m", "tests.gui.app_driver", "--data-dir", str(data_dir),
                           "--script", json.dumps(script), "--no-watch", "--measure-startup"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=400, check=False)


def test_the_backend_check_is_explained_once_per_computer_not_per_data_folder(
        tmp_path: Path, tiny_model: Path) -> None:
    machine_cache = tmp_path / "user-cache"  # a fresh computer: nothing decided yet
    settings = Settings(model=str(tiny_model), backend="auto", rerank=False, chunk_tokens=48,
                        chunk_overlap=8)
    first = _launch(tmp_path / "data-1", machine_cache, settings)
    assert first.returncode == 0, first.stderr[-4000:]
    # The terminal says what the wait is and that it happens once.
    assert f"sift: {NOTICE}" in first.stderr and "once per computer and model" in first.stderr
    assert (machine_cache / "encoders" / "decisions.json").exists()
    assert not (tmp_path / "data-1" / "cache" / "encoders").exists()
    second = _launch(tmp_path / "data-2", machine_cache, settings)
    assert second.returncode == 0, second.stderr[-4000:]
    assert NOTICE not in second.stderr  # the decision was found in the user's cache
    def model(run: subprocess.CompletedProcess[str]) -> list[str]:
        return [line for line in run.stdout.splitlines() if line.startswith("MODEL ")]

    assert model(second) and model(second) == model(first)  # the same backend, remembered
