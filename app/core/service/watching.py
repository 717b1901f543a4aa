"""Which chosen folders are watched, and how: one watch per outermost folder, states in the book."""

from __future__ import annotations

import os
from collections.abc import Callable

from app.core.indexing.folders import FolderSet, inside
from app.core.indexing.scanner import Rules
from app.core.service.folder_state import (
    NOT_WATCHABLE,
    UNREACHABLE,
    UP_TO_DATE,
    WATCHING,
    FolderBook,
)
from app.core.service.watcher import Changes, FolderWatcher, NotWatchable

GONE_MESSAGE = ("The folder is not there (unplugged or moved?); its files stay searchable "
                "until it is back.")


class FolderWatching:
    """The file watcher seen from the service: a nested chosen folder rides on its parent's watch.

    Without a watcher (watching off) folders are "up to date" after each scan instead.
    """

    def __init__(self, book: FolderBook, changed: Callable[[], None], *, enabled: bool) -> None:
        self._book = book
        self._changed = changed  # tells the service that a folder's state changed
        self.enabled = enabled
        self.watcher: FolderWatcher | None = None

    def start(self, on_changes: Callable[[Changes], None], on_gone: Callable[[str], None],
              rules: Rules, roots: tuple[str, ...]) -> None:
        if not self.enabled:
            return
        self.watcher = FolderWatcher(on_changes, rules, on_folder_gone=on_gone)
        self.watcher.roots = roots
        self.watcher.start()

    def stop(self) -> None:
        if self.watcher is not None:
            self.watcher.stop()

    @property
    def pending(self) -> bool:
        return self.watcher is not None and self.watcher.pending

    def watched(self) -> list[str]:
        return [] if self.watcher is None else self.watcher.watched()

    def set_roots(self, roots: tuple[str, ...]) -> None:
        if self.watcher is not None:
            self.watcher.roots = roots

    def set_rules(self, rules: Rules) -> None:
        if self.watcher is not None:
            self.watcher.rules = rules

    def ensure(self, folder: str, chosen: FolderSet) -> bool:
        """Watch ``folder`` if it can be; returns whether it is there to be indexed."""
        watcher = self.watcher
        if not os.path.isdir(folder):
            if watcher is not None:
                watcher.unwatch(folder)
            self._set(folder, UNREACHABLE, GONE_MESSAGE)
            return False
        if watcher is None:
            self._set(folder, UP_TO_DATE, "")
        elif watcher.is_watched(folder) or any(watcher.is_watched(f)
                                               for f in chosen.containing(folder)):
            self._set(folder, WATCHING, "")  # a chosen parent's watch covers it
        elif self._book.get(folder).watch != NOT_WATCHABLE:  # a failed watch is not retried
            try:
                watcher.watch(folder)
                self._set(folder, WATCHING, "")
            except NotWatchable as exc:
                self._set(folder, exc.state, exc.message)
                return exc.state != UNREACHABLE
            for nested in watcher.watched():  # now covered: one watch per file, not two
                if inside(nested, folder):
                    watcher.unwatch(nested)
        return True

    def hand_over(self, removed: str, chosen: FolderSet) -> None:
        """``removed`` is no longer chosen: the folders its watch covered get their own first."""
        if self.watcher is None:
            return
        for nested in chosen:
            if inside(nested, removed) and not any(inside(nested, f) for f in chosen
                                                   if f != nested):
                self.ensure(nested, chosen)
        self.watcher.unwatch(removed)

    def lost(self, folder: str) -> None:
        """The folder vanished (unplugged, deleted or moved away)."""
        if self.watcher is not None:
            self.watcher.unwatch(folder)
        self._set(folder, UNREACHABLE, GONE_MESSAGE)

    def forget_watch(self, folder: str) -> None:
        """A folder deleted and made again: its old watch is dead."""
        if self.watcher is not None:
            self.watcher.unwatch(folder)

    def _set(self, folder: str, watch: str, message: str) -> None:
        if self._book.set_watch(folder, watch, message):
            self._changed()
