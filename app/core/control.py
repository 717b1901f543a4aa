"""Pause, resume and cancel for background work: flags the core checks between units of work."""

from __future__ import annotations

import threading

from app.core.errors import Cancelled


class Control:
    """Shared between the thread doing the work and whoever steers it."""

    def __init__(self) -> None:
        self._cancel = threading.Event()
        self._running = threading.Event()
        self._running.set()

    def cancel(self) -> None:
        self._cancel.set()
        self._running.set()  # a paused worker must wake up to notice

    def reset(self) -> None:
        self._cancel.clear()
        self._running.set()

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def checkpoint(self) -> None:
        """Block while paused; raise Cancelled once cancelled."""
        self._running.wait()
        if self._cancel.is_set():
            raise Cancelled()
