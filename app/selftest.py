"""``sift --self-test``: index the shipped sample folder offline and check that search finds it.

It runs the real engine (default model, default settings except the reranker, which is not
shipped) in a throwaway data folder, so it proves that a fresh install, packaged or not, can
index and search with no network. It prints each step with its timing, returns 0 when every
check passes, and otherwise says what failed and returns 1.
"""

from __future__ import annotations

import os
import platform
import shutil
import socket
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import app

# (query, file name expected first). The PDF check also proves that the PDF worker process
# starts, which in a frozen app depends on multiprocessing.freeze_support().
CHECKS: tuple[tuple[str, str], ...] = (
    ("canine nutrition", "dog-food.md"),
    ("how were ships kept off the rocks at night", "lighthouses.pdf"),
)
EXPECTED_FILES = 7  # the files in resources/sample


@dataclass(frozen=True)
class CheckResult:
    query: str
    expected: str
    got: tuple[str, ...]  # file names, best first
    score: float
    ms: float

    @property
    def ok(self) -> bool:
        return bool(self.got) and self.got[0] == self.expected


class SelfTestFailure(Exception):
    """A check that did not pass, in words for the person running the test."""


def sample_folder() -> Path:
    """``resources/sample``: next to the ``app`` package, in a checkout and in a frozen bundle."""
    base = Path(getattr(sys, "_MEIPASS", Path(app.__file__).resolve().parent.parent))
    return base / "resources" / "sample"


@contextmanager
def no_network() -> Iterator[None]:
    """Make any attempt to reach another machine fail loudly; local pipes still work."""
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def guard(kind: Callable[..., object]) -> Callable[..., object]:
        def blocked(self: socket.socket, address: object) -> object:
            if self.family in (socket.AF_INET, socket.AF_INET6):
                raise SelfTestFailure(f"something tried to reach the network ({address!r})")
            return kind(self, address)

        return blocked

    socket.socket.connect = guard(real_connect)  # type: ignore[method-assign]
    socket.socket.connect_ex = guard(real_connect_ex)  # type: ignore[method-assign]
    try:
        yield
    finally:
        socket.socket.connect = real_connect  # type: ignore[method-assign]
        socket.socket.connect_ex = real_connect_ex  # type: ignore[method-assign]


def run_checks(sample: Path, data_dir: Path, say: Callable[[str], None]) -> list[CheckResult]:
    """Index a copy of ``sample`` into ``data_dir`` and run CHECKS; raises SelfTestFailure."""
    from app.core.host.paths import resolve_paths
    from app.core.library import Library
    from app.core.settings import Settings

    if not sample.is_dir():
        raise SelfTestFailure(f"the sample folder is missing: {sample}")
    # A copy, so the test never depends on where (or how read-only) the app is installed.
    docs = data_dir / "sample"
    shutil.copytree(sample, docs)
    lib = Library(resolve_paths(data_dir / "data"), Settings(rerank=False))
    try:
        t0 = time.perf_counter()
        info = lib.embedder.load()
        say(f"model     {info.name}, from the {info.origin}, {info.dim} dimensions, "
            f"{info.backend}  [{time.perf_counter() - t0:.1f} s]")
        report = lib.index([str(docs)])
        indexed = report.added + report.updated + report.unchanged
        say(f"indexed   {indexed} files, {report.chunks} passages, {report.skipped} skipped  "
            f"[{report.seconds:.1f} s]")
        for s in report.skipped_files:
            say(f"          skipped {Path(s.path).name}: {s.reason}")
        if report.skipped or indexed != EXPECTED_FILES:
            raise SelfTestFailure(f"expected {EXPECTED_FILES} files indexed and none skipped, got "
                                  f"{indexed} indexed and {report.skipped} skipped")
        results = []
        for query, expected in CHECKS:
            t0 = time.perf_counter()
            resp = lib.search(query, limit=5, rerank=False)
            ms = (time.perf_counter() - t0) * 1000
            names = tuple(Path(h.path).name for h in resp.hits)
            result = CheckResult(query, expected, names,
                                 float(resp.hits[0].score) if resp.hits else 0.0, ms)
            mark = "ok" if result.ok else f"FAILED (expected {expected})"
            say(f"search    \"{query}\" -> {', '.join(names[:3]) or 'nothing'}  "
                f"[{ms:.0f} ms]  {mark}")
            results.append(result)
        failed = [r for r in results if not r.ok]
        if failed:
            raise SelfTestFailure("; ".join(
                f"'{r.query}' ranked {r.got[0] if r.got else 'nothing'} first, not {r.expected}"
                for r in failed))
        return results
    finally:
        lib.close()


def run_self_test(out: Callable[[str], None] | None = None) -> int:
    """The ``--self-test`` command: 0 when every check passed, 1 otherwise."""
    say = out or (lambda line: print(line, flush=True))
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    frozen = "frozen" if getattr(sys, "frozen", False) else "from source"
    say(f"Sift {app.__version__} self-test ({frozen}; Python {platform.python_version()}, "
        f"{platform.system()} {platform.machine()})")
    sample = sample_folder()
    say(f"sample    {sample}")
    started = time.perf_counter()
    try:
        with tempfile.TemporaryDirectory(prefix="sift-selftest-") as tmp, no_network():
            run_checks(sample, Path(tmp), say)
    except SelfTestFailure as exc:
        say(f"Self-test FAILED after {time.perf_counter() - started:.1f} s: {exc}")
        return 1
    except Exception as exc:  # anything else is a broken install or a bug: show all of it
        say(traceback.format_exc().rstrip())
        say(f"Self-test FAILED after {time.perf_counter() - started:.1f} s: "
            f"{type(exc).__name__}: {exc}")
        return 1
    say(f"Self-test passed in {time.perf_counter() - started:.1f} s.")
    return 0
