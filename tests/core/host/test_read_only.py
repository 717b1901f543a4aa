"""A read-only data folder: searching works, and every other command says in words why it cannot."""

from __future__ import annotations

import errno
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from app.cli import run_cli


@pytest.fixture
def read_only(data_dir: Path, docs: Path, tmp_path: Path, capsys):  # type: ignore[no-untyped-def]
    """``data_dir`` with ``docs`` indexed, seen through a read-only bind mount.

    Tests run as root, where a folder's mode does not stop writes: only a read-only mount does.
    """
    assert run_cli(["--data-dir", str(data_dir), "index", str(docs)]) == 0
    capsys.readouterr()
    view = tmp_path / "read-only"
    view.mkdir()
    mount = shutil.which("mount")
    if mount is None:
        pytest.skip("no mount command here")
    made = subprocess.run([mount, "--bind", str(data_dir), str(view)], capture_output=True,
                          text=True)
    if made.returncode != 0:
        pytest.skip(f"cannot make a read-only mount here: {made.stderr.strip()}")
    try:
        subprocess.run([mount, "-o", "remount,bind,ro", str(view)], check=True,
                       capture_output=True)
        yield view
    finally:
        subprocess.run(["umount", "-l", str(view)], check=False)


def test_searching_a_read_only_data_folder_works(read_only: Path, docs: Path, capsys) -> None:
    for how in (["--here"], []):
        assert run_cli(["--data-dir", str(read_only), "search", *how, "--json", "river"]) == 0
        hits = json.loads(capsys.readouterr().out)["results"]
        assert hits[0]["path"] == str(docs / "sub" / "river.txt")
    assert run_cli(["--data-dir", str(read_only), "status"]) == 0
    out = capsys.readouterr().out
    assert "read-only: searching works" in out and "Index:       4 files" in out


@pytest.mark.parametrize("command", [["index"], ["watch"], ["config", "results", "5"],
                                     ["remove", "/nowhere"]])
def test_writing_to_a_read_only_data_folder_is_refused_in_words(read_only: Path, command,
                                                                capsys) -> None:
    assert run_cli(["--data-dir", str(read_only), *command]) == 2  # no traceback raised
    err = capsys.readouterr().err
    assert "read-only" in err.lower() or "Read-only file system" in err


def test_the_lock_refused_is_told_as_a_read_only_folder(tmp_path: Path, monkeypatch) -> None:
    # The same path where no mount can be made: the system refuses the lock file.
    import os

    from app.core.host import datalock

    real_open = os.open

    def refuse(path, flags, *args):  # type: ignore[no-untyped-def]
        if str(path).endswith(datalock.LOCK_FILE):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))
        return real_open(path, flags, *args)

    monkeypatch.setattr(os, "open", refuse)
    with pytest.raises(datalock.DataFolderReadOnly, match="read-only"):
        datalock.acquire(tmp_path, wait=False)


def test_a_catalog_in_a_folder_that_cannot_be_written_is_read_as_it_stands(
        data_dir: Path, docs: Path, monkeypatch, capsys) -> None:
    # Without a mount: the folder is said to be read-only, and the catalog (write-ahead log
    # mode, whose shared-memory file cannot be made there) is opened immutable.
    import app.core.host.paths as paths
    import app.core.library as library
    import app.core.storage.catalog.database as database

    assert run_cli(["--data-dir", str(data_dir), "index", str(docs)]) == 0
    capsys.readouterr()
    for module in (paths, library, database):
        monkeypatch.setattr(module, "writable", lambda folder: False)
    assert run_cli(["--data-dir", str(data_dir), "search", "--here", "--json", "river"]) == 0
    hits = json.loads(capsys.readouterr().out)["results"]
    assert hits[0]["path"] == str(docs / "sub" / "river.txt")
    assert not list(data_dir.glob("indexes/*/catalog.sqlite-shm"))
