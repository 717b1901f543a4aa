"""The headless command line: index, search, status, eval… over the same core as the window."""

# app.main and the tests import from here; each command lives in the module named after it.
from app.cli.parser import COMMANDS, build_parser, wants_cli
from app.cli.results import response_json
from app.cli.run import HANDLERS, run_cli

__all__ = ["COMMANDS", "HANDLERS", "build_parser", "response_json", "run_cli", "wants_cli"]
