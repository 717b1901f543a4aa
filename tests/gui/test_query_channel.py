"""A running window answers `sift search` from other processes, and stops answering when it quits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from app.core.ipc import SearchRequest, ask_search


def test_the_window_answers_searches_of_other_processes(make_window: Any, library: Any, qtbot: Any,
                                                        docs: Path) -> None:
    window = make_window()
    window.controller.add_folders([str(docs)])
    qtbot.waitUntil(lambda: window.controller.service.stats().files >= 4, timeout=30_000)
    data_dir = library.paths.data_dir
    answer = ask_search(data_dir, SearchRequest(query="landlord deposit", limit=5))
    assert answer is not None and not answer.error
    assert answer.response.hits[0].path == str(docs / "lease.txt")
    window.close()
    assert ask_search(data_dir, SearchRequest(query="landlord deposit", limit=5), timeout=2) is None
