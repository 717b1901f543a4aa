"""The indexing service: live folders stay true to the disk through edits, moves, bursts and outages."""


from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from app.core.service import watcher as watcher_module
from tests.core.service.live_index import (
    WAIT,
    assert_matches_fresh,
    chunk_ids,
    found,
    write_files,
)
from tests.polling import eventually


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
