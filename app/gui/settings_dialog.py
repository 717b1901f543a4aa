"""The settings dialog: folders and exclusions, embedding model and reranker, passage size, results,
and OCR of scans (on or off, and their languages)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.core.extract.ocr.engines import choose, normalize_languages
from app.core.indexing.folders import FolderChanges
from app.core.settings import DEFAULT_EXCLUDES, DEFAULT_MODEL, DEFAULT_RERANKER, Settings
from app.gui import theme


def _note(text: str) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.PlainText)
    theme.secondary(label)
    return label


class ModelField(QWidget):
    """A model id or a local folder, with a folder picker and a way back to the default."""

    def __init__(self, value: str, default: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.edit = QLineEdit(value)
        self.edit.setPlaceholderText(default)
        browse = QPushButton("Folder…")
        browse.setToolTip("Use a model saved in a folder on this computer")
        reset = QPushButton("Default")
        reset.setToolTip(default)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.edit, 1)
        layout.addWidget(browse)
        layout.addWidget(reset)
        browse.clicked.connect(self._browse)
        reset.clicked.connect(lambda: self.edit.setText(default))
        self._default = default

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Choose a Model Folder", self.edit.text())
        if folder:
            self.edit.setText(folder)

    def value(self) -> str:
        return self.edit.text().strip() or self._default


def ask_to_remove(parent: QWidget, folder: str) -> bool:
    question = (f"Stop searching “{folder}”?\n\n"
                "Its index is deleted; the files themselves are not touched.")
    answer = QMessageBox.question(parent, "Remove Folder", question)
    return answer == QMessageBox.StandardButton.Yes


class SettingsDialog(QDialog):
    """Edits a copy of the settings; ``chosen()`` gives the result and ``folder_edits()`` the
    folders added and removed here, to be applied as a difference to the folders as they are then
    (never the list as it was when the dialog opened: folders may be added meanwhile)."""

    def __init__(self, settings: Settings, parent: QWidget | None = None, *,
                 last_folder: str = "", confirm: Callable[[QWidget, str], bool] = ask_to_remove) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.resize(600, 460)
        self._settings = settings
        self._last_folder = last_folder
        self._confirm = confirm
        self._opened_with = tuple(settings.folders)
        tabs = QTabWidget()
        tabs.addTab(self._folders_tab(settings), "Folders")
        tabs.addTab(self._models_tab(settings), "Models")
        tabs.addTab(self._search_tab(settings), "Search")
        tabs.addTab(self._scans_tab(settings), "Scans")
        ok_cancel = QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        buttons = QDialogButtonBox(ok_cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(tabs, 1)
        layout.addWidget(buttons)

    # -- tabs ---------------------------------------------------------------------------
    def _folders_tab(self, s: Settings) -> QWidget:
        page = QWidget()
        self.folders = QListWidget()
        self.folders.addItems(list(s.folders))
        add = QPushButton("Add Folder…")
        self.remove_button = QPushButton("Remove")
        remove = self.remove_button
        add.clicked.connect(self._add_folder)
        remove.clicked.connect(self.remove_selected)
        row = QHBoxLayout()
        row.addWidget(add)
        row.addWidget(remove)
        row.addStretch(1)
        self.exclude = QPlainTextEdit("\n".join(s.exclude))
        self.exclude.setPlaceholderText("*.bak\nArchive/\nprivate-*.pdf")
        self.exclude.setTabChangesFocus(True)
        layout = QVBoxLayout(page)
        layout.addWidget(QLabel("Folders to search:"))
        layout.addWidget(self.folders, 2)
        layout.addLayout(row)
        layout.addSpacing(8)
        layout.addWidget(QLabel("Leave out (one pattern per line, as in .gitignore):"))
        layout.addWidget(self.exclude, 1)
        layout.addWidget(_note("Always left out: " + "  ".join(DEFAULT_EXCLUDES)))
        return page

    def _models_tab(self, s: Settings) -> QWidget:
        page = QWidget()
        self.model = ModelField(s.model, DEFAULT_MODEL)
        self.reranker = ModelField(s.reranker, DEFAULT_RERANKER)
        self.rerank = QCheckBox("Re-score the best results with the reranker")
        self.rerank.setChecked(s.rerank)
        form = QFormLayout(page)
        form.addRow("Embedding model:", self.model)
        form.addRow("", _note("Changing it reads every file again in the background; searches keep "
                              "answering from the current index until the new one is ready."))
        form.addRow("Reranker:", self.reranker)
        form.addRow("", self.rerank)
        form.addRow("", _note("Reranking is more precise and a little slower (about half a second "
                              "a search on a laptop)."))
        return page

    def _search_tab(self, s: Settings) -> QWidget:
        page = QWidget()
        self.chunk = QSpinBox()
        self.chunk.setRange(64, 512)
        self.chunk.setSingleStep(32)
        self.chunk.setSuffix(" tokens")
        self.chunk.setValue(s.chunk_tokens)
        self.results = QSpinBox()
        self.results.setRange(5, 200)
        self.results.setValue(s.results)
        form = QFormLayout(page)
        form.addRow("Passage size:", self.chunk)
        form.addRow("", _note("Shorter passages point more precisely; longer ones keep more context. "
                              "Changing it re-indexes every folder."))
        form.addRow("Results to show:", self.results)
        return page

    def _scans_tab(self, s: Settings) -> QWidget:
        page = QWidget()
        self.ocr = QCheckBox("Read the text of scanned PDFs and images (OCR)")
        self.ocr.setChecked(s.ocr)
        self.ocr_languages = QLineEdit(", ".join(s.ocr_languages))
        self.ocr_languages.setPlaceholderText("English and Chinese (built in)")
        self.ocr_engine = _note("")
        self.ocr_engine.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        form = QFormLayout(page)
        form.addRow("", self.ocr)
        form.addRow("Languages:", self.ocr_languages)
        form.addRow("", _note("Tesseract codes, e.g. deu, eng  ·  fra  ·  rus  ·  ell  ·  jpn. "
                              "Languages other than English and Chinese are read by Tesseract "
                              "with its language packs, installed on this computer. Scans "
                              "already read are read again."))
        form.addRow("", self.ocr_engine)
        self.ocr.toggled.connect(self.ocr_languages.setEnabled)
        self.ocr.toggled.connect(self._show_ocr_engine)
        self.ocr_languages.textChanged.connect(self._show_ocr_engine)
        self.ocr_languages.setEnabled(s.ocr)
        self._show_ocr_engine()
        return page

    def _show_ocr_engine(self) -> None:
        if not self.ocr.isChecked():
            self.ocr_engine.setText("Scans are found by their names only.")
            return
        engine = choose(normalize_languages([self.ocr_languages.text()]))
        self.ocr_engine.setText(engine.note or f"Scans are read by {engine.summary}.")

    def _add_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add a Folder", self._last_folder)
        if folder and not self.folders.findItems(folder, Qt.MatchFlag.MatchExactly):
            self.folders.addItem(folder)
            self._last_folder = folder

    def remove_selected(self) -> None:
        """Remove the selected folders from the list, each after the user confirms it."""
        for item in self.folders.selectedItems():
            folder = item.text()
            # A folder added in this dialog and not applied yet has no index to lose.
            if folder not in self._opened_with or self._confirm(self, folder):
                self.folders.takeItem(self.folders.row(item))

    # -- result -------------------------------------------------------------------------
    def folder_edits(self) -> FolderChanges:
        listed = [self.folders.item(i).text() for i in range(self.folders.count())]
        return FolderChanges(added=tuple(f for f in listed if f not in self._opened_with),
                           removed=tuple(f for f in self._opened_with if f not in listed))

    def chosen(self) -> Settings:
        excludes = tuple(line.strip() for line in self.exclude.toPlainText().splitlines() if line.strip())
        folders = tuple(self.folders.item(i).text() for i in range(self.folders.count()))
        return replace(self._settings, folders=folders, exclude=excludes, model=self.model.value(),
                       reranker=self.reranker.value(), rerank=self.rerank.isChecked(),
                       chunk_tokens=self.chunk.value(), results=self.results.value(),
                       ocr=self.ocr.isChecked(),
                       ocr_languages=normalize_languages([self.ocr_languages.text()]))


def describe_changes(old: Settings, new: Settings) -> dict[str, Any]:
    """What the controller must do about a settings change (folders: see ``folder_edits``)."""
    return {
        "model": new.model if new.model != old.model else None,
        # A scan read in other languages is marked for reading again when indexing looks next.
        "reindex": new.exclude != old.exclude or new.chunk_tokens != old.chunk_tokens
        or new.ocr != old.ocr or new.ocr_languages != old.ocr_languages,
        "reranker": new.reranker != old.reranker,
    }
