"""The light query encoder: torch-free, exported once, and faithful to the full model."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from app.core.encoders.embedder import Embedder

REPO = Path(__file__).resolve().parents[3]
needs_onnx = pytest.mark.skipif(
    importlib.util.find_spec("onnxruntime") is None or importlib.util.find_spec("onnx") is None,
    reason="needs onnx and onnxruntime")
QUERIES = ["dog food for a puppy", "the landlord kept the deposit", "E-4711 valve", "river"]


@needs_onnx
def test_an_exported_query_encoder_agrees_with_the_model_and_needs_no_torch(
        tiny_model: Path, tmp_path: Path) -> None:
    full = Embedder(str(tiny_model), backend="torch-float32", cache_dir=tmp_path)
    full.load()
    assert full.light() is None  # nothing exported yet: queries use the full model
    reference = np.stack([full.embed_query(q) for q in QUERIES])
    assert full.export_queries()
    light = np.stack([full.embed_query(q) for q in QUERIES])
    assert np.min(np.sum(reference * light, axis=1)) > 0.999
    # A fresh process embeds the same queries from the export alone, without importing torch.
    code = (
        "import sys, json\n"
        "from pathlib import Path\n"
        "from app.core.encoders.embedder import Embedder\n"
        "e = Embedder(sys.argv[1], cache_dir=Path(sys.argv[2]))\n"
        "e.prepare_queries()\n"
        "vecs = [e.embed_query(q).tolist() for q in sys.argv[3:]]\n"
        "print(json.dumps({'torch': 'torch' in sys.modules, 'vecs': vecs}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code, str(tiny_model), str(tmp_path), *QUERIES],
                         cwd=REPO, capture_output=True, text=True, timeout=120, check=True)
    import json

    data = json.loads(out.stdout.strip().splitlines()[-1])
    assert data["torch"] is False
    assert np.allclose(np.array(data["vecs"]), light, atol=1e-5)


@needs_onnx
def test_choosing_the_onnx_backend_makes_the_light_encoder_ready(tiny_model: Path,
                                                                  tmp_path: Path) -> None:
    emb = Embedder(str(tiny_model), backend="onnx", cache_dir=tmp_path)
    assert not emb.query_ready
    emb.load()
    assert emb.light() is not None and emb.query_ready
    assert emb.max_tokens == emb.info.max_tokens
    text = "Dog food and canine nutrition: protein for a puppy."
    light_offsets = Embedder(str(tiny_model), cache_dir=tmp_path)
    assert light_offsets.token_offsets(text) == emb.token_offsets(text)
    assert not light_offsets.loaded  # chunking started without loading the model
