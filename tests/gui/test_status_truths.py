"""The status bar and the layout tell the truth from the start: reranking, and the narrowest window."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

TIMEOUT = 20_000


def test_reranking_is_not_claimed_before_a_search_when_no_cross_encoder_is_here(
        qtbot: Any, make_window: Any, library: Any, tmp_path: Path) -> None:
    library.update_settings(replace(library.settings, rerank=True, reranker=str(tmp_path / "no-such-model")))
    window = make_window()
    qtbot.waitUntil(lambda: window.status.rerank_label.text() == "Reranking off", timeout=TIMEOUT)
    assert "not on this computer" in window.status.rerank_label.toolTip()


def test_reranking_on_is_said_before_a_search_when_the_cross_encoder_is_here(
        qtbot: Any, make_window: Any, library: Any, tiny_reranker: Path) -> None:
    library.update_settings(replace(library.settings, rerank=True, reranker=str(tiny_reranker)))
    window = make_window()
    qtbot.waitUntil(lambda: window.status.rerank_label.text() == "Reranking on", timeout=TIMEOUT)


def _answer(window: Any) -> None:
    from app.core.records import FileHit, Passage, SearchResponse

    text = "The lighthouse keeper kept a log of every ship that passed the harbour in the storms."
    hits = tuple(FileHit(path=f"/d/notes/lighthouse keeper journal {i}.txt", score=0.8 - i / 10,
                         passages=(Passage(chunk_id=i + 1, text=text, page=None, line=3, line_end=4,
                                           score=0.8 - i / 10, highlights=((4, 14),)),), ext=".txt")
                 for i in range(3))
    window.pages.setCurrentIndex(1)
    window.search_box.setText("lighthouse keeper")
    window.debounce.stop()
    window.show_response(SearchResponse("lighthouse keeper", hits, reranked=False))


def test_at_the_smallest_window_the_results_are_wider_than_the_preview_and_words_stay_whole(
        qtbot: Any, make_window: Any) -> None:
    window = make_window(engine=False, size=None)
    _answer(window)
    window.resize(window.minimumSizeHint())
    qtbot.waitUntil(lambda: window.size() == window.minimumSizeHint(), timeout=TIMEOUT)
    qtbot.waitUntil(lambda: window.results_area.width() > window.preview.width(), timeout=TIMEOUT)
    view = window.results_view
    passage = view.results.index(0, 0, view.results.index(0, 0))
    delegate = view.itemDelegate()
    width = delegate._snippet_width(view.viewport().width(), view.fontMetrics())
    doc, _height = delegate._doc(passage, width, False, view.font())
    text = doc.toPlainText()
    layout = doc.firstBlock().layout()
    breaks = [layout.lineAt(i).textStart() for i in range(1, layout.lineCount())]
    assert breaks, "the snippet fits on one line: the test shows nothing"
    assert all(text[b - 1] == " " for b in breaks), [text[b - 5:b + 5] for b in breaks]
