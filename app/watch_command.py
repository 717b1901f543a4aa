"""`sift watch`: the indexing service in the foreground, logging what it indexes and removes."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from collections.abc import Callable

from app.core.errors import KnownError
from app.core.ipc import QueryServer, search_service
from app.core.library import Library
from app.core.records import Progress
from app.core.service.index_service import INDEXING, QUEUED, IndexService, ServiceEvent
from app.terminal import safe


class _Printer:
    """Concise lines for `sift watch`: what was indexed or removed, and folder state changes."""

    def __init__(self) -> None:
        self.service: IndexService | None = None
        self._states: dict[str, str] = {}
        self.progress: Progress | None = None  # what is being indexed now, for `sift status`

    def __call__(self, ev: ServiceEvent) -> None:
        if ev.kind == "progress":
            self.progress = ev.progress if ev.progress and ev.progress.phase != "done" else None
        elif ev.kind == "idle":
            self.progress = None
        if ev.kind == "ready":
            _say("Index ready; watching for changes (Ctrl-C stops).")
        elif ev.kind in ("indexed", "removed"):
            verb = "indexed" if ev.kind == "indexed" else "removed"
            for path in ev.paths:
                _say(f"{verb:8} {path}")
            if not ev.paths and ev.message:
                _say(ev.message)
        elif ev.kind == "error":
            _say(f"error: {ev.message}", err=True)
        elif ev.kind == "model":
            _say(f"now using the model {ev.message}")
        elif ev.kind == "folders" and self.service is not None:
            self._folders(self.service)

    def _folders(self, service: IndexService) -> None:
        for fs in service.folder_states():
            if self._states.get(fs.path) == fs.state or fs.state in (INDEXING, QUEUED):
                continue
            self._states[fs.path] = fs.state
            _say(f"[{fs.state}] {fs.path}" + (f": {fs.message}" if fs.message else ""))


def _say(line: str, err: bool = False) -> None:
    print(safe(line), file=sys.stderr if err else sys.stdout, flush=True)


def run_watch(args: argparse.Namespace) -> int:
    """`sift watch [FOLDERS…]`: keep the index up to date until Ctrl-C or SIGTERM."""
    from app.core.host.paths import resolve_paths

    for folder in args.folders:
        if not os.path.isdir(folder):
            raise KnownError(f"'{folder}' is not a folder.")
    lib = Library(resolve_paths(args.data_dir))
    if lib.read_only:  # said at once, not after the window of a start that cannot work
        from app.core.host.datalock import DataFolderReadOnly

        raise DataFolderReadOnly(lib.paths.data_dir)
    if args.folders:
        lib.add_folders(list(args.folders))
    if not lib.settings.folders:
        print("No folders yet. Give one: sift watch ~/Documents", file=sys.stderr)
        return 1
    stop = _StopRequest()
    printer = _Printer()
    service = IndexService(lib, on_event=printer,
                           reconcile_interval=float(getattr(args, "interval", None) or 600.0))
    printer.service = service
    previous = _on_sigterm(stop.request)
    _say(f"Watching {len(lib.settings.folders)} folder(s) with {lib.embedder.name}…")
    # Other processes (`sift search`) ask this one over a local, user-only channel.
    server = QueryServer(lib.paths.data_dir, search_service(service),
                         progress=lambda: printer.progress)
    try:
        service.start()
        server.start()
        lib.embedder.warm_up()  # queries answer from the first second, not after indexing
        while not stop.requested:
            time.sleep(0.2)
    except KeyboardInterrupt:
        pass
    finally:
        _say("Stopping…")
        server.stop()
        if not service.shutdown():  # one ordered path: watcher, writer, save, close
            _say("Stopped; the batch in progress is redone at the next start.", err=True)
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    if service.stranded or _model_threads():
        # A model still loading: the interpreter's normal exit would abort under it.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
    return 0


def _model_threads() -> bool:
    """Whether a model is still being loaded on a thread of its own (the query encoder's)."""
    return any(t.name in ("sift-query-encoder", "sift-model-load") and t.is_alive()
               for t in threading.enumerate())


class _StopRequest:
    """Set from a signal handler, so a plain attribute: a handler must not wait on locks."""

    requested = False

    def request(self) -> None:
        self.requested = True


def _on_sigterm(callback: Callable[[], None]):  # type: ignore[no-untyped-def]
    """Stop cleanly on SIGTERM too (a service manager's stop); only possible on the main thread."""
    try:
        return signal.signal(signal.SIGTERM, lambda *_: callback())
    except (ValueError, OSError, AttributeError):
        return None
