"""The indexing service's life: searching while it indexes, switching models, sift watch, overlapping
folders, quitting and a full disk."""


from __future__ import annotations

import os
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

from app.core.host.paths import resolve_paths
from app.core.library import Library
from app.core.service.index_service import IndexService
from app.core.storage.catalog import Catalog
from tests.core.service.live_index import (
    WAIT,
    found,
    write_files,
)
from tests.polling import eventually


# -- searching while indexing, switching models, stopping ---------------------------------------------
@pytest.mark.slow
def test_search_answers_from_what_is_indexed_while_indexing_goes_on(service_for, tmp_path) -> None:
    folder = tmp_path / "many"
    first_file = write_files(folder, 3000)[0]
    # The newest file is read first (what people look for first), whatever its name.
    later = time.time() + 60
    os.utime(first_file, (later, later))
    svc = service_for(folder)
    svc.start()
    assert eventually(timeout=WAIT, check=lambda: svc.stats().files >= 1)
    started = time.perf_counter()
    first = found(svc, "nword00000")
    elapsed = time.perf_counter() - started
    still_indexing = svc.busy
    print(f"\nsearch during indexing answered in {elapsed * 1000:.0f} ms "
          f"({svc.stats().files} of 3000 files indexed)")
    assert first == [str(first_file)]
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
