"""More like this in the window: the files closest in meaning to a result, shown in its place."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject


class MoreLikeThis(QObject):
    """Asks the engine for the files most like a result (off the GUI thread) and lists them.

    The list replaces the answer shown; typing or Enter in the search box searches again.
    """

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self._window = window
        self.shown_for: Any = None  # the FileHit whose neighbours are on screen

    def request(self, hit: Any = None) -> None:
        """Find the files most like ``hit`` (by default the selected result)."""
        w = self._window
        hit = hit or w.results_view.current_hit()
        controller = w.controller
        if hit is None:
            return
        if controller.service is None:
            controller.messages.info("Still loading the model; try again in a moment.")
            return
        service = controller.service
        w.results_header.setText(f"Looking for files like “{hit.title}”…")
        controller.runner.run(lambda: service.similar(hit.path, part=hit.part),
                              lambda response: self._show(hit, response),
                              lambda exc: controller.messages.exception(exc, "finding similar files"))

    def _show(self, hit: Any, response: Any) -> None:
        w = self._window
        w.debounce.stop()
        w.controller.clear_search()  # an answer still running for the box must not replace these
        w._shown_query = ""  # the preview marks no query words: what they share is underlined
        self.shown_for = hit
        w.results_area.show_response(response, narrowed=False)
        n = len(response.hits)
        if n:
            w.results_header.setText(
                f"More like “{hit.title}”  ·  {n} file{'s' if n != 1 else ''}  ·  "
                f"{response.elapsed_ms:.0f} ms  ·  itself and exact copies left out")
