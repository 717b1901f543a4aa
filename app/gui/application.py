"""Starting the window: QApplication set-up, the window shown first, the engine loaded behind it."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QObject, QSocketNotifier, QTimer
from PySide6.QtWidgets import QApplication

from app import APP_ID, APP_NAME, __version__

log = logging.getLogger(__name__)

ORGANISATION = "Sift"


def process_age_ms() -> float | None:
    """Milliseconds since this process started (Linux /proc), for honest start-up numbers."""
    try:
        with open("/proc/self/stat", encoding="ascii") as f:
            start_ticks = int(f.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime", encoding="ascii") as f:
            uptime = float(f.read().split()[0])
        return (uptime - start_ticks / os.sysconf("SC_CLK_TCK")) * 1000.0
    except (OSError, ValueError, IndexError, AttributeError):
        return None


class StartupClock:
    """Milestones since process start (or since run_gui was called, where /proc is missing)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        age = process_age_ms()
        self._zero = time.monotonic() - (age / 1000.0 if age is not None else 0.0)

    def since_start_ms(self, at: float | None = None) -> float:
        return ((at if at is not None else time.monotonic()) - self._zero) * 1000.0

    def mark(self, what: str, at: float | None = None) -> None:
        ms = self.since_start_ms(at)
        log.info("%s after %.0f ms", what, ms)
        if self.enabled:
            print(f"{what} after {ms:.0f} ms", flush=True)


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="sift", description="Find files by meaning.")
    parser.add_argument("--data-dir", help="keep settings and the index in this folder "
                        "(default: $SIFT_DATA_DIR, else the platform's data folder)")
    parser.add_argument("--measure-startup", action="store_true",
                        help="print when the window was shown and when the first answer came")
    parser.add_argument("--query", help="search this once the model is loaded")
    parser.add_argument("--no-watch", action="store_true", help="do not watch folders for changes")
    parser.add_argument("-v", "--verbose", action="count", default=0)
    parser.add_argument("--version", action="version", version=f"{APP_NAME} {__version__}")
    # Qt's own options (-style, -platform …) pass through to QApplication.
    args, _qt = parser.parse_known_args(list(argv))
    return args


def make_application(argv: Sequence[str]) -> QApplication:
    existing = QApplication.instance()
    if isinstance(existing, QApplication):
        return existing
    QApplication.setOrganizationName(ORGANISATION)
    QApplication.setApplicationName(APP_NAME)
    QApplication.setApplicationVersion(__version__)
    QApplication.setDesktopFileName(APP_ID)
    app = QApplication([sys.argv[0] if sys.argv else APP_NAME, *argv])
    from app.gui import theme

    app.setWindowIcon(theme.app_icon())  # no stylesheet: the platform's style and palette rule
    return app


def run_gui(argv: Sequence[str]) -> int:
    """Show the window at once, then load the model and open the index in the background."""
    args = parse_args(argv)
    from app.terminal_log import setup_logging

    setup_logging(args.verbose)
    clock = StartupClock(args.measure_startup)
    app = make_application([a for a in argv if a not in _own_flags(argv)])
    window, _loader = launch(args, clock)
    if window is None:  # another Sift's window came to the front instead
        return 0
    quit_on_signals(window)
    code = int(app.exec())
    tear_down(window)
    return code


def tear_down(window: Any) -> None:
    """After the event loop: the engine is already shut down (``MainWindow.shut_down``, run by the
    window's close); now Qt deletes the widgets, children before parents, while Python and every
    module are still alive, instead of the garbage collector in whatever order at exit."""
    import shiboken6

    if shiboken6.isValid(window):
        window.close()  # no-op when closed already; shuts the engine down when the loop was quit
        shiboken6.delete(window)
    QApplication.processEvents()


def quit_on_signals(window: Any) -> QObject:
    """SIGTERM (logging out) and SIGINT (Ctrl+C in a terminal) quit as Ctrl+Q does.

    Python runs signal handlers only when it gets control; the wake-up socket makes Qt's event
    loop hand it over at once.
    """
    receiver, sender = socket.socketpair()
    sender.setblocking(False)
    receiver.setblocking(False)
    signal.set_wakeup_fd(sender.fileno())
    notifier = QSocketNotifier(receiver.fileno(), QSocketNotifier.Type.Read, window)

    def drain() -> None:
        with contextlib.suppress(OSError):
            receiver.recv(64)

    notifier.activated.connect(drain)

    def handle(_signum: int, _frame: Any) -> None:
        QTimer.singleShot(0, window.close)

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, handle)
    window._signal_sockets = (receiver, sender)  # alive as long as the window
    return notifier


