"""What a scan leaves out is listed with why: links leading outside, broken links, pipes."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from app.cli import run_cli

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="symlinks and named pipes")


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    d = tmp_path / "docs"
    (d / "sub").mkdir(parents=True)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (d / "note.txt").write_text("A note about the harbour crane.", encoding="utf-8")
    (d / "sub" / "deep.txt").write_text("The crane lifts containers.", encoding="utf-8")
    (outside / "secret.txt").write_text("Private quartermaster ledger.", encoding="utf-8")
    os.symlink(outside / "secret.txt", d / "secret.txt")
    os.symlink(outside, d / "elsewhere")
    os.symlink(d / "note.txt", d / "same-note.txt")  # inside: followed
    os.symlink(d / "sub", d / "sub-again")  # inside: its files are indexed where they are
    os.symlink("loop-b.txt", d / "loop-a.txt")
    os.symlink("loop-a.txt", d / "loop-b.txt")
    os.symlink("missing.txt", d / "broken.txt")
    os.mkfifo(d / "pipe.txt")
    return d


def test_links_inside_are_followed_and_what_is_left_out_is_listed(data_dir: Path,
                                                                   folder: Path,
                                                                   capsys) -> None:
    sift = ["--data-dir", str(data_dir)]
    assert run_cli([*sift, "index", str(folder)]) == 0  # the pipe is never opened (no hang)
    out = capsys.readouterr().out
    assert "skipped" in out
    assert run_cli([*sift, "skipped"]) == 0
    listed = dict(line.split("\t", 1) for line in capsys.readouterr().out.splitlines())
    assert "outside the indexed folder" in listed[str(folder / "secret.txt")]
    assert str(folder.parent / "elsewhere") in listed[str(folder / "elsewhere")]
    for name in ("loop-a.txt", "loop-b.txt", "broken.txt"):
        assert "leads nowhere" in listed[str(folder / name)]
    assert "named pipe" in listed[str(folder / "pipe.txt")]
    assert run_cli([*sift, "search", "--json", "--here", "quartermaster ledger"]) == 0
    paths = [r["path"] for r in json.loads(capsys.readouterr().out)["results"]]
    assert str(folder / "secret.txt") not in paths  # a link leading outside is not read
    assert run_cli([*sift, "search", "--json", "--here", "harbour crane"]) == 0
    paths = [r["path"] for r in json.loads(capsys.readouterr().out)["results"]]
    assert str(folder / "same-note.txt") in paths and str(folder / "note.txt") in paths
    assert not any("sub-again" in p for p in paths)


def test_a_watched_link_leading_outside_is_not_read(folder: Path) -> None:
    from app.core.indexing.scanner import Rules, is_indexable

    assert not is_indexable(str(folder / "secret.txt"), str(folder), Rules())
    assert is_indexable(str(folder / "same-note.txt"), str(folder), Rules())


def test_a_mailbox_past_its_cap_is_listed_as_indexed_in_part(data_dir: Path, tmp_path: Path,
                                                              monkeypatch, capsys) -> None:
    import app.core.extract as extract

    settings = json.loads((data_dir / "settings.json").read_text(encoding="utf-8"))
    (data_dir / "settings.json").write_text(json.dumps({**settings, "max_file_mb": 1}),
                                            encoding="utf-8")
    monkeypatch.setattr(extract, "MBOX_MAX_BYTES", 1 << 20)  # as 128 MB is to a 500 MB mailbox
    mail = tmp_path / "mail"
    mail.mkdir()
    body = "Quarterly figures for the harbour office. " * 40
    with open(mail / "archive.mbox", "w", encoding="utf-8") as f:
        for i in range(1500):
            f.write(f"From a@example.com Mon Jan  1 00:00:00 2024\nSubject: report {i}\n"
                    f"From: a@example.com\n\n{body}\n\n")
    sift = ["--data-dir", str(data_dir)]
    assert run_cli([*sift, "index", str(mail)]) == 0
    out = capsys.readouterr().out
    assert "archive.mbox: indexed in part: only the first" in out and "of the mailbox's" in out
    assert run_cli([*sift, "skipped"]) == 0
    assert "indexed in part" in capsys.readouterr().out
    assert run_cli([*sift, "status", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["files"] == 1  # indexed, not skipped
