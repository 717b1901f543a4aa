"""What the indexing service reports and tracks per folder: states, events, and the folder book."""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

from app.core.records import Progress

INDEXING, UP_TO_DATE, WATCHING = "indexing", "up to date", "watching"
NOT_WATCHABLE, UNREACHABLE, ERROR, QUEUED = "not watchable", "unreachable", "error", "queued"
PAUSED = "paused"          # indexing of the folder waits for Resume
INCOMPLETE = "incomplete"  # its last scan was stopped: the index may lack some of its files
CANCELLED = INCOMPLETE     # the old name, kept for callers that import it

STOPPED_MESSAGE = "Indexing was stopped before the end; Re-index finishes it."


@dataclass(frozen=True)
class FolderState:
    """What the service is doing with one folder, for the folders panel."""

    path: str
    # "indexing" | "queued" | "paused" | "incomplete" | "up to date" | "watching"
    # | "not watchable" | "unreachable" | "error"
    state: str
    files: int
    passages: int
    message: str = ""


@dataclass(frozen=True)
class ServiceEvent:
    """Something the service reports; handed to ``on_event`` on the service's threads."""

    kind: str  # "progress" | "indexed" | "removed" | "folders" | "error" | "ready" | "idle" | "model"
    progress: Progress | None = None
    message: str = ""
    paths: tuple[str, ...] = ()


@dataclass(frozen=True)
class Job:
    """One unit of work for the writer thread."""

    kind: str  # "reconcile" | "changes" | "remove" | "switch" | "repair"
    folders: tuple[str, ...] = ()
    everything: bool = False  # all folders, forgetting files of folders no longer listed
    model: str = ""


@dataclass
class FolderInfo:
    """Per folder: how it is watched, what is being done to it, when it is next scanned."""

    watch: str = QUEUED  # WATCHING | UP_TO_DATE (watching off) | NOT_WATCHABLE | UNREACHABLE | QUEUED
    activity: str = ""   # QUEUED | INDEXING | ERROR | ""
    message: str = ""
    next_scan: float = math.inf
    complete: bool | None = None  # None: not scanned yet in this session; False: scan stopped

    def state(self, paused: bool = False) -> str:
        if self.watch == UNREACHABLE:
            return UNREACHABLE
        waiting = self.activity in (INDEXING, QUEUED) or (not self.activity and self.watch == QUEUED
                                                          and self.complete is None)
        if waiting:
            return PAUSED if paused else (self.activity or QUEUED)
        if self.activity:
            return self.activity
        if self.complete is False:
            return INCOMPLETE
        return self.watch


class FolderBook:
    """The service's per-folder bookkeeping; every method is safe from any thread."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._info: dict[str, FolderInfo] = {}

    def get(self, folder: str) -> FolderInfo:
        with self._lock:
            info = self._info.get(folder)
            if info is None:
                info = self._info[folder] = FolderInfo()
            return info

    def known(self, folder: str) -> FolderInfo | None:
        with self._lock:
            return self._info.get(folder)

    def forget(self, folder: str) -> None:
        with self._lock:
            self._info.pop(folder, None)

    def state(self, folder: str, paused: bool) -> tuple[str, str]:
        with self._lock:
            info = self.get(folder)
            return info.state(paused), info.message

    def set_watch(self, folder: str, watch: str, message: str) -> bool:
        """Record how a folder is watched; returns whether anything changed."""
        with self._lock:
            info = self.get(folder)
            changed = (info.watch, info.message) != (watch, message)
            info.watch, info.message = watch, message
            return changed

    def set_activity(self, folders: list[str], activity: str, message: str | None = None) -> None:
        with self._lock:
            for folder in folders:
                info = self.get(folder)
                info.activity = activity
                if message is not None:
                    info.message = message

    def queued(self, folders: list[str]) -> None:
        """Scans of ``folders`` wait in the queue: no periodic scan until they are done."""
        with self._lock:
            for folder in folders:
                self.get(folder).next_scan = math.inf

    def finish_scan(self, folders: list[str], *, complete: bool, message: str, now: float,
                    watched_interval: float, fallback_interval: float,
                    watching: bool) -> None:
        """A scan of ``folders`` ended (``complete``: it went through to the end)."""
        with self._lock:
            for folder in folders:
                info = self._info.get(folder)
                if info is None:  # removed meanwhile
                    continue
                info.activity = ""
                info.complete = complete
                if message:
                    info.message = message
                elif info.watch in (WATCHING, UP_TO_DATE, QUEUED):
                    info.message = ""
                watched = info.watch == WATCHING or (info.watch == UP_TO_DATE and not watching)
                info.next_scan = now + (watched_interval if watched else fallback_interval)

    def stopped(self, folders: list[str]) -> None:
        """The work on ``folders`` was cancelled: they are incomplete until a re-index."""
        with self._lock:
            for folder in folders:
                info = self._info.get(folder)
                if info is None:
                    continue
                if info.activity in (INDEXING, QUEUED):
                    info.activity = ""
                info.complete = False
                info.message = STOPPED_MESSAGE
                info.next_scan = math.inf  # the user said stop: wait for a re-index

    def fail(self, folders: list[str] | tuple[str, ...], message: str, retry: float) -> None:
        with self._lock:
            for folder in folders:
                info = self.get(folder)
                info.activity, info.message = ERROR, message
                info.next_scan = min(info.next_scan, retry)

    def failed(self) -> list[str]:
        with self._lock:
            return [f for f, info in self._info.items() if info.activity == ERROR]

    def incomplete(self) -> list[str]:
        with self._lock:
            return [f for f, info in self._info.items() if info.complete is False]
