"""The engine under random sequences of what users do; after every settled step, index ≡ disk.

Rules: add and remove folders (nested, overlapping, hidden), create / edit / append to / copy /
rename / move / delete files (e-mails with an attachment among them: its own result, following
its mail), pause, resume, cancel, re-index, exclusion patterns, a model switch, and quit +
restart at any moment (also mid-indexing). Short in CI; SIFT_LONG_STATEFUL=1 runs the long one.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import signal
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import replace
from email.message import EmailMessage
from pathlib import Path
from typing import ClassVar
from unittest.mock import patch

import numpy as np
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from app.core.encoders.embedder import Embedder
from app.core.host.paths import resolve_paths
from app.core.indexing.scanner import Rules, scan_folder
from app.core.library import Library
from app.core.service.index_service import IndexService, ServiceEvent
from app.core.settings import Settings, load_settings
from app.core.storage.catalog import Catalog
from tests.core.indexing.test_crash import Runner
from tests.polling import eventually

LONG = int(os.environ.get("SIFT_LONG_STATEFUL", "0") or 0) >= 1  # any N ≥ 1: the long run
SETTLE_S = 40.0
DIRS = ("a", "a/b", "a/b/c", "a/.h", "d")  # nested, a hidden one inside, and one apart
NAMES = ("one.txt", "two.txt", "three.md", "four.txt", "five.eml")
PATTERNS = ((), ("*.md",), ("c/",), ("*.md", "b/"))

# Words the engine says on purpose in these sequences (a full disk, a damaged catalog repaired).
EXPECTED_ERRORS = ("The disk holding Sift's data is full", "Sift's index was damaged")

dirs = st.sampled_from(DIRS)
names = st.sampled_from(NAMES)


class _Errors(logging.Handler):
    """Collects every error Sift logs: a logged exception is a bug the user would meet."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


