"""Search latency over the query channel while clients that say nothing hold connections.

    .venv/bin/python tests/benchmarks/silent_client.py [--silent 0,1,3,8] [--searches 20]

A running Sift (here a QueryServer answering from a small index of the tiny test model, as
`sift watch` does) is asked `sift search`'s request over the channel with N processes'
worth of silent connections open (each connects, reads the key challenge, and sends nothing).
Prints, per N, the median and the slowest ask_search and ask_progress (`sift status`'s
question), and how many got no answer (those would have fallen back to searching alone).
"""

from __future__ import annotations

import argparse
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--silent", default="0,1,3,8")
    ap.add_argument("--searches", type=int, default=20)
    ap.add_argument("--timeout", type=float, default=30.0, help="ask_search's own limit")
    args = ap.parse_args()

    from app.core.host.paths import resolve_paths
    from app.core.ipc import QueryServer, SearchRequest, address, ask_progress, ask_search
    from app.core.library import Library
    from app.core.settings import Settings
    from tests.tiny_models import build_bi_encoder

    work = Path(tempfile.mkdtemp(prefix="sift-silent-"))
    model = build_bi_encoder(work / "model")
    docs = work / "docs"
    docs.mkdir()
    for i in range(200):
        (docs / f"note{i}.txt").write_text(f"Note {i} about the river, the harbour and boat {i}.",
                                           encoding="utf-8")
    settings = Settings(model=str(model), backend="torch-float32", rerank=False)
    lib = Library(resolve_paths(work / "data"), settings)
    lib.index([str(docs)])
    lib.embedder.prepare_queries()

    def search(req: SearchRequest):  # type: ignore[no-untyped-def]
        return lib.search(req.query, limit=req.limit)

    data_dir = lib.paths.data_dir
    server = QueryServer(data_dir, search)
    assert server.start()
    print(f"{'silent':>6} {'search median':>14} {'search max':>11} {'status max':>11} {'no answer':>10}")
    try:
        for n in (int(x) for x in args.silent.split(",")):
            held = []
            for _ in range(n):
                s = socket.socket(socket.AF_UNIX)
                s.connect(address(data_dir)[0])
                s.settimeout(5)
                s.recv(1)  # the challenge has begun: the server now waits for this client
                held.append(s)
            times, missed = [], 0
            for _ in range(args.searches):
                started = time.perf_counter()
                answer = ask_search(data_dir, SearchRequest("river harbour"), timeout=args.timeout)
                times.append(time.perf_counter() - started)
                missed += answer is None or answer.response is None
            started = time.perf_counter()
            ask_progress(data_dir)
            status = time.perf_counter() - started
            print(f"{n:>6} {statistics.median(times) * 1000:>11.1f} ms {max(times) * 1000:>8.1f} ms "
                  f"{status * 1000:>8.1f} ms {missed:>10}")
            for s in held:
                s.close()
    finally:
        server.stop()
        lib.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
