"""The very first run: files are findable by their words before the model has loaded."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from app.core.encoders.embedder import Embedder
from app.core.host.paths import resolve_paths
from app.core.library import Library
from app.core.service.index_service import IndexService
from tests.polling import eventually


def test_words_are_findable_while_the_model_still_loads(
        tmp_path: Path, settings, tiny_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "boiler.txt").write_text("The plumber fixed the boiler valve on Tuesday.", encoding="utf-8")
    # A first run: no backend decision and no export in the cache, and a load that takes as long
    # as the test wants (torch and the backend check take seconds to minutes on a real machine).
    release = threading.Event()
    real_load = Embedder._load

    def slow_load(self: Embedder) -> None:
        release.wait(60)
        real_load(self)

    monkeypatch.setattr(Embedder, "_load", slow_load)
    embedder = Embedder(str(tiny_model), backend="torch-float32", cache_dir=tmp_path / "cache")
    lib = Library(resolve_paths(tmp_path / "data"), settings, embedder=embedder)
    lib.add_folders([str(docs)])
    svc = IndexService(lib)
    svc.start()
    try:
        assert eventually(lambda: [h.path for h in svc.search("boiler").hits] == [str(docs / "boiler.txt")],
                          timeout=30)
        assert not embedder.loaded  # found by its words alone
        svc.cancel()  # the writer waits for the model in steps: Cancel still acts
        release.set()
        svc.reindex()
        assert eventually(lambda: embedder.loaded and svc.stats().chunks > 0 and not svc.busy, timeout=60)
        assert lib.store.catalog.stage_counts()["pending_chunks"] == 0  # then embedded
    finally:
        release.set()
        assert svc.shutdown()
