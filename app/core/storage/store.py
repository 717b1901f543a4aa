"""One index on disk: the SQLite catalog plus the usearch file, kept in step with each other."""

from __future__ import annotations

import logging
import shutil
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.core.encoders.models import model_slug
from app.core.storage import clean_close
from app.core.storage.catalog import Catalog
from app.core.storage.vectors import UsearchStore

log = logging.getLogger(__name__)

CATALOG_FILE = "catalog.sqlite"
VECTORS_FILE = "vectors.usearch"


@dataclass(frozen=True)
class SyncReport:
    """How the vector index was brought in step with the catalog when it was opened."""

    action: str  # "loaded", "rebuilt", "repaired"
    added: int = 0
    removed: int = 0
    reason: str = ""


def index_dir(indexes_root: Path, model_name: str) -> Path:
    """Each embedding model has its own index folder, so vectors of two models never mix."""
    return indexes_root / model_slug(model_name)


class IndexStore:
    """A catalog and its vector index for one model. The catalog is the source of truth."""

    def __init__(self, folder: Path, model_name: str, dim: int, *, readonly: bool = False) -> None:
        self.folder = folder
        self.model_name = model_name
        self.dim = dim
        self.readonly = readonly
        if not readonly:
            folder.mkdir(parents=True, exist_ok=True)
            folder.chmod(0o700)
        self.catalog = Catalog(folder / CATALOG_FILE, readonly=readonly)
        if not readonly:
            self._check_meta()
        self.vectors = UsearchStore(folder / VECTORS_FILE, dim)
        self.sync: SyncReport | None = None

    @classmethod
    def exists(cls, folder: Path) -> bool:
        return (folder / CATALOG_FILE).exists()

    def _check_meta(self) -> None:
        cat = self.catalog
        stored = cat.get_meta("model")
        if stored is None:
            with cat.transaction():
                cat.set_meta("model", self.model_name)
                cat.set_meta("dim", str(self.dim))
                cat.set_meta("created", str(time.time()))
        elif stored != self.model_name or int(cat.get_meta("dim") or 0) != self.dim:
            raise RuntimeError(f"index at {self.folder} belongs to model {stored!r}")

    def open_vectors(self) -> SyncReport:
        """Load the vector index and make it hold exactly the catalog's chunk ids.

        A missing, corrupt or foreign-version file is rebuilt from the stored embeddings; a file
        that is merely behind or ahead (a crash between a commit and a save) is repaired.
        """
        loaded = self.vectors.load()
        if not loaded:
            added = self._rebuild()
            self.sync = SyncReport("rebuilt", added=added, reason=self.vectors.load_error or "")
        else:
            self.sync = self._repair()
        if self.sync.action != "loaded":
            log.info("vector index %s: %s", self.sync.action, self.sync)
            if not self.readonly:
                self.vectors.save()
        return self.sync

    def _rebuild(self) -> int:
        return self.vectors.rebuild(self.catalog.embeddings(batch=16_384))

    def _repair(self) -> SyncReport:
        # The file's keys, as its verified sidecar fingerprints them, against the catalog's from
        # a small index: equal means the same ids, with no pass over a million of them.
        if (self.vectors.fingerprint is not None
                and self.vectors.fingerprint == self.catalog.embedded_fingerprint()):
            return SyncReport("loaded")
        in_catalog = self.catalog.chunk_ids()
        in_index = self.vectors.keys()
        missing = np.setdiff1d(in_catalog, in_index, assume_unique=True)
        orphans = np.setdiff1d(in_index, in_catalog, assume_unique=True)
        if len(missing) == 0 and len(orphans) == 0:
            return SyncReport("loaded")
        if len(orphans):
            self.vectors.remove(orphans.tolist())
        for ids, mat in self.catalog.embeddings(missing.tolist()):
            self.vectors.add(ids, mat)
        return SyncReport("repaired", added=len(missing), removed=len(orphans),
                          reason="out of step with the catalog")

    def save(self) -> None:
        if self.readonly or not self.vectors.dirty:
            return
        # usearch leaves a tombstone for every removal and heavy churn degrades the graph:
        # past a third of the live size, rebuild compactly from the catalog.
        if self.vectors.removed_since_build > max(1000, len(self.vectors) // 3):
            log.info("compacting the vector index (%d removals)", self.vectors.removed_since_build)
            self._rebuild()
        self.vectors.save()

    def consistent(self) -> bool:
        """Whether the vector index holds exactly the catalog's chunk ids."""
        return bool(np.array_equal(np.sort(self.vectors.keys()), self.catalog.chunk_ids()))

    def close(self) -> None:
        self.save()
        self.catalog.close()
        if not self.readonly:
            clean_close.record(self.folder)  # the next open can skip reading every page


def other_model_indexes(indexes_root: Path, keep: Path) -> list[Path]:
    """Index folders of models other than the current one."""
    if not indexes_root.exists():
        return []
    return [p for p in indexes_root.iterdir() if p.is_dir() and p != keep]


def drop_index(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)


def describe_index(folder: Path) -> dict[str, str]:
    """The meta table of an index folder, without opening it for writing."""
    try:
        cat = Catalog(folder / CATALOG_FILE, readonly=True)
    except Exception:
        return {}
    try:
        return {k: v for k, v in cat.conn.execute("SELECT key, value FROM meta")}
    except (sqlite3.Error, UnicodeDecodeError):  # being created, or damaged: opening tells which
        return {}
    finally:
        cat.close()

