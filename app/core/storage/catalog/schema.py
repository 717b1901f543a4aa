"""The catalog's tables, indexes and triggers, the stage names, and the steps that migrate an older one."""

from __future__ import annotations

SCHEMA_VERSION = 6

# The stages a file goes through. WORDS: its passages and their keywords are stored, so it is
# found by its words; embeddings are still to come (a chunk's empty ``embedding`` says which).
# MEANING: every passage is embedded. Later stages (OCR…) may add their own names.
STAGE_WORDS = "words"
STAGE_MEANING = "meaning"

# A file skipped with a reason starting so is read again at the next scan: its text is on its way
# (background OCR), not missing.
RETRY_REASON = "waiting for OCR"
# A scan whose text background OCR is still reading: stored with one empty passage, so it is found
# by its name at once, and read again (to stage 'words') when its OCR ends.
STAGE_OCR = "ocr"
# An indexed file with another reason was read only in part (a mailbox past its cap); it is
# listed with the skipped files, its reason so introduced.
PARTLY = "indexed in part: "

# Files on disk, never their members (e-mail attachments stored as rows inside another file's).
REAL_FILES = "container_id IS NULL"

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    path TEXT NOT NULL UNIQUE,
    folder TEXT NOT NULL,
    name TEXT NOT NULL,
    ext TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    hash TEXT,
    status TEXT NOT NULL CHECK (status IN ('indexed', 'skipped')),
    reason TEXT,
    indexed_at REAL NOT NULL,
    stage TEXT NOT NULL DEFAULT 'meaning',
    -- A member (an e-mail attachment) names the file that holds it; NULL for files on disk.
    container_id INTEGER REFERENCES files(id) ON DELETE CASCADE,
    member_key TEXT,  -- finds it in its container: "2.1" = message 2, attachment 1
    member_of TEXT,   -- what holds it, as a user reads it: the message's subject
    chunks INTEGER NOT NULL DEFAULT 0  -- its passages, kept by triggers: counted without a scan
);
CREATE INDEX IF NOT EXISTS files_folder ON files(folder);
CREATE INDEX IF NOT EXISTS files_hash ON files(hash);
-- AUTOINCREMENT: a chunk id is never reused, so a vector found under an id is always that
-- chunk's vector, even in an index file older than the catalog.
CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    file_id INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
    ord INTEGER NOT NULL,
    text TEXT NOT NULL,
    page INTEGER,
    line_start INTEGER NOT NULL,
    line_end INTEGER NOT NULL,
    char_start INTEGER NOT NULL,
    char_end INTEGER NOT NULL,
    section INTEGER NOT NULL,
    embedding BLOB NOT NULL,  -- empty until the passage is embedded (stage 'words')
    location TEXT NOT NULL DEFAULT ''  -- what a user reads as the place: slide, sheet rows, heading
);
CREATE INDEX IF NOT EXISTS chunks_file ON chunks(file_id);
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(
    text, name, tokenize = 'porter unicode61 remove_diacritics 2'
);
CREATE TRIGGER IF NOT EXISTS chunks_fts_delete AFTER DELETE ON chunks BEGIN
    DELETE FROM chunks_fts WHERE rowid = old.id;
END;
"""
# Indexes on columns that older catalogs gain in a migration: created after migrating.
SCHEMA_LATE = "CREATE INDEX IF NOT EXISTS files_stage ON files(stage);"
SCHEMA_LATE += "CREATE INDEX IF NOT EXISTS files_container ON files(container_id);"
# Status at a million passages: files per state and stage, and the ids of embedded passages
# (what the vector file must hold), read from small indexes instead of scanning the tables.
SCHEMA_LATE += "CREATE INDEX IF NOT EXISTS files_status_stage ON files(status, stage);"
# Files with a reason: the skipped ones and those whose other pages OCR still reads (retry_paths).
SCHEMA_LATE += "CREATE INDEX IF NOT EXISTS files_reason ON files(reason) WHERE reason IS NOT NULL;"
# The embedding stage takes the newest files first (what people look for first is ready first).
SCHEMA_LATE += "CREATE INDEX IF NOT EXISTS files_stage_newest ON files(status, stage, mtime_ns);"
SCHEMA_LATE += ("CREATE INDEX IF NOT EXISTS chunks_embedded ON chunks(id) "
                "WHERE length(embedding) > 0;")
# Each file's passage count follows its passages, whichever path adds or removes them (a cascade
# included), so a folder's passages are a sum over its files, not a count of a million rows.
# What a folder holds, read from one range of this covering index (no table row is visited).
SCHEMA_LATE += ("CREATE INDEX IF NOT EXISTS files_path_counts "
                "ON files(path, status, container_id, chunks);")
SCHEMA_LATE += """
CREATE TRIGGER IF NOT EXISTS chunks_count_insert AFTER INSERT ON chunks BEGIN
    UPDATE files SET chunks = chunks + 1 WHERE id = new.file_id;
END;
CREATE TRIGGER IF NOT EXISTS chunks_count_delete AFTER DELETE ON chunks BEGIN
    UPDATE files SET chunks = chunks - 1 WHERE id = old.file_id;
END;
"""
# A short key of each passage's text (text_key), to find an embedding made for the same text
# anywhere in the catalog: another version of a document, a passage repeated in another file.
# Passages stored before this table existed have no key (their own file's edits and exact
# copies still find them). Its own table, so a large catalog gains it without a rewrite.
SCHEMA_LATE += """
CREATE TABLE IF NOT EXISTS passage_keys (chunk_id INTEGER PRIMARY KEY, key INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS passage_keys_key ON passage_keys(key);
CREATE TRIGGER IF NOT EXISTS passage_keys_delete AFTER DELETE ON chunks BEGIN
    DELETE FROM passage_keys WHERE chunk_id = old.id;
END;
"""

# Versioned, in order: MIGRATIONS[n] brings a catalog of version n to n + 1.
MIGRATIONS: dict[int, str | tuple[str, ...]] = {
    # Two-stage indexing: what a version-1 catalog holds is fully embedded.
    1: "ALTER TABLE files ADD COLUMN stage TEXT NOT NULL DEFAULT 'meaning'",
    # Places users understand (slide 2 "Numbers", Budget rows 1–3); older passages show page/line.
    2: "ALTER TABLE chunks ADD COLUMN location TEXT NOT NULL DEFAULT ''",
    # E-mail attachments as results of their own: rows inside another file's row.
    3: ("ALTER TABLE files ADD COLUMN container_id INTEGER "
        "REFERENCES files(id) ON DELETE CASCADE",
        "ALTER TABLE files ADD COLUMN member_key TEXT",
        "ALTER TABLE files ADD COLUMN member_of TEXT",
        # Saved mail held its attachments' text: read each again at the next look (an unknown
        # size and content), so that they become results of their own and are not counted twice.
        "UPDATE files SET size = -1, hash = NULL WHERE ext IN ('.eml', '.mbox')"),
    # Passage counts per file (then kept by triggers): `sift status` instant at a million.
    4: ("ALTER TABLE files ADD COLUMN chunks INTEGER NOT NULL DEFAULT 0",
        "UPDATE files SET chunks = (SELECT count(*) FROM chunks c WHERE c.file_id = files.id)"),
    # A file is found by its folder's name too, like a title (its own name already was): the
    # searchable name of every passage gains the words of the folder its file is in (an
    # attachment's is its mail's). In place: no file is read again.
    5: ("UPDATE chunks_fts SET name = trim(name || ' ' || folder_words((SELECT f.folder "
        "FROM chunks c JOIN files f ON f.id = c.file_id WHERE c.id = chunks_fts.rowid)))"),
}
