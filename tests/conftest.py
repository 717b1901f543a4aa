"""Shared fixtures: tiny local models, a private data folder, and a library wired to them."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# Backend decisions and model exports belong to the computer (the user's cache folder): a test
# run keeps its own, never touching the user's, and the apps it starts inherit it.
os.environ.setdefault("SIFT_MACHINE_CACHE", tempfile.mkdtemp(prefix="sift-test-machine-cache-"))


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.tiny_models import build_bi_encoder

    return build_bi_encoder(tmp_path_factory.mktemp("tiny-bi"))


@pytest.fixture(scope="session")
def tiny_reranker(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.tiny_models import build_cross_encoder

    return build_cross_encoder(tmp_path_factory.mktemp("tiny-ce"))


@pytest.fixture(scope="session")
def tiny_embedder(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """One loaded tiny embedder for the whole session (loading costs a second)."""
    from app.core.encoders.embedder import Embedder

    emb = Embedder(str(tiny_model), backend="torch-float32",
                   cache_dir=tmp_path_factory.mktemp("encoder-cache"))
    emb.load()
    return emb


@pytest.fixture
def settings(tiny_model: Path, tiny_reranker: Path):  # type: ignore[no-untyped-def]
    from app.core.settings import Settings

    return Settings(model=str(tiny_model), reranker=str(tiny_reranker), backend="torch-float32",
                    rerank=False, chunk_tokens=48, chunk_overlap=8)


@pytest.fixture
def library(tmp_path: Path, settings, tiny_embedder):  # type: ignore[no-untyped-def]
    from app.core.host.paths import resolve_paths
    from app.core.library import Library

    lib = Library(resolve_paths(tmp_path / "data"), settings, embedder=tiny_embedder)
    yield lib
    lib.close()


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    """A small folder of documents a user might have."""
    d = tmp_path / "docs"
    d.mkdir()
    (d / "dogs.md").write_text("# Dogs\n\nDog food and canine nutrition: protein for a puppy.\n",
                               encoding="utf-8")
    (d / "lease.txt").write_text("The landlord kept the deposit after the lease ended.\n",
                                 encoding="utf-8")
    (d / "code.py").write_text("def test():\n    return 'alpha beta gamma'\n", encoding="utf-8")
    sub = d / "sub"
    sub.mkdir()
    (sub / "river.txt").write_text("The river runs from the mountain to the ocean.\n",
                                   encoding="utf-8")
    return d
