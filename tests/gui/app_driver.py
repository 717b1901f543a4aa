"""Runs the real app (``app.main.main``) in this process and plays a script of user actions on it.

Used by the quit tests in a subprocess: the exit code is the app's own, and any Qt warning is
printed with a ``QT-WARNING`` prefix so the caller can fail on it. The script is JSON: a list of
``[delay_ms, action, argument]``; actions are those a user has (menus, keys, dialogs, typing).

    python -m tests.gui.app_driver --data-dir D --script '[[500, "add", "/folder"], [300, "quit", ""]]'
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from typing import Any

ACTIONS: dict[str, Callable[[Any, str], None]] = {}


def action(name: str) -> Callable[[Callable[[Any, str], None]], Callable[[Any, str], None]]:
    def register(fn: Callable[[Any, str], None]) -> Callable[[Any, str], None]:
        ACTIONS[name] = fn
        return fn
    return register


def _close_modal() -> bool:
    """Esc on whatever modal dialog is open (a nested event loop keeps our timers running)."""
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    modal = QApplication.activeModalWidget()
    if modal is None:
        return False
    QTest.keyClick(modal, Qt.Key.Key_Escape)
    if modal.isVisible():  # a window manager without focus: the same as Esc
        modal.reject() if hasattr(modal, "reject") else modal.close()
    return True


@action("add")
def _add(window: Any, folder: str) -> None:
    window.add_folders([folder])


@action("remove")
def _remove(window: Any, folder: str) -> None:
    window.confirm = lambda *_: True
    window.remove_folder(folder)


@action("search")
def _search(window: Any, text: str) -> None:
    from PySide6.QtTest import QTest

    window.search_box.clear()
    QTest.keyClicks(window.search_box, text)


@action("settings")
def _settings(window: Any, _arg: str) -> None:
    from PySide6.QtCore import QTimer

    QTimer.singleShot(150, _close_modal)  # the dialog runs its own loop: Esc it from inside
    window.show_settings()


@action("skipped")
def _skipped(window: Any, _arg: str) -> None:
    window.show_skipped()


@action("choose")
def _choose(window: Any, _arg: str) -> None:
    """Add Folder… opens the file dialog; Esc closes it (its history is still saved by Qt)."""
    from PySide6.QtCore import QTimer

    QTimer.singleShot(300, _close_modal)
    window.choose_folder()


@action("say-error")
def _say_error(window: Any, _arg: str) -> None:
    """Print the message the status bar shows in its warning box (empty: none)."""
    print(f"STATUS-ERROR {window.status.error}", flush=True)


@action("shot")
def _shot(window: Any, path: str) -> None:
    """Save what the window shows as a PNG (to look at what a user sees)."""
    window.grab().save(path)


@action("crash")
def _crash(_window: Any, _arg: str) -> None:
    """A segmentation fault on a worker thread, as a native library's bug would cause."""
    import ctypes
    import threading

    threading.Thread(target=ctypes.string_at, args=(0,), name="sift-crash").start()


@action("about")
def _about(window: Any, _arg: str) -> None:
    from PySide6.QtCore import QTimer

    QTimer.singleShot(150, _close_modal)
    window.show_about()


@action("esc")
def _esc(window: Any, _arg: str) -> None:
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    if not _close_modal():
        target = QApplication.activeWindow() or window
        QTest.keyClick(target, Qt.Key.Key_Escape)


@action("pause")
def _pause(window: Any, _arg: str) -> None:
    window.pause_action.trigger()


@action("cancel")
def _cancel(window: Any, _arg: str) -> None:
    """Cancel as the strip's button does; prints how long until the engine stood still."""
    from PySide6.QtCore import QTimer

    service = window.controller.service
    busy = service is not None and service.busy
    started = time.monotonic()
    window.cancel_indexing()
    if not busy:
        return

    def check() -> None:
        if service.busy and time.monotonic() - started < 30:
            QTimer.singleShot(10, check)
        else:
            print(f"CANCELLED-AFTER {time.monotonic() - started:.3f}", flush=True)

    QTimer.singleShot(10, check)


