"""The main window: search box and filters, folders, grouped results, preview, progress and status."""

from __future__ import annotations

import os
from typing import Any

from PySide6.QtCore import QByteArray, QSettings, Qt, QTimer
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QMainWindow,
    QMessageBox,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app import APP_NAME
from app.gui import theme
from app.gui.answer_freshness import AnswerFreshness
from app.gui.controller import Controller
from app.gui.empty_state import first_run_page
from app.gui.file_actions import FileActions
from app.gui.filters_bar import FiltersBar
from app.gui.folder_drops import FolderDrops
from app.gui.folders_panel import FolderRow, FoldersPanel
from app.gui.indexing_bar import IndexingBar
from app.gui.menus import build_menus
from app.gui.messages import MessageBridge
from app.gui.preview import PreviewPane
from app.gui.results_area import ResultsArea
from app.gui.search_box import SearchBox
from app.gui.similar_results import MoreLikeThis
from app.gui.status_bar import StatusBar
from app.gui.window_dialogs import WindowDialogs
from app.gui.workers import ServiceEvents

DEBOUNCE_MS = 200


class MainWindow(FileActions, FolderDrops, WindowDialogs, QMainWindow):
    """Built with its dependencies passed in; the engine arrives later through ``attach_engine``."""

    def __init__(self, *, messages: MessageBridge, events: ServiceEvents, ui_state: QSettings,
                 settings: Any = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.messages = messages
        self.ui_state = ui_state
        self.controller = Controller(messages, events, self)
        self._settings = settings
        self._folders: list[str] = list(settings.folders) if settings is not None else []
        self._shown_query = ""
        self.freshness = AnswerFreshness(self._ask_again, self)  # when the shown answer is redone
        self._last_rerank: tuple[bool, str] | None = None
        self._shut_down = False
        self.loader: Any = None          # the EngineLoader, while the engine loads behind the window
        self.private_folder: Any = None  # where Qt's own files live (ui_files.tidy at the end)
        self.logs_folder: Any = None  # the log file and crash reports (Help → Show Log Folder)
        self.skipped_dialog: Any = None  # one, owned by the window, shown again when asked
        self.setWindowTitle(APP_NAME)
        self.setWindowIcon(theme.app_icon())
        self.setAcceptDrops(True)
        self._build()
        self.similar = MoreLikeThis(self)  # "more like this": a result's neighbours in meaning
        actions = build_menus(self)
        self.find_action, self.pause_action, self.quit_action = actions.find, actions.pause, actions.quit
        self._connect()
        self._restore()
        self._show_folders([FolderRow(f, "queued") for f in self._folders])

    # -- construction ---------------------------------------------------------------------
    def _build(self) -> None:
        self.search_box = SearchBox()
        self.search_box.setAcceptDrops(False)  # dropped folders go to the window, not into the text
        self.filters = FiltersBar()
        self.folders_panel = FoldersPanel()
        self.results_area = ResultsArea()
        self.results_view = self.results_area.view
        self.results_stack = self.results_area  # the page on show: hint, results or nothing found
        self.results_header = self.results_area.header
        self.weak_banner = self.results_area.weak_banner
        self.nothing_page = self.results_area.nothing_page
        self.preview = PreviewPane(self.controller.runner, self.controller.context)
        self.preview.text.setAcceptDrops(False)
        self.results_splitter = QSplitter(Qt.Orientation.Horizontal)
        self.results_splitter.addWidget(self.results_area)
        self.results_splitter.addWidget(self.preview)
        self.results_splitter.setStretchFactor(0, 3)
        self.results_splitter.setStretchFactor(1, 2)
        self.results_splitter.setSizes([560, 380])  # proportions until the user's own are restored
        self.main_splitter = QSplitter(Qt.Orientation.Horizontal)
        self.main_splitter.addWidget(self.folders_panel)
        self.main_splitter.addWidget(self.results_splitter)
        self.main_splitter.setStretchFactor(1, 1)
        self.main_splitter.setSizes([220, 940])
        self.main_splitter.setCollapsible(1, False)
        self.results_splitter.setCollapsible(0, False)
        main = QWidget()
        layout = QVBoxLayout(main)
        layout.setContentsMargins(10, 10, 10, 0)
        layout.setSpacing(6)
        layout.addWidget(self.search_box)
        layout.addWidget(self.filters)
        layout.addWidget(self.main_splitter, 1)
        self.welcome = first_run_page(theme.app_icon())
        self.pages = QStackedWidget()
        self.pages.addWidget(self.welcome)
        self.pages.addWidget(main)
        self.indexing_bar = IndexingBar()
        outer = QWidget()
        box = QVBoxLayout(outer)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(0)
        box.addWidget(self.pages, 1)
        box.addWidget(self.indexing_bar)
        self.setCentralWidget(outer)
        self.status = StatusBar()
        self.setStatusBar(self.status)
        self.debounce = QTimer(self)
        self.debounce.setSingleShot(True)
        self.debounce.setInterval(DEBOUNCE_MS)
        self._preview_target: tuple[Any, int] = (None, 0)
        self._preview_timer = QTimer(self)
        self._preview_timer.setSingleShot(True)
        self._preview_timer.setInterval(0)
        self._preview_timer.timeout.connect(self._update_preview)

    def _connect(self) -> None:
        c = self.controller
        self.messages.message.connect(self.status.show_message)
        self.search_box.textChanged.connect(self._text_changed)
        self.search_box.navigate.connect(self.results_view.move)
        self.search_box.submitted.connect(self._submitted)
        self.search_box.escape_pressed.connect(self.clear_search)
        self.search_box.copy_requested.connect(lambda: self.copy_path(self.results_view.current_path()))
        self.debounce.timeout.connect(self.search_now)
        self.filters.changed.connect(self.search_now)
        self.welcome.action.connect(self.choose_folder)
        self.folders_panel.add_requested.connect(self.choose_folder)
        self.folders_panel.remove_requested.connect(self.remove_folder)
        self.folders_panel.reindex_requested.connect(c.reindex)
        self.folders_panel.reveal_requested.connect(self.open_path)
        self.results_view.open_requested.connect(self.open_result)
        self.results_view.reveal_requested.connect(self.reveal_path)
        self.results_view.copy_requested.connect(self.copy_path)
        self.results_view.escape_pressed.connect(self.clear_search)
        self.results_view.current_moved.connect(self._current_moved)
        self.results_view.similar_requested.connect(self.similar.request)
        self.preview.open_requested.connect(self.open_result)
        self.preview.reveal_requested.connect(self.reveal_path)
        self.preview.passage_changed.connect(
            lambda i: self.results_view.select_passage(self.preview.hit, i))
        self.indexing_bar.pause_toggled.connect(self._set_paused)
        self.indexing_bar.cancel_requested.connect(self.cancel_indexing)
        self.status.skipped_clicked.connect(self.show_skipped)
        c.engine_ready.connect(self._engine_ready)
        c.engine_failed.connect(self.engine_failed)
        c.progress.connect(self._progress)
        c.idle.connect(self._idle)
        c.paused_changed.connect(self._paused_read)
        c.folders_changed.connect(self._show_folders)
        c.stats_changed.connect(self.status.set_stats)
        c.answered.connect(self.show_response)
        c.results_stale.connect(self._ask_again)
        c.index_grew.connect(self.freshness.index_grew)
        c.rerank_checked.connect(lambda on, note: self._last_rerank or self.status.set_rerank(on, note))
        c.settings_changed.connect(self._settings_changed)

    # -- the engine -----------------------------------------------------------------------
    def attach_engine(self, library: Any, service: Any) -> None:
        self.controller.attach(library, service)

    def set_library(self, library: Any) -> None:
        self.controller.set_library(library)
        self.status.set_model_loading(library.settings.model)
        self.indexing_bar.show_busy("Loading the model…")

    def engine_failed(self, error: Any) -> None:
        from app.gui.messages import describe_exception

        text = error if isinstance(error, str) else describe_exception(error, "loading the model")
        self.indexing_bar.finish()
        self.status.set_model_failed(text)
        self.messages.error(text)

    def _engine_ready(self, info: Any) -> None:
        self.status.set_model(info)
        self.freshness.model_arrived()
        if self.indexing_bar.bar.maximum() == 0 and self.indexing_bar.headline.text().startswith("Loading"):
            self.indexing_bar.finish()

    def _settings_changed(self, settings: Any) -> None:
        self._settings = settings
        # Before the engine runs, the saved settings are all there is to show; once it runs, the
        # folders come from its reads (a settings answer may predate a folder removed since).
        if not self.controller.ready and not self.folders_panel.folders() and settings.folders:
            self._show_folders([FolderRow(f, "queued") for f in settings.folders])
        # What the settings ask for, until a search tells what really happened (the reranker may
        # fail to load); a later settings change that keeps reranking on keeps that answer.
        if not settings.rerank:
            self.status.set_rerank(False, "Reranking is turned off in the settings.")
        elif self._last_rerank is None:  # until a search tells: whether the cross-encoder is here
            self.controller.check_reranker()
        else:
            self.status.set_rerank(*self._last_rerank)

    def _progress(self, p: Any) -> None:
        if p.phase == "done":
            self._idle()
        else:
            self.indexing_bar.show_progress(p)
            # A model switch answers from the old, complete index: no warning then.
            self.results_area.set_indexing(p if p.phase in ("scanning", "indexing") else None)

    def _idle(self) -> None:
        self.indexing_bar.finish()
        self.results_area.set_indexing(None)
        self.freshness.index_settled()

    def _set_paused(self, paused: bool) -> None:
        self.pause_action.setChecked(paused)
        self.controller.pause(paused)

    def _paused_read(self, paused: bool) -> None:
        """The service's pause as read: the menu item and the strip follow it."""
        if self.pause_action.isChecked() != paused:
            self.pause_action.setChecked(paused)
        if self.indexing_bar.paused != paused:
            self.indexing_bar.set_paused(paused)

    def cancel_indexing(self) -> None:
        """Cancel ends a pause too: the core wakes the writer so that it can stop."""
        self.pause_action.setChecked(False)
        self.indexing_bar.set_paused(False)
        self.controller.cancel()

    def toggle_pause(self, paused: bool) -> None:
        """The menu's Pause: the strip shows "Paused" at once (no progress arrives while paused)."""
        self.indexing_bar.set_paused(paused)
        self.controller.pause(paused)

    # -- folders --------------------------------------------------------------------------
    def _show_folders(self, rows: list[Any]) -> None:
        self.folders_panel.set_folders(rows)
        self._folders = [r.path for r in rows]
        self.filters.set_folders(self._folders)
        self.pages.setCurrentIndex(1 if self._folders else 0)

    def choose_folder(self) -> None:
        start = str(self.ui_state.value("last_folder", os.path.expanduser("~")))
        folder = QFileDialog.getExistingDirectory(self, "Add a Folder to Search", start)
        if folder:
            self.ui_state.setValue("last_folder", folder)
            self.add_folders([folder])

    def add_folders(self, folders: list[str]) -> None:
        new = [f for f in folders if f not in self._folders]
        if not new:
            return
        self._show_folders([*self._rows(), *(FolderRow(f, "queued") for f in new)])
        self.controller.add_folders(new)
        names = ", ".join(os.path.basename(f) or f for f in new)
        self.messages.info(f"Added {names}; indexing in the background.")

    def _rows(self) -> list[Any]:
        return [self.folders_panel.row(f) for f in self.folders_panel.folders()]

    def remove_folder(self, folder: str) -> None:
        question = (f"Stop searching “{folder}”?\n\n"
                    "Its index is deleted; the files themselves are not touched.")
        if self.confirm("Remove Folder", question):
            self._show_folders([r for r in self._rows() if r.path != folder])
            self.controller.remove_folder(folder)

    def confirm(self, title: str, text: str) -> bool:
        answer = QMessageBox.question(self, title, text)
        return answer == QMessageBox.StandardButton.Yes

    # -- searching ------------------------------------------------------------------------
    def focus_search(self) -> None:
        self.search_box.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search_box.selectAll()

    def _text_changed(self, text: str) -> None:
        if text.strip():
            self.debounce.start()  # restarts: the search runs 200 ms after the last key
            self.results_area.show_searching(text.strip())
        else:
            self.clear_search(keep_text=True)

    def search_now(self) -> None:
        self.debounce.stop()
        query = self.search_box.text().strip()
        if query:
            self.controller.search(query, self.filters.values())
            if query != self._shown_query:
                self.results_area.show_searching(query)

    def _ask_again(self) -> None:
        """The index lost files (a folder removed) or changed model: the answer shown is redone."""
        query = self.search_box.text().strip()
        if query and query == self._shown_query and not self.debounce.isActive():
            self.controller.search(query, self.filters.values())

    def _submitted(self, reveal: bool) -> None:
        query = self.search_box.text().strip()
        hit = self.results_view.current_hit()
        if query and query == self._shown_query and hit is not None and not self.debounce.isActive():
            self.reveal_path(hit.path) if reveal else self.open_result(hit)
        else:
            self.search_now()

    def clear_search(self, keep_text: bool = False) -> None:
        self.debounce.stop()
        self.controller.clear_search()
        if not keep_text:
            self.search_box.clear()
        self._shown_query = ""
        self.freshness.cleared()
        self.results_area.clear()
        self.preview.clear()
        self.search_box.setFocus()

    def show_response(self, response: Any, final: bool = True) -> None:
        """Show an answer; a refined (reranked) answer of the same query keeps the selected file."""
        if not self.search_box.text().strip():
            return  # cleared while it ran
        keep = self.results_view.current_key() if response.query == self._shown_query else None
        self._shown_query = response.query
        self.freshness.shown(response)
        if final:  # a fast first answer is never reranked: only the last one tells the truth
            self._last_rerank = (response.reranked, response.rerank_note)
            self.status.set_rerank(*self._last_rerank)
        self.results_area.show_response(response, narrowed=self.filters.active, keep=keep)

    def _current_moved(self, hit: Any, passage: int) -> None:
        # On the next turn of the event loop, latest wins: the list paints first, and holding
        # Down through the results does not render every passage on the way.
        self._preview_target = (hit, passage)
        self._preview_timer.start()

    def _update_preview(self) -> None:
        hit, passage = self._preview_target
        if hit is None:
            self.preview.clear()
        else:
            self.preview.show_passage(hit, passage, self._shown_query)

    # -- window state ---------------------------------------------------------------------
    def _restore(self) -> None:
        geometry = self.ui_state.value("window/geometry")
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        else:
            self.resize(1180, 740)
        splitters = (("splitter/main", self.main_splitter), ("splitter/results", self.results_splitter))
        for key, splitter in splitters:
            state = self.ui_state.value(key)
            if isinstance(state, QByteArray) and not state.isEmpty():
                splitter.restoreState(state)

    def save_ui_state(self) -> None:
        self.ui_state.setValue("window/geometry", self.saveGeometry())
        self.ui_state.setValue("splitter/main", self.main_splitter.saveState())
        self.ui_state.setValue("splitter/results", self.results_splitter.saveState())
        self.ui_state.sync()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.shut_down()
        event.accept()

    def shut_down(self) -> None:
        """The one way out (Ctrl+Q, the close button, SIGTERM): in order, within about 2 s.

        Window state saved; the window hidden (quitting looks instant); open dialogs closed (a
        modal one ends its own event loop); the engine stopped by the controller (searches, then
        the watcher and the writer at its next checkpoint, a deadline on the join, the index saved
        and closed); Qt's files made private. Qt deletes the widgets afterwards (tear_down).
        """
        if self._shut_down:
            return
        self._shut_down = True
        self.save_ui_state()
        self.hide()
        for dialog in self.findChildren(QDialog):
            if dialog.isVisible():
                dialog.reject()
        if self.loader is not None:
            self.loader.abandon()
        self.controller.shutdown()
        if self.private_folder is not None:
            from app.gui.ui_files import tidy

            tidy(self.private_folder)