class EngineMachine(RuleBasedStateMachine):
    """A user with a few nested folders, a data folder, and two (tiny) models to choose from."""

    base: Path
    models: dict[str, Embedder]
    runner: Runner  # forks `sift index` processes to kill
    stats: ClassVar[dict[str, int]] = {"sequences": 0, "steps": 0, "checks": 0}

    def __init__(self) -> None:
        super().__init__()
        self.root = Path(self.base) / f"run{EngineMachine.stats['sequences']}"
        EngineMachine.stats["sequences"] += 1
        shutil.rmtree(self.root, ignore_errors=True)
        for d in DIRS:
            (self.root / "disk" / d).mkdir(parents=True, exist_ok=True)
        self.paths = resolve_paths(self.root / "data")
        self.counter = 0
        self.settled = True
        self.paused = False
        self.cancelled = False
        self.errors_said: list[str] = []  # the words of "error" events
        self.errors = _Errors()
        logging.getLogger("app").addHandler(self.errors)
        self.svc: IndexService | None = None

    # -- plumbing -----------------------------------------------------------------------------
    def _on_event(self, ev: ServiceEvent) -> None:
        if ev.kind == "error":
            self.errors_said.append(ev.message)

    def folder(self, d: str) -> str:
        return str(self.root / "disk" / d)

    def _start(self) -> None:
        model = load_settings(self.paths.settings_file).model
        by_name = {e.name: e for e in self.models.values()}
        lib = Library(self.paths, embedder=by_name[model])
        self.svc = IndexService(lib, on_event=self._on_event,
                                low_priority=False)
        self.svc.fallback_interval = 3600.0
        self.svc.start()

    @initialize(model=st.sampled_from(["first", "second"]))
    def start(self, model: str) -> None:
        from app.core.settings import save_settings

        name = self.models[model].name
        save_settings(self.paths.settings_file,
                      Settings(model=name, backend="torch-float32", rerank=False, reranker="",
                               chunk_tokens=48, chunk_overlap=8))
        self._start()

    def teardown(self) -> None:
        if self.svc is not None:
            assert self.svc.shutdown(timeout=30.0)
        logging.getLogger("app").removeHandler(self.errors)
        shutil.rmtree(self.root, ignore_errors=True)

    def _write(self, path: Path) -> None:
        self.counter += 1
        path.parent.mkdir(parents=True, exist_ok=True)
        body = f"river note tok{self.counter:05d} about the budget\n"
        if path.suffix == ".eml":  # a mail, and its attachment: a result of its own
            mail = EmailMessage()
            mail["Subject"] = "Budget"
            mail.set_content(body)
            mail.add_attachment(f"attached figures att{self.counter:05d} for the river\n",
                                filename="figures.txt")
            path.write_bytes(bytes(mail))
        else:
            path.write_text(body, encoding="utf-8")
        self.settled = False

    def _files(self) -> list[Path]:
        return sorted(p for p in (self.root / "disk").rglob("*") if p.is_file())

    # -- folders ------------------------------------------------------------------------------
    @rule(d=dirs)
    def add_folder(self, d: str) -> None:
        assert self.svc is not None
        self.svc.add_folder(self.folder(d))
        self.settled = False

    @rule(d=dirs)
    def remove_folder(self, d: str) -> None:
        assert self.svc is not None
        self.svc.remove_folder(self.folder(d))
        self.settled = False

    @rule(keep=st.sets(dirs))
    def apply_dialog(self, keep: set[str]) -> None:
        """The settings dialog: a copy edited and applied as a diff."""
        assert self.svc is not None
        self.svc.set_folders([self.folder(d) for d in sorted(keep)])
        self.settled = False

    # -- files ----------------------------------------------------------------------------------
    @rule(d=dirs, name=names)
    def write_file(self, d: str, name: str) -> None:
        self._write(self.root / "disk" / d / name)

    @rule(data=st.data())
    def rename_or_move(self, data: st.DataObject) -> None:
        files = self._files()
        if not files:
            return
        src = data.draw(st.sampled_from(files))
        dest = self.root / "disk" / data.draw(dirs) / data.draw(names)
        if dest.exists():
            return
        src.rename(dest)
        self.settled = False

    @rule(data=st.data())
    def copy_file(self, data: st.DataObject) -> None:
        """A copy elsewhere: the same content, whose passages keep the original's embeddings."""
        files = self._files()
        if not files:
            return
        src = data.draw(st.sampled_from(files))
        dest = self.root / "disk" / data.draw(dirs) / data.draw(names)
        if dest.exists() or dest.suffix != src.suffix:
            return
        shutil.copy2(src, dest)
        self.settled = False

    @rule(data=st.data(), lines=st.integers(1, 12))
    def append_to_file(self, data: st.DataObject, lines: int) -> None:
        """An edit that keeps what was there: its passages keep their embeddings."""
        files = [f for f in self._files() if f.suffix != ".eml"]
        if not files:
            return
        target = data.draw(st.sampled_from(files))
        with open(target, "a", encoding="utf-8") as f:
            f.writelines(f"more about the river and the budget, line {i}\n" for i in range(lines))
        self.settled = False

    @rule(data=st.data())
    def delete_file(self, data: st.DataObject) -> None:
        files = self._files()
        if files:
            data.draw(st.sampled_from(files)).unlink()
            self.settled = False

    # -- steering -----------------------------------------------------------------------------
    @rule()
    def pause(self) -> None:
        assert self.svc is not None
        self.svc.pause()
        self.paused = True

    @rule()
    def resume(self) -> None:
        assert self.svc is not None
        self.svc.resume()
        self.paused = False

    @rule()
    def cancel(self) -> None:
        assert self.svc is not None
        self.svc.cancel()
        self.paused = False  # cancel ends a pause: nothing is left to hold
        self.cancelled = True

    @rule()
    def reindex(self) -> None:
        assert self.svc is not None
        self.svc.reindex()
        self.cancelled = False
        self.settled = False

    @rule(patterns=st.sampled_from(PATTERNS))
    def exclusions(self, patterns: tuple[str, ...]) -> None:
        assert self.svc is not None
        lib = self.svc.library
        lib.update_settings(replace(lib.settings, exclude=patterns))
        self.svc.reindex()
        self.cancelled = False
        self.settled = False

    @precondition(lambda self: not self.paused)
    @rule(model=st.sampled_from(["first", "second"]))
    def switch_model(self, model: str) -> None:
        assert self.svc is not None
        self.svc.switch_model(self.models[model].name)
        self.settled = False

    @rule()
    def restart(self) -> None:
        """Quit at whatever moment this is (perhaps mid-indexing), then start again."""
        assert self.svc is not None
        assert self.svc.shutdown(timeout=30.0), "the writer did not stop at a checkpoint"
        self.svc = None
        self._start()
        self.paused = self.cancelled = False  # a new start reconciles everything
        self.settled = False

    @rule(delay=st.floats(0.0, 1.5))
    def kill_an_indexing_process(self, delay: float) -> None:
        """Quit, let a `sift index` process work on the same data folder, kill it (SIGKILL)."""
        assert self.svc is not None
        assert self.svc.shutdown(timeout=30.0)
        self.svc = None
        for path in self._files()[:3]:  # give it something to do
            self._write(path)
        pid = self.runner.start(["--data-dir", str(self.paths.data_dir), "index"])
        time.sleep(delay)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        status = self.runner.status()
        assert not os.WIFEXITED(status) or os.WEXITSTATUS(status) in (0, 1), status
        self._start()
        self.paused = self.cancelled = False
        self.settled = False

    @precondition(lambda self: not self.paused)  # paused, nothing would reach the disk
    @rule(d=dirs, name=names)
    def disk_full_for_a_while(self, d: str, name: str) -> None:
        """The disk fills up while a change is indexed; the user makes room and resumes."""
        assert self.svc is not None
        svc = self.svc

        def full(*args: object, **kwargs: object) -> int:
            raise sqlite3.OperationalError("database or disk is full")

        said = len(self.errors_said)
        with patch.object(Catalog, "put_file", full):
            self._write(self.root / "disk" / d / name)
            svc.reindex()
            eventually(lambda: len(self.errors_said) > said or not svc.busy, timeout=SETTLE_S)
        svc.resume()
        self.paused = False

    @rule()
    def damage_the_catalog_and_restart(self) -> None:
        """Quit, find the catalog overwritten (a bad disk), start: it is set aside and rebuilt."""
        assert self.svc is not None
        folder = self.svc.library.index_folder
        assert self.svc.shutdown(timeout=30.0)
        self.svc = None
        catalog = folder / "catalog.sqlite"
        if catalog.exists():
            for suffix in ("-wal", "-shm"):
                (folder / f"catalog.sqlite{suffix}").unlink(missing_ok=True)
            catalog.write_bytes(b"not a database any more " * 100)
        self._start()
        self.paused = self.cancelled = False
        self.settled = False

    @precondition(lambda self: not self.paused)
    @rule()
    def settle(self) -> None:
        assert self.svc is not None
        assert self.svc.wait_idle(SETTLE_S), f"the engine never became idle: " \
            f"{self._busy_with(self.svc)}"
        self.settled = True

    # -- what must always hold -------------------------------------------------------------------
    @invariant()
    def nothing_went_wrong(self) -> None:
        EngineMachine.stats["steps"] += 1
        assert not self.errors.records, [r.getMessage() for r in self.errors.records]
        unexpected = [m for m in self.errors_said if not m.startswith(EXPECTED_ERRORS)]
        assert not unexpected, unexpected

    @invariant()
    def the_index_is_the_disk(self) -> None:
        if not self.settled or self.paused or self.svc is None:
            return
        svc = self.svc
        if not svc.wait_idle(SETTLE_S):
            raise AssertionError(f"the engine never became idle: {self._busy_with(svc)}")
        states = {s.path: s.state for s in svc.folder_states()}
        if not self.cancelled:
            assert set(states.values()) <= {"watching"}, states
        if set(states.values()) <= {"watching"}:  # what the folders panel says must be true
            assert self._index_matches(svc), f"{states}: {self._describe(svc)}"
            EngineMachine.stats["checks"] += 1

    @staticmethod
    def _busy_with(svc: IndexService) -> str:
        w = svc._watching.watcher
        return (f"jobs {svc._queue.outstanding}, changes {svc._changes.files}/{svc._changes.dirs}, "
                f"watcher pending {w is not None and w.pending} "
                f"({w is not None and len(w.buffer)} buffered), gone {svc._gone_roots}, "
                f"paused {svc.paused}")

    def _expected(self, lib: Library) -> dict[str, tuple[int, int]]:
        s = lib.settings
        rules = Rules(s.exclude, respect_gitignore=s.respect_gitignore)
        out: dict[str, tuple[int, int]] = {}
        for folder in s.folders:
            for f in scan_folder(folder, rules):
                out[f.path] = (f.size, f.mtime_ns)
        return out

    def _actual(self, lib: Library) -> dict[str, tuple[int, int]]:
        cat = Catalog(lib.index_folder / "catalog.sqlite", readonly=True)
        try:
            return {p: (size, mtime) for p, size, mtime in cat.conn.execute(
                "SELECT path, size, mtime_ns FROM files WHERE container_id IS NULL")}
        finally:
            cat.close()

    def _texts_current(self, lib: Library) -> bool:
        cat = Catalog(lib.index_folder / "catalog.sqlite", readonly=True)
        try:
            for path, text in cat.conn.execute(
                    "SELECT f.path, group_concat(c.text, ' ') FROM files f "
                    "JOIN chunks c ON c.file_id = f.id WHERE f.container_id IS NULL GROUP BY f.id"):
                marker = re.search(r"tok\d{5}", Path(path).read_text(encoding="utf-8"))
                if marker is None or marker.group() not in text:
                    return False
            return True
        finally:
            cat.close()

    def _attachments_current(self, lib: Library) -> bool:
        """Every indexed mail has its attachment as a result of its own, with today's text."""
        cat = Catalog(lib.index_folder / "catalog.sqlite", readonly=True)
        try:
            expected = {}
            for path, in cat.conn.execute("SELECT path FROM files WHERE status = 'indexed' "
                                          "AND ext = '.eml' AND container_id IS NULL"):
                marker = re.search(r"att\d{5}", Path(path).read_text(encoding="utf-8"))
                if marker is not None:
                    expected[path] = marker.group()
            actual = {mail: text for mail, text in cat.conn.execute(
                "SELECT m.path, group_concat(c.text, ' ') FROM files f "
                "JOIN files m ON m.id = f.container_id JOIN chunks c ON c.file_id = f.id "
                "GROUP BY f.id")}
            return set(actual) == set(expected) and all(expected[p] in actual[p] for p in actual)
        finally:
            cat.close()

    @staticmethod
    def _counts_true(lib: Library) -> bool:
        """Each file's stored passage count (what status and the folders panel sum) is true."""
        cat = Catalog(lib.index_folder / "catalog.sqlite", readonly=True)
        try:
            wrong = cat.conn.execute(
                "SELECT count(*) FROM files f WHERE f.chunks != "
                "(SELECT count(*) FROM chunks c WHERE c.file_id = f.id)").fetchone()[0]
            return wrong == 0
        finally:
            cat.close()

    @staticmethod
    def _vectors_true(lib: Library) -> bool:
        """Every stored embedding is this model's embedding of its own passage (one kept from an
        earlier version of the file or from a copy included)."""
        cat = Catalog(lib.index_folder / "catalog.sqlite", readonly=True)
        try:
            rows = cat.conn.execute(
                "SELECT text, embedding FROM chunks WHERE length(embedding) > 0").fetchall()
        finally:
            cat.close()
        if not rows:
            return True
        stored = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float16).reshape(len(rows), -1)
        fresh = lib.embedder.embed_documents([r[0] for r in rows])
        return bool(np.allclose(stored.astype(np.float32), fresh, atol=2e-3))

    def _index_matches(self, svc: IndexService) -> bool:
        lib = svc.library
        return (self._actual(lib) == self._expected(lib) and lib.store.consistent()
                and self._texts_current(lib) and self._attachments_current(lib)
                and self._counts_true(lib) and self._vectors_true(lib))

    def _describe(self, svc: IndexService) -> str:
        lib = svc.library
        actual, expected = self._actual(lib), self._expected(lib)
        return (f"missing {sorted(set(expected) - set(actual))}, "
                f"extra {sorted(set(actual) - set(expected))}, "
                f"stale {sorted(p for p in actual if p in expected and actual[p] != expected[p])}, "
                f"vectors consistent {lib.store.consistent()}, texts {self._texts_current(lib)}, "
                f"attachments {self._attachments_current(lib)}, counts {self._counts_true(lib)}, "
                f"embeddings {self._vectors_true(lib)}, "
                f"folders {lib.settings.folders}")


