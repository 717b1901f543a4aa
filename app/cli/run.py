"""Running a command: parse, dispatch to its handler, and turn known errors into a message and code."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from app.cli.config import cmd_config
from app.cli.get_reranker import cmd_get_reranker
from app.cli.index import cmd_index, cmd_remove
from app.cli.parser import build_parser
from app.cli.search import cmd_search
from app.cli.similar import cmd_similar
from app.cli.status import cmd_folders, cmd_skipped, cmd_status
from app.terminal import safe_block


def run_cli(argv: list[str]) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from app.terminal_log import setup_logging

    setup_logging(args.verbose)
    if not args.command:
        parser.print_help()
        return 0
    from app.core.errors import KnownError

    try:
        _keep_diagnostics(args)
        return int(HANDLERS[args.command](args) or 0)
    except KnownError as exc:
        print(f"sift: {safe_block(str(exc))}", file=sys.stderr)
        return 2
    except OSError as exc:
        # A file Sift must write that the system refuses (a read-only or full disk, another
        # user's folder): the user's words, not a traceback. Anything else is a bug.
        words = _refused(exc)
        if words is None:
            raise
        print(f"sift: {safe_block(words)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\nsift: interrupted", file=sys.stderr)
        return 130


def _refused(exc: OSError) -> str | None:
    import errno

    from app.core.failures import known_failure

    known = known_failure(exc)
    if known is not None:
        return str(known)
    if exc.errno not in (errno.EROFS, errno.EACCES, errno.EPERM):
        return None
    import os

    # The folder, not the file: often a temporary name of Sift's own (an atomic write's).
    where = f" in {os.path.dirname(os.fsdecode(exc.filename))}" if exc.filename else ""
    return (f"Sift cannot write{where}: {exc.strerror}. Searching works; changing settings "
            "or the index needs a writable data folder (or another --data-dir).")


def _keep_diagnostics(args: argparse.Namespace) -> None:
    """The log file and this run's crash report; an earlier run's crash is told once, here."""
    from app.core.host import diagnostics
    from app.core.host.paths import resolve_paths

    for report in diagnostics.start(resolve_paths(args.data_dir).logs_dir):
        print(f"sift: note: {safe_block(report.summary())}", file=sys.stderr)


# eval, watch and bench live with what they run; their modules load only when asked for.
def cmd_eval(args: argparse.Namespace) -> int:
    from app.core.measure.evaluation import run_eval

    return run_eval(args)


def cmd_watch(args: argparse.Namespace) -> int:
    from app.watch_command import run_watch

    return run_watch(args)


def cmd_bench(args: argparse.Namespace) -> int:
    from app.core.measure.bench import run_bench

    return run_bench(args)


HANDLERS: dict[str, Callable[[argparse.Namespace], int]] = {
    "index": cmd_index, "search": cmd_search, "similar": cmd_similar, "status": cmd_status,
    "skipped": cmd_skipped,
    "folders": cmd_folders, "remove": cmd_remove, "config": cmd_config, "eval": cmd_eval,
    "watch": cmd_watch, "bench": cmd_bench, "get-reranker": cmd_get_reranker,
}
