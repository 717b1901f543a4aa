"""Logging to the terminal at the chosen verbosity, with libraries that chat on every load kept quiet."""

from __future__ import annotations

import logging


def setup_logging(verbose: int = 0) -> None:
    level = logging.WARNING if verbose <= 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        datefmt="%H:%M:%S")
    # Libraries that chat at INFO on every load or request.
    for noisy in ("httpx", "urllib3", "filelock", "huggingface_hub", "sentence_transformers",
                  "transformers", "pypdf", "watchdog"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
