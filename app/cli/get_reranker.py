"""`sift get-reranker`: the one command that may use the network, to fetch the cross-encoder once."""

from __future__ import annotations

import argparse

from app.cli.library import open_library
from app.terminal import safe


def cmd_get_reranker(args: argparse.Namespace) -> int:
    """The explicit action that may use the network: fetch the reranker into the local cache."""
    from app.core.encoders.reranker import Reranker
    from app.core.errors import KnownError

    lib = open_library(args)
    try:
        reranker = Reranker(lib.settings.reranker)
        if reranker.source.local:
            print(f"The reranker is a local folder already: {safe(reranker.source.location)}")
            return 0
        try:
            folder = reranker.download()
        except Exception as exc:  # offline, a proxy, no such model: say so in words
            raise KnownError(f"Could not download the reranker {reranker.source.name}: {exc}") from exc
        print(f"Reranker ready in {safe(folder)}; searches rerank from now on, offline.")
        return 0
    finally:
        lib.close()
