"""Fixtures shared by the core tests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


@pytest.fixture
def data_dir(tmp_path: Path, tiny_model: Path) -> Path:
    """A data folder whose settings use the tiny model, for the command line and its channel."""
    d = tmp_path / "data"
    d.mkdir()
    (d / "settings.json").write_text(json.dumps({
        "version": 1, "model": str(tiny_model), "backend": "torch-float32", "rerank": False,
        "chunk_tokens": 48,
    }), encoding="utf-8")
    return d
