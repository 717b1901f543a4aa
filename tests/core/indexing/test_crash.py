"""Crash safety: an indexing process killed at any moment leaves an index that opens, and resumes."""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.core.storage.store import IndexStore, describe_index
from tests.core.service.live_index import fresh_snapshot, snapshot

FILES = 200
KILLS = 10       # kill points to reach
MAX_ROUNDS = 24  # runs that finish before their kill do not count; give up after this many

# The kill rounds run `sift index` exactly as `python -m app` does (app.main.main with the same
# argv), in a child forked from a helper that imported torch once: a fresh interpreter pays
# 5-12 s of imports on a busy 2-core machine, which would make ten kills take minutes.
HELPER = r"""
import json, os, sys
import sentence_transformers  # the slow imports, paid once for every run
from app.main import main

for line in sys.stdin:
    argv = json.loads(line)
    pid = os.fork()
    if pid == 0:
        quiet = os.open(os.devnull, os.O_WRONLY)
        os.dup2(quiet, 1)
        os.dup2(quiet, 2)
        try:
            code = main(argv)
        except BaseException:
            code = 99
        os._exit(code or 0)
    print(pid, flush=True)
    _, status = os.waitpid(pid, 0)
    print(status, flush=True)
"""

class Runner:
    """Starts `sift --data-dir D index FOLDER` runs and lets the test kill them."""

    def __init__(self, repo: Path) -> None:
        # One torch thread: on a busy 2-core machine two threads spin against each other.
        env = {**os.environ, "TOKENIZERS_PARALLELISM": "false", "HF_HUB_OFFLINE": "1",
               "OMP_NUM_THREADS": "1", "PYTHONPATH": str(repo)}
        self.proc = subprocess.Popen([sys.executable, "-c", HELPER], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, cwd=repo, env=env)

    def start(self, argv: list[str]) -> int:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(argv) + "\n")
        self.proc.stdin.flush()
        return int(self.proc.stdout.readline())

    def status(self) -> int:
        """The raw wait status of the last run (after it ended or was killed)."""
        assert self.proc.stdout is not None
        return int(self.proc.stdout.readline())

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


WORDS = ["river", "budget", "meeting", "invoice", "landlord", "puppy", "protein", "valve",
         "ocean", "report", "notes", "science", "physics", "python", "function", "error",
         "page", "line", "deposit", "tenant"]


def write_doc(path: Path, rng: random.Random) -> None:
    body = "\n".join(" ".join(rng.choice(WORDS) for _ in range(12)) for _ in range(10))
    path.write_text(f"{path.stem} {rng.random()}\n{body}\n", encoding="utf-8")


def make_corpus(folder: Path, count: int, rng: random.Random) -> None:
    for i in range(count):
        sub = folder / f"part{i % 5}"
        sub.mkdir(parents=True, exist_ok=True)
        write_doc(sub / f"doc{i:04d}.txt", rng)


def change_some_files(folder: Path, rng: random.Random, round_: int) -> None:
    """What a user does between two crashes: edit, add, delete and rename files."""
    files = sorted(folder.rglob("*.txt"))
    rng.shuffle(files)
    for path in files[:20]:
        write_doc(path, rng)
    for path in files[20:23]:
        path.unlink()
    for path in files[23:26]:
        path.rename(path.with_name(f"r{round_}-{path.name}"))
    for i in range(10):
        write_doc(folder / f"part{i % 5}" / f"new{round_}-{i}.txt", rng)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def check_opens_consistently(index_folder: Path) -> str:
    """What a restarted app does first: open the catalog and bring the vectors in step."""
    meta = describe_index(index_folder)
    store = IndexStore(index_folder, meta["model"], int(meta["dim"]), readonly=True)
    try:
        sync = store.open_vectors()
        assert store.consistent(), "catalog chunk ids and vector ids differ"
        conn = store.catalog.conn
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        files, chunks, _ = store.catalog.counts()
        texts = conn.execute("SELECT count(*) FROM chunks WHERE length(text) > 0").fetchone()[0]
        assert texts == chunks and (files == 0) == (chunks == 0)
        return sync.action
    finally:
        store.catalog.close()


