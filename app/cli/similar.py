"""`sift similar PATH`: the files closest in meaning to one file, shown as `sift search` shows results."""

from __future__ import annotations

import argparse
import os
import sys

from app.cli.library import open_library
from app.cli.results import print_response
from app.terminal import safe


def cmd_similar(args: argparse.Namespace) -> int:
    path = os.path.abspath(os.path.expanduser(args.path))
    lib = open_library(args)
    try:
        resp = lib.similar(path, limit=args.limit)
    finally:
        lib.close()
    if not args.json:
        print(f"Files most like {safe(path)} (itself and its exact copies left out):",
              file=sys.stderr)
    return print_response(resp, args.json)
