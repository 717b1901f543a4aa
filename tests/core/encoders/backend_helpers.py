"""Helpers of the backend tests: a loaded embedder, and Python run in a fresh process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from app.core.encoders.embedder import Embedder

ROOT = Path(__file__).resolve().parents[3]


def loaded_embedder(model: Path, backend: str, cache: Path) -> Embedder:
    emb = Embedder(str(model), backend=backend, cache_dir=cache)
    emb.load()
    return emb


def run_python(code: str, tmp_path: Path) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, text=True,
                          capture_output=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout
