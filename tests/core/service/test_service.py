"""The indexing service: live folders stay true to the disk through edits, moves, bursts and outages."""

from __future__ import annotations

import os
import shutil
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from app.core.host.paths import resolve_paths
from app.core.library import Library
from app.core.service import watcher as watcher_module
from app.core.service.index_service import IndexService, ServiceEvent
from app.core.storage.catalog import Catalog
from tests.polling import eventually

WAIT = 60.0  # generous: the machine running the tests may be busy


# -- helpers shared with the other live-index tests -----------------------------------------------
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


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def service_for(library, recorder) -> Iterator[Callable[..., IndexService]]:  # type: ignore[no-untyped-def]
    made: list[IndexService] = []

    def make(*folders: Path, **kwargs) -> IndexService:  # type: ignore[no-untyped-def]
        library.add_folders([str(f) for f in folders])
        svc = IndexService(library, on_event=recorder, **kwargs)
        made.append(svc)
        return svc

    yield make
    for svc in made:
        svc.stop()


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


# -- start, edits, moves --------------------------------------------------------------------------
def test_start_indexes_the_folders_then_watches_them(service_for, recorder, docs: Path,
                                                     tmp_path, settings, tiny_embedder) -> None:
    svc = service_for(docs)
    svc.start()
    assert svc.wait_idle(WAIT)
    states = svc.folder_states()
    assert [(s.path, s.state, s.files) for s in states] == [(str(docs), "watching", 4)]
    kinds = recorder.kinds()
    assert kinds.index("ready") < kinds.index("idle")
    assert "progress" in kinds
    assert_matches_fresh(svc, tmp_path, settings, tiny_embedder)


def test_edits_renames_deletes_and_editor_saves_are_followed(service_for, recorder, docs: Path,
                                                            tmp_path, settings,
                                                            tiny_embedder) -> None:
    svc = service_for(docs)
    svc.start()
    assert svc.wait_idle(WAIT)
    (docs / "new.txt").write_text("A brand new note about quokkas.\n", encoding="utf-8")
    (docs / "lease.txt").write_text("The tenant paid the plumber for the valve.\n",
                                    encoding="utf-8")
    os.rename(docs / "dogs.md", docs / "canines.md")
    (docs / "code.py").unlink()
    # An editor's safe save: write a temporary file, then rename it over the original.
    tmp = docs / "sub" / ".river.txt.tmp"
    tmp.write_text("The river now runs to the fjord.\n", encoding="utf-8")
    os.replace(tmp, docs / "sub" / "river.txt")
    assert svc.wait_idle(WAIT)
    assert found(svc, "quokkas") == [str(docs / "new.txt")]
    assert found(svc, "fjord") == [str(docs / "sub" / "river.txt")]
    assert found(svc, "deposit") == []
    assert str(docs / "code.py") in recorder.paths("removed")
    assert str(docs / "new.txt") in recorder.paths("indexed")
    assert_matches_fresh(svc, tmp_path, settings, tiny_embedder)


def test_moves_within_and_between_folders_keep_their_vectors(service_for, docs: Path, tmp_path,
                                                             settings, tiny_embedder) -> None:
    other = tmp_path / "other"
    write_files(other, 3, prefix="o")
    svc = service_for(docs, other)
    svc.start()
    assert svc.wait_idle(WAIT)
    before = chunk_ids(svc.library.index_folder)
    os.rename(docs / "sub", docs / "renamed")                    # a whole folder
    shutil.move(str(docs / "lease.txt"), str(other / "lease.txt"))  # between watched folders
    os.rename(other / "o00000.txt", other / "first.txt")          # a plain rename
    assert svc.wait_idle(WAIT)
    after = chunk_ids(svc.library.index_folder)
    assert after[str(docs / "renamed" / "river.txt")] == before[str(docs / "sub" / "river.txt")]
    assert after[str(other / "lease.txt")] == before[str(docs / "lease.txt")]
    assert after[str(other / "first.txt")] == before[str(other / "o00000.txt")]
    assert sorted(map(tuple, after.values())) == sorted(map(tuple, before.values()))
    assert_matches_fresh(svc, tmp_path, settings, tiny_embedder)


