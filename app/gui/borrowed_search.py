"""Searching through another Sift while it holds the data folder: the window is never dead."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from app.gui.workers import TaskRunner

ASK_SECONDS = 10.0  # the other Sift may be loading its model: its answer is worth a wait


class BorrowedSearch(QObject):
    """While another Sift (`sift watch`) indexes this data folder, its channel answers this
    window's searches, read-only, until this window takes over; a Sift without a channel
    (`sift index`) leaves the search waiting for the take-over, as before."""

    answered = Signal(object)  # SearchResponse of the latest query asked

    def __init__(self, runner: TaskRunner, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._runner = runner
        self.data_dir: Path | None = None
        self._latest = ""

    def ask(self, query: str, filters: dict[str, Any]) -> None:
        data_dir = self.data_dir
        if data_dir is None:
            return
        self._latest = query
        self._runner.run(lambda: _ask(data_dir, query, filters),
                         lambda resp: self._deliver(query, resp), lambda exc: None)

    def forget(self) -> None:
        self._latest = ""

    def _deliver(self, query: str, response: Any) -> None:
        if response is not None and query == self._latest and self.data_dir is not None:
            self.answered.emit(response)


def _ask(data_dir: Path, query: str, filters: dict[str, Any]) -> Any:
    from app.core.ipc import SearchRequest, ask_search

    request = SearchRequest(query, folder=filters.get("folder"), types=tuple(filters.get("types") or ()),
                            since=filters.get("modified_after"))
    answer = ask_search(data_dir, request, timeout=ASK_SECONDS)
    return answer.response if answer is not None else None
