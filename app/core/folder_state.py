"""What the indexing service reports and tracks: folder states, events, and its job records."""

from __future__ import annotations

import math
from dataclasses import dataclass

from app.core.records import Progress

INDEXING, UP_TO_DATE, WATCHING = "indexing", "up to date", "watching"
NOT_WATCHABLE, UNREACHABLE, ERROR, QUEUED = "not watchable", "unreachable", "error", "queued"
CANCELLED = "cancelled"  # its first scan was cancelled: neither indexed nor watched until re-index

@dataclass(frozen=True)
class FolderState:
    """What the service is doing with one folder, for the folders panel."""

    path: str
    # "indexing" | "up to date" | "watching" | "not watchable" | "unreachable" | "error" | "queued"
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

    kind: str  # "reconcile" | "changes" | "remove" | "switch"
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

    @property
    def state(self) -> str:
        if self.watch == UNREACHABLE:
            return UNREACHABLE
        return self.activity or self.watch