def test_deleted_and_moved_away_folders_leave_the_index(service_for, docs: Path, tmp_path,
                                                        settings, tiny_embedder) -> None:
    write_files(docs / "drafts", 5, prefix="d")
    write_files(docs / "old", 5, prefix="x")
    svc = service_for(docs)
    svc.start()
    assert svc.wait_idle(WAIT)
    shutil.rmtree(docs / "drafts")
    shutil.move(str(docs / "old"), str(tmp_path / "outside"))  # out of every watched folder
    assert svc.wait_idle(WAIT)
    assert found(svc, "dword00001") == [] and found(svc, "xword00001") == []
    assert svc.folder_states()[0].files == 4
    assert_matches_fresh(svc, tmp_path, settings, tiny_embedder)


@pytest.mark.slow
def test_a_burst_of_2000_new_files_is_all_indexed(service_for, docs: Path, tmp_path, settings,
                                                  tiny_embedder) -> None:
    svc = service_for(docs)
    svc.start()
    assert svc.wait_idle(WAIT)
    started = time.monotonic()
    staging = tmp_path / "staging"
    write_files(staging / "a", 1000, prefix="a")
    write_files(staging / "b", 1000, prefix="b")
    shutil.move(str(staging), str(docs / "unpacked"))  # like an unzip or a checkout: all at once
    assert svc.wait_idle(180)
    print(f"\n2,000 files searchable {time.monotonic() - started:.1f}s after they appeared")
    assert svc.folder_states()[0].files == 2004
    assert found(svc, "bword00999") == [str(docs / "unpacked" / "b" / "b00999.txt")]
    assert_matches_fresh(svc, tmp_path, settings, tiny_embedder)


# -- steering -------------------------------------------------------------------------------------
def test_pause_holds_the_work_and_resume_finishes_it(service_for, tmp_path) -> None:
    folder = tmp_path / "notes"
    write_files(folder, 50)
    svc = service_for(folder)
    svc.pause()
    svc.start()
    assert svc.paused
    assert not svc.wait_idle(1.5)
    assert svc.busy and svc.stats().files == 0
    svc.resume()
    assert svc.wait_idle(WAIT)
    assert not svc.paused and svc.stats().files == 50


def test_cancel_stops_the_job_and_the_service_goes_on(service_for, recorder, tmp_path) -> None:
    folder = tmp_path / "notes"
    write_files(folder, 50)
    svc = service_for(folder)
    svc.pause()  # holds the first job at its first step, so the cancel surely lands mid-job
    svc.start()
    assert eventually(timeout=WAIT, check=lambda: "progress" in recorder.kinds())
    svc.cancel()
    assert svc.wait_idle(WAIT)
    assert svc.stats().files == 0
    (folder / "later.txt").write_text("written after the cancel: wombat\n", encoding="utf-8")
    assert svc.wait_idle(WAIT)
    assert found(svc, "wombat") == [str(folder / "later.txt")]
    svc.reindex()
    assert svc.wait_idle(WAIT)
    assert svc.stats().files == 51


