"""What the window does with a result's file: open it (or a private copy), show it, copy its path."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from app.gui import desktop
from app.gui.shown_paths import actual, shown


class FileActions:
    """The main window's file actions (a mixin of MainWindow, which provides the attributes below).

    A result can outlive its file, so each action first checks the file is still there and, if
    not, takes it out of the results and says so.
    """

    messages: Any
    controller: Any
    results_view: Any
    preview: Any

    def open_result(self, hit: Any) -> None:
        """Open a result: the file, or for an e-mail attachment a private copy of it."""
        if hit is None:
            return
        if not getattr(hit, "attachment", ""):
            self.open_path(hit.path)
        elif self._still_there(hit.path):
            library = self.controller.current_library
            if library is None:
                return
            from app.core.extract.attachments import private_copy

            name, mail = hit.attachment, os.path.basename(hit.path)
            self.controller.runner.run(
                lambda: private_copy(library.paths.data_dir, Path(hit.path), hit.part, name,
                                     library.settings.max_file_mb * 2**20),
                lambda copy: self._open_copy(str(copy), name),
                lambda exc: self.messages.error(
                    f"Could not open {name} from {mail}: {getattr(exc, 'message', exc)}"))

    def _open_copy(self, copy: str, name: str) -> None:
        desktop.open_path(copy, lambda _why: self.messages.error(
            f"Could not open {name}: no application is set up for it."))

    # Paths come from Qt's models and signals as carried strings (see shown_paths): the file
    # system's own path is taken back from them before anything is done with it.
    def open_path(self, path: str | None) -> None:
        if path and self._still_there(actual(path)):
            desktop.open_path(actual(path), self.messages.error)

    def reveal_path(self, path: str | None) -> None:
        if path and self._still_there(actual(path)):
            desktop.reveal_path(actual(path), self.messages.error)

    def _still_there(self, path: str) -> bool:
        """A result can outlive its file (deleted since, a watcher event not applied yet)."""
        if os.path.exists(path):
            return True
        dropped = self.results_view.drop_path(path)
        self.messages.error(f"{shown(os.path.basename(path)) or shown(path)} no longer exists"
                            f"{'; it is taken out of the results' if dropped else ''}. ({shown(path)})")
        if self.results_view.results.rowCount() == 0 and dropped:
            self.preview.clear()
        return False

    def copy_path(self, path: str | None) -> None:
        if path:
            text = desktop.copy_path(actual(path))
            self.messages.info(f"Copied {text}")
