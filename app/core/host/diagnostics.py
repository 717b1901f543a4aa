"""What Sift keeps on this computer about its own runs: a log file and reports of its crashes.

Nothing here is sent anywhere. A crash in native code (a segmentation fault, an abort) ends the
process before Python can log anything, so each process points faulthandler at a file of its
own, which it holds locked while it runs. A file whose lock is free belongs to a process that
has ended: if that process crashed, the file holds the stack of every thread, and the next Sift
to start turns it into a crash report and says so once.
"""

from __future__ import annotations

import atexit
import contextlib
import faulthandler
import logging
import os
import platform
import sys
import threading
import time
from dataclasses import dataclass
from logging.handlers import RotatingFileHandler
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from app import __version__
from app.core.host.datalock import try_lock
from app.core.host.paths import make_private_dir

log = logging.getLogger(__name__)

LOG_FILE = "sift.log"
LOG_BYTES = 2_000_000
LOG_BACKUPS = 2
RUNNING = "running-"  # running-<pid>.txt: armed by a process that is (or was) running
REPORT = "crash-"  # crash-<date>-<pid>.txt: a process known to have crashed
KEEP_REPORTS = 10
FATAL = "Fatal Python error: "


@dataclass(frozen=True)
class CrashReport:
    """One crash of an earlier Sift process, as its report file tells it."""

    path: Path
    when: float  # the crash's time: the report's last write
    what: str  # "Segmentation fault", "Aborted", …
    where: str  # the crashing thread's innermost Python frame; "" when it ran no Python

    def summary(self) -> str:
        at = time.strftime("%d %b %Y %H:%M", time.localtime(self.when))
        place = f" in {self.where}" if self.where else ""
        return (f"Sift closed unexpectedly on {at} ({self.what}{place}). Nothing indexed was lost. "
                f"The report stays on this computer: {self.path}")


class _State:
    log_handler: logging.Handler | None = None
    log_path: Path | None = None
    crash_file: IO[str] | None = None
    crash_path: Path | None = None
    hooks_installed = False


_state = _State()
_lock = threading.Lock()


def start(folder: Path) -> list[CrashReport]:
    """Log to ``folder``, report the crashes of earlier processes, and arm this one's report.

    Never in the way: a folder where none of this works (read-only, a share without locks)
    leaves Sift running without a log or reports.
    """
    reports: list[CrashReport] = []
    try:
        start_log_file(folder)
        reports = earlier_crashes(folder)
        for report in reports:  # into the log file; the window and the CLI tell the user
            log.info("%s", report.summary())
        arm_crash_report(folder)
    except Exception as exc:  # diagnostics must never be the reason Sift does not start
        log.warning("no crash reports in %s: %s", folder, exc)
    return reports


def log_path() -> Path | None:
    """This process's log file, once one is open."""
    return _state.log_path


# -- the log file -----------------------------------------------------------------------------


class _PrivateRotatingFile(RotatingFileHandler):
    """A rotating log readable by its owner only: log lines name files and folders."""

    def _open(self) -> IO[str]:
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        return os.fdopen(fd, "a", encoding=self.encoding, errors=self.errors)


def start_log_file(folder: Path) -> Path | None:
    """Send INFO and above from every logger to ``folder``/sift.log (once per process).

    Handlers already on the root logger (the terminal's) keep the level they had.
    """
    with _lock:
        if _state.log_path is not None:
            return _state.log_path
        path = folder / LOG_FILE
        try:
            make_private_dir(folder)
            handler = _PrivateRotatingFile(path, maxBytes=LOG_BYTES, backupCount=LOG_BACKUPS,
                                           encoding="utf-8")
        except OSError as exc:  # a read-only data folder: Sift runs on without a log file
            log.warning("cannot write the log file %s: %s", path, exc)
            return None
        handler.setLevel(logging.INFO)
        handler.setFormatter(logging.Formatter(
            "%(asctime)s %(process)d %(threadName)s %(levelname)s %(name)s: %(message)s"))
        root = logging.getLogger()
        for existing in root.handlers:
            if existing.level == logging.NOTSET:
                existing.setLevel(root.getEffectiveLevel())
        root.addHandler(handler)
        root.setLevel(min(root.getEffectiveLevel(), logging.INFO))
        _state.log_handler, _state.log_path = handler, path
        _install_hooks()
    log.info("Sift %s, Python %s, %s", __version__, platform.python_version(), platform.platform())
    return path