@pytest.mark.slow
def test_killed_indexing_always_reopens_and_resumes_to_a_full_index(
        tmp_path: Path, tiny_model: Path, settings, tiny_embedder) -> None:
    rng = random.Random(11)
    folder = tmp_path / "corpus"
    make_corpus(folder, FILES, rng)
    data = tmp_path / "data"
    data.mkdir()
    # The data folder doubles as the config folder: point it at the tiny model.
    (data / "settings.json").write_text(json.dumps({
        "version": 1, "model": str(tiny_model), "backend": "torch-float32", "rerank": False,
        "reranker": "", "chunk_tokens": settings.chunk_tokens,
        "chunk_overlap": settings.chunk_overlap}), encoding="utf-8")
    argv = ["--data-dir", str(data), "index", str(folder)]
    runner = Runner(Path(__file__).resolve().parents[3])
    reopened: list[str] = []   # how the vector index came back after each kill
    delays: list[float] = []
    span = 3.0                 # kills land at random in [0, span] after a run starts
    try:
        for round_ in range(MAX_ROUNDS):
            if len(reopened) >= KILLS:
                break
            if round_:
                change_some_files(folder, rng, round_)
            delay = rng.uniform(0.0, span)
            pid = runner.start(argv)
            started = time.monotonic()
            while time.monotonic() - started < delay and alive(pid):
                time.sleep(0.005)
            with contextlib.suppress(ProcessLookupError):  # it may have finished first
                os.kill(pid, signal.SIGKILL)
            status = runner.status()
            if not os.WIFSIGNALED(status):
                span = 0.8 * (time.monotonic() - started)  # runs are shorter than guessed
                continue
            index_folder = next((p.parent for p in data.glob("indexes/*/catalog.sqlite")), None)
            if index_folder is None:
                continue  # killed before the index existed: nothing to check yet
            delays.append(delay)
            reopened.append(check_opens_consistently(index_folder))
        runner.start(argv)
        assert os.waitstatus_to_exitcode(runner.status()) == 0  # the last run ends by itself
    finally:
        runner.close()
    index_folder = next(p.parent for p in data.glob("indexes/*/catalog.sqlite"))
    assert check_opens_consistently(index_folder) == "loaded"
    print(f"\n{len(reopened)} kill points tried, at {', '.join(f'{d:.2f}' for d in delays)} s "
          f"into a run; the vector index reopened as: {', '.join(reopened)}")
    assert len(reopened) >= 8
    assert snapshot(index_folder) == fresh_snapshot(tmp_path, settings, tiny_embedder, [folder])


# -- two processes on one data folder, and the data folder's own mode ------------------------------
HOLDER = r"""
import sys, time
from pathlib import Path
from app.core.host import datalock
datalock.acquire(Path(sys.argv[1]), wait=False)
print("held", flush=True)
time.sleep(60)
"""


def test_a_second_writer_is_told_another_sift_runs_and_a_crash_frees_the_lock(
        tmp_path: Path) -> None:
    from app.core.host import datalock

    data = tmp_path / "data"
    data.mkdir()
    repo = Path(__file__).resolve().parents[3]
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(data)], cwd=repo,
                              stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": str(repo)})
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(datalock.DataFolderBusy, match=r"Another Sift \(process \d+\)"):
            datalock.acquire(data, wait=False)
        holder.send_signal(signal.SIGKILL)  # a crash: the system frees the lock
        holder.wait(timeout=10)
        datalock.acquire(data, wait=False)
        datalock.release(data)
    finally:
        with contextlib.suppress(ProcessLookupError):
            holder.kill()
    assert (data / datalock.LOCK_FILE).stat().st_mode & 0o077 == 0


def test_a_second_sift_index_waits_for_the_first_and_says_so(
        tmp_path: Path, library, docs: Path, caplog) -> None:
    import threading

    repo = Path(__file__).resolve().parents[3]
    data = library.paths.data_dir
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(data)], cwd=repo,
                              stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": str(repo)})
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        done = threading.Event()
        worker = threading.Thread(target=lambda: (library.index([str(docs)]), done.set()))
        worker.start()
        assert not done.wait(1.5)  # waits: both would embed everything otherwise
        assert any("Waiting for it to finish" in r.getMessage() for r in caplog.records)
        holder.send_signal(signal.SIGTERM)
        holder.wait(timeout=10)
        assert done.wait(60)
        worker.join()
    finally:
        with contextlib.suppress(ProcessLookupError):
            holder.kill()
    assert library.stats().files == 4


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX modes")
def test_an_existing_data_folder_keeps_its_mode(tmp_path: Path, settings, tiny_embedder) -> None:
    from app.core.host.paths import resolve_paths
    from app.core.library import Library

    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    lib = Library(resolve_paths(shared), settings, embedder=tiny_embedder)
    lib.close()
    assert shared.stat().st_mode & 0o7777 == 0o1777
    assert (shared / "indexes").stat().st_mode & 0o777 == 0o700  # made by Sift: private


