"""The local query channel: a running Sift (window or `sift watch`) answers other processes' searches.

A Unix socket (a named pipe on Windows) that only this user can use: the socket file is 0600 in
Sift's private data folder, and both ends prove they know a random key kept there (0600 too).
Messages are JSON (never pickle): a request names the query and its filters, the answer is the
SearchResponse, so `sift search` prints the same files in the same order either way.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import secrets
import sys
import tempfile
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from multiprocessing.connection import (
    Client,
    Connection,
    Listener,
    answer_challenge,
    deliver_challenge,
)
from pathlib import Path
from typing import Any

from app.core.host.deadline import Deadline
from app.core.records import FileHit, Passage, Progress, SearchResponse

log = logging.getLogger(__name__)

PROTOCOL = 1
SOCKET_NAME = "sift.sock"
# The socket lives in a folder only its user can enter, so no one else can reach it between its
# creation and its chmod; no umask is set for that: the umask is the whole process's, and a
# folder another thread made meanwhile would come out without its execute bit.
SOCKET_FOLDER = "channel"
KEY_FILE = "query.key"
MAX_MESSAGE = 16 << 20  # an answer: twenty files with their passages fit many times over
# A request is a query and its filters; anything longer is not read (nor kept in memory).
MAX_REQUEST = 1 << 20
# A client has this long to prove its key and send its request, and to take the answer; each
# client is served on a thread of its own, so a silent one holds up no one but itself.
SILENCE_S = 5.0
MAX_CLIENTS = 32  # at once; beyond that a client is hung up on and searches on its own
# Unix socket paths are limited to about 107 bytes; a longer data folder gets its socket in a
# private runtime folder instead, named after the data folder.
MAX_SOCKET_PATH = 100


@dataclass(frozen=True)
class SearchRequest:
    """A search as `sift search` asks it; ``since`` is a POSIX time."""

    query: str
    limit: int | None = None
    folder: str | None = None
    types: tuple[str, ...] = ()
    since: float | None = None
    rerank: bool | None = None

    def to_json(self) -> dict[str, Any]:
        return {"v": PROTOCOL, "op": "search", **asdict(self), "types": list(self.types)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SearchRequest:
        since = data.get("since")
        return cls(query=str(data["query"]), limit=_opt_int(data.get("limit")),
                   folder=data.get("folder") or None,
                   types=tuple(str(t) for t in data.get("types") or ()),
                   since=None if since is None else float(since),
                   rerank=None if data.get("rerank") is None else bool(data["rerank"]))


SearchFn = Callable[[SearchRequest], SearchResponse]


def _opt_int(value: Any) -> int | None:
    return None if value is None else int(value)


# -- the wire form of a response ---------------------------------------------------------------
def response_to_json(resp: SearchResponse) -> dict[str, Any]:
    """Everything in a SearchResponse, losslessly (file names that are not UTF-8 included)."""
    data = asdict(resp)
    for hit in data["hits"]:
        hit["path"] = _escape_path(hit["path"])
    return data


def response_from_json(data: dict[str, Any]) -> SearchResponse:
    hits = tuple(
        FileHit(path=_unescape_path(h["path"]), score=float(h["score"]), ext=h.get("ext", ""),
                mtime=float(h.get("mtime", 0.0)), attachment=h.get("attachment", ""),
                attached_to=h.get("attached_to", ""), part=h.get("part", ""),
                passages=tuple(Passage(**{**p, "highlights": tuple(tuple(s) for s in
                                                                   p["highlights"]),
                                          "meaning": tuple(tuple(s) for s in p.get("meaning", ()))})
                               for p in h["passages"]))
        for h in data["hits"])
    return SearchResponse(**{**data, "hits": hits})


def _escape_path(path: str) -> Any:
    # JSON cannot carry lone surrogates portably: such a path travels as its bytes in hex.
    try:
        path.encode("utf-8")
        return path
    except UnicodeEncodeError:
        return {"hex": path.encode("utf-8", "surrogateescape").hex()}


def _unescape_path(value: Any) -> str:
    if isinstance(value, dict):
        return bytes.fromhex(value["hex"]).decode("utf-8", "surrogateescape")
    return str(value)


# -- where -------------------------------------------------------------------------------------
def address(data_dir: Path) -> tuple[str, str]:
    """(address, family) of the channel of the Sift that uses ``data_dir``."""
    digest = hashlib.sha1(str(data_dir.resolve()).encode("utf-8", "surrogateescape")).hexdigest()
    if sys.platform == "win32":
        return rf"\\.\pipe\sift-{digest[:24]}", "AF_PIPE"
    path = str(data_dir / SOCKET_FOLDER / SOCKET_NAME)
    if len(os.fsencode(path)) <= MAX_SOCKET_PATH:
        return path, "AF_UNIX"
    base = Path(os.environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir()) / f"sift-{os.getuid()}"
    return str(base / f"{digest[:24]}.sock"), "AF_UNIX"


def _private_dir(folder: Path) -> bool:
    """Create ``folder`` for this user only; False if it exists and is anyone else's."""
    with contextlib.suppress(FileExistsError):
        folder.mkdir(mode=0o700, parents=True)
    st = folder.lstat()
    return st.st_uid == os.getuid() and (st.st_mode & 0o077) == 0 and folder.is_dir() \
        and not folder.is_symlink()


