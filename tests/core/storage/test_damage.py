"""Damage the page check cannot see, or that leaves no tables: words on every command, then repair."""

from __future__ import annotations

import json
import shutil
import sqlite3
import struct
from pathlib import Path

import pytest

from app.cli import run_cli


@pytest.fixture
def indexed(data_dir: Path, docs: Path, capsys) -> Path:  # type: ignore[no-untyped-def]
    """The index folder of a data folder with ``docs`` indexed and cleanly closed."""
    assert run_cli(["--data-dir", str(data_dir), "index", str(docs)]) == 0
    capsys.readouterr()
    return next((data_dir / "indexes").iterdir())


def _empty(folder: Path) -> None:
    (folder / "catalog.sqlite").write_bytes(b"")


def _varint(buf: bytes, at: int) -> tuple[int, int]:
    value = 0
    for i in range(9):
        byte = buf[at + i]
        if i == 8:
            return (value << 8) | byte, at + 9
        value = (value << 7) | (byte & 0x7F)
        if byte < 0x80:
            return value, at + i + 1
    raise AssertionError("unreachable")


def _negative_id_in_the_embedded_index(folder: Path) -> None:
    """Flip a byte so that the index of embedded passages names a passage -49.

    The table stays as it was, so SQLite's page check passes; only reads through the index
    see an id no passage can have (it made the vector repair raise OverflowError).
    """
    path = folder / "catalog.sqlite"
    conn = sqlite3.connect(path)
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'chunks_embedded'"
                        ).fetchone()[0]
    conn.close()
    data = bytearray(path.read_bytes())
    page = (root - 1) * page_size
    assert data[page] == 0x0A, "a one-page index (a leaf) was expected"
    cells = struct.unpack(">H", data[page + 3:page + 5])[0]
    for n in range(cells):
        cell = page + struct.unpack(">H", data[page + 8 + 2 * n:page + 10 + 2 * n])[0]
        _, record = _varint(data, cell)  # the payload's size
        header_size, types_at = _varint(data, record)
        first_type, second_at = _varint(data, types_at)
        second_type, _ = _varint(data, second_at)
        if (first_type, second_type) == (1, 1):  # the id, then the row's id: one byte each
            data[record + header_size + 1] = 0xCF  # the row's id: what a scan of it reads
            path.write_bytes(bytes(data))
            return
    raise AssertionError("no one-byte id in the index")


def _only_in_a_lost_write_ahead_log(folder: Path) -> None:
    """A catalog whose commits were all in its write-ahead log, and the log's header lost."""
    path = folder / "catalog.sqlite"
    fresh = folder / "fresh.sqlite"
    dst = sqlite3.connect(fresh)
    dst.execute("PRAGMA journal_mode = WAL")
    dst.execute("PRAGMA wal_autocheckpoint = 0")
    src = sqlite3.connect(path)
    src.backup(dst)
    src.close()
    shutil.copy(fresh, path)  # copied while open: the pages are in the log, not the file
    wal = Path(f"{fresh}-wal").read_bytes()
    dst.close()
    fresh.unlink()
    Path(f"{path}-wal").write_bytes(b"\0" * 32 + wal[32:])
    check = sqlite3.connect(path)
    assert check.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0
    check.close()


DAMAGE = [_empty, _negative_id_in_the_embedded_index, _only_in_a_lost_write_ahead_log]


@pytest.mark.parametrize("damage", DAMAGE)
def test_damage_is_told_in_words_then_repaired(damage, indexed: Path, data_dir: Path,
                                               docs: Path, capsys) -> None:
    damage(indexed)
    sift = ["--data-dir", str(data_dir)]
    # No command ends in a traceback (run_cli would raise); each says what happened.
    assert run_cli([*sift, "status"]) in (0, 2)  # 2 where its counts read the damage
    assert run_cli([*sift, "search", "--here", "river"]) in (0, 2)
    err = capsys.readouterr().err
    assert "damaged" in err
    assert run_cli([*sift, "index"]) == 0
    err += capsys.readouterr().err
    # The first command that may write sets it aside (a search, when no Sift is indexing).
    assert "set aside" in err and "rebuilt" in err and "Traceback" not in err
    assert run_cli([*sift, "search", "--here", "--json", "river"]) == 0
    hits = json.loads(capsys.readouterr().out)["results"]
    assert hits and hits[0]["path"] == str(docs / "sub" / "river.txt")
    assert run_cli([*sift, "status"]) == 0
    assert "damaged" not in capsys.readouterr().err  # repaired for good


def test_a_long_reason_is_shortened_at_a_word() -> None:
    from app.core.failures import CatalogDamaged

    text = str(CatalogDamaged("There is no way to make certain that this page of the catalog "
                              "is whole again after what happened to it"))
    assert "certain that" in text and "…" in text
    assert " c)" not in text and "cert)" not in text
