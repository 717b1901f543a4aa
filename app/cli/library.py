"""The library a command works on: the one in --data-dir, or in the platform's data folder."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.core.library import Library


def open_library(args: argparse.Namespace) -> Library:
    # Imported here: `sift --help` and the window's start must not load the engine.
    from app.core.host.paths import resolve_paths
    from app.core.library import Library

    lib = Library(resolve_paths(args.data_dir))
    # The first use on a computer measures the backends for about a minute: said, not silent.
    lib.embedder.on_first_check = lambda text: print(f"sift: {text}", file=sys.stderr, flush=True)
    return lib