def _read_key(data_dir: Path) -> bytes | None:
    try:
        key = (data_dir / KEY_FILE).read_bytes()
    except OSError:
        return None
    return key if len(key) >= 32 else None


def _new_key(data_dir: Path) -> bytes:
    """A fresh random key, written readable by this user only (replacing an older one)."""
    key = secrets.token_bytes(32)
    path = data_dir / KEY_FILE
    tmp = path.with_name(f"{KEY_FILE}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, key)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    return key


# -- the server --------------------------------------------------------------------------------
class QueryServer:
    """Answers searches from other processes until ``stop``; started by the window or `sift watch`."""

    def __init__(self, data_dir: Path, search: SearchFn,
                 progress: Callable[[], Progress | None] | None = None,
                 show_window: Callable[[], bool] | None = None) -> None:
        self.data_dir = data_dir
        self._search = search
        self._progress = progress  # what is being indexed now, for `sift status`
        # A second launch on this data folder asks the window to come to the front instead of
        # opening one of its own; False: there is no window (`sift watch`).
        self._show_window = show_window
        self._listener: Listener | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._address, self._family = address(data_dir)
        self._key = b""
        self._slots = threading.BoundedSemaphore(MAX_CLIENTS)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> bool:
        """Start listening; False (and a log line) when another Sift already answers here."""
        if self.running:
            return True
        if ask_alive(self.data_dir):
            log.info("another Sift already answers searches for %s", self.data_dir)
            return False
        try:
            self._listener = self._listen()
        except OSError as exc:
            log.warning("cannot open the local query channel %s: %s", self._address, exc)
            return False
        self._stopping.clear()
        self._thread = threading.Thread(target=self._serve, name="sift-query-server", daemon=True)
        self._thread.start()
        return True

    def _listen(self) -> Listener:
        if self._family == "AF_UNIX":
            sock = Path(self._address)
            if not _private_dir(sock.parent):
                raise OSError(f"{sock.parent} is not private to this user")
            with contextlib.suppress(FileNotFoundError):
                sock.unlink()  # left by a Sift that crashed (a live one answered ask_alive)
        self._key = _new_key(self.data_dir)
        # No authkey here: the listener would check the key inside accept(), on the one serving
        # thread, and a client that connects and says nothing would stall every other one.
        listener = Listener(self._address, self._family)
        if self._family == "AF_UNIX":
            os.chmod(self._address, 0o600)
        return listener

    def stop(self) -> None:
        listener, self._listener = self._listener, None
        if listener is None:
            return
        self._stopping.set()
        self._knock()
        if self._thread is not None:
            self._thread.join(1.0)  # at once, unless a client is mid-handshake (it is a daemon)
        with contextlib.suppress(OSError):
            listener.close()
        if self._family == "AF_UNIX":
            with contextlib.suppress(OSError):
                os.unlink(self._address)
        self._thread = None

    def _knock(self) -> None:
        """Wake the serving thread's accept(), which a close from another thread does not.

        Connecting is all it takes (the key is checked on each client's own thread); it is given
        one second on a thread of its own all the same, which ends when the listener closes.
        """
        def knock() -> None:
            with contextlib.suppress(Exception):
                Client(self._address, self._family).close()

        knocker = threading.Thread(target=knock, name="sift-query-knock", daemon=True)
        knocker.start()
        knocker.join(1.0)

    def _serve(self) -> None:
        listener = self._listener
        while listener is not None and not self._stopping.is_set():
            try:
                conn = listener.accept()
            except Exception as exc:  # a client that hung up at once
                if self._stopping.is_set():
                    break
                log.debug("query channel: lost a connection (%s)", exc)
                continue
            if self._stopping.is_set():
                conn.close()
                break
            if not self._slots.acquire(blocking=False):
                log.warning("query channel: %d clients at once; hung up on one", MAX_CLIENTS)
                conn.close()
                continue
            threading.Thread(target=self._answer, args=(conn,), name="sift-query-answer",
                             daemon=True).start()

    def _answer(self, conn: Connection) -> None:
        """One client, on its own thread: its key, its request, the answer, each in time."""
        try:
            with conn, Deadline(conn, SILENCE_S) as deadline:
                deliver_challenge(conn, self._key)
                answer_challenge(conn, self._key)
                request = json.loads(conn.recv_bytes(MAX_REQUEST))
                deadline.pause()  # the search may wait for the model: not the client's silence
                reply = json.dumps(self._handle(request)).encode("utf-8")
                deadline.restart()
                conn.send_bytes(reply)
        except Exception as exc:  # a wrong key, a silent client, one that went away, too long
            log.debug("query channel: refused a client (%s)", exc)
        finally:
            self._slots.release()

    def _handle(self, request: dict[str, Any]) -> dict[str, Any]:
        if request.get("v") != PROTOCOL:
            return {"ok": False, "error": "this Sift speaks another protocol version"}
        if request.get("op") == "ping":
            return {"ok": True, "pid": os.getpid()}
        if request.get("op") == "show":
            shown = self._show_window is not None and bool(self._show_window())
            return {"ok": True, "pid": os.getpid(), "shown": shown}
        if request.get("op") == "progress":
            now = self._progress() if self._progress is not None else None
            return {"ok": True, "progress": None if now is None else asdict(now)}
        try:
            resp = self._search(SearchRequest.from_json(request))
        except Exception as exc:
            log.exception("answering a search from another process failed")
            return {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        return {"ok": True, "response": response_to_json(resp)}


def search_service(service: Any) -> SearchFn:
    """A SearchFn over an IndexService (anything with ``library`` and ``search``)."""
    from app.core.search.searcher import Filters

    def run(req: SearchRequest) -> SearchResponse:
        # A client asks for the full answer: wait for the query encoder if it is still loading.
        service.library.embedder.prepare_queries()
        filters = Filters(folder=req.folder, types=req.types, modified_after=req.since)
        return service.search(req.query, limit=req.limit, filters=filters, rerank=req.rerank)

    return run


# -- the client --------------------------------------------------------------------------------
def _exchange(data_dir: Path, message: dict[str, Any], timeout: float) -> dict[str, Any] | None:
    addr, family = address(data_dir)
    if family == "AF_UNIX" and not os.path.exists(addr):
        return None
    key = _read_key(data_dir)
    if key is None:
        return None
    payload = json.dumps(message).encode("utf-8")
    if len(payload) > MAX_REQUEST:  # the server would not read it: searched here instead
        log.debug("query channel: a request of %d bytes is too long to send", len(payload))
        return None
    box: dict[str, Any] = {}

    def talk() -> None:
        try:
            with Client(addr, family, authkey=key) as conn:
                conn.send_bytes(payload)
                if conn.poll(timeout):
                    box["answer"] = json.loads(conn.recv_bytes(MAX_MESSAGE))
        except Exception as exc:  # nobody there (a stale socket), or a wrong key
            log.debug("query channel %s: %s", addr, exc)

    # In a thread: connecting and the key handshake have no timeout of their own.
    worker = threading.Thread(target=talk, name="sift-query-client", daemon=True)
    worker.start()
    worker.join(timeout + 1.0)
    answer = box.get("answer")
    return answer if isinstance(answer, dict) else None


def ask_progress(data_dir: Path, timeout: float = 2.0) -> Progress | None:
    """What a running Sift is indexing now; None when none runs or it is idle."""
    answer = _exchange(data_dir, {"v": PROTOCOL, "op": "progress"}, timeout)
    data = answer.get("progress") if answer else None
    if not isinstance(data, dict):
        return None
    try:
        return Progress(**data)
    except TypeError:  # another version's fields
        return None


def ask_show(data_dir: Path, timeout: float = 2.0) -> int | None:
    """Ask a running Sift's window to come to the front: its process id, or None (no window)."""
    answer = _exchange(data_dir, {"v": PROTOCOL, "op": "show"}, timeout)
    if answer and answer.get("ok") and answer.get("shown"):
        return int(answer.get("pid") or 0)
    return None


def ask_alive(data_dir: Path, timeout: float = 1.0) -> bool:
    """Whether a running Sift answers on this data folder's channel."""
    answer = _exchange(data_dir, {"v": PROTOCOL, "op": "ping"}, timeout)
    return bool(answer and answer.get("ok"))


@dataclass
class Answer:
    """What a running Sift said: a response, or an error in words."""

    response: SearchResponse | None = None
    error: str = ""


def ask_search(data_dir: Path, request: SearchRequest, timeout: float = 30.0) -> Answer | None:
    """Ask a running Sift to search; None when none answers (then search here)."""
    answer = _exchange(data_dir, request.to_json(), timeout)
    if answer is None:
        return None
    if not answer.get("ok"):
        return Answer(error=str(answer.get("error") or "unknown error"))
    try:
        return Answer(response=response_from_json(answer["response"]))
    except (KeyError, TypeError, ValueError) as exc:
        return Answer(error=f"an answer that could not be read ({exc})")