@action("await")
def _await(_window: Any, path: str) -> None:
    """Go on with the script once ``path`` exists (another process's cue), events running meanwhile."""
    _wait_for(lambda: os.path.exists(path))


def _wait_for(check: Callable[[], bool], seconds: float = 60) -> None:
    from PySide6.QtWidgets import QApplication

    deadline = time.monotonic() + seconds
    while not check() and time.monotonic() < deadline:
        QApplication.processEvents()
        time.sleep(0.02)


@action("await-strip")
def _await_strip(window: Any, text: str) -> None:
    """Go on once the strip at the bottom says ``text``."""
    _wait_for(lambda: text in window.indexing_bar.headline.text())


@action("await-engine")
def _await_engine(window: Any, _arg: str) -> None:
    """Go on once this window runs the engine (indexes and searches)."""
    _wait_for(lambda: window.controller.ready)


@action("await-model")
def _await_model(window: Any, _arg: str) -> None:
    """Go on once the status bar names the model and its backend (loaded, checked if need be)."""
    _wait_for(lambda: " · " in window.status.model_label.text(), seconds=300)
    print(f"MODEL {window.status.model_label.text()}", flush=True)


@action("await-answer")
def _await_answer(window: Any, query: str) -> None:
    """Go on once the answer to ``query`` is on screen; print its files' names."""
    _wait_for(lambda: window._shown_query == query)
    names = [os.path.basename(h.path) for h in window.results_view.results.hits]
    print(f"ANSWER {query!r} {names}", flush=True)


@action("touch")
def _touch(_window: Any, path: str) -> None:
    """A cue for another process: this step was reached."""
    with open(path, "w", encoding="utf-8"):
        pass


@action("say-state")
def _say_state(window: Any, _arg: str) -> None:
    """Print what the strip at the bottom says and whether the engine runs in this window."""
    print(f"STATE engine={window.controller.ready} strip={window.indexing_bar.headline.text()}",
          flush=True)


@action("quit")
def _quit(window: Any, _arg: str) -> None:
    """Ctrl+Q as the user presses it (the Quit action's shortcut), timed from here."""
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    print(f"QUIT-AT {time.time():.4f}", flush=True)
    window.activateWindow()
    QTest.keyClick(window, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
    if window.isVisible():  # the shortcut did not reach it (no focus offscreen): use the menu item
        window.quit_action.trigger()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--script", required=True, help="JSON list of [delay_ms, action, argument]")
    args, rest = parser.parse_known_args()
    steps = [tuple(s) for s in json.loads(args.script)]

    from PySide6.QtCore import QTimer, QtMsgType, qInstallMessageHandler
    from PySide6.QtWidgets import QApplication

    def handler(mode: QtMsgType, _context: Any, message: str) -> None:
        serious = mode in (QtMsgType.QtWarningMsg, QtMsgType.QtCriticalMsg, QtMsgType.QtFatalMsg)
        print(f"{'QT-WARNING' if serious else 'QT'} {mode.name}: {message}", file=sys.stderr, flush=True)

    qInstallMessageHandler(handler)
    from app.gui.application import make_application

    app = make_application([])

    def window() -> Any:
        from app.gui.main_window import MainWindow

        found = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow)]
        return found[0] if found else None

    def play() -> None:
        if not steps:
            return
        delay, name, arg = steps.pop(0)

        def run() -> None:
            w = window()
            if w is None or not w.isVisible():
                return
            print(f"STEP {name} {arg}", flush=True)
            ACTIONS[name](w, arg)
            play()

        QTimer.singleShot(int(delay), run)

    QTimer.singleShot(0, play)
    from app.main import main as app_main

    rc = app_main(["--data-dir", args.data_dir, *rest])
    del app
    return rc


if __name__ == "__main__":
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    raise SystemExit(main())
