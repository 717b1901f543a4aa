"""The Catalog: one SQLite connection, its schema brought up to date, transactions and meta values."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

from app.core.host.paths import writable
from app.core.storage.catalog.embeddings import EmbeddingsMixin
from app.core.storage.catalog.files import FilesMixin
from app.core.storage.catalog.schema import MIGRATIONS, SCHEMA, SCHEMA_LATE, SCHEMA_VERSION
from app.core.storage.catalog.status import StatusMixin
from app.core.storage.catalog.stored_paths import folder_words


def connect(path: Path, readonly: bool) -> sqlite3.Connection:
    """A connection set up as every Sift connection must be: foreign keys on, waiting when busy."""
    if readonly:
        # A write-ahead-log catalog is read through a shared-memory file beside it, which a
        # read-only folder cannot hold: there nobody can write the catalog either, so it is
        # read as it stands (immutable).
        still = "" if writable(path.parent) else "&immutable=1"
        conn = sqlite3.connect(f"{path.as_uri()}?mode=ro{still}", uri=True,
                               check_same_thread=False, timeout=30)
    else:
        conn = sqlite3.connect(path, check_same_thread=False, timeout=30, isolation_level=None)
    conn.execute("PRAGMA foreign_keys = ON")
    # The migration that adds folder words to the searchable names computes them in SQL.
    conn.create_function("folder_words", 1, folder_words, deterministic=True)
    conn.execute("PRAGMA busy_timeout = 30000")
    if not readonly:
        conn.execute("PRAGMA journal_mode = WAL")
        # NORMAL in WAL mode: a power cut may lose the last commits, never corrupt the file.
        conn.execute("PRAGMA synchronous = NORMAL")
    return conn


class Catalog(FilesMixin, EmbeddingsMixin, StatusMixin):
    """One connection to the catalog. The writer opens it read-write; searches open their own.

    Its queries live in the mixins, one per part of the catalog (files, members, passages,
    embeddings, status); this class holds the connection they share.
    """

    def __init__(self, path: Path, *, readonly: bool = False) -> None:
        self.path = path
        self.readonly = readonly
        if not readonly:
            path.parent.mkdir(parents=True, exist_ok=True)
            new = not path.exists()
            self.conn = connect(path, readonly=False)
            if new:
                with contextlib.suppress(OSError):
                    os.chmod(path, 0o600)
            self.conn.executescript(SCHEMA)
            self._migrate(new)
            self.conn.executescript(SCHEMA_LATE)
        else:
            self.conn = connect(path, readonly=True)
        self._tx_lock = threading.RLock()

    def _migrate(self, new: bool) -> None:
        """Bring an older catalog to SCHEMA_VERSION, one versioned step at a time, atomically."""
        self.conn.execute("BEGIN IMMEDIATE")  # read the version inside: another process may migrate
        try:
            version = self.get_meta("schema_version")
            if version is None:
                # A new catalog, or one of the first version (which did not always record it).
                cols = {r[1] for r in self.conn.execute("PRAGMA table_info(files)")}
                version = str(SCHEMA_VERSION if new else 2 if "stage" in cols else 1)
            current = int(version)
            while current < SCHEMA_VERSION:
                step = MIGRATIONS[current]
                for statement in (step,) if isinstance(step, str) else step:
                    self.conn.execute(statement)
                current += 1
            self.set_meta("schema_version", str(current))
            self.conn.execute("COMMIT")
        except BaseException:
            self._rollback()
            raise

    def close(self) -> None:
        self.conn.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic unit: everything inside commits together or not at all."""
        with self._tx_lock:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
                self.conn.execute("COMMIT")  # a full disk may fail it: rolled back below
            except BaseException:
                self._rollback()
                raise

    def _rollback(self) -> None:
        """Undo what is left of a failed transaction, never hiding why it failed.

        On a full disk SQLite may roll the transaction back itself; a ROLLBACK after that
        raised "cannot rollback - no transaction is active" in place of "disk is full".
        """
        if self.conn.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                self.conn.execute("ROLLBACK")

    def get_meta(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        self.conn.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value", (key, value))
