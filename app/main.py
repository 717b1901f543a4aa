"""Composition root: parse arguments, set up logging, then run the CLI or start the window."""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import sys


def main(argv: list[str] | None = None) -> int:
    """``sift`` with a subcommand runs the CLI; with none, the window (or help without Qt)."""
    multiprocessing.freeze_support()  # the PDF worker re-enters here in a frozen build
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
    from app.gui.system_libs import check_window_libraries

    problem = check_window_libraries(args)
    if problem:
        print(problem, file=sys.stderr)
        return 1
    try:
        from app.gui.application import run_gui
    except ImportError as exc:
        from app.cli import run_cli

        print(f"The window is not available ({exc}); here is the command line:\n",
              file=sys.stderr)
        return run_cli(["--help"])
    end_process(run_gui(args))
    return 0  # not reached


def end_process(code: int) -> None:
    """Leave at once after the window's orderly shutdown (everything is saved and closed by now).

    Python's own finalisation would next run the static destructors of native libraries (torch,
    OpenVINO, tokenizers) while a thread of theirs may still be parked in them, which aborts with
    "terminate called without an active exception" (exit 134), and would let the garbage
    collector delete Qt objects in an arbitrary order. Neither has anything left to save.
    """
    from app.core.host.diagnostics import disarm

    disarm()  # an orderly end: no crash report (atexit hooks do not run past os._exit)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError, AttributeError):
            stream.flush()
    logging.shutdown()
    os._exit(code)


if __name__ == "__main__":
    raise SystemExit(main())
