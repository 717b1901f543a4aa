"""Composition root: parse arguments, set up logging, then run the CLI or start the window."""

from __future__ import annotations

import logging
import multiprocessing
import os
import sys


def setup_logging(verbose: int = 0) -> None:
    level = logging.WARNING if verbose <= 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        datefmt="%H:%M:%S")
    # Libraries that chat at INFO on every load or request.
    for noisy in ("httpx", "urllib3", "filelock", "huggingface_hub", "sentence_transformers",
                  "transformers", "pypdf", "watchdog"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))


def main(argv: list[str] | None = None) -> int:
    """``sift`` with a subcommand runs the CLI; with none, the window (or help without Qt)."""
    multiprocessing.freeze_support()  # the PDF worker re-enters here in a frozen build
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    args = sys.argv[1:] if argv is None else argv
    if "--self-test" in args:  # used by the packaged app's smoke test; see app/selftest.py
        from app.selftest import run_self_test

        return run_self_test()
    from app.cli import run_cli, wants_cli

    if wants_cli(args):
        return run_cli(args)
    return gui_main(args)


def gui_main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    try:
        from app.gui.application import run_gui
    except ImportError as exc:
        from app.cli import run_cli

        print(f"The window is not available ({exc}); here is the command line:\n",
              file=sys.stderr)
        return run_cli(["--help"])
    return run_gui(args)


if __name__ == "__main__":
    raise SystemExit(main())
