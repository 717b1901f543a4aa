"""What the live-index tests share: snapshots of an index, a fresh index to compare with, events kept."""


from __future__ import annotations

import threading
import uuid
from dataclasses import replace
from pathlib import Path

from app.core.host.paths import resolve_paths
from app.core.library import Library
from app.core.service.index_service import IndexService, ServiceEvent
from app.core.storage.catalog import Catalog

WAIT = 60.0  # generous: the machine running the tests may be busy


def snapshot(index_folder: Path) -> dict[str, list[str]]:
    """{path: [chunk texts in order]} for every file the catalog holds (skipped files: [])."""
    cat = Catalog(index_folder / "catalog.sqlite", readonly=True)
    try:
        out: dict[str, list[str]] = {p: [] for p in cat.all_files()}
        for path, text in cat.conn.execute(
                "SELECT f.path, c.text FROM chunks c JOIN files f ON f.id = c.file_id "
                "ORDER BY f.path, c.ord"):
            out[path].append(text)
        return out
    finally:
        cat.close()


def fresh_snapshot(data_root: Path, settings, embedder, folders) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    """What indexing ``folders`` from scratch, in a data folder of its own, gives."""
    lib = Library(resolve_paths(data_root / f"fresh-{uuid.uuid4().hex[:8]}"),
                  replace(settings, folders=()), embedder=embedder)
    try:
        lib.index([str(f) for f in folders])
        return snapshot(lib.index_folder)
    finally:
        lib.release()


def chunk_ids(index_folder: Path) -> dict[str, list[int]]:
    cat = Catalog(index_folder / "catalog.sqlite", readonly=True)
    try:
        out: dict[str, list[int]] = {}
        for path, cid in cat.conn.execute(
                "SELECT f.path, c.id FROM chunks c JOIN files f ON f.id = c.file_id "
                "ORDER BY f.path, c.ord"):
            out.setdefault(path, []).append(cid)
        return out
    finally:
        cat.close()


def write_files(folder: Path, count: int, prefix: str = "n") -> list[Path]:
    """Small notes, each with a word no other file has."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        p = folder / f"{prefix}{i:05d}.txt"
        p.write_text(f"note {i} about the river budget {prefix}word{i:05d}\n", encoding="utf-8")
        paths.append(p)
    return paths


class Recorder:
    """Keeps every event the service reports (from its threads)."""

    def __init__(self) -> None:
        self.events: list[ServiceEvent] = []
        self._lock = threading.Lock()

    def __call__(self, ev: ServiceEvent) -> None:
        with self._lock:
            self.events.append(ev)

    def kinds(self) -> list[str]:
        with self._lock:
            return [e.kind for e in self.events]

    def paths(self, kind: str) -> set[str]:
        with self._lock:
            return {p for e in self.events if e.kind == kind for p in e.paths}


def hits(svc: IndexService, query: str) -> list[str]:
    return [h.path for h in svc.search(query).hits]


def found(svc: IndexService, word: str) -> list[str]:
    """The files that contain ``word`` (an exact phrase: no merely similar files)."""
    response = svc.search(f'"{word}"')
    if word in getattr(response, "unmatched_phrases", ()):  # no file holds it: closest shown
        return []
    return [h.path for h in response.hits]


def assert_matches_fresh(svc: IndexService, tmp_path: Path, settings, embedder) -> None:  # type: ignore[no-untyped-def]
    lib = svc.library
    assert lib.store.consistent()
    assert snapshot(lib.index_folder) == fresh_snapshot(tmp_path, settings, embedder,
                                                        lib.settings.folders)
