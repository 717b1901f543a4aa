"""The window end to end: folders in, questions typed, results grouped and explained, files opened."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDesktopServices, QDragEnterEvent, QDropEvent, QGuiApplication
from PySide6.QtWidgets import QApplication

from app.gui import desktop
from app.gui.results_model import HIT_ROLE, PASSAGE_ROLE

TIMEOUT = 20_000


def _drop(window: Any, folder: Path) -> None:
    """Drag-enter then drop, as the platform delivers them (Qt only drops where the enter was accepted)."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(folder))])
    args = (QPointF(200, 200), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
            Qt.KeyboardModifier.NoModifier)
    enter = QDragEnterEvent(*args)
    QApplication.sendEvent(window, enter)
    assert enter.isAccepted()
    QApplication.sendEvent(window, QDropEvent(*args))


def _indexed(qtbot: Any, window: Any, folder: Path, files: int) -> None:
    def done() -> bool:
        row = window.folders_panel.row(str(folder))
        return row is not None and row.files == files and row.state in ("up to date", "watching")

    qtbot.waitUntil(done, timeout=TIMEOUT)


def _search(qtbot: Any, window: Any, text: str) -> Any:
    window.search_box.clear()
    qtbot.keyClicks(window.search_box, text)
    qtbot.waitUntil(lambda: window._shown_query == text, timeout=TIMEOUT)
    return window.results_view.results


def test_first_run_says_what_to_do_and_add_folder_uses_the_native_dialog(
        qtbot: Any, make_window: Any, docs: Path, monkeypatch: Any) -> None:
    window = make_window()
    assert window.pages.currentWidget() is window.welcome
    assert "Drop folders here" in window.welcome.title.text()
    from PySide6.QtWidgets import QFileDialog

    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(lambda *a, **k: str(docs)))
    qtbot.mouseClick(window.welcome.button, Qt.MouseButton.LeftButton)
    assert window.pages.currentIndex() == 1
    _indexed(qtbot, window, docs, 4)
    assert window.ui_state.value("last_folder") == str(docs)


def test_dropping_a_folder_indexes_it_and_shows_counts(qtbot: Any, window: Any, docs: Path) -> None:
    _drop(window, docs)
    assert window.folders_panel.folders() == [str(docs)]
    _indexed(qtbot, window, docs, 4)
    qtbot.waitUntil(lambda: "4 files" in window.status.size_label.text(), timeout=TIMEOUT)
    assert not window.indexing_bar.isVisible() or window.controller.service.busy


def test_dropping_files_only_explains_that_folders_are_wanted(qtbot: Any, window: Any, docs: Path) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(docs / "lease.txt"))])
    assert not window.handle_drop(mime)
    qtbot.waitUntil(lambda: "Drop folders" in window.status.error, timeout=TIMEOUT)


def test_typing_shows_results_grouped_by_file_with_highlighted_snippets(
        qtbot: Any, window: Any, docs: Path) -> None:
    _drop(window, docs)
    _indexed(qtbot, window, docs, 4)
    model = _search(qtbot, window, "landlord deposit")
    first = model.index(0, 0)
    assert os.path.basename(first.data(HIT_ROLE).path) == "lease.txt"
    passage = model.index(0, 0, first).data(PASSAGE_ROLE)
    marked = {passage.text[a:b].lower() for a, b in passage.highlights}
    assert {"landlord", "deposit"} <= marked
    # Painting the rows (rich text, score bar, elided folder) must work without warnings.
    assert not window.results_view.grab().isNull()
    # The first result is selected, and the preview shows it in context.
    qtbot.waitUntil(lambda: "landlord" in window.preview.text.toPlainText(), timeout=TIMEOUT)
    assert window.preview.title.full_text() == "lease.txt"
    assert window.results_header.text().startswith("Best matches")


def test_the_newest_query_wins(qtbot: Any, window: Any, docs: Path) -> None:
    _drop(window, docs)
    _indexed(qtbot, window, docs, 4)
    answers: list[str] = []
    window.controller.answered.connect(lambda r, _final: answers.append(r.query))
    for text in ("river", "river mountain", "canine nutrition"):
        window.controller.search(text)
    window.search_box.setText("canine nutrition")
    window.search_now()
    qtbot.waitUntil(lambda: window._shown_query == "canine nutrition", timeout=TIMEOUT)
    assert answers[-1] == "canine nutrition"
    assert "river" not in answers  # overtaken before it ran, or dropped when it finished


