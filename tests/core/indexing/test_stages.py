"""Keyword-first indexing: files are found by their words at once, their meaning fills in behind."""

from __future__ import annotations

import os
import sqlite3
import sys
from pathlib import Path

import pytest

from app.core.control import Control
from app.core.errors import Cancelled
from app.core.indexing.indexer import Indexer
from app.core.indexing.scanner import normalize_folder
from app.core.indexing.stages import EmbeddingStage
from app.core.records import Progress
from app.core.storage.catalog import SCHEMA_VERSION, STAGE_MEANING, STAGE_WORDS, Catalog, from_db, to_db


def _words_only(library) -> Indexer:  # type: ignore[no-untyped-def]
    """An indexer that stops after the words stage, as if the app quit right then."""
    return Indexer(library.store, library.embedder, library.settings, library.control,
                   later_stages=[])


def test_files_are_found_by_their_words_before_any_embedding(library, docs: Path) -> None:
    folder = normalize_folder(docs)
    library.add_folders([folder])
    report = _words_only(library).index_folders([folder])
    assert report.added == 4 and report.embedded == 0
    counts = library.store.catalog.stage_counts()
    assert counts[STAGE_WORDS] == 4 and counts[STAGE_MEANING] == 0
    assert len(library.store.vectors) == 0
    resp = library.search("landlord deposit", rerank=False)
    assert resp.hits and resp.hits[0].path == str(docs / "lease.txt")
    # The next run embeds what is waiting, without reading the files again.
    report = library.index()
    assert (report.added, report.updated, report.unchanged) == (0, 0, 4)
    assert report.embedded == library.store.catalog.counts()[1]
    assert library.store.catalog.stage_counts()[STAGE_WORDS] == 0
    assert library.store.consistent()


def test_embedding_resumes_where_a_cancel_stopped_it(library, tmp_path: Path) -> None:
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(12):
        (folder / f"note{i}.txt").write_text(f"note {i} about rivers and budgets\n" * 30,
                                             encoding="utf-8")
    root = normalize_folder(folder)
    library.add_folders([root])
    control = Control()
    stage = EmbeddingStage(library.store, library.embedder, batch=16)
    steps = 0

    class StopAfterTwo:
        name = stage.name

        def pending(self) -> tuple[int, int]:
            return stage.pending()

        def step(self, checkpoint):  # type: ignore[no-untyped-def]
            nonlocal steps
            if steps == 2:
                control.cancel()
                raise Cancelled()
            steps += 1
            return stage.step(checkpoint)

    indexer = Indexer(library.store, library.embedder, library.settings, control,
                      later_stages=[StopAfterTwo()])
    first = indexer.index_folders([root])
    assert first.cancelled and first.added == 12
    done_before = library.store.catalog.stage_counts()
    assert 0 < first.embedded + first.reused < library.store.catalog.counts()[1]
    assert done_before[STAGE_WORDS] > 0
    # Every passage committed so far has its vector, and only those.
    assert library.store.consistent()
    second = library.index()
    assert second.added == 0 and second.unchanged == 12
    # Each passage got its embedding once: embedded, or taken from the same text embedded.
    assert first.embedded + first.reused + second.embedded + second.reused == \
        library.store.catalog.counts()[1]
    assert library.store.catalog.stage_counts()[STAGE_WORDS] == 0
    assert library.store.consistent()


def test_progress_reports_both_stages(library, docs: Path) -> None:
    seen: list[Progress] = []
    library.index([str(docs)], seen.append)
    stages = [p.stage for p in seen if p.phase == "indexing"]
    assert "words" in stages and "meaning" in stages
    assert stages.index("meaning") > max(i for i, s in enumerate(stages) if s == "words")
    last = [p for p in seen if p.phase == "indexing"][-1]
    assert (last.words_done, last.words_total) == (4, 4)
    assert last.meaning_total == 4
    assert seen[-1].phase == "done"
    assert "words: 4/4 files" in seen[-1].stages_text


