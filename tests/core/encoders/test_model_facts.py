"""A model folder's facts read without torch match what the loaded model says of itself."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.core.encoders.model_facts import offsets_from, read_facts
from app.core.encoders.models import offline_default_model


def _loaded(folder: Path) -> tuple[int, int, list[tuple[int, int]]]:
    from app.core.encoders.embedder import Embedder

    emb = Embedder(str(folder), backend="torch-float32", cache_dir=folder.parent / "cache")
    info = emb.load()
    return info.dim, info.max_tokens, emb.token_offsets(TEXT)


TEXT = "Canine nutrition: the dog-food note, E-4711 and ISO_9001 in 2024-03. Ünïcödé ﬁne."


def test_the_tiny_models_facts_match_the_loaded_model(tiny_model: Path) -> None:
    facts = read_facts(tiny_model)
    assert facts is not None
    dim, max_tokens, offsets = _loaded(tiny_model)
    assert (facts.dim, facts.max_tokens) == (dim, max_tokens)
    assert offsets_from(facts)(TEXT) == offsets


@pytest.mark.real_model
def test_the_default_models_facts_match_the_loaded_model() -> None:
    folder = offline_default_model()
    if folder is None:
        pytest.skip("the offline default model is not installed")
    facts = read_facts(folder)
    assert facts is not None and (facts.dim, facts.max_tokens) == (384, 254)
    _, max_tokens, offsets = _loaded(folder)
    assert facts.max_tokens == max_tokens
    assert offsets_from(facts)(TEXT) == offsets


def test_a_layout_it_cannot_read_is_left_to_the_model(tiny_model: Path, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "with-dense"
    shutil.copytree(tiny_model, copy)
    modules = json.loads((copy / "modules.json").read_text(encoding="utf-8"))
    modules.insert(2, {"idx": 2, "name": "2", "path": "2_Dense",
                       "type": "sentence_transformers.models.Dense"})
    (copy / "modules.json").write_text(json.dumps(modules), encoding="utf-8")
    assert read_facts(copy) is None  # a dense layer changes the width: only the model knows it
    assert read_facts(tmp_path / "nowhere") is None
