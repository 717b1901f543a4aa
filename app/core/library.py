"""The engine as one object: settings, model, index, indexer and search, wired together.

The CLI and the GUI both drive Sift through this class; it holds no Qt and no globals.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
from dataclasses import replace
from pathlib import Path

from app.core.control import Control
from app.core.encoders.embedder import Embedder
from app.core.encoders.reranker import Reranker
from app.core.extract.ocr.languages import apply_ocr_languages
from app.core.failures import (
    CatalogDamaged,
    damage_words,
    is_bad_value,
    is_damage,
    known_failure,
)
from app.core.host import datalock
from app.core.host.paths import AppPaths, writable
from app.core.indexing.folders import FolderChanges, FolderSet, counts_by_folder, uncovered_below
from app.core.indexing.indexer import Indexer, ProgressFn
from app.core.indexing.scanner import Rules, normalize_folder
from app.core.records import IndexReport, SearchResponse, SkippedFile, Stats
from app.core.search.searcher import Filters, Searcher
from app.core.settings import Settings, load_settings, save_settings
from app.core.storage import catalog_health
from app.core.storage.store import (
    IndexStore,
    SyncReport,
    describe_index,
    drop_index,
    index_dir,
    other_model_indexes,
)

log = logging.getLogger(__name__)


class Library:
    """Sift's engine for one data folder. Indexing must run on one thread at a time."""

    def __init__(self, paths: AppPaths, settings: Settings | None = None, *,
                 embedder: Embedder | None = None, reranker: Reranker | None = None) -> None:
        self.paths = paths.ensure()
        self.settings = settings if settings is not None else load_settings(paths.settings_file)
        # Backend decisions and exports live in the user's cache: the computer's, for every data folder.
        self.embedder = embedder or Embedder(self.settings.model, backend=self.settings.backend)
        self._reranker = reranker
        self.control = Control()
        self._store: IndexStore | None = None
        self._searcher: Searcher | None = None
        self._open_lock = threading.Lock()
        self._folders_lock = threading.Lock()
        self._writer = False  # holds the data folder's writer lock
        self.notice = ""  # words for the user about a repair made when the index was opened

    # -- settings and folders ----------------------------------------------------------------
    def save_settings(self) -> None:
        save_settings(self.paths.settings_file, self.settings)

    def update_settings(self, settings: Settings) -> None:
        """Save new settings; a changed reranker takes effect at the next search.

        The folder list is not taken from ``settings``: folders change only through
        ``apply_folder_changes`` (a dialog's stale copy must never drop a folder added since).
        The model and chunking take effect through a re-index (a model change through
        ``with_model``: a new index beside this one).
        """
        with self._open_lock, self._folders_lock:
            old = self.settings
            self.settings = replace(settings, folders=old.folders)
            self.save_settings()
            if settings.reranker != old.reranker:
                self._reranker = None
                if self._searcher is not None:
                    self._searcher.reranker = self.reranker

    # -- folders: the one owned set ------------------------------------------------------------
    @property
    def folders(self) -> FolderSet:
        """A copy of the chosen folders (edit it, then apply ``copy.diff(...)`` or a diff)."""
        return FolderSet(self.settings.folders)

    def apply_folder_changes(self, changes: FolderChanges) -> FolderChanges:
        """Add and remove folders in the settings; returns what actually changed.

        Files are not touched here: the caller indexes added folders and calls
        ``forget_uncovered`` for removed ones (the service does both on its writer thread).
        """
        with self._folders_lock:
            current = FolderSet(self.settings.folders)
            done = current.apply(changes)
            if done:
                self.settings = replace(self.settings, folders=current.as_tuple())
                self.save_settings()
        return done

    def add_folders(self, folders: list[str]) -> list[str]:
        return list(self.apply_folder_changes(FolderChanges(added=tuple(folders))).added)

    def hold_writer_lock(self, *, wait: bool) -> None:
        """Become this data folder's one writer: wait for another Sift, or raise DataFolderBusy."""
        if not self._writer:
            datalock.acquire(self.paths.data_dir, wait=wait, on_wait=log.warning)
            self._writer = True

    def remove_folder(self, folder: str) -> int:
        """Stop indexing ``folder``; forgets its files unless another chosen folder covers them."""
        self.hold_writer_lock(wait=True)
        norm = normalize_folder(folder)
        self.apply_folder_changes(FolderChanges(removed=(norm,)))
        return self.forget_uncovered(norm)

    def forget_uncovered(self, folder: str) -> int:
        """Drop the files below ``folder`` that no chosen folder covers; returns how many.

        A folder that was added back meanwhile keeps everything. Writer thread only.
        """
        folders = self.folders
        if folder in folders:
            return 0
        store = self.store
        known = store.catalog.all_files()
        rules = Rules(self.settings.exclude, respect_gitignore=self.settings.respect_gitignore)
        drop = uncovered_below(known, folder, folders, rules)
        if drop:
            with store.catalog.transaction():
                for path in drop:
                    store.vectors.remove(store.catalog.delete_file(known[path].id))
            store.save()
        return len(drop)

    # -- the index ------------------------------------------------------------------------
    @property
    def index_folder(self) -> Path:
        return index_dir(self.paths.indexes_dir, self.embedder.name)

    @property
    def store(self) -> IndexStore:
        with self._open_lock:
            if self._store is None:
                self._store = self._open_store()
            return self._store

    def _open_store(self) -> IndexStore:
        """Open the index; a damaged catalog is set aside first (``notice`` says so)."""
        folder = self.index_folder
        reason = catalog_health.damage(folder)
        if reason:
            self._set_aside(folder, reason)
        try:
            return self._make_store(folder)
        except (sqlite3.DatabaseError, UnicodeDecodeError, OverflowError) as exc:
            if reason or not (is_damage(exc) or is_bad_value(exc)):
                raise
            self._set_aside(folder, damage_words(exc))
            return self._make_store(folder)

    def _set_aside(self, folder: Path, reason: str) -> None:
        """Only a writer moves the catalog: a search beside a running Sift leaves it to that one."""
        mine = self._writer
        if not mine:
            try:
                datalock.acquire(self.paths.data_dir, wait=False)
            except (datalock.DataFolderBusy, datalock.DataFolderReadOnly):
                raise CatalogDamaged(reason) from None
        try:
            self.notice = catalog_health.set_aside(folder, reason)
        finally:
            if not mine:
                datalock.release(self.paths.data_dir)

    def _make_store(self, folder: Path) -> IndexStore:
        # An existing index knows its dimension: opening it needs no model, so keyword
        # search answers while the model loads.
        dim = int(describe_index(folder).get("dim") or 0) or self.embedder.known_dim or \
            self.embedder.load().dim
        # A reader on a read-only data folder opens the index as it stands, changing nothing.
        store = IndexStore(folder, self.embedder.name, dim,
                           readonly=not self._writer and self.read_only)
        store.open_vectors()
        return store

    @property
    def read_only(self) -> bool:
        """Whether this data folder's index cannot be written (searching it still works)."""
        where = self.paths.indexes_dir
        return not writable(where if where.is_dir() else self.paths.data_dir)

    def reopen(self) -> None:
        """Close the index files and open them again (after damage was found), keeping the lock."""
        self._close_files()
        _ = self.store

    @property
    def sync_report(self) -> SyncReport | None:
        return self.store.sync

    def indexer(self) -> Indexer:
        ocr_cache = self.paths.cache_dir / "ocr"
        # OCR reads in the chosen languages; scans read in others are read again (on this, the
        # writer's thread: it may mark files in the catalog).
        apply_ocr_languages(self.store.catalog, ocr_cache, self.settings.ocr_languages,
                            self.settings.ocr)
        return Indexer(self.store, self.embedder, self.settings, self.control, ocr_cache=ocr_cache)

    def index(self, folders: list[str] | None = None,
              on_progress: ProgressFn | None = None) -> IndexReport:
        """Index the given folders (added to settings), or all configured folders."""
        self.hold_writer_lock(wait=True)  # first: a read-only data folder says so before anything
        if folders:
            self.add_folders(folders)
            # Overlapping chosen folders are scanned with them: see FolderSet.closure.
            targets = self.folders.closure(normalize_folder(f) for f in folders)
        else:
            targets = list(self.settings.folders)
        self.control.reset()
        try:
            report = self._index_once(targets, on_progress, forget_others=not folders)
        except CatalogDamaged as exc:
            # Found by a read (damage a page check cannot see): set aside now and indexed
            # again from the files, so this run ends with a whole index and says so.
            catalog_health.mark_damaged(self.index_folder, exc.detail)
            self.reopen()
            report = self._index_once(targets, on_progress, forget_others=not folders)
        if not report.cancelled:
            self._drop_old_models()
        return report

    def _index_once(self, targets: list[str], on_progress: ProgressFn | None, *,
                    forget_others: bool) -> IndexReport:
        try:
            return self.indexer().index_folders(targets, on_progress, forget_others=forget_others)
        except (sqlite3.Error, OSError, UnicodeDecodeError, OverflowError) as exc:
            known = known_failure(exc) or (CatalogDamaged(damage_words(exc))
                                           if is_bad_value(exc) else None)
            if known is None:
                raise
            raise known from exc

    def _drop_old_models(self) -> None:
        """Once this model's index is complete, indexes of earlier models are only clutter."""
        for folder in other_model_indexes(self.paths.indexes_dir, self.index_folder):
            log.info("removing the index of a previous model: %s", folder)
            drop_index(folder)

    # -- search ---------------------------------------------------------------------------
    @property
    def reranker(self) -> Reranker | None:
        if not self.settings.reranker:
            return None
        if self._reranker is None:
            self._reranker = Reranker(self.settings.reranker)
        return self._reranker

    def searcher(self) -> Searcher:
        if self._searcher is None:
            store = self.store
            from app.core.storage.catalog import Catalog

            reader = Catalog(store.catalog.path, readonly=True)
            self._searcher = Searcher(reader, store.vectors, self.embedder, self.reranker)
        return self._searcher

    def search(self, query: str, *, limit: int | None = None, filters: Filters | None = None,
               rerank: bool | None = None) -> SearchResponse:
        try:
            with self.embedder.searching():  # indexing batches wait while a search runs
                return self.searcher().search(
                    query, limit=limit or self.settings.results, filters=filters,
                    rerank=self.settings.rerank if rerank is None else rerank)
        except (sqlite3.DatabaseError, UnicodeDecodeError, OverflowError) as exc:
            self._damage_found(exc)
            raise

    def _damage_found(self, exc: BaseException) -> None:
        """A read tripped on damage a page check cannot see: set aside at the next open.

        Raises CatalogDamaged (the user's words) when it is damage; returns when it is not.
        """
        if not (is_damage(exc) or is_bad_value(exc)):
            return
        catalog_health.mark_damaged(self.index_folder, damage_words(exc))
        raise CatalogDamaged(damage_words(exc)) from exc

    def similar(self, path: str, *, limit: int | None = None, part: str = "") -> SearchResponse:
        """More like this: the files closest in meaning to one file, without it and its copies."""
        with self.embedder.searching():
            return self.searcher().similar(path, limit=limit or self.settings.results, part=part)

    # -- status ---------------------------------------------------------------------------
    def stats(self) -> Stats:
        """Counts from the catalog, without loading the model when it is not loaded yet."""
        folder = index_dir(self.paths.indexes_dir, self.embedder.name)
        files = chunks = skipped = 0
        dim = 0
        if (folder / "catalog.sqlite").exists():
            files, chunks, skipped, dim = self._read(
                lambda cat: (*cat.counts(), int(cat.get_meta("dim") or 0)), (0, 0, 0, 0))
        return Stats(files=files, chunks=chunks, skipped=skipped,
                     folders=tuple(self.settings.folders), model=self.embedder.name, dim=dim,
                     data_dir=str(self.paths.data_dir))

    def skipped(self) -> list[SkippedFile]:
        return self._read(lambda cat: cat.skipped(), [])

    def folder_counts(self) -> dict[str, tuple[int, int]]:
        """Per chosen folder: (indexed files, passages), files of nested folders in each."""
        folders = self.settings.folders
        return self._read(lambda cat: counts_by_folder(cat.conn, folders), {})

    def _read(self, fn, default):  # type: ignore[no-untyped-def]
        path = self.index_folder / "catalog.sqlite"
        if not path.exists():
            return default
        from app.core.storage.catalog import Catalog

        try:
            cat = Catalog(path, readonly=True)
        except sqlite3.Error:
            return default
        try:
            return fn(cat)
        except (sqlite3.DatabaseError, UnicodeDecodeError, OverflowError) as exc:
            self._damage_found(exc)
            if not isinstance(exc, sqlite3.OperationalError):
                raise
            if "no such table" in str(exc) and catalog_health.emptied(self.index_folder):
                self._damage_found(sqlite3.DatabaseError(catalog_health.EMPTIED))
            return default  # the writer is creating a brand-new catalog: nothing to show yet
        finally:
            cat.close()

    def meta(self) -> dict[str, str]:
        return describe_index(self.index_folder)

    def with_model(self, model: str) -> Library:
        """A library over the same data folder using another embedding model."""
        return Library(self.paths, replace(self.settings, model=model))

    def save(self) -> None:
        """Write the vector index if it changed (the catalog commits as it goes)."""
        with self._open_lock:
            if self._store is not None:
                self._store.save()

    def release(self) -> None:
        """Save and close this index's files, leaving shared workers (PDF extraction) running.

        For a library that another one replaces (a model switch); ``close`` ends the app's work.
        """
        self._close_files()
        with self._open_lock:
            if self._writer:
                self._writer = False
                datalock.release(self.paths.data_dir)

    def _close_files(self) -> None:
        with self._open_lock:
            if self._searcher is not None:
                self._searcher.catalog.close()
                self._searcher = None
            if self._store is not None:
                try:
                    self._store.close()
                except sqlite3.DatabaseError:  # damaged: closed regardless
                    pass
                except OSError as exc:
                    if known_failure(exc) is None:
                        raise
                    # A full disk: the vector file stays as it was, and the next open brings
                    # it in step with the catalog (which holds every commit).
                    log.warning("could not save the vector index at close: %s", exc)
                    with contextlib.suppress(sqlite3.Error):
                        self._store.catalog.close()
                self._store = None

    def close(self) -> None:
        from app.core import extract

        self.control.cancel()
        self.release()
        extract.shutdown()
