"""One list of kinds: the window's type filter and `sift search --type` offer every kind Sift reads."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from app.cli.parser import build_parser
from app.core.extract.kinds import GROUPS, extensions_by_group
from app.gui.filters_bar import FiltersBar

TIMEOUT = 20_000


def test_the_type_filter_offers_every_group_sift_reads(qtbot: Any) -> None:
    bar = FiltersBar()
    qtbot.addWidget(bar)
    offered = {bar.kind.itemText(i): tuple(bar.kind.itemData(i)) for i in range(1, bar.kind.count())}
    groups = extensions_by_group()
    assert offered == {label: groups[key] for key, label in GROUPS}
    # Sheets, slides, mail, images, e-books, OpenDocument and RTF can each be chosen.
    every = {ext for exts in offered.values() for ext in exts}
    assert {".xlsx", ".ods", ".csv", ".pptx", ".odp", ".eml", ".mbox", ".png", ".epub", ".odt",
            ".rtf"} <= every


@pytest.mark.parametrize("key", [key for key, _label in GROUPS])
def test_type_in_the_cli_accepts_each_group(key: str) -> None:
    args = build_parser().parse_args(["search", "q", "--type", key])
    assert tuple(args.type) == extensions_by_group()[key]


def test_type_in_the_cli_accepts_extensions_and_refuses_what_sift_does_not_read(
        capsys: pytest.CaptureFixture[str]) -> None:
    args = build_parser().parse_args(["search", "q", "--type", "pdf", "--type", ".MD", "--type", "sheets"])
    assert args.type[:2] == [".pdf", ".md"]
    assert ".xlsx" in args.type and ".csv" in args.type
    with pytest.raises(SystemExit):
        build_parser().parse_args(["search", "q", "--type", "exe"])
    assert "reads no files of type 'exe'" in capsys.readouterr().err


def test_choosing_mail_or_spreadsheets_in_the_window_narrows_to_them(
        qtbot: Any, window: Any, tmp_path: Path) -> None:
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "rent.csv").write_text("month,rent\nmarch,harbour lighthouse rent\n", encoding="utf-8")
    (folder / "note.eml").write_text("From: a@example.org\nTo: b@example.org\nSubject: harbour\n\n"
                                     "The harbour lighthouse rent is due.\n", encoding="utf-8")
    (folder / "plain.txt").write_text("The harbour lighthouse rent went up.\n", encoding="utf-8")
    window.add_folders([str(folder)])
    qtbot.waitUntil(lambda: (row := window.folders_panel.row(str(folder))) is not None
                    and row.files == 3 and row.state in ("up to date", "watching"), timeout=TIMEOUT)
    window.search_box.setText("harbour lighthouse rent")
    window.search_now()
    model = window.results_view.results

    def names() -> set[str]:
        return {os.path.basename(h.path) for h in model.hits}

    qtbot.waitUntil(lambda: names() == {"rent.csv", "note.eml", "plain.txt"}, timeout=TIMEOUT)
    for label, expected in (("Mail", {"note.eml"}), ("Spreadsheets", {"rent.csv"})):
        window.filters.kind.setCurrentIndex(window.filters.kind.findText(label))
        qtbot.waitUntil(lambda expected=expected: names() == expected, timeout=TIMEOUT)