# -- a damaged catalog -----------------------------------------------------------------------------
def _damage_middle(path: Path) -> None:
    size = path.stat().st_size
    with open(path, "r+b") as f:
        f.seek(size // 3)
        f.write(random.Random(3).randbytes(max(4096, size // 3)))


def _not_a_database(path: Path) -> None:
    path.write_bytes(b"these bytes were never a database" * 200)


@pytest.mark.parametrize("damage", [_damage_middle, _not_a_database])
def test_a_damaged_catalog_is_set_aside_and_rebuilt_from_the_files(
        damage, tmp_path: Path, settings, tiny_embedder, docs: Path) -> None:
    from app.core.host.paths import resolve_paths
    from app.core.library import Library

    paths = resolve_paths(tmp_path / "data")
    lib = Library(paths, settings, embedder=tiny_embedder)
    lib.index([str(docs)])
    folder = lib.index_folder
    lib.close()
    for suffix in ("-wal", "-shm"):
        (folder / f"catalog.sqlite{suffix}").unlink(missing_ok=True)
    damage(folder / "catalog.sqlite")

    lib = Library(paths, embedder=tiny_embedder)  # as a restart does: settings from the file
    try:
        report = lib.index()
        assert report.added == 4
        assert "damaged" in lib.notice and "rebuilt" in lib.notice and "\n" not in lib.notice
        assert [h.path for h in lib.search('"landlord"').hits] == [str(docs / "lease.txt")]
        assert len(list(folder.glob("catalog.damaged-*.sqlite"))) == 1  # kept, not deleted
    finally:
        lib.close()


def test_text_a_quick_check_cannot_see_is_found_by_search_and_repaired(
        tmp_path: Path, settings, tiny_embedder, docs: Path) -> None:
    import sqlite3

    from app.core.errors import KnownError
    from app.core.host.paths import resolve_paths
    from app.core.library import Library
    from app.core.service.index_service import IndexService

    paths = resolve_paths(tmp_path / "data")
    lib = Library(paths, settings, embedder=tiny_embedder)
    lib.index([str(docs)])
    folder = lib.index_folder
    lib.close()
    conn = sqlite3.connect(folder / "catalog.sqlite")
    conn.execute("UPDATE chunks SET text = CAST(x'6c616e646c6f7264ff' AS TEXT)")  # not UTF-8
    conn.commit()
    conn.close()

    events: list[str] = []
    svc = IndexService(Library(paths, embedder=tiny_embedder), watch=False,
                       on_event=lambda ev: events.append(ev.message) if ev.kind == "error"
                       else None)
    svc.start()
    try:
        assert svc.wait_idle(60)
        with pytest.raises(KnownError, match="damaged"):
            svc.search('"landlord"')
        assert svc.wait_idle(60)
        assert [h.path for h in svc.search('"landlord"').hits] == [str(docs / "lease.txt")]
        assert any("set aside" in m for m in events), events
    finally:
        svc.shutdown()


def test_a_full_disk_ends_sift_index_with_words_and_a_consistent_index(
        tmp_path: Path, library, docs: Path, monkeypatch) -> None:
    import sqlite3

    from app.core.errors import KnownError
    from app.core.storage.catalog import Catalog

    library.index([str(docs)])
    (docs / "new.txt").write_text("no room for this one: quokka\n", encoding="utf-8")

    def full(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(Catalog, "put_file", full)
    with pytest.raises(KnownError, match="disk holding Sift's data is full; indexing paused"):
        library.index()
    monkeypatch.undo()
    assert library.store.consistent() and library.stats().files == 4
    assert library.index().added == 1
