"""More like this in the window: a result's context menu and Ctrl+L list the files closest to it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt

from app.core.search.meaning_marks import MarkerSource
from app.gui.richtext import MEANING_TIP
from tests.gui.test_window import TIMEOUT, _drop, _indexed, _search
from tests.word_marker import word_marker


@pytest.fixture
def pets(tmp_path: Path) -> Path:
    d = tmp_path / "pets"
    d.mkdir()
    text = "Dog food and canine nutrition: protein for a puppy.\n"
    (d / "dogs.md").write_text(text, encoding="utf-8")
    (d / "dogs copy.md").write_text(text, encoding="utf-8")
    (d / "puppy.txt").write_text("The puppy eats dog food with protein.\n", encoding="utf-8")
    (d / "lease.txt").write_text("The landlord kept the deposit.\n", encoding="utf-8")
    return d


def _shown(window: Any) -> list[str]:
    model = window.results_view.results
    return [model.hit_of(model.index(r, 0)).path for r in range(model.rowCount())]


def _select(qtbot: Any, window: Any, path: Path) -> None:
    _search(qtbot, window, "dog food")
    view = window.results_view
    row = _shown(window).index(str(path))
    view.select(view.results.index(row, 0))
    assert view.current_path() == str(path)


def test_the_context_menu_lists_the_files_like_a_result(qtbot: Any, window: Any, pets: Path) -> None:
    _drop(window, pets)
    _indexed(qtbot, window, pets, 4)
    _select(qtbot, window, pets / "dogs.md")
    view = window.results_view
    menu = view.context_menu(view.currentIndex())
    entry = next(a for a in menu.actions() if a.text() == "More &Like This")
    assert entry.shortcut().toString() == "Ctrl+L"
    entry.trigger()
    qtbot.waitUntil(lambda: window.results_header.text().startswith("More like"), timeout=TIMEOUT)
    assert "dogs.md" in window.results_header.text()
    assert sorted(_shown(window)) == [str(pets / "lease.txt"), str(pets / "puppy.txt")]


def test_ctrl_l_lists_the_files_like_the_selected_result(qtbot: Any, window: Any, pets: Path) -> None:
    _drop(window, pets)
    _indexed(qtbot, window, pets, 4)
    _select(qtbot, window, pets / "puppy.txt")
    view = window.results_view
    view.setFocus()
    qtbot.keyClick(view, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: window.results_header.text().startswith("More like"), timeout=TIMEOUT)
    shown = _shown(window)
    assert str(pets / "puppy.txt") not in shown
    assert set(shown) == {str(pets / "dogs.md"), str(pets / "dogs copy.md"), str(pets / "lease.txt")}
    # Typing searches again: the box's question comes back.
    _search(qtbot, window, "landlord")
    assert window.results_header.text().startswith("Best matches")


def test_a_meaning_mark_is_underlined_and_says_why(qtbot: Any, window: Any, pets: Path,
                                                   monkeypatch: Any) -> None:
    monkeypatch.setattr(MarkerSource, "_load", lambda self: word_marker())
    _drop(window, pets)
    _indexed(qtbot, window, pets, 4)
    _search(qtbot, window, "dog food")
    view = window.results_view
    first = view.results.index(0, 0)
    passage_row = view.results.index(0, 0, first)
    assert view.results.hit_of(first).passages[0].meaning
    rect = view.visualRect(passage_row)
    assert view.tooltip_at(rect.center()) == MEANING_TIP
    assert view.tooltip_at(view.visualRect(first).center()) == ""  # the file's own row
    assert not view.grab().isNull()  # painting the underlined sentence raises no warning
    # The preview underlines the same sentence in its fuller context.
    qtbot.waitUntil(lambda: window.preview._context is not None, timeout=TIMEOUT)
    assert "underline" in window.preview.text.toHtml()


def test_snippet_html_underlines_the_sentence_and_keeps_word_marks() -> None:
    from app.gui.richtext import MarkStyle, snippet_html

    text = "Nothing here. The puppy eats well. More text."
    a = text.index("The puppy")
    b = text.index("well.") + len("well.")
    w = text.index("puppy")
    html = snippet_html(text, [(w, w + 5)], MarkStyle("#ff0", "#000", "#eef"), [(a, b)])
    head, rest = html.split("text-decoration: underline", 1)
    assert "Nothing here." in head and "puppy" not in head
    inside = rest.split("</span></span>")[0]
    assert "font-weight:600;\">puppy</span>" in inside  # the word mark stays, inside the sentence
