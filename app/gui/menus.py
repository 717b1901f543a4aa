"""The menu bar: every command with its shortcut, and the roles macOS uses to move them where expected."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMainWindow

from app import APP_NAME

Shortcut = str | QKeySequence.StandardKey


@dataclass
class Actions:
    """The actions others need to reach (tests, the pause toggle kept in step with the strip)."""

    find: QAction
    pause: QAction
    quit: QAction


def _action(window: QMainWindow, text: str, slot: Any, shortcuts: tuple[Shortcut, ...] = (),
            role: QAction.MenuRole | None = None) -> QAction:
    action = QAction(text, window)
    action.setShortcuts([QKeySequence(s) for s in shortcuts])
    if role is not None:  # on macOS, Preferences/Quit/About move to the application menu
        action.setMenuRole(role)
    action.triggered.connect(slot)
    return action


def build_menus(window: Any) -> Actions:
    """File, Edit, Index and Help menus for the main window (its slots do the work)."""
    bar = window.menuBar()
    file_menu = bar.addMenu("&File")
    file_menu.addAction(_action(window, "&Add Folder…", window.choose_folder, ("Ctrl+O",)))
    file_menu.addAction(_action(window, "Skipped &Files…", window.show_skipped))
    file_menu.addSeparator()
    file_menu.addAction(_action(window, "&Settings…", window.show_settings, ("Ctrl+,",),
                                QAction.MenuRole.PreferencesRole))
    file_menu.addSeparator()
    quit_action = _action(window, "&Quit", window.close, (QKeySequence.StandardKey.Quit,),
                          QAction.MenuRole.QuitRole)
    file_menu.addAction(quit_action)
    edit_menu = bar.addMenu("&Edit")
    find = _action(window, "&Search", window.focus_search, ("Ctrl+K", "Ctrl+F"))
    edit_menu.addAction(find)
    edit_menu.addAction(_action(window, "More &Like This", lambda: window.similar.request(),
                                ("Ctrl+L",)))
    index_menu = bar.addMenu("&Index")
    index_menu.addAction(_action(window, "&Re-index All Folders", lambda: window.controller.reindex(None)))
    pause = _action(window, "&Pause Indexing", window.toggle_pause)
    pause.setCheckable(True)
    index_menu.addAction(pause)
    index_menu.addAction(_action(window, "&Cancel Indexing", window.cancel_indexing))
    help_menu = bar.addMenu("&Help")
    help_menu.addAction(_action(window, "Show &Log Folder", window.show_logs))
    help_menu.addAction(_action(window, f"&About {APP_NAME}", window.show_about, (),
                                QAction.MenuRole.AboutRole))
    return Actions(find=find, pause=pause, quit=quit_action)
