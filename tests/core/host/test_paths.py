"""A new data folder and every folder Sift makes in it are readable by their user only."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from app.cli import run_cli


@pytest.fixture
def usual_umask():  # type: ignore[no-untyped-def]
    old = os.umask(0o022)  # the common default: folders come out 0755 unless made private
    yield
    os.umask(old)


def _open_to_others(root: Path) -> list[str]:
    """The folders below ``root`` (not itself) that others may read."""
    found = []
    for folder, dirs, _files in os.walk(root):
        for d in (os.path.join(folder, x) for x in dirs):
            if stat.S_IMODE(os.stat(d).st_mode) & 0o077:
                found.append(d)
    return sorted(found)


def test_a_new_data_folder_is_private_all_the_way_down(tmp_path: Path, usual_umask) -> None:
    from app.core.host.paths import make_private_dir, resolve_paths

    data = tmp_path / "new" / "data"
    # The log folder (data/cache/logs) is the first one made, before the library's own set-up
    # (made here as the first run of a process makes it: the log is opened once per process).
    make_private_dir(resolve_paths(data).logs_dir)
    assert run_cli(["--data-dir", str(data), "status"]) == 0
    assert (data / "cache" / "logs").is_dir() and (data / "indexes").is_dir()
    assert _open_to_others(tmp_path) == []


def test_the_platform_folders_are_private_too(tmp_path: Path, usual_umask, monkeypatch) -> None:
    home = tmp_path / "home"
    home.mkdir(mode=0o755)
    for var, sub in (("XDG_DATA_HOME", ".local/share"), ("XDG_CONFIG_HOME", ".config"),
                     ("XDG_CACHE_HOME", ".cache")):
        monkeypatch.setenv(var, str(home / sub))
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("SIFT_DATA_DIR", raising=False)
    assert run_cli(["status"]) == 0
    made = [home / ".cache" / "Sift", home / ".local" / "share" / "Sift"]
    assert all(p.is_dir() for p in made)
    assert _open_to_others(home) == []  # ~/.cache and ~/.local made on the way as well


def test_a_folder_that_exists_keeps_its_mode(tmp_path: Path, usual_umask) -> None:
    from app.core.host.paths import make_private_dir

    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o755)
    make_private_dir(shared / "a" / "b")
    assert stat.S_IMODE(shared.stat().st_mode) == 0o755
    assert stat.S_IMODE((shared / "a").stat().st_mode) == 0o700
    assert stat.S_IMODE((shared / "a" / "b").stat().st_mode) == 0o700
