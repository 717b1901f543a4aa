"""The window keeps what the user chose and says the truth: folders, cancel, pause, progress, files."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer

from app.core.records import Progress, SearchResponse

TIMEOUT = 20_000


def _indexed(qtbot: Any, window: Any, folder: Path, files: int) -> None:
    def done() -> bool:
        row = window.folders_panel.row(str(folder))
        return row is not None and row.files == files and row.state in ("up to date", "watching")

    qtbot.waitUntil(done, timeout=TIMEOUT)


def _settings_dialog_then(window: Any, act: Any) -> None:
    """Open Settings (modal, its own event loop) and let ``act`` do something in it."""
    from app.gui.settings_dialog import SettingsDialog

    def inside() -> None:
        dialogs = [d for d in window.findChildren(SettingsDialog) if d.isVisible()]
        if not dialogs:
            QTimer.singleShot(20, inside)
            return
        act(dialogs[0])

    QTimer.singleShot(0, inside)
    window.show_settings()


def test_settings_ok_keeps_a_folder_added_after_the_window_opened(
        qtbot: Any, window: Any, docs: Path) -> None:
    window.add_folders([str(docs)])
    _indexed(qtbot, window, docs, 4)
    library = window.controller.library
    seen: list[list[str]] = []

    def press_ok(dialog: Any) -> None:
        seen.append([dialog.folders.item(i).text() for i in range(dialog.folders.count())])
        dialog.accept()

    _settings_dialog_then(window, press_ok)
    assert seen == [[str(docs)]]  # the dialog lists the folders as they are, not as at start
    qtbot.wait(300)
    qtbot.waitUntil(lambda: not window.controller.service.busy, timeout=TIMEOUT)
    assert library.settings.folders == (str(docs),)
    assert library.stats().files == 4
    assert window.folders_panel.folders() == [str(docs)]


def test_settings_removes_only_the_folder_removed_in_it_and_asks_first(
        qtbot: Any, window: Any, docs: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    (other / "boiler.txt").write_text("The plumber fixed the boiler valve.\n", encoding="utf-8")
    window.add_folders([str(docs), str(other)])
    _indexed(qtbot, window, other, 1)
    asked: list[str] = []

    def remove_other(dialog: Any, answer: bool) -> None:
        dialog._confirm = lambda _parent, folder: asked.append(folder) or answer
        item = dialog.folders.findItems(str(other), Qt.MatchFlag.MatchExactly)[0]
        item.setSelected(True)
        dialog.remove_selected()
        dialog.accept()

    _settings_dialog_then(window, lambda d: remove_other(d, False))
    assert asked == [str(other)]
    qtbot.wait(300)
    assert set(window.controller.library.settings.folders) == {str(docs), str(other)}

    # Meanwhile another folder arrives (a drop): the dialog's removal must not touch it.
    third = tmp_path / "third"
    third.mkdir()
    (third / "notes.txt").write_text("Meeting notes about the budget.\n", encoding="utf-8")
    window.add_folders([str(third)])
    _settings_dialog_then(window, lambda d: remove_other(d, True))
    assert window.folders_panel.folders() == [str(docs), str(third)]  # at once, as the user chose
    qtbot.waitUntil(lambda: window.controller.library.settings.folders == (str(docs), str(third)),
                    timeout=TIMEOUT)
    _indexed(qtbot, window, third, 1)
    _indexed(qtbot, window, docs, 4)


def test_removing_a_nested_folder_keeps_the_outer_folders_files(
        qtbot: Any, window: Any, docs: Path, monkeypatch: Any) -> None:
    inner = docs / "sub"
    window.add_folders([str(docs)])
    _indexed(qtbot, window, docs, 4)
    window.add_folders([str(inner)])
    _indexed(qtbot, window, inner, 1)
    monkeypatch.setattr(window, "confirm", lambda *_: True)
    window.remove_folder(str(inner))
    qtbot.waitUntil(lambda: window.folders_panel.folders() == [str(docs)], timeout=TIMEOUT)
    qtbot.waitUntil(lambda: not window.controller.service.busy, timeout=TIMEOUT)
    window.controller.refresh()
    _indexed(qtbot, window, docs, 4)
    assert window.controller.library.stats().files == 4
    window.search_box.setText("river mountain ocean")
    window.search_now()
    qtbot.waitUntil(lambda: window._shown_query == "river mountain ocean", timeout=TIMEOUT)
    assert str(inner / "river.txt") in [h.path for h in window.results_view.results.hits]


def _many(tmp_path: Path, n: int = 400) -> Path:
    many = tmp_path / "many"
    many.mkdir()
    for i in range(n):
        (many / f"note{i:03}.txt").write_text(f"Meeting notes {i}: the budget and the report.\n" * 3,
                                              encoding="utf-8")
    return many


def test_cancel_leaves_the_folder_marked_incomplete_not_watching(
        qtbot: Any, window: Any, tmp_path: Path) -> None:
    many = _many(tmp_path)
    window.add_folders([str(many)])
    qtbot.waitUntil(lambda: window.indexing_bar.isVisible() and window.indexing_bar.bar.maximum() > 0,
                    timeout=TIMEOUT)
    qtbot.mouseClick(window.indexing_bar.cancel_button, Qt.MouseButton.LeftButton)
    service = window.controller.service
    qtbot.waitUntil(lambda: not service.busy and not window.indexing_bar.isVisible(), timeout=TIMEOUT)
    window.controller.refresh()
    qtbot.waitUntil(lambda: window.folders_panel.row(str(many)).state == "incomplete", timeout=TIMEOUT)
    assert window.controller.library.stats().files < 400


def test_pause_shows_paused_instead_of_a_time_left(qtbot: Any, window: Any, tmp_path: Path) -> None:
    many = _many(tmp_path)
    window.add_folders([str(many)])
    bar = window.indexing_bar
    qtbot.waitUntil(lambda: bar.isVisible() and bar.bar.maximum() > 0, timeout=TIMEOUT)
    window.pause_action.trigger()  # the menu's Pause Indexing
    qtbot.waitUntil(lambda: window.controller.service.paused, timeout=TIMEOUT)
    assert bar.headline.text().startswith("Paused")
    assert "left" not in bar.detail.text() and "left" not in bar.headline.text()
    assert bar.pause_button.text() == "Resume"
    qtbot.wait(1200)  # the countdown ticks meanwhile: paused stays paused
    assert bar.headline.text().startswith("Paused")
    qtbot.mouseClick(bar.pause_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not window.controller.service.paused, timeout=TIMEOUT)
    assert not window.pause_action.isChecked()
    qtbot.waitUntil(lambda: not window.controller.service.busy, timeout=60_000)


def test_two_stages_a_banner_and_an_honest_nothing_found_while_indexing(
        qtbot: Any, make_window: Any, service_event: Any) -> None:
    window = make_window(engine=False)
    early = Progress("indexing", 3, 400, current="/d/a.txt", eta_s=40, stage="words", words_done=3,
                     words_total=400, meaning_done=0, meaning_total=3)
    window.controller.events.post(service_event("progress", progress=early))
    qtbot.waitUntil(lambda: window.indexing_bar.isVisible(), timeout=TIMEOUT)
    assert "words: 3/400 files · meaning: 0/3" in window.indexing_bar.headline.text()
    assert "words: about 40 s left" in window.indexing_bar.detail.text()
    window.pages.setCurrentIndex(1)
    window.search_box.setText("boiler valve")
    window.debounce.stop()
    window.show_response(SearchResponse("boiler valve", (), reranked=False))
    area = window.results_area
    assert area.currentWidget() is area.nothing_page
    assert area.nothing_page.title.text() == "Indexing has barely started"
    assert "3 of 400 files" in area.nothing_page.detail.text()
    assert not area.indexing_banner.isHidden()
    assert area.indexing_banner.text().startswith("Indexing — results may be incomplete")
    window.controller.events.post(service_event("progress", progress=Progress("done")))
    qtbot.waitUntil(lambda: not window.indexing_bar.isVisible(), timeout=TIMEOUT)
    assert area.indexing_banner.isHidden()
    window.show_response(SearchResponse("boiler valve", (), reranked=False))
    assert area.nothing_page.title.text().startswith("Nothing found for “boiler valve”")


def test_searching_is_shown_while_a_query_runs(qtbot: Any, window: Any, docs: Path,
                                               monkeypatch: Any) -> None:
    window.add_folders([str(docs)])
    _indexed(qtbot, window, docs, 4)
    asked: list[str] = []
    monkeypatch.setattr(window.controller, "search", lambda query, _filters=None: asked.append(query))
    qtbot.keyClicks(window.search_box, "landlord")
    area = window.results_area
    assert area.currentWidget() is area.searching_page  # not the hint while it runs
    assert area.searching_page.title.text() == "Searching…"
    qtbot.waitUntil(lambda: asked == ["landlord"], timeout=TIMEOUT)
    assert area.currentWidget() is area.searching_page


def test_opening_a_result_whose_file_was_deleted_says_so_and_drops_it(
        qtbot: Any, window: Any, docs: Path, monkeypatch: Any) -> None:
    from app.gui import desktop

    opened: list[str] = []
    monkeypatch.setattr(desktop, "open_path", lambda path, _failed: opened.append(path))
    window.add_folders([str(docs)])
    _indexed(qtbot, window, docs, 4)
    window.search_box.setText("alpha river landlord dog")
    window.search_now()
    qtbot.waitUntil(lambda: window._shown_query == "alpha river landlord dog", timeout=TIMEOUT)
    model = window.results_view.results
    before = [h.path for h in model.hits]
    target = window.results_view.current_path()
    assert target is not None and len(before) > 1
    os.remove(target)
    window.open_path(target)
    assert opened == []
    assert "no longer exists" in window.status.error
    assert target not in [h.path for h in model.hits]
    assert len(model.hits) == len(before) - 1
    assert window.results_view.current_path() in before  # the next file is selected


def test_results_say_when_they_come_from_words_only(qtbot: Any, make_window: Any) -> None:
    from app.core.records import FileHit, Passage

    window = make_window(engine=False)
    window.pages.setCurrentIndex(1)
    hit = FileHit("/d/lease.txt", 0.9, (Passage(1, "The landlord kept the deposit.", None, 1, 1, 0.9),))
    window.search_box.setText("landlord")
    window.debounce.stop()
    window.show_response(SearchResponse("landlord", (hit,), reranked=False, semantic=False))
    assert "by words only" in window.results_header.text()
    window.show_response(SearchResponse("landlord", (hit,), reranked=False, semantic=True))
    assert "by words only" not in window.results_header.text()


def test_help_shows_the_log_folder(window: Any, tmp_path: Path, monkeypatch: Any) -> None:
    opened: list[str] = []
    monkeypatch.setattr("app.gui.desktop.open_path", lambda path, _failed: opened.append(path))
    window.logs_folder = tmp_path / "logs"
    [help_menu] = [a.menu() for a in window.menuBar().actions() if a.text() == "&Help"]
    [show] = [a for a in help_menu.actions() if a.text() == "Show &Log Folder"]
    show.trigger()
    assert opened == [str(tmp_path / "logs")]
