"""The main window's dialogs: skipped files, settings, the log folder and About."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from PySide6.QtWidgets import QMessageBox

from app import APP_NAME, __version__
from app.gui.folders_panel import FolderRow


class WindowDialogs:
    """The main window's dialogs (a mixin of MainWindow, which provides the attributes below)."""

    skipped_dialog: Any
    controller: Any
    messages: Any
    folders_panel: Any
    ui_state: Any
    logs_folder: Any
    _settings: Any
    _shut_down: bool

    def show_skipped(self) -> None:
        """One dialog, a child of the window for its whole life: closing only hides it."""
        if self.skipped_dialog is None:
            from app.gui.skipped_dialog import SkippedDialog

            self.skipped_dialog = SkippedDialog(self)
            self.skipped_dialog.reveal_requested.connect(self.reveal_path)
        dialog = self.skipped_dialog
        dialog.summary.setText("Reading the list…")
        self.controller.skipped(dialog.set_files)
        dialog.show()
        dialog.raise_()

    def show_settings(self) -> None:
        # The settings as they are now (folders added since the start included), not a copy
        # from when the window opened: the dialog's folder edits are applied as a difference.
        library = self.controller.current_library
        current = library.settings if library is not None else self._settings
        if current is None:
            self.messages.info("The settings are still loading.")
            return
        from app.gui.settings_dialog import SettingsDialog

        # The folders as the window shows them: commands just given (an add a moment ago) count.
        shown = replace(current, folders=tuple(self.folders_panel.folders()))
        dialog = SettingsDialog(shown, self, last_folder=str(self.ui_state.value("last_folder", "")))
        try:
            accepted = dialog.exec() == SettingsDialog.DialogCode.Accepted
            if accepted and not self._shut_down:
                edits = dialog.folder_edits()
                self._show_folders([*(r for r in self._rows() if r.path not in edits.removed),
                                    *(FolderRow(f, "queued") for f in edits.added)])
                self.controller.apply_settings(dialog.chosen(), edits)
        finally:
            dialog.deleteLater()  # a modal dialog lives only as long as it is open

    def show_logs(self) -> None:
        """The folder with the log and any crash reports, in the file manager (nothing is sent)."""
        from app.gui.desktop import open_path

        folder = self.logs_folder
        if folder is None:
            self.messages.info("There is no log folder.")
            return
        open_path(str(folder), lambda why: self.messages.info(f"{why} The log folder is {folder}."))

    def show_about(self) -> None:
        QMessageBox.about(self, f"About {APP_NAME}",
                          f"{APP_NAME} {__version__}\n\nFind files by meaning, locally and offline.")