def launch(args: argparse.Namespace, clock: StartupClock) -> tuple[Any, Any]:
    """Build and show the window, and start loading the engine behind it (QApplication exists).

    (None, None) when a Sift window is open on this data folder already: it comes to the front
    instead, as a second launch from the desktop's menu means "show me Sift".
    """
    # Only light modules before the window is up: paths, settings and Qt. The engine (numpy,
    # usearch, torch) is imported on the loader thread.
    from app.core.host import diagnostics
    from app.core.host.paths import resolve_paths
    from app.core.settings import load_settings
    from app.gui.main_window import MainWindow
    from app.gui.messages import MessageBridge
    from app.gui.ui_files import keep_qt_files_in, window_state
    from app.gui.workers import EngineLoader, ServiceEvents

    paths = resolve_paths(args.data_dir).ensure()
    from app.core.ipc import ask_show

    other = ask_show(paths.data_dir)
    if other is not None:
        print(f"Sift is already open on the data folder {paths.data_dir} (process {other}): "
              "its window was brought to the front.", flush=True)
        return None, None
    crashes = diagnostics.start(paths.logs_dir)
    keep_qt_files_in(paths.config_dir)  # before any QSettings or file dialog exists
    settings = load_settings(paths.settings_file)
    messages = MessageBridge()
    events = ServiceEvents()
    window = MainWindow(messages=messages, events=events, ui_state=window_state(paths.config_dir),
                        settings=settings)
    window.private_folder = paths.config_dir
    window.logs_folder = paths.logs_dir
    window.show()
    if crashes:  # said once: the report was renamed when it was found
        QTimer.singleShot(0, lambda: messages.warning(crashes[-1].summary()))
    QTimer.singleShot(0, lambda: clock.mark("window shown"))

    # Not parented to the window: its thread may still emit while the window is deleted.
    loader = EngineLoader(paths, events, watch=not args.no_watch)
    loader.library_ready.connect(window.set_library)
    loader.failed.connect(window.engine_failed)
    loader.ready.connect(window.attach_engine)
    loader.ready.connect(lambda *_: clock.mark("engine started"))
    loader.waiting.connect(lambda text: _wait_for_other(window, text, paths.data_dir))
    loader.first_check.connect(lambda text: _first_check(window, text))
    loader.handed_over.connect(lambda pid: _hand_over(window, pid, paths.data_dir))
    window.controller.show_requested.connect(lambda: bring_to_front(window))
    window.controller.engine_ready.connect(lambda *_: clock.mark("model loaded"))
    if args.query:
        window.search_box.setText(args.query)

    def answered(at: float) -> None:
        clock.mark("first answer", at)
        if args.measure_startup and args.query:
            QTimer.singleShot(0, window.close)  # a measuring run ends with its answer

    window.controller.first_answer.connect(answered)
    QTimer.singleShot(0, loader.start)  # after the first paint, so the window appears first
    window.loader = loader  # its shut_down abandons a load still under way
    return window, loader


def bring_to_front(window: Any) -> None:
    """Sift was started again on this data folder: this window is the one to use."""
    log.info("Sift was started again on this data folder: its window comes to the front")
    if window.isMinimized():
        window.showNormal()
    window.show()
    window.raise_()
    window.activateWindow()


def _wait_for_other(window: Any, text: str, data_dir: Any) -> None:
    """Another Sift (`sift watch`, `sift index`) indexes this data folder: say so, search through
    it where it answers, then take over."""
    window.controller.borrowed.data_dir = data_dir if text else None
    if text:
        print(f"sift: {text}", file=sys.stderr, flush=True)
        window.indexing_bar.show_busy(text)
        window.messages.warning(text)
    else:
        window.indexing_bar.show_busy("Loading the model…")
        window.messages.info("The other Sift has ended: this window indexes and searches now.")


def _first_check(window: Any, text: str) -> None:
    """The first launch on this computer measures the backends: say what the wait is, and that it is once."""
    print(f"sift: {text}", file=sys.stderr, flush=True)
    window.status.set_model_checking(text)
    if window.indexing_bar.headline.text().startswith("Loading"):  # not while it counts files
        window.indexing_bar.show_busy(f"Loading the model. {text}")


def _hand_over(window: Any, pid: int, data_dir: Any) -> None:
    print(f"Sift is already open on the data folder {data_dir} (process {pid}): its window was "
          "brought to the front; this one closes.", flush=True)
    window.close()


def _own_flags(argv: Sequence[str]) -> set[str]:
    """Our arguments (with their values), kept away from Qt's own parser."""
    own: set[str] = set()
    items = list(argv)
    for i, item in enumerate(items):
        if item.split("=", 1)[0] in ("--data-dir", "--query"):
            own.add(item)
            if "=" not in item and i + 1 < len(items):
                own.add(items[i + 1])
        elif item in ("--measure-startup", "--no-watch", "-v", "-vv", "--verbose"):
            own.add(item)
    return own