def test_keys_open_reveal_copy_and_clear(qtbot: Any, window: Any, docs: Path, monkeypatch: Any) -> None:
    opened: list[str] = []
    revealed: list[str] = []
    monkeypatch.setattr(QDesktopServices, "openUrl",
                        staticmethod(lambda url: opened.append(url.toLocalFile()) or True))
    monkeypatch.setattr(desktop, "reveal_path", lambda path, _failed: revealed.append(path))
    _drop(window, docs)
    _indexed(qtbot, window, docs, 4)
    model = _search(qtbot, window, '"river runs" mountain')
    assert model.rowCount() == 1  # a quoted phrase must appear
    target = str(docs / "sub" / "river.txt")
    assert window.results_view.current_path() == target
    # From the search box: Enter opens the selected result once its answer is on screen.
    qtbot.keyClick(window.search_box, Qt.Key.Key_Return)
    assert opened == [target]
    view = window.results_view
    view.setFocus()
    qtbot.keyClick(view, Qt.Key.Key_Down)  # onto the passage row: still the same file
    qtbot.keyClick(view, Qt.Key.Key_Return)
    qtbot.keyClick(view, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert opened == [target, target]
    assert revealed == [target]
    qtbot.keyClick(view, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    assert QGuiApplication.clipboard().text() == target
    qtbot.keyClick(view, Qt.Key.Key_Escape)
    assert window.search_box.text() == ""
    assert view.results.rowCount() == 0


def test_ctrl_k_focuses_the_search_box(qtbot: Any, window: Any) -> None:
    window.activateWindow()
    window.folders_panel.list.setFocus()
    window.find_action.trigger()
    assert window.search_box.hasFocus() or QApplication.focusWidget() is window.search_box
    assert [s.toString() for s in window.find_action.shortcuts()] == ["Ctrl+K", "Ctrl+F"]


def test_filters_narrow_by_type_and_folder(qtbot: Any, window: Any, docs: Path) -> None:
    _drop(window, docs)
    _indexed(qtbot, window, docs, 4)
    model = _search(qtbot, window, "alpha river landlord dog")
    assert model.rowCount() > 1
    window.filters.kind.setCurrentIndex(window.filters.kind.findText("Code"))
    qtbot.waitUntil(lambda: {os.path.basename(h.path) for h in model.hits} == {"code.py"}, timeout=TIMEOUT)
    window.filters.kind.setCurrentIndex(0)
    idx = window.filters.folder.findData(str(docs))
    assert idx > 0
    window.filters.period.setCurrentIndex(1)  # past day: every file was just written
    qtbot.waitUntil(lambda: model.rowCount() > 1, timeout=TIMEOUT)


def test_no_good_match_is_said_plainly(qtbot: Any, window: Any, docs: Path) -> None:
    from app.core.records import FileHit, Passage, SearchResponse

    hits = tuple(FileHit(str(docs / f"f{i}.txt"), 0.1, (Passage(i, "something else", None, 1, 1, 0.1),))
                 for i in range(6))
    window.search_box.setText("quantum chromodynamics")
    window.debounce.stop()
    window.show_response(SearchResponse("quantum chromodynamics", hits, reranked=False, weak=True))
    assert not window.weak_banner.isHidden()
    assert "No good match" in window.weak_banner.title.text()
    assert window.results_view.results.rowCount() == 3  # a few closest, de-emphasised
    assert window.results_header.text().startswith("Closest")
    window.show_response(SearchResponse("quantum chromodynamics", (), reranked=False))
    assert window.results_stack.currentWidget() is window.nothing_page


def test_pause_resume_and_cancel(qtbot: Any, window: Any, tmp_path: Path) -> None:
    many = tmp_path / "many"
    many.mkdir()
    for i in range(400):
        (many / f"note{i:03}.txt").write_text(f"Meeting notes {i}: the budget and the report.\n" * 3,
                                              encoding="utf-8")
    service = window.controller.service
    _drop(window, many)
    qtbot.waitUntil(lambda: window.indexing_bar.isVisible(), timeout=TIMEOUT)
    qtbot.mouseClick(window.indexing_bar.pause_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: service.paused, timeout=TIMEOUT)
    assert window.indexing_bar.pause_button.text() == "Resume"
    qtbot.mouseClick(window.indexing_bar.pause_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not service.paused, timeout=TIMEOUT)
    qtbot.mouseClick(window.indexing_bar.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not service.busy and not window.indexing_bar.isVisible(), timeout=TIMEOUT)
    files = window.controller.library.stats().files
    assert files < 400  # cancelled part-way; what was indexed stays searchable


def test_errors_reach_the_status_bar(qtbot: Any, window: Any, service_event: Any, monkeypatch: Any) -> None:
    window.controller.events.post(service_event("error", message="The disk is full."))
    qtbot.waitUntil(lambda: window.status.error == "The disk is full.", timeout=TIMEOUT)
    from PySide6.QtWidgets import QMessageBox

    qtbot.mouseClick(window.status.error_text, Qt.MouseButton.LeftButton)  # the whole message
    boxes = window.findChildren(QMessageBox)
    assert boxes and boxes[-1].text() == "The disk is full."
    boxes[-1].close()
    from app.core.errors import KnownError

    def broken(*_a: Any, **_k: Any) -> Any:
        raise KnownError("The index is damaged.", "Re-index the folder.")

    monkeypatch.setattr(window.controller.service, "search", broken)
    window.search_box.setText("anything")
    window.search_now()
    expected = "The index is damaged. Re-index the folder."
    qtbot.waitUntil(lambda: window.status.error == expected, timeout=TIMEOUT)


def test_skipped_files_are_listed_with_reasons(qtbot: Any, window: Any, tmp_path: Path) -> None:
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "good.txt").write_text("The river runs to the ocean.\n", encoding="utf-8")
    (folder / "empty.txt").write_text("", encoding="utf-8")
    _drop(window, folder)
    _indexed(qtbot, window, folder, 1)
    qtbot.waitUntil(lambda: window.status.skipped_button.isVisibleTo(window), timeout=TIMEOUT)
    window.show_skipped()
    dialog = window.skipped_dialog
    qtbot.waitUntil(lambda: dialog.tree.topLevelItemCount() == 1, timeout=TIMEOUT)
    item = dialog.tree.topLevelItem(0)
    assert item.text(0) == "empty.txt"
    assert "empty" in item.text(1)
    dialog.close()


def test_window_size_and_splitters_are_remembered(qtbot: Any, make_window: Any) -> None:
    first = make_window(engine=False)
    first.resize(760, 560)  # inside the offscreen screen (800 × 800): restoring clamps to it
    first.main_splitter.setSizes([200, 540])
    size = first.size()
    first_sizes = first.main_splitter.sizes()
    first.close()
    second = make_window(engine=False, size=None)
    assert second.size() == size
    assert second.main_splitter.sizes()[0] == first_sizes[0]


def test_preview_steps_through_the_matches_of_a_file(qtbot: Any, window: Any, tmp_path: Path) -> None:
    folder = tmp_path / "long"
    folder.mkdir()
    parts = [f"Part {i}. The tenant paid the deposit and the landlord kept the receipt. " +
             "The river runs from the mountain to the ocean. " * 4 for i in range(6)]
    (folder / "tenancy.txt").write_text("\n\n".join(parts), encoding="utf-8")
    _drop(window, folder)
    _indexed(qtbot, window, folder, 1)
    model = _search(qtbot, window, "deposit receipt")
    hit = model.index(0, 0).data(HIT_ROLE)
    assert len(hit.passages) > 1
    preview = window.preview
    qtbot.waitUntil(lambda: preview._context is not None, timeout=TIMEOUT)
    assert preview.counter.text() == f"Match 1 of {len(hit.passages)} in this file"
    assert not preview.prev_button.isEnabled() and preview.next_button.isEnabled()
    qtbot.mouseClick(preview.next_button, Qt.MouseButton.LeftButton)
    assert preview.passage_index == 1
    current = window.results_view.currentIndex()
    assert current.parent().isValid() and current.row() == 1  # the list follows the pane
    qtbot.waitUntil(lambda: preview._context is not None, timeout=TIMEOUT)
    assert "deposit" in preview.text.toPlainText()


def test_removing_a_folder_forgets_it(qtbot: Any, window: Any, docs: Path, monkeypatch: Any) -> None:
    _drop(window, docs)
    _indexed(qtbot, window, docs, 4)
    monkeypatch.setattr(window, "confirm", lambda *_: True)
    window.folders_panel.list.item(0).setSelected(True)
    qtbot.mouseClick(window.folders_panel.remove_button, Qt.MouseButton.LeftButton)
    assert window.folders_panel.folders() == []
    assert window.pages.currentWidget() is window.welcome
    qtbot.waitUntil(lambda: window.controller.library.stats().files == 0, timeout=TIMEOUT)


def test_results_of_a_removed_folder_leave_the_list_without_searching_again(
        qtbot: Any, window: Any, tmp_path: Path, monkeypatch: Any) -> None:
    kept, removed = tmp_path / "kept", tmp_path / "removed"
    for folder in (kept, removed):
        folder.mkdir()
        (folder / f"{folder.name}.txt").write_text("The river floods the valley every spring.",
                                                   encoding="utf-8")
        _drop(window, folder)
        _indexed(qtbot, window, folder, 1)
    model = _search(qtbot, window, "river floods")
    assert {Path(h.path).parent for h in model.hits} == {kept, removed}
    monkeypatch.setattr(window, "confirm", lambda *_: True)
    window.remove_folder(str(removed))
    # The answer on screen is asked again once the folder's files are forgotten.
    qtbot.waitUntil(lambda: [Path(h.path).parent for h in window.results_view.results.hits] == [kept],
                    timeout=TIMEOUT)
    assert window.search_box.text() == "river floods"


def test_settings_are_saved_and_a_new_model_is_switched_in_the_background(
        qtbot: Any, window: Any, monkeypatch: Any) -> None:
    from dataclasses import replace

    library = window.controller.library
    switched: list[str] = []
    monkeypatch.setattr(window.controller.service, "switch_model", switched.append)
    window.controller.apply_settings(replace(library.settings, results=7, model="/models/other"))
    qtbot.waitUntil(lambda: switched == ["/models/other"], timeout=TIMEOUT)
    qtbot.waitUntil(lambda: library.settings.results == 7, timeout=TIMEOUT)
    from app.core.settings import load_settings

    assert load_settings(library.paths.settings_file).results == 7


def test_reranking_refines_a_fast_first_answer(qtbot: Any, make_window: Any, library: Any,
                                               docs: Path) -> None:
    from dataclasses import replace

    library.update_settings(replace(library.settings, rerank=True))  # the tiny cross-encoder
    window = make_window()
    answers: list[tuple[bool, bool]] = []
    window.controller.answered.connect(lambda r, final: answers.append((r.reranked, final)))
    _drop(window, docs)
    _indexed(qtbot, window, docs, 4)
    _search(qtbot, window, "landlord deposit")
    qtbot.waitUntil(lambda: len(answers) >= 2, timeout=TIMEOUT)
    assert answers[:2] == [(False, False), (True, True)]  # fused at once, then reranked
    assert window.status.rerank_label.text() == "Reranking on"


def test_an_answer_by_words_only_is_redone_once_the_model_is_in(window: Any, monkeypatch: Any) -> None:
    """Its header says matching by meaning starts once the model is loaded: then it must."""
    from app.core.encoders.embedder import EmbedderInfo
    from app.core.records import SearchResponse

    asked: list[str] = []
    monkeypatch.setattr(window.controller, "search", lambda query, filters=None: asked.append(query))
    window.search_box.setText("does vitamin D prevent fractures")
    window.debounce.stop()
    info = EmbedderInfo(name="tiny", origin="test", dim=8, max_tokens=64, backend="torch float32 (cpu)",
                        reason="test", load_seconds=0.1, backend_id="torch-float32")
    window.show_response(SearchResponse("does vitamin D prevent fractures", (), reranked=False,
                                        semantic=False))
    window.controller.engine_ready.emit(info)
    assert asked == ["does vitamin D prevent fractures"]
    # An answer that had meaning already is left alone by the model's arrival...
    window.show_response(SearchResponse("does vitamin D prevent fractures", (), reranked=False))
    window.controller.engine_ready.emit(info)
    assert asked == ["does vitamin D prevent fractures"]
    # ...but "nothing found" while indexing ran is asked again when indexing ends.
    window.controller.idle.emit()
    assert asked == ["does vitamin D prevent fractures"] * 2
