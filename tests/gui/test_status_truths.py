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
