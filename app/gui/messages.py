"""The message bridge: any code, on any thread, can report to the status bar without a widget."""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, Signal

from app.core.errors import KnownError

log = logging.getLogger(__name__)

INFO = "info"
WARNING = "warning"
ERROR = "error"


class MessageBridge(QObject):
    """Carries short user-facing messages to whoever shows them (the status bar).

    Signals are thread-safe: a worker thread calls ``error(...)`` and the message arrives on the
    GUI thread through a queued connection (qutebrowser's message bridge, without the global).
    """

    message = Signal(str, str)  # level, text

    def info(self, text: str) -> None:
        self.message.emit(INFO, text)

    def warning(self, text: str) -> None:
        self.message.emit(WARNING, text)

    def error(self, text: str) -> None:
        self.message.emit(ERROR, text)

    def exception(self, exc: BaseException, doing: str = "") -> None:
        """Report a failure: known problems of the environment briefly, bugs with a log entry."""
        self.error(describe_exception(exc, doing))


def describe_exception(exc: BaseException, doing: str = "") -> str:
    """Words for the user. A KnownError carries its own message; anything else is a bug."""
    if isinstance(exc, KnownError):
        return str(exc)
    # A bug: keep the traceback for the log, tell the user where to look.
    log.error("unexpected error%s", f" while {doing}" if doing else "",
              exc_info=(type(exc), exc, exc.__traceback__))
    what = f"while {doing}: " if doing else ""
    from app.core.host.diagnostics import log_path

    where = log_path()
    details = f"details are in the log: {where}" if where is not None else "details were logged"
    return f"Something went wrong {what}{type(exc).__name__}: {exc} ({details})."