def test_search_answers_by_keyword_while_the_model_loads(library, docs: Path, tiny_model,
                                                         tmp_path: Path) -> None:
    from app.core.encoders.embedder import Embedder
    from app.core.library import Library

    library.index([str(docs)])
    library.close()
    cold = Embedder(str(tiny_model), backend="torch-float32", cache_dir=tmp_path / "cold")
    lib = Library(library.paths, library.settings, embedder=cold)
    try:
        resp = lib.search("landlord", rerank=False)
        assert not resp.semantic
        assert [h.path for h in resp.hits][:1] == [str(docs / "lease.txt")]
        cold.prepare_queries()
        resp = lib.search("landlord", rerank=False)
        assert resp.semantic and resp.hits[0].path == str(docs / "lease.txt")
    finally:
        lib.close()


V1_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE files (id INTEGER PRIMARY KEY AUTOINCREMENT, path TEXT NOT NULL UNIQUE,
    folder TEXT NOT NULL, name TEXT NOT NULL, ext TEXT NOT NULL, size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL, hash TEXT, status TEXT NOT NULL, reason TEXT,
    indexed_at REAL NOT NULL);
CREATE TABLE chunks (id INTEGER PRIMARY KEY AUTOINCREMENT, file_id INTEGER NOT NULL,
    ord INTEGER NOT NULL, text TEXT NOT NULL, page INTEGER, line_start INTEGER NOT NULL,
    line_end INTEGER NOT NULL, char_start INTEGER NOT NULL, char_end INTEGER NOT NULL,
    section INTEGER NOT NULL, embedding BLOB NOT NULL);