def test_cancel_also_drops_the_scans_queued_behind_the_job(service_for, recorder, tmp_path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    write_files(first, 30)
    write_files(second, 30)
    svc = service_for(first)
    svc.pause()
    svc.start()
    assert eventually(timeout=WAIT, check=lambda: "progress" in recorder.kinds())
    svc.add_folder(str(second))  # queued behind the running scan
    svc.cancel()
    assert svc.wait_idle(WAIT)
    assert svc.stats().files == 0  # neither the running scan nor the queued one went on
    assert all(fs.state != "queued" for fs in svc.folder_states()), svc.folder_states()


def test_added_folders_are_indexed_and_removed_ones_forgotten(service_for, docs: Path,
                                                              tmp_path) -> None:
    svc = service_for(docs)
    svc.start()
    assert svc.wait_idle(WAIT)
    extra = tmp_path / "extra"
    write_files(extra, 4, prefix="e")
    svc.add_folder(str(extra))
    assert svc.wait_idle(WAIT)
    assert {s.path: s.state for s in svc.folder_states()} == {str(docs): "watching",
                                                              str(extra): "watching"}
    assert found(svc, "eword00002") == [str(extra / "e00002.txt")]
    svc.remove_folder(str(docs))
    assert svc.wait_idle(WAIT)
    assert [s.path for s in svc.folder_states()] == [str(extra)]
    assert svc.stats().files == 4
    (docs / "after.txt").write_text("not watched any more: platypus\n", encoding="utf-8")
    assert svc.wait_idle(WAIT)
    assert found(svc, "platypus") == []


# -- folders that cannot be watched ------------------------------------------------------------------
def test_an_unwatchable_folder_is_scanned_instead(service_for, docs: Path, monkeypatch) -> None:
    def full(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise OSError(28, "inotify watch limit reached")

    monkeypatch.setattr(watcher_module.Observer, "schedule", full)
    svc = service_for(docs)
    svc.fallback_interval = 0.5
    svc.start()
    assert svc.wait_idle(WAIT)
    state = svc.folder_states()[0]
    assert state.state == "not watchable" and "limit" in state.message
    assert state.files == 4
    (docs / "late.txt").write_text("found by the periodic scan: narwhal\n", encoding="utf-8")
    assert eventually(timeout=WAIT, check=lambda: found(svc, "narwhal") == [str(docs / "late.txt")])


def test_an_unplugged_folder_keeps_its_index_and_is_picked_up_again(service_for, docs: Path,
                                                                    tmp_path) -> None:
    svc = service_for(docs)
    svc.fallback_interval = 0.5
    svc.start()
    assert svc.wait_idle(WAIT)
    before = chunk_ids(svc.library.index_folder)
    docs.rename(tmp_path / "unplugged")
    assert eventually(timeout=WAIT, check=lambda: svc.folder_states()[0].state == "unreachable")
    assert found(svc, "landlord kept the deposit") == [str(docs / "lease.txt")]
    (tmp_path / "unplugged").rename(docs)
    assert eventually(timeout=WAIT, check=lambda: svc.folder_states()[0].state == "watching")
    assert svc.wait_idle(WAIT)
    assert chunk_ids(svc.library.index_folder) == before  # nothing was embedded again
    (docs / "back.txt").write_text("watched again: axolotl\n", encoding="utf-8")
    assert svc.wait_idle(WAIT)
    assert found(svc, "axolotl") == [str(docs / "back.txt")]


# -- searching while indexing, switching models, stopping ---------------------------------------------
@pytest.mark.slow
def test_search_answers_from_what_is_indexed_while_indexing_goes_on(service_for, tmp_path) -> None:
    folder = tmp_path / "many"
    write_files(folder, 3000)
    svc = service_for(folder)
    svc.start()
    assert eventually(timeout=WAIT, check=lambda: svc.stats().files >= 1)
    started = time.perf_counter()
    first = found(svc, "nword00000")
    elapsed = time.perf_counter() - started
    still_indexing = svc.busy
    print(f"\nsearch during indexing answered in {elapsed * 1000:.0f} ms "
          f"({svc.stats().files} of 3000 files indexed)")
    assert first == [str(folder / "n00000.txt")]
    assert still_indexing
    assert svc.wait_idle(300)


def test_switching_models_keeps_search_going_and_drops_the_old_index(
        service_for, recorder, docs: Path, tmp_path) -> None:
    from tests.tiny_models import build_bi_encoder

    other_model = build_bi_encoder(tmp_path / "other-model")
    svc = service_for(docs)
    svc.start()
    assert svc.wait_idle(WAIT)
    old_index = svc.library.index_folder
    svc.switch_model(str(other_model))
    while "model" not in recorder.kinds() and "error" not in recorder.kinds():
        assert found(svc, "landlord kept the deposit") == [str(docs / "lease.txt")]
        time.sleep(0.05)
    assert svc.wait_idle(WAIT)
    assert "error" not in recorder.kinds()
    assert svc.library.index_folder != old_index and not old_index.exists()
    assert found(svc, "landlord kept the deposit") == [str(docs / "lease.txt")]
    assert svc.stats().files == 4
    reloaded = Library(svc.library.paths)
    assert reloaded.settings.model == str(other_model)


def test_stop_saves_the_index_and_can_be_called_twice(service_for, docs: Path) -> None:
    from app.core.storage.store import IndexStore

    svc = service_for(docs)
    svc.start()
    assert svc.wait_idle(WAIT)
    (docs / "new.txt").write_text("saved at stop: pangolin\n", encoding="utf-8")
    assert svc.wait_idle(WAIT)
    lib = svc.library
    svc.stop()
    svc.stop()
    store = IndexStore(lib.index_folder, lib.embedder.name, lib.embedder.info.dim)
    try:
        assert store.open_vectors().action == "loaded"  # no repair needed: it was saved
    finally:
        store.close()


@pytest.mark.skipif(sys.platform != "linux", reason="only Linux gives threads their own priority")
def test_the_writer_thread_runs_at_low_priority(service_for, docs: Path) -> None:
    svc = service_for(docs)
    svc.start()
    assert svc.wait_idle(WAIT)
    writer = next(t for t in threading.enumerate() if t.name == "sift-writer")
    assert writer.native_id is not None
    assert os.getpriority(os.PRIO_PROCESS, writer.native_id) >= 10


def test_a_model_that_cannot_load_is_reported_and_the_service_stays_up(
        tmp_path: Path, settings, docs: Path, recorder) -> None:
    broken = replace(settings, model=str(tmp_path / "no-such-model"), folders=(str(docs),))
    lib = Library(resolve_paths(tmp_path / "data"), broken)
    svc = IndexService(lib, on_event=recorder)
    svc.start()
    try:
        assert svc.wait_idle(WAIT)
        assert recorder.kinds().count("error") == 1
        state = svc.folder_states()[0]
        assert state.state == "error" and "no-such-model" in state.message
    finally:
        svc.stop()
        lib.close()


# -- sift watch ---------------------------------------------------------------------------------------
@pytest.mark.slow
def test_sift_watch_logs_what_it_indexes_and_stops_on_sigterm(tmp_path: Path, tiny_model: Path,
                                                             settings, docs: Path) -> None:
    import json
    import queue
    import signal
    import subprocess

    data = tmp_path / "data"
    data.mkdir()
    (data / "settings.json").write_text(json.dumps({
        "version": 1, "model": str(tiny_model), "backend": "torch-float32", "rerank": False,
        "reranker": "", "chunk_tokens": settings.chunk_tokens}), encoding="utf-8")
    repo = Path(__file__).resolve().parents[3]
    env = {**os.environ, "PYTHONPATH": str(repo), "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "app", "--data-dir", str(data), "watch",
                             str(docs)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, cwd=repo, env=env)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout or ()],
                     daemon=True).start()
    seen: list[str] = []

    def wait_for(text: str, timeout: float = 120.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                seen.append(lines.get(timeout=0.2))
            except queue.Empty:
                continue
            if text in seen[-1]:
                return True
        return False

    try:
        assert wait_for(f"[watching] {docs}"), seen
        (docs / "new.txt").write_text("a note about lemurs\n", encoding="utf-8")
        assert wait_for(f"indexed  {docs / 'new.txt'}"), seen
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert wait_for("Stopping", timeout=5), seen


# -- overlapping folders, truthful states, quitting, a full disk (issue 9) ------------------------
def test_a_nested_folder_removed_keeps_its_files_while_the_parent_is_watched(service_for,
                                                                             docs: Path) -> None:
    child = docs / "sub"
    svc = service_for(docs)
    svc.start()
    assert svc.wait_idle(WAIT)
    svc.add_folder(str(child))
    assert svc.wait_idle(WAIT)
    assert svc._watching.watched() == [str(docs)]  # one watch
    assert {s.path: (s.state, s.files) for s in svc.folder_states()} == {
        str(docs): ("watching", 4), str(child): ("watching", 1)}
    svc.remove_folder(str(child))
    assert svc.wait_idle(WAIT)
    assert found(svc, "mountain") == [str(child / "river.txt")]
    (child / "new.txt").write_text("still watched through the parent: wombat\n", encoding="utf-8")
    assert svc.wait_idle(WAIT)
    assert found(svc, "wombat") == [str(child / "new.txt")]


def test_removing_the_parent_keeps_watching_the_nested_folder(service_for, docs: Path) -> None:
    child = docs / "sub"
    svc = service_for(child, docs)
    svc.start()
    assert svc.wait_idle(WAIT)
    assert svc._watching.watched() == [str(docs)]
    svc.set_folders([str(child)])
    assert svc.wait_idle(WAIT)
    assert svc.stats().files == 1 and svc._watching.watched() == [str(child)]
    (child / "later.txt").write_text("made after the parent left: platypus\n", encoding="utf-8")
    assert svc.wait_idle(WAIT)
    assert found(svc, "platypus") == [str(child / "later.txt")]


def test_set_folders_applies_only_the_difference(service_for, docs: Path, tmp_path) -> None:
    extra = tmp_path / "extra"
    write_files(extra, 3)
    svc = service_for(docs)
    svc.start()
    assert svc.wait_idle(WAIT)
    changes = svc.set_folders([str(docs), str(extra)])
    assert changes.added == (str(extra),) and changes.removed == ()
    assert svc.set_folders([str(extra), str(docs)]).added == ()  # same set: nothing to do
    assert svc.wait_idle(WAIT)
    assert svc.stats().files == 7


def test_a_cancelled_folder_says_incomplete_until_reindexed(service_for, recorder,
                                                           tmp_path) -> None:
    folder = tmp_path / "notes"
    write_files(folder, 50)
    svc = service_for(folder)
    svc.pause()
    svc.start()
    assert eventually(timeout=WAIT, check=lambda: svc.folder_states()[0].state == "paused")
    svc.cancel()
    assert svc.wait_idle(WAIT)
    assert svc.folder_states()[0].state == "incomplete"
    svc.reindex()
    assert svc.wait_idle(WAIT)
    assert svc.folder_states()[0].state == "watching" and svc.stats().files == 50


def test_shutdown_mid_indexing_is_prompt_and_keeps_what_was_indexed(service_for, recorder,
                                                                    tmp_path) -> None:
    folder = tmp_path / "notes"
    write_files(folder, 400)
    svc = service_for(folder)
    svc.start()
    assert eventually(timeout=WAIT, check=lambda: svc.stats().files >= 20)
    lib = svc.library
    assert svc.shutdown(timeout=10.0)  # the writer stopped at a checkpoint (not abandoned)
    reopened = Library(lib.paths, lib.settings, embedder=lib.embedder)
    try:
        assert reopened.store.consistent() and reopened.stats().files >= 20
    finally:
        reopened.close()


def test_a_full_disk_is_reported_in_words_and_pauses(service_for, recorder, docs: Path,
                                                     monkeypatch) -> None:
    import sqlite3

    from app.core.storage.catalog import Catalog

    svc = service_for(docs)
    svc.start()
    assert svc.wait_idle(WAIT)

    def full(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(Catalog, "put_file", full)
    (docs / "new.txt").write_text("no room for this: quokka\n", encoding="utf-8")
    assert eventually(timeout=WAIT, check=lambda: "error" in recorder.kinds())
    errors = [e.message for e in recorder.events if e.kind == "error"]
    assert "disk holding Sift's data is full; indexing paused" in errors[0]
    assert svc.paused
    assert svc.library.store.consistent() and svc.stats().files == 4
    assert svc.folder_states()[0].state == "error"  # not "watching": the index lacks new.txt
    monkeypatch.undo()  # room was made
    svc.resume()
    assert svc.wait_idle(WAIT)
    assert found(svc, "quokka") == [str(docs / "new.txt")]
    assert svc.folder_states()[0].state == "watching"


def test_a_writer_that_outlives_shutdown_closes_the_index_itself(service_for, tmp_path) -> None:
    folder = tmp_path / "notes"
    write_files(folder, 400)
    svc = service_for(folder)
    svc.start()
    assert eventually(timeout=WAIT, check=lambda: svc.stats().files >= 20)
    lib = svc.library
    svc.shutdown(timeout=0.0)  # gives up waiting at once: the batch in hand finishes alone
    assert eventually(timeout=WAIT, check=lambda: not svc.stranded)
    assert lib._store is None  # closed, and saved: a restart needs no repair
    reopened = Library(lib.paths, lib.settings, embedder=lib.embedder)
    try:
        assert reopened.store.sync is not None and reopened.store.sync.action == "loaded"
        assert reopened.store.consistent()
    finally:
        reopened.close()


def test_a_folder_removed_just_before_quitting_is_forgotten_at_the_next_start(
        library, recorder, docs: Path) -> None:
    from app.core.indexing.folders import FolderChanges

    library.index([str(docs)])
    # Removed, saved, and then the app quit before the removal job ran.
    library.apply_folder_changes(FolderChanges(removed=(str(docs),)))
    svc = IndexService(library, on_event=recorder)
    svc.start()
    try:
        assert svc.wait_idle(WAIT)
        assert svc.stats().files == 0 and svc.folder_states() == []
    finally:
        svc.shutdown()


def test_cancel_shows_incomplete_at_once_while_the_encoder_finishes_its_slice(
        service_for, library, tmp_path, monkeypatch) -> None:
    folder = tmp_path / "notes"
    write_files(folder, 60)
    embedding = threading.Event()
    real = library.embedder.embed_documents

    def slow(texts):  # type: ignore[no-untyped-def]
        embedding.set()
        time.sleep(2.0)  # a slice on a busy machine
        return real(texts)

    monkeypatch.setattr(library.embedder, "embed_documents", slow)
    svc = service_for(folder)
    svc.start()
    assert embedding.wait(WAIT)
    svc.cancel()
    assert svc.folder_states()[0].state == "incomplete"  # said at once, not after the slice
    assert svc.wait_idle(WAIT)
    assert svc.folder_states()[0].state == "incomplete"
