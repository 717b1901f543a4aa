"""One writing Sift per data folder: an OS lock on a file there, freed by the system on a crash."""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from app.core.errors import KnownError

log = logging.getLogger(__name__)

LOCK_FILE = "sift.lock"


class DataFolderBusy(KnownError):
    """Another Sift process writes to this data folder."""


class DataFolderReadOnly(KnownError):
    """The data folder cannot be written: searching works, indexing does not."""

    def __init__(self, data_dir: Path, why: str = "") -> None:
        super().__init__(f"The data folder {data_dir} is read-only{f' ({why})' if why else ''}: "
                         "Sift can search its index but not add to it.",
                         "Make it writable, or give another --data-dir to index into.")


# What the system answers when a folder may not be written (a read-only disk or mount,
# permissions, a policy): each means the same to a user.
NOT_WRITABLE = (errno.EROFS, errno.EACCES, errno.EPERM)


class _Held:
    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.count = 0


# The lock belongs to the process: two libraries of one process (a model switch builds the
# new index beside the old one) share it, and it is freed when the last one lets go.
_held: dict[Path, _Held] = {}
_guard = threading.Lock()


def acquire(data_dir: Path, *, wait: bool, on_wait: Callable[[str], None] | None = None) -> None:
    """Take the data folder's writer lock, waiting for another process or raising DataFolderBusy."""
    path = (data_dir / LOCK_FILE).resolve()
    with _guard:
        held = _held.get(path)
        if held is not None:
            held.count += 1
            return
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        if exc.errno in NOT_WRITABLE:
            raise DataFolderReadOnly(data_dir, exc.strerror or "") from None
        raise
    try:
        if not try_lock(fd):
            message = (f"Another Sift ({_holder(fd)}) is indexing with the data folder "
                       f"{data_dir}.")
            if not wait:
                raise DataFolderBusy(message, "Close it first, or give this one another "
                                     "--data-dir.")
            if on_wait is not None:
                on_wait(f"{message} Waiting for it to finish (Ctrl-C stops)…")
            _lock_blocking(fd)
        os.ftruncate(fd, 0)
        os.write(fd, f"process {os.getpid()}".encode())
    except BaseException:
        os.close(fd)
        raise
    with _guard:
        held = _held.setdefault(path, _Held(fd))
        held.count += 1


def release(data_dir: Path) -> None:
    path = (data_dir / LOCK_FILE).resolve()
    with _guard:
        held = _held.get(path)
        if held is None:
            return
        held.count -= 1
        if held.count > 0:
            return
        del _held[path]
    with contextlib.suppress(OSError):
        unlock(held.fd)
    os.close(held.fd)


def _holder(fd: int) -> str:
    try:
        text = os.pread(fd, 64, 0).decode("ascii", "replace").strip() if hasattr(os, "pread") \
            else ""
    except OSError:
        text = ""
    return text or "another process"


if sys.platform == "win32":
    import msvcrt

    def try_lock(fd: int) -> bool:
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False

    def _lock_blocking(fd: int) -> None:
        while not try_lock(fd):
            time.sleep(0.5)

    def unlock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
else:
    import fcntl

    def try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            return False

    def _lock_blocking(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_EX)

    def unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)
