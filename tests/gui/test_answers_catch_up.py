"""An answer given while indexing ran catches up: weak ones, empty ones, and lists missing a new file."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from app.core.records import FileHit, Passage, Progress, SearchResponse

TIMEOUT = 30_000
QUERY = "when does the lease end"


def _hit(path: str, score: float) -> FileHit:
    passage = Passage(chunk_id=1, text="Invoice for the lease", page=None, line=1, line_end=1,
                      score=score)
    return FileHit(path=path, score=score, passages=(passage,), ext=".txt")


def _recorder(window: Any, monkeypatch: Any) -> list[str]:
    asked: list[str] = []
    monkeypatch.setattr(window.controller, "search", lambda query, filters=None: asked.append(query))
    window.search_box.setText(QUERY)
    window.debounce.stop()
    return asked


def test_a_weak_answer_shown_while_indexing_is_asked_again_when_indexing_ends(
        make_window: Any, monkeypatch: Any, service_event: Any, qtbot: Any) -> None:
    window = make_window(engine=False)
    asked = _recorder(window, monkeypatch)
    window.show_response(SearchResponse(QUERY, (_hit("/d/invoice.txt", 0.2),), reranked=False, weak=True))
    assert not window.weak_banner.isHidden()  # "No good match", the invoices dimmed
    window.controller.events.post(service_event("progress", progress=Progress("done")))
    qtbot.waitUntil(lambda: asked == [QUERY], timeout=TIMEOUT)


def test_a_good_answer_is_left_alone_at_idle_unless_files_were_indexed_since(
        make_window: Any, monkeypatch: Any, service_event: Any, qtbot: Any) -> None:
    window = make_window(engine=False)
    asked = _recorder(window, monkeypatch)
    window.show_response(SearchResponse(QUERY, (_hit("/d/lease.txt", 0.8),), reranked=False))
    window.controller.idle.emit()
    assert asked == []
    running = Progress("indexing", 1, 10, stage="words", words_done=1, words_total=10)
    window.controller.events.post(service_event("progress", progress=running))
    window.controller.events.post(service_event("progress", progress=Progress("done")))
    qtbot.waitUntil(lambda: asked == [QUERY], timeout=TIMEOUT)


def test_a_file_indexed_while_its_answer_is_shown_joins_the_list(
        qtbot: Any, window: Any, tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    (first / "lighthouse.txt").write_text("The harbour lighthouse keeper lit the lamp.\n",
                                          encoding="utf-8")
    (second / "keeper.txt").write_text("A lighthouse keeper's log of the harbour lamp.\n",
                                       encoding="utf-8")
    window.add_folders([str(first)])
    qtbot.waitUntil(lambda: not window.controller.service.busy
                    and (row := window.folders_panel.row(str(first))) is not None and row.files == 1,
                    timeout=TIMEOUT)
    window.search_box.setText("harbour lighthouse keeper")
    window.search_now()
    model = window.results_view.results

    def names() -> set[str]:
        return {os.path.basename(h.path) for h in model.hits}

    qtbot.waitUntil(lambda: names() == {"lighthouse.txt"}, timeout=TIMEOUT)
    window.add_folders([str(second)])  # nothing typed again: the list on screen must catch up
    qtbot.waitUntil(lambda: names() == {"lighthouse.txt", "keeper.txt"}, timeout=TIMEOUT)
