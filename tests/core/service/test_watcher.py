"""The file watcher: real filesystem events become settled, coalesced path changes (no model needed)."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.core.indexing.scanner import Rules
from app.core.service import watcher as watcher_module
from app.core.service.watcher import ChangeBuffer, Changes, FolderWatcher, NotWatchable
from tests.polling import eventually


class Sink:
    """Collects what the watcher hands over, from its thread."""

    def __init__(self) -> None:
        self.changes = Changes()
        self.gone: list[str] = []
        self.batches = 0
        self._lock = threading.Lock()

    def __call__(self, changes: Changes) -> None:
        with self._lock:
            self.changes.update(changes)
            self.batches += 1

    @property
    def files(self) -> set[str]:
        with self._lock:
            return set(self.changes.files)

    @property
    def dirs(self) -> set[str]:
        with self._lock:
            return set(self.changes.dirs)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    d = tmp_path / "watched"
    d.mkdir()
    (d / "old.txt").write_text("an old note", encoding="utf-8")
    (d / "sub").mkdir()
    (d / "sub" / "inner.md").write_text("# inner", encoding="utf-8")
    return d


@pytest.fixture
def watching(folder: Path) -> Iterator[tuple[FolderWatcher, Sink]]:
    sink = Sink()
    w = FolderWatcher(sink, Rules(), on_folder_gone=sink.gone.append, settle=0.2)
    w.start()
    w.watch(str(folder))
    yield w, sink
    w.stop()


# -- the debouncing buffer, on a fake clock -------------------------------------------------------
def test_a_path_is_released_once_quiet_and_repeated_events_coalesce(tmp_path: Path) -> None:
    f = tmp_path / "a.txt"
    f.write_text("x", encoding="utf-8")
    buf = ChangeBuffer(settle=0.5, settle_new=0.5, max_wait=2.0)
    for t in (0.0, 0.1, 0.2):
        buf.add_file(str(f), now=t)
    assert not buf.take(now=0.5)  # only 0.3 s since the last event
    assert buf.take(now=0.8).files == {str(f)}
    assert len(buf) == 0


def test_a_file_still_growing_waits_until_its_size_holds_still(tmp_path: Path) -> None:
    f = tmp_path / "download.txt"
    f.write_text("first half", encoding="utf-8")
    buf = ChangeBuffer(settle=0.5, settle_new=0.5, max_wait=2.0)
    buf.add_file(str(f), now=0.0)
    with f.open("a", encoding="utf-8") as out:  # written on without an event reaching us
        out.write(" and the second half")
    assert not buf.take(now=0.6)
    assert buf.take(now=1.2).files == {str(f)}


def test_an_edit_is_released_sooner_than_a_new_file(tmp_path: Path) -> None:
    buf = ChangeBuffer(settle=0.3, settle_new=0.6, max_wait=2.0)
    buf.add_file(str(tmp_path / "edited.txt"), now=0.0)
    buf.add_file(str(tmp_path / "created.txt"), now=0.0, new=True)
    assert buf.take(now=0.35).files == {str(tmp_path / "edited.txt")}
    assert buf.take(now=0.65).files == {str(tmp_path / "created.txt")}


def test_the_two_halves_of_a_move_are_released_together(tmp_path: Path) -> None:
    buf = ChangeBuffer(settle=0.3, settle_new=0.6, max_wait=2.0)
    # Between two watched folders watchdog reports the new name at once (as a creation) and
    # the old one (as a deletion) half a second later.
    buf.add_file(str(tmp_path / "new.txt"), now=0.0, new=True)
    buf.add_file(str(tmp_path / "old.txt"), now=0.5)
    assert not buf.take(now=0.65)
    assert buf.take(now=0.85).files == {str(tmp_path / "new.txt"), str(tmp_path / "old.txt")}


def test_a_long_burst_still_releases_settled_paths(tmp_path: Path) -> None:
    buf = ChangeBuffer(settle=0.5, settle_new=0.5, max_wait=2.0)
    released: set[str] = set()
    t = 0.0
    for i in range(40):  # an event every 0.1 s for 4 s: never quiet
        buf.add_file(str(tmp_path / f"f{i}.txt"), now=t)
        released |= buf.take(now=t).files
        t += 0.1
    assert str(tmp_path / "f0.txt") in released
    assert str(tmp_path / "f39.txt") not in released


# -- real events --------------------------------------------------------------------------------
def test_created_edited_and_deleted_files_are_reported(watching, folder: Path) -> None:
    w, sink = watching
    (folder / "new.txt").write_text("fresh", encoding="utf-8")
    (folder / "old.txt").write_text("edited", encoding="utf-8")
    (folder / "sub" / "inner.md").unlink()
    expected = {str(folder / "new.txt"), str(folder / "old.txt"), str(folder / "sub" / "inner.md")}
    assert eventually(lambda: expected <= sink.files)
    assert eventually(lambda: not w.pending)


def test_many_writes_to_one_file_are_handed_over_as_one_change(watching, folder: Path) -> None:
    w, sink = watching
    target = folder / "log.txt"
    for i in range(20):
        with target.open("a", encoding="utf-8") as out:
            out.write(f"line {i}\n")
    assert eventually(lambda: str(target) in sink.files)
    assert eventually(lambda: not w.pending)
    assert sink.batches == 1


def test_excluded_and_unindexable_files_are_ignored_but_deletions_go_through(
        watching, folder: Path) -> None:
    w, sink = watching
    (folder / "node_modules").mkdir()
    (folder / "node_modules" / "dep.js").write_text("x", encoding="utf-8")
    (folder / ".cache").mkdir()
    (folder / ".cache" / "c.txt").write_text("x", encoding="utf-8")
    (folder / "photo.raw").write_bytes(b"\0" * 10)
    (folder / "old.txt").unlink()
    (folder / "last.txt").write_text("sentinel", encoding="utf-8")
    assert eventually(lambda: str(folder / "last.txt") in sink.files)
    assert eventually(lambda: not w.pending)
    assert str(folder / "old.txt") in sink.files
    assert not {p for p in sink.files if "node_modules" in p or ".cache" in p or p.endswith(".raw")}
    assert str(folder / "node_modules") not in sink.dirs


def test_an_editor_save_by_rename_reports_the_file(watching, folder: Path) -> None:
    _w, sink = watching
    tmp = folder / ".old.txt.swp"
    tmp.write_text("saved by an editor", encoding="utf-8")
    os.replace(tmp, folder / "old.txt")
    assert eventually(lambda: str(folder / "old.txt") in sink.files)


def test_a_moved_folder_reports_both_places_and_its_files(watching, folder: Path) -> None:
    _w, sink = watching
    os.rename(folder / "sub", folder / "moved")
    assert eventually(lambda: str(folder / "moved" / "inner.md") in sink.files)
    assert eventually(lambda: {str(folder / "sub"), str(folder / "moved")} <= sink.dirs)


def test_a_folder_unpacked_in_is_walked(watching, folder: Path, tmp_path: Path) -> None:
    _w, sink = watching
    outside = tmp_path / "unzipped"
    (outside / "deep" / "er").mkdir(parents=True)
    for i in range(30):
        (outside / "deep" / "er" / f"n{i}.txt").write_text(f"note {i}", encoding="utf-8")
    shutil.move(str(outside), str(folder / "unzipped"))
    expected = {str(folder / "unzipped" / "deep" / "er" / f"n{i}.txt") for i in range(30)}
    assert eventually(lambda: expected <= sink.files)


def test_deleting_the_watched_folder_itself_is_announced(watching, folder: Path) -> None:
    _w, sink = watching
    shutil.rmtree(folder)
    assert eventually(lambda: sink.gone == [str(folder)])


def test_a_missing_folder_is_unreachable(tmp_path: Path) -> None:
    w = FolderWatcher(Sink(), Rules())
    w.start()
    try:
        with pytest.raises(NotWatchable) as err:
            w.watch(str(tmp_path / "nope"))
        assert err.value.state == "unreachable"
    finally:
        w.stop()


def test_the_inotify_limit_makes_a_folder_not_watchable(folder: Path, monkeypatch) -> None:
    def full(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise OSError(28, "inotify watch limit reached")

    monkeypatch.setattr(watcher_module.Observer, "schedule", full)
    w = FolderWatcher(Sink(), Rules())
    w.start()
    try:
        with pytest.raises(NotWatchable) as err:
            w.watch(str(folder))
        assert err.value.state == "not watchable"
        assert "limit" in err.value.message
        assert not w.is_watched(str(folder))
    finally:
        w.stop()


def test_network_shares_are_recognised(tmp_path: Path) -> None:
    mounts = ["server:/export /mnt/nas nfs4 rw 0 0", "/dev/sda1 / ext4 rw 0 0",
              "//host/share /mnt/my\\040share cifs rw 0 0"]
    parsed = dict(watcher_module._parse_mounts(mounts))
    assert parsed["/mnt/my share"] == "cifs"
    assert parsed["/mnt/nas"] in watcher_module.NETWORK_FS
    assert watcher_module.network_filesystem(str(tmp_path)) is None
