"""`sift search`: the query and its filters, asked of a running Sift first, else searched here."""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import datetime
from typing import TYPE_CHECKING

from app.cli.library import open_library
from app.cli.results import print_response
from app.terminal import safe

if TYPE_CHECKING:
    from app.core.ipc import SearchRequest
    from app.core.records import SearchResponse


def cmd_search(args: argparse.Namespace) -> int:
    from app.core.host.paths import resolve_paths
    from app.core.ipc import SearchRequest, ask_search

    query = _query_text(args.query)
    # An OS path: the filter turns it into the stored form of a name that is not UTF-8.
    folder = os.path.abspath(os.path.expanduser(args.folder)) if args.folder else None
    request = SearchRequest(query, limit=args.limit, folder=folder,
                            types=tuple(args.type), since=_since(args.since),
                            rerank=False if args.no_rerank else None)
    paths = resolve_paths(args.data_dir)
    # A running Sift (window or `sift watch`) has everything loaded: ask it first.
    answer = None if args.here else ask_search(paths.data_dir, request)
    if answer is not None and answer.response is None:
        print(f"sift: the running Sift could not answer ({safe(answer.error)}); "
              "searching here.", file=sys.stderr)
    resp = answer.response if answer is not None and answer.response is not None \
        else _search_here(args, request)
    return print_response(resp, args.json)


def _search_here(args: argparse.Namespace, request: SearchRequest) -> SearchResponse:
    from app.core.search.searcher import Filters

    lib = open_library(args)
    try:
        had_light = lib.embedder.light() is not None
        lib.embedder.prepare_queries()
        filters = Filters(folder=request.folder, types=request.types,
                          modified_after=request.since)
        resp = lib.search(request.query, limit=request.limit, filters=filters,
                          rerank=request.rerank)
        if lib.notice:  # a damaged index was set aside: what it held is back after indexing
            print(f"sift: note: {lib.notice} Run sift index to read your folders again.",
                  file=sys.stderr)
        if not had_light:
            # The model had to be loaded with torch; export it once so the next search does not.
            lib.embedder.export_queries()
        return resp
    finally:
        lib.close()


def _query_text(words: list[str]) -> str:
    from app.core.errors import KnownError

    query = " ".join(words)
    try:
        query.encode("utf-8")
    except UnicodeEncodeError:
        raise KnownError("The query is not valid text (its bytes are not UTF-8).",
                         "Type it again, or check the terminal's character encoding.") from None
    if not query.strip():
        raise KnownError("The query is empty.", 'Give some words: sift search "plumber invoice"')
    from app.core.search.query import check_query

    check_query(query)  # before a running Sift is asked: it would refuse it the same way
    return query


def _since(text: str | None) -> float | None:
    """--since as a POSIX time, or a clear error for what is not a usable date."""
    from app.core.errors import KnownError

    if not text:
        return None
    try:
        when = datetime.strptime(text.strip(), "%Y-%m-%d")
        stamp = when.timestamp()
    except (ValueError, OverflowError, OSError):
        raise KnownError(f"--since wants a date like 2024-01-31, not '{safe(text)}'.") from None
    if stamp > time.time() + 86400:
        raise KnownError(f"--since {safe(text)} is in the future: no file was modified after it.")
    return stamp
