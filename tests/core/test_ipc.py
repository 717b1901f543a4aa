"""The local query channel: `sift search` asks a running Sift, privately, and gets the same answer."""

from __future__ import annotations

import json
import stat
import sys
from pathlib import Path

import pytest

from app.cli import run_cli
from app.core.ipc import KEY_FILE, QueryServer, SearchRequest, address, ask_alive, ask_search
from app.core.records import SearchResponse
from app.core.search.searcher import Filters

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="Unix socket permissions")


@pytest.fixture
def served(data_dir: Path, docs: Path, capsys):  # type: ignore[no-untyped-def]
    """An indexed data folder and a server answering from its own Library, as `sift watch` does."""
    from app.core.host.paths import resolve_paths
    from app.core.library import Library

    assert run_cli(["--data-dir", str(data_dir), "index", str(docs)]) == 0
    capsys.readouterr()
    lib = Library(resolve_paths(data_dir))
    asked: list[SearchRequest] = []

    def search(req: SearchRequest) -> SearchResponse:
        asked.append(req)
        lib.embedder.prepare_queries()
        return lib.search(req.query, limit=req.limit, rerank=req.rerank,
                          filters=Filters(req.folder, req.types, req.since))

    server = QueryServer(data_dir, search)
    assert server.start()
    yield server, asked
    server.stop()
    lib.close()


def _results(capsys, *args: str) -> list[tuple[str, float]]:  # type: ignore[no-untyped-def]
    assert run_cli(list(args)) == 0
    out = json.loads(capsys.readouterr().out)
    return [(r["path"], r["score"]) for r in out["results"]]


def test_cli_answers_the_same_through_a_running_sift_and_on_its_own(served, data_dir: Path,
                                                                   capsys) -> None:
    _, asked = served
    for query in ("landlord deposit", "dog food", "river ocean mountain", "alpha"):
        remote = _results(capsys, "--data-dir", str(data_dir), "search", "--json", query)
        assert asked and asked[-1].query == query  # it was the running Sift that answered
        here = _results(capsys, "--data-dir", str(data_dir), "search", "--json", "--here", query)
        assert [p for p, _ in remote] == [p for p, _ in here]
        assert [s for _, s in remote] == pytest.approx([s for _, s in here], abs=1e-4)


def test_the_channel_is_private_to_the_user(served, data_dir: Path) -> None:
    sock, _ = address(data_dir)
    assert stat.S_IMODE(Path(sock).stat().st_mode) == 0o600
    assert stat.S_IMODE(Path(sock).parent.stat().st_mode) == 0o700  # no one else can even reach it
    assert stat.S_IMODE((data_dir / KEY_FILE).stat().st_mode) == 0o600
    assert ask_alive(data_dir)
    # Someone without the key is turned away (and the server keeps serving).
    key = (data_dir / KEY_FILE).read_bytes()
    (data_dir / KEY_FILE).write_bytes(b"x" * 32)
    assert ask_search(data_dir, SearchRequest("river"), timeout=2) is None
    (data_dir / KEY_FILE).write_bytes(key)
    answer = ask_search(data_dir, SearchRequest("river"))
    assert answer is not None and answer.response is not None and answer.response.hits


def test_opening_the_channel_leaves_the_process_umask_alone(data_dir: Path, monkeypatch) -> None:
    # The umask is the whole process's: folders made by other threads meanwhile (the writer,
    # a library's cache) would lose their execute bit.
    def refuse(_mask: int) -> int:
        raise AssertionError("os.umask called")

    monkeypatch.setattr("os.umask", refuse)
    server = QueryServer(data_dir, lambda req: SearchResponse(query=req.query, hits=(), reranked=False))
    try:
        assert server.start()
        assert ask_alive(data_dir)
    finally:
        server.stop()


def test_stopping_while_a_client_is_mid_handshake_returns_at_once(data_dir: Path) -> None:
    # A slow `sift search` (a busy machine) or a process that connects and says nothing: the
    # server is inside accept(), waiting for its answer to the key challenge. Quitting then hung
    # for good: the stop's own knock waited for a challenge nobody would send.
    import socket
    import threading
    import time

    server = QueryServer(data_dir, lambda req: SearchResponse(query=req.query, hits=(), reranked=False))
    assert server.start()
    silent = socket.socket(socket.AF_UNIX)
    silent.connect(address(data_dir)[0])
    silent.recv(1)  # the server's challenge has begun: it now waits for this client
    stopper = threading.Thread(target=server.stop, daemon=True)
    started = time.monotonic()
    stopper.start()
    stopper.join(10)
    try:
        assert not stopper.is_alive(), "stop() hung"
        assert time.monotonic() - started < 5
        assert not ask_alive(data_dir)
    finally:
        silent.close()