@pytest.fixture(scope="module")
def two_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Embedder]:
    from tests.tiny_models import build_bi_encoder

    out = {}
    for key in ("first", "second"):
        folder = build_bi_encoder(tmp_path_factory.mktemp(f"tiny-{key}"))
        emb = Embedder(str(folder), backend="torch-float32",
                       cache_dir=tmp_path_factory.mktemp("encoder-cache"))
        emb.load()
        out[key] = emb
    return out


@pytest.fixture(scope="module")
def runner() -> Iterator[Runner]:
    r = Runner(Path(__file__).resolve().parents[3])
    yield r
    r.close()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="the kill rule forks `sift index` runs")
def test_engine_keeps_the_index_equal_to_the_disk(two_models, runner: Runner,
                                                  tmp_path: Path) -> None:
    EngineMachine.base = tmp_path
    EngineMachine.models = two_models
    EngineMachine.runner = runner
    EngineMachine.stats = {"sequences": 0, "steps": 0, "checks": 0}
    started = time.monotonic()
    EngineMachine.TestCase.settings = settings(
        max_examples=50 if LONG else 5, stateful_step_count=40 if LONG else 15, deadline=None,
        suppress_health_check=list(HealthCheck), database=None)
    run = EngineMachine.TestCase()
    run.runTest()
    s = EngineMachine.stats
    print(f"\nstateful engine: {s['sequences']} sequences, {s['steps']} steps, "
          f"{s['checks']} index≡disk checks, {time.monotonic() - started:.0f} s")
