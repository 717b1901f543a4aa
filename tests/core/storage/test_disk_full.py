"""A full disk ends indexing with the message in words on the first hit, and nothing is lost."""

from __future__ import annotations

import random
import shutil
import subprocess
from pathlib import Path

import pytest

from app.cli import run_cli


def _notes(folder: Path, count: int, words: int = 400) -> None:
    rng = random.Random(1)
    vocab = ["".join(rng.choice("abcdefghijklmnop") for _ in range(rng.randint(3, 9)))
             for _ in range(3000)]
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        (folder / f"n{i}.txt").write_text(" ".join(rng.choice(vocab) for _ in range(words)),
                                          encoding="utf-8")


def test_sqlite_rolling_back_by_itself_does_not_hide_the_full_disk(tmp_path: Path) -> None:
    import sqlite3

    from app.core.failures import DiskFull, known_failure
    from app.core.storage.catalog import Catalog

    cat = Catalog(tmp_path / "catalog.sqlite")
    pages = cat.conn.execute("PRAGMA page_count").fetchone()[0]
    cat.conn.execute(f"PRAGMA max_page_count = {pages + 4}")  # the catalog may not grow
    # Many small writes: SQLite reports the full disk and rolls the transaction back itself;
    # the ROLLBACK after it said "cannot rollback - no transaction is active" instead.
    with pytest.raises(sqlite3.OperationalError) as caught, cat.transaction():
        for i in range(1000):
            cat.set_meta(f"note {i}", "x" * 2000)
    assert isinstance(known_failure(caught.value), DiskFull)
    cat.conn.execute("PRAGMA max_page_count = 1073741823")
    with cat.transaction():  # and the catalog goes on working
        cat.set_meta("after", "room again")
    assert cat.get_meta("after") == "room again" and cat.get_meta("note 1") is None
    cat.close()


@pytest.fixture
def small_disk(tmp_path: Path):  # type: ignore[no-untyped-def]
    """A 1 MB file system of its own (tmpfs), grown to 256 MB by ``grow``."""
    mount = shutil.which("mount")
    where = tmp_path / "small"
    where.mkdir()
    if mount is None:
        pytest.skip("no mount command here")
    made = subprocess.run([mount, "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(where)],
                          capture_output=True, text=True)
    if made.returncode != 0:
        pytest.skip(f"cannot mount a small file system here: {made.stderr.strip()}")

    def grow() -> None:
        subprocess.run([mount, "-o", "remount,size=256m", str(where)], check=True)

    yield where, grow
    subprocess.run(["umount", "-l", str(where)], check=False)


def test_a_full_disk_is_told_in_words_at_its_first_hit(small_disk, data_dir: Path,
                                                       tmp_path: Path, capsys) -> None:
    where, grow = small_disk
    data = where / "data"
    shutil.copytree(data_dir, data)
    (where / "filler").write_bytes(b"\0" * (640 << 10))  # a few hundred KB left
    notes = tmp_path / "notes"
    _notes(notes, 120, words=300)
    assert run_cli(["--data-dir", str(data), "index", str(notes)]) == 2  # no traceback raised
    err = capsys.readouterr().err
    assert "disk holding Sift's data is full" in err and "Traceback" not in err
    (where / "filler").unlink()
    grow()
    assert run_cli(["--data-dir", str(data), "index"]) == 0
    capsys.readouterr()
    assert run_cli(["--data-dir", str(data), "status", "--json"]) == 0
    import json

    assert json.loads(capsys.readouterr().out)["files"] == 120


def test_a_vector_file_that_finds_no_room_says_the_disk_is_full(small_disk) -> None:
    import numpy as np

    from app.core.failures import DiskFull, known_failure
    from app.core.storage.vectors import UsearchStore

    where, _grow = small_disk
    store = UsearchStore(where / "vectors.usearch", 64)
    rng = np.random.default_rng(1)
    store.add(np.arange(1, 20_001, dtype=np.uint64), rng.random((20_000, 64), dtype=np.float32))
    with pytest.raises(OSError) as caught:  # usearch itself says "Failed to serialize"
        store.save()
    assert isinstance(known_failure(caught.value), DiskFull)
    assert not list(where.glob(".vectors*"))  # no half-written file left taking the room
