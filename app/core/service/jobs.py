"""The writer's job queue: jobs waiting or running, with scans of the same folders merged."""

from __future__ import annotations

import queue
import threading

from app.core.service.folder_state import Job


class JobQueue:
    """A FIFO of jobs that knows how many are outstanding (queued or running).

    A folder's scan is queued at most once; a scan of everything stands for all folders.
    """

    def __init__(self) -> None:
        self._jobs: queue.Queue[Job | None] = queue.Queue()
        self._lock = threading.RLock()
        self._outstanding = 0
        self._folders: set[str] = set()
        self._everything = False

    @property
    def outstanding(self) -> int:
        with self._lock:
            return self._outstanding

    def put(self, job: Job) -> None:
        with self._lock:
            self._outstanding += 1
            self._jobs.put(job)

    def put_scan(self, folders: list[str] | None) -> list[str] | None:
        """Queue a scan of ``folders`` (None: everything); returns the folders newly queued.

        None back means a scan of everything was queued; an empty list, nothing new.
        """
        with self._lock:
            if folders is None:
                if self._everything:
                    return []
                self._everything = True
                self.put(Job("reconcile", everything=True))
                return None
            fresh = [f for f in dict.fromkeys(folders) if f not in self._folders]
            if fresh:
                self._folders.update(fresh)
                self.put(Job("reconcile", tuple(fresh)))
            return fresh

    def wake(self) -> None:
        """Wake the writer waiting in ``get`` (to stop it)."""
        self._jobs.put(None)

    def get(self, timeout: float) -> Job | None:
        """The next job; raises queue.Empty after ``timeout``; None is a wake-up call."""
        return self._jobs.get(timeout=timeout)

    def started(self, job: Job) -> None:
        """A scan job is running: its folders may be queued again."""
        with self._lock:
            if job.kind == "reconcile":
                if job.everything:
                    self._everything = False
                self._folders.difference_update(job.folders)

    def done(self) -> None:
        with self._lock:
            self._outstanding -= 1

    def drop_scans(self) -> tuple[list[str], bool]:
        """Take every waiting scan out of the queue; returns (their folders, whether everything)."""
        dropped: list[str] = []
        everything = False
        with self._lock:
            kept: list[Job | None] = []
            while True:
                try:
                    job = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if job is None or job.kind != "reconcile":
                    kept.append(job)
                    continue
                self._outstanding -= 1
                everything = everything or job.everything
                dropped += job.folders
            for job in kept:
                self._jobs.put(job)
            self._everything = False
            self._folders.clear()
        return list(dict.fromkeys(dropped)), everything
