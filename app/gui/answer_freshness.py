"""When the answer on screen is out of date: the index has grown or settled since it was given."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QTimer

# While files are being indexed the answer on screen is redone at most this often: new matches
# join the list as they arrive without a search (and a rerank) for every file.
WHILE_INDEXING_MS = 2500


class AnswerFreshness(QObject):
    """Decides when the shown answer is asked again; ``ask_again`` does it (if a query is shown).

    An answer given while the index was incomplete may be wrong in every way a user notices:
    words only (no model yet), nothing found, a weak "No good match", or a list missing a file
    indexed since. Each is redone: while indexing runs, now and then as the index grows, and
    once more when indexing ends.
    """

    def __init__(self, ask_again: Callable[[], None], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._ask_again = ask_again
        self.words_only = False  # answered before the model was in: redone once it is
        self._doubtful = False   # nothing found, or only weak neighbours: the index may know better
        self._grown = False      # files were indexed since the answer was given
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(WHILE_INDEXING_MS)
        self._timer.timeout.connect(self._redo_if_grown)

    def shown(self, response: Any) -> None:
        """A new answer is on screen: what it may lack is judged afresh."""
        self.words_only = not getattr(response, "semantic", True)
        self._doubtful = not response.hits or bool(getattr(response, "weak", False))
        self._grown = False

    def cleared(self) -> None:
        self.words_only = self._doubtful = self._grown = False
        self._timer.stop()

    def index_grew(self) -> None:
        """Passages were stored or embedded: the shown list may lack a file that belongs in it."""
        self._grown = True
        if not self._timer.isActive():
            self._timer.start()

    def index_settled(self) -> None:
        """Indexing ended: the answer is redone if the index has more to say than when it was given."""
        self._timer.stop()
        if self._grown or self._doubtful or self.words_only:
            self._grown = False
            self._ask_again()

    def model_arrived(self) -> None:
        if self.words_only:  # its header promised matching by meaning once the model is in
            self._ask_again()

    def _redo_if_grown(self) -> None:
        if self._grown:
            self._grown = False
            self._ask_again()
