"""The SQLite catalog, Sift's source of truth: files, chunks, their embeddings and the FTS5 text."""

# Callers import from here; the modules below say which part of the catalog each holds.
from app.core.path_escapes import ESCAPE
from app.core.storage.catalog.database import Catalog
from app.core.storage.catalog.rows import ChunkRow, FileState
from app.core.storage.catalog.schema import (
    MIGRATIONS,
    REAL_FILES,
    RETRY_REASON,
    SCHEMA,
    SCHEMA_LATE,
    SCHEMA_VERSION,
    STAGE_MEANING,
    STAGE_OCR,
    STAGE_WORDS,
)
from app.core.storage.catalog.stored_paths import MEMBER_SEP, from_db, readable, to_db

__all__ = [
    "ESCAPE", "MEMBER_SEP", "MIGRATIONS", "REAL_FILES", "RETRY_REASON", "SCHEMA", "SCHEMA_LATE",
    "SCHEMA_VERSION", "STAGE_MEANING", "STAGE_OCR", "STAGE_WORDS", "Catalog", "ChunkRow",
    "FileState", "from_db", "readable", "to_db",
]