def _install_hooks() -> None:
    """Uncaught exceptions reach the log file as well as the terminal."""
    if _state.hooks_installed:
        return
    _state.hooks_installed = True
    previous_hook = sys.excepthook
    previous_thread_hook = threading.excepthook

    def on_uncaught(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        if not issubclass(kind, KeyboardInterrupt):
            log.critical("uncaught exception", exc_info=(kind, exc, tb))
        previous_hook(kind, exc, tb)

    def on_thread_uncaught(args: Any) -> None:
        if args.exc_type is not SystemExit:
            log.critical("uncaught exception in thread %s",
                         getattr(args.thread, "name", "?"),
                         exc_info=(args.exc_type, args.exc_value, args.exc_traceback))
        previous_thread_hook(args)

    sys.excepthook = on_uncaught
    threading.excepthook = on_thread_uncaught


# -- crash reports ----------------------------------------------------------------------------


def arm_crash_report(folder: Path) -> Path | None:
    """Have a fatal error of this process write every thread's stack to a file of its own.

    Left alone when faulthandler is on already: whoever turned it on (PYTHONFAULTHANDLER,
    ``-X faulthandler``, a test harness) wants the stacks on the terminal.
    """
    with _lock:
        if _state.crash_path is not None:
            return _state.crash_path
        if faulthandler.is_enabled():
            return None
        path = folder / f"{RUNNING}{os.getpid()}.txt"
        try:
            make_private_dir(folder)
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError:
            return None
        try:
            locked = try_lock(fd)
        except OSError:  # a share without locks: no way to tell a live file from a dead one
            locked = False
        if not locked:  # being read by another Sift: an earlier process's with this number
            os.close(fd)
            return None
        os.ftruncate(fd, 0)  # only now: a file left by an earlier process is collected first
        file = os.fdopen(fd, "w", encoding="utf-8")
        file.write(f"Sift {__version__}, Python {platform.python_version()}, "
                   f"{platform.platform()}, {platform.machine()}\n"
                   f"started {time.strftime('%Y-%m-%d %H:%M:%S')}, process {os.getpid()}\n\n")
        file.flush()
        faulthandler.enable(file=file, all_threads=True)
        _state.crash_file, _state.crash_path = file, path
    atexit.register(disarm)
    return path


def disarm() -> None:
    """At a normal end: no crash to report, so the file goes."""
    with _lock:
        file, path = _state.crash_file, _state.crash_path
        if file is None or path is None:
            return
        _state.crash_file = _state.crash_path = None
        faulthandler.disable()
        file.close()  # frees the lock
        with contextlib.suppress(OSError):
            path.unlink()


def earlier_crashes(folder: Path) -> list[CrashReport]:
    """The crashes of processes that have ended since the last look; each is returned once."""
    reports: list[CrashReport] = []
    for path in sorted(folder.glob(f"{RUNNING}*.txt")):
        if path == _state.crash_path:
            continue
        text = _read_if_ended(path)
        if text is None:
            continue  # still running, or another Sift took it first
        if FATAL not in text:  # ended without a fatal error it could write (killed, power off)
            with contextlib.suppress(OSError):
                path.unlink()
            continue
        with contextlib.suppress(OSError):
            when = path.stat().st_mtime
            pid = path.stem[len(RUNNING):]
            target = folder / f"{REPORT}{time.strftime('%Y%m%d-%H%M%S', time.localtime(when))}-{pid}.txt"
            os.replace(path, target)
            reports.append(_parse(target, text, when))
    _prune(folder)
    return reports


def _read_if_ended(path: Path) -> str | None:
    """The file's text if its process has ended (its lock is free); None while it runs."""
    try:
        fd = os.open(path, os.O_RDWR)
    except OSError:
        return None
    try:
        if not try_lock(fd):
            return None
        with os.fdopen(os.dup(fd), "r", encoding="utf-8", errors="replace") as f:
            return f.read(200_000)
    except OSError:
        return None
    finally:
        os.close(fd)


def _parse(path: Path, text: str, when: float) -> CrashReport:
    lines = text.splitlines()
    what = next((line[len(FATAL):].strip() for line in lines if line.startswith(FATAL)),
                "a fatal error")
    where = ""
    current = next((i for i, line in enumerate(lines) if line.startswith("Current thread")), None)
    if current is not None:
        frame = next((line.strip() for line in lines[current + 1:current + 3]
                      if line.strip().startswith("File ")), "")
        where = _frame_words(frame)
    return CrashReport(path, when, what, where)


def _frame_words(frame: str) -> str:
    """'File "/x/site-packages/sklearn/__init__.py", line 56 in <module>' → 'sklearn/__init__.py line 56'."""
    try:
        file_part, rest = frame[len('File "'):].split('", line ', 1)
    except ValueError:
        return ""
    tail = "/".join(Path(file_part).parts[-2:])
    return f"{tail} line {rest.split()[0]}" if rest else tail


def _prune(folder: Path) -> None:
    reports = sorted(folder.glob(f"{REPORT}*.txt"))
    for old in reports[:-KEEP_REPORTS]:
        with contextlib.suppress(OSError):
            old.unlink()