INSERT INTO meta VALUES ('schema_version', '1');
INSERT INTO files VALUES (1, '/d/a.txt', '/d', 'a.txt', '.txt', 3, 1, 'h', 'indexed', NULL, 0);
INSERT INTO chunks VALUES (1, 1, 0, 'abc', NULL, 1, 1, 0, 3, 0, x'0000');
"""


def test_a_first_version_catalog_is_migrated_and_counts_as_embedded(tmp_path: Path) -> None:
    path = tmp_path / "catalog.sqlite"
    conn = sqlite3.connect(path)
    conn.executescript(V1_SCHEMA)
    conn.close()
    cat = Catalog(path)
    try:
        assert cat.get_meta("schema_version") == str(SCHEMA_VERSION)
        assert cat.stage_counts()[STAGE_MEANING] == 1
        [row] = cat.chunk_rows([1]).values()
        assert row.location == ""  # passages of older catalogs show their page or line
        assert cat.files_at_stage(STAGE_WORDS) == []
        assert cat.chunk_ids().tolist() == [1]
    finally:
        cat.close()
    Catalog(path).close()  # opening again does not migrate twice


@pytest.mark.skipif(sys.platform != "linux", reason="only Linux allows names that are not UTF-8")
def test_a_file_name_that_is_not_utf8_is_indexed_and_found(library, docs: Path) -> None:
    raw = os.path.join(os.fsencode(docs), b"caf\xe9 \xff.txt")
    with open(raw, "wb") as f:
        f.write(b"The espresso machine needs descaling every month.\n")
    report = library.index([str(docs)])
    assert report.added == 5 and report.skipped == 0
    resp = library.search("espresso descaling", rerank=False)
    top = resp.hits[0].path
    assert os.fsencode(top) == raw and os.path.exists(top)
    # Unchanged on the next scan: the stored name is exactly the name on disk.
    assert library.index([str(docs)]).unchanged == 5


def test_stored_names_round_trip_exactly() -> None:
    for name in ["/plain/ascii.txt", "/ü/ñ.txt", "/x/\udcff\udce9.txt", "/y/\uffff.txt",
                 "/z/\uffff\udcffab\uffff00.txt"]:
        stored = to_db(name)
        stored.encode("utf-8")  # always storable
        assert from_db(stored) == name
    assert to_db("/plain/ascii.txt") == "/plain/ascii.txt"


def test_indexing_batches_wait_while_a_search_runs(tiny_model, tmp_path: Path) -> None:
    import threading
    import time

    from app.core.encoders.embedder import Embedder

    emb = Embedder(str(tiny_model), backend="torch-float32", cache_dir=tmp_path, batch_size=8)
    emb.load()
    runner = emb._runner
    real = runner.encode_documents
    started: list[float] = []

    def recording(texts, batch_size):  # type: ignore[no-untyped-def]
        started.append(time.monotonic())
        return real(texts, batch_size)

    runner.encode_documents = recording
    with emb.searching():
        worker = threading.Thread(target=emb.embed_documents,
                                  args=([f"passage number {i}" for i in range(32)],))
        worker.start()
        time.sleep(0.5)
        assert started == []  # no batch starts while the search runs
        released = time.monotonic()
    worker.join(30)
    assert len(started) == 4 and started[0] >= released


def test_progress_starts_with_scanning_and_ends_done(library, docs: Path) -> None:
    seen: list[Progress] = []
    library.index([str(docs)], seen.append)
    assert seen[0].phase == "scanning" and seen[0].message
    assert [p.phase for p in seen[1:-1]] == ["indexing"] * (len(seen) - 2)
    assert seen[-1].phase == "done" and "4 added" in seen[-1].message


def test_cancel_stops_a_slow_encoder_within_a_few_passages(library, tmp_path: Path) -> None:
    """On a slow or busy machine the encoder is asked for less at a time, so Cancel lands soon."""
    import time

    folder = tmp_path / "slow"
    folder.mkdir()
    for i in range(30):
        (folder / f"note{i}.txt").write_text(f"note {i} about rivers and budgets", encoding="utf-8")
    root = normalize_folder(folder)
    library.add_folders([root])
    real = library.embedder
    encoded: list[int] = []
    control = Control()

    class SlowEmbedder:
        """0.1 s a passage: about 25 times slower than MiniLM on a 2-core machine."""

        loaded = True
        info = real.info

        def embed_documents(self, texts: list[str]):  # type: ignore[no-untyped-def]
            time.sleep(0.1 * len(texts))
            encoded.append(len(texts))
            if sum(encoded) >= 12:
                control.cancel()  # the user presses Cancel while a slice is being encoded
            return real.embed_documents(texts)

    stage = EmbeddingStage(library.store, SlowEmbedder(), batch=128)  # type: ignore[arg-type]
    indexer = Indexer(library.store, real, library.settings, control, later_stages=[stage])
    report = indexer.index_folders([root])
    assert report.cancelled
    # Slices were fitted to about 0.4 s of work: 4 passages, never the whole 128-passage step.
    assert max(encoded) <= 8
    assert sum(encoded) < 12 + 8


# -- meaning fills in while a slow file is read ------------------------------------------------
WAIT = 60.0  # how long a slow read waits for the writer before giving up (a failure, not a timing)


def _slow_folder(tmp_path: Path) -> tuple[str, Path]:
    """Notes modified recently and one old, slow file: the notes are read first."""
    folder = tmp_path / "slowread"
    folder.mkdir()
    for i in range(6):
        (folder / f"note{i}.txt").write_text(f"note {i} about rivers and budgets\n" * 20,
                                             encoding="utf-8")
    slow = folder / "archive.txt"
    slow.write_text("the archive of old invoices\n" * 20, encoding="utf-8")
    os.utime(slow, (1_000_000_000, 1_000_000_000))  # 2001: read after the notes
    return normalize_folder(folder), slow


class _SlowReading(Indexer):
    """An indexer whose reader takes ``slow`` only once ``release`` is set (or WAIT passed)."""

    def __init__(self, *args, slow: Path, on_slow, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.slow, self.on_slow = str(slow), on_slow

    def reader(self):  # type: ignore[no-untyped-def]
        from app.core.indexing.file_reader import FileReader

        outer = self

        class Reader(FileReader):
            def read_one(self, scanned, state, gone_by_hash):  # type: ignore[no-untyped-def]
                if scanned.path == outer.slow:
                    outer.on_slow()
                return super().read_one(scanned, state, gone_by_hash)

        return Reader(self.settings, self.embedder, self.ocr_cache, self._retry)


class _Watched(EmbeddingStage):
    """The embedding stage, telling ``notes_done`` once every note is embedded."""

    def __init__(self, library, notes: int) -> None:  # type: ignore[no-untyped-def]
        import threading

        super().__init__(library.store, library.embedder)
        self.notes = notes
        self.notes_done = threading.Event()
        self.during_words = 0  # steps taken before the slow file was written

    def step(self, checkpoint, most=None):  # type: ignore[no-untyped-def]
        result = super().step(checkpoint, most)
        if result is not None and not self.notes_done.is_set():
            self.during_words += 1
            if self.store.catalog.stage_counts()[STAGE_MEANING] >= self.notes:
                self.notes_done.set()
        return result


def test_passages_read_early_are_embedded_while_a_slow_file_is_still_read(
        library, tmp_path: Path) -> None:
    root, slow = _slow_folder(tmp_path)
    library.add_folders([root])
    stage = _Watched(library, notes=6)
    seen: dict[str, object] = {}

    def slow_read() -> None:
        # The writer is free while this file is read: the notes' meaning must fill in now.
        seen["embedded_before_slow_file"] = stage.notes_done.wait(WAIT)
        seen["vectors"] = len(library.store.vectors)
        seen["findable_by_words"] = [h.path for h in library.search("rivers budgets",
                                                                    rerank=False).hits]

    indexer = _SlowReading(library.store, library.embedder, library.settings, library.control,
                           later_stages=[stage], slow=slow, on_slow=slow_read)
    report = indexer.index_folders([root])
    assert seen["embedded_before_slow_file"] is True
    assert isinstance(seen["vectors"], int) and seen["vectors"] > 0
    assert seen["findable_by_words"]  # words search answered while both stages ran
    assert report.added == 7 and not report.cancelled
    assert report.embedded + report.reused == library.store.catalog.counts()[1]
    assert library.store.catalog.stage_counts()[STAGE_WORDS] == 0
    assert library.store.consistent()
    hit = library.search("old invoices archive", rerank=False).hits[0]
    assert hit.path == str(slow)


def test_cancel_while_embedding_overlaps_a_slow_read_keeps_what_is_done(
        library, tmp_path: Path) -> None:
    import threading

    root, slow = _slow_folder(tmp_path)
    library.add_folders([root])
    stage = _Watched(library, notes=6)
    control = Control()

    def cancel_meanwhile() -> None:
        stage.notes_done.wait(WAIT)
        control.cancel()  # the user presses Cancel (or quits) while both stages run

    indexer = _SlowReading(library.store, library.embedder, library.settings, control,
                           later_stages=[stage], slow=slow, on_slow=cancel_meanwhile)
    report = indexer.index_folders([root])
    assert report.cancelled and stage.notes_done.is_set()
    assert not any(t.name == "sift-reader" and t.is_alive() for t in threading.enumerate())
    # What was embedded before the cancel stays; the next run finishes the rest.
    assert library.store.catalog.stage_counts()[STAGE_MEANING] >= 6
    assert library.store.consistent()
    again = library.index()
    assert report.added + again.added == 7  # the slow file too, by now
    # No passage was embedded twice, none was lost.
    done = report.embedded + report.reused + again.embedded + again.reused
    assert done == library.store.catalog.counts()[1]
    assert library.store.catalog.stage_counts()[STAGE_WORDS] == 0
    assert library.store.consistent()


def test_quit_while_embedding_overlaps_a_slow_read_returns_in_time(library,
                                                                   tmp_path: Path) -> None:
    """The service's shutdown, mid-overlap: the writer stops at its next checkpoint."""
    import threading
    import time

    from app.core.library import Library
    from app.core.service.index_service import IndexService

    root, slow = _slow_folder(tmp_path)
    library.add_folders([root])
    stage = _Watched(library, notes=6)
    in_slow_read = threading.Event()
    release = threading.Event()

    def hold() -> None:
        # As a read in the PDF worker does, it ends when the app quits (extract.shutdown).
        in_slow_read.set()
        deadline = time.monotonic() + WAIT
        while not release.wait(0.05) and not library.control.cancelled and \
                time.monotonic() < deadline:
            pass

    library.indexer = lambda: _SlowReading(  # type: ignore[method-assign]
        library.store, library.embedder, library.settings, library.control,
        later_stages=[stage], slow=slow, on_slow=hold)
    service = IndexService(library, watch=False)
    service.start()
    try:
        assert in_slow_read.wait(WAIT) and stage.notes_done.wait(WAIT)
        assert service.shutdown() is True
    finally:
        release.set()
    # Everything embedded before the quit is there when the app starts again.
    lib = Library(library.paths, library.settings, embedder=library.embedder)
    try:
        assert lib.store.catalog.stage_counts()[STAGE_MEANING] >= 6
        assert lib.store.consistent()
    finally:
        lib.close()