def test_a_stopped_or_crashed_sift_leaves_the_cli_working(served, data_dir: Path, docs: Path,
                                                          capsys) -> None:
    server, asked = served
    server.stop()
    assert not Path(address(data_dir)[0]).exists()
    assert ask_search(data_dir, SearchRequest("river")) is None
    # A socket file left by a crash: nobody answers it, and the search runs here.
    Path(address(data_dir)[0]).touch()
    n = len(asked)
    results = _results(capsys, "--data-dir", str(data_dir), "search", "--json", "river")
    assert results[0][0] == str(docs / "sub" / "river.txt") and len(asked) == n
    # A new server takes the stale socket's place.
    assert server.start() and ask_alive(data_dir)


def test_a_second_server_on_the_same_data_folder_stands_aside(served, data_dir: Path) -> None:
    other = QueryServer(data_dir, lambda req: SearchResponse(req.query, (), False))
    assert not other.start()
    assert ask_alive(data_dir)


def test_status_shows_what_a_running_sift_is_indexing(data_dir: Path, docs: Path,
                                                      capsys) -> None:
    from app.core.records import Progress

    assert run_cli(["--data-dir", str(data_dir), "index", str(docs)]) == 0
    now = Progress("indexing", stage="meaning", words_done=120, words_total=120,
                   meaning_done=35, meaning_total=120, eta_s=42.0)
    server = QueryServer(data_dir, lambda req: SearchResponse(req.query, (), False),
                         progress=lambda: now)
    assert server.start()
    try:
        capsys.readouterr()
        assert run_cli(["--data-dir", str(data_dir), "status"]) == 0
        out = capsys.readouterr().out
        assert "indexing (words: 120/120 files · meaning: 35/120, about 42 s left)" in out
        assert run_cli(["--data-dir", str(data_dir), "status", "--json"]) == 0
        live = json.loads(capsys.readouterr().out)["indexing_now"]
        assert (live["stage"], live["meaning_done"], live["meaning_total"]) == ("meaning", 35, 120)
    finally:
        server.stop()
    assert run_cli(["--data-dir", str(data_dir), "status", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["indexing_now"] is None


def _silent_client(data_dir: Path):  # type: ignore[no-untyped-def]
    """A process that connects to the channel and then says nothing."""
    import socket

    silent = socket.socket(socket.AF_UNIX)
    silent.connect(address(data_dir)[0])
    silent.settimeout(30)
    assert silent.recv(1)  # the server's key challenge has begun
    return silent


def test_a_silent_client_holds_up_no_other_search(served, data_dir: Path, monkeypatch) -> None:
    # It used to: the key check ran inside accept(), so `sift search` waited 32 s behind it.
    silent = [_silent_client(data_dir) for _ in range(3)]
    try:
        for _ in range(5):
            answer = ask_search(data_dir, SearchRequest("river"), timeout=20)
            assert answer is not None and answer.response is not None and answer.response.hits
        assert ask_alive(data_dir, timeout=20)
    finally:
        for s in silent:
            s.close()


def test_a_silent_client_is_hung_up_on(data_dir: Path, monkeypatch) -> None:
    import app.core.ipc as ipc

    monkeypatch.setattr(ipc, "SILENCE_S", 0.5)
    server = QueryServer(data_dir, lambda req: SearchResponse(req.query, (), False))
    assert server.start()
    silent = _silent_client(data_dir)
    try:
        while silent.recv(4096):  # the rest of the challenge, then the end of the connection
            pass
    finally:
        silent.close()
        server.stop()


def test_a_request_past_the_size_limit_is_not_read(data_dir: Path) -> None:
    import socket
    import struct
    from multiprocessing.connection import Connection, answer_challenge, deliver_challenge

    import app.core.ipc as ipc

    server = QueryServer(data_dir, lambda req: SearchResponse(req.query, (), False))
    assert server.start()
    sock = socket.socket(socket.AF_UNIX)
    sock.connect(address(data_dir)[0])
    conn = Connection(sock.detach())
    try:
        key = (data_dir / KEY_FILE).read_bytes()
        answer_challenge(conn, key)
        deliver_challenge(conn, key)
        # A header that announces more than a request may hold, and only a little of it sent:
        # the server hangs up instead of waiting for (and keeping) the rest.
        conn._send(struct.pack("!i", ipc.MAX_REQUEST + 1) + b"{")  # type: ignore[attr-defined]
        assert not conn.poll(30) or conn.recv_bytes() is None
    except (EOFError, ConnectionResetError):
        pass  # hung up on: what is wanted
    finally:
        conn.close()
    assert ask_alive(data_dir)  # and it goes on serving others
    # A client never sends such a request: it searches on its own instead.
    assert ask_search(data_dir, SearchRequest("x" * (ipc.MAX_REQUEST + 1))) is None
    server.stop()
