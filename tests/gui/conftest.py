"""GUI test fixtures: Qt warnings fail the test, and a window wired to a real engine on tiny models."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import QSettings, QtMsgType, qInstallMessageHandler

# Messages that say nothing about our code: the offscreen platform cannot do everything a real one
# does. Kept short and exact, so that a new warning still fails.
IGNORED_QT_MESSAGES = (
    "This plugin does not support propagateSizeHints()",
    "This plugin does not support raise()",
    "This plugin does not support grabbing the keyboard",
)


@pytest.fixture(autouse=True)
def fail_on_qt_warnings() -> Iterator[list[str]]:
    """Any Qt warning or critical message during a test fails it (as in qutebrowser's suite)."""
    seen: list[str] = []

    def handler(mode: QtMsgType, _context: Any, message: str) -> None:
        serious = mode in (QtMsgType.QtWarningMsg, QtMsgType.QtCriticalMsg, QtMsgType.QtFatalMsg)
        if serious and not any(message.startswith(ignored) for ignored in IGNORED_QT_MESSAGES):
            seen.append(f"{mode.name}: {message}")

    previous = qInstallMessageHandler(handler)
    yield seen
    qInstallMessageHandler(previous)
    if seen:
        pytest.fail("Qt warnings during the test:\n" + "\n".join(seen))


@pytest.fixture(autouse=True)
def no_real_opener(monkeypatch: pytest.MonkeyPatch) -> None:
    """Open and Show in Folder never start the desktop's opener: Qt's call (tests replace it) is
    used instead of xdg-open; tests of the opener give it a fake one."""
    monkeypatch.setattr("app.gui.desktop._xdg_open", lambda: None)


@pytest.fixture
def ui_state(tmp_path: Path) -> QSettings:
    """Window geometry and splitters saved to a private file, never the user's."""
    return QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def service_event() -> Any:
    from app.core.service.index_service import ServiceEvent

    return ServiceEvent


@pytest.fixture
def make_window(qtbot: Any, library: Any, ui_state: QSettings) -> Iterator[Any]:
    """Builds a window with the engine injected (no loader thread, no real model)."""
    from app.gui.main_window import MainWindow
    from app.gui.messages import MessageBridge
    from app.gui.workers import ServiceEvents

    windows: list[Any] = []

    def make(*, engine: bool = True, size: tuple[int, int] | None = (1100, 700)) -> Any:
        from app.core.service.index_service import IndexService

        events = ServiceEvents()
        window = MainWindow(messages=MessageBridge(), events=events, ui_state=ui_state,
                            settings=library.settings)
        qtbot.addWidget(window)
        if size is not None:
            window.resize(*size)
        window.show()
        if engine:
            service = IndexService(library, watch=False, on_event=events.post)
            service.start()
            window.attach_engine(library, service)
            # The service's first scan (of no folders) done, so a test's folder gets its own job.
            qtbot.waitUntil(lambda: not service.busy, timeout=20_000)
        windows.append(window)
        return window

    yield make
    for window in windows:
        if window.isVisible() or window.controller.service is not None:
            window.close()


@pytest.fixture
def window(make_window: Any) -> Any:
    return make_window()
