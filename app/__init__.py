"""Sift: find files by meaning, locally and offline."""

from app.core.host.environment import settle_environment
from app.core.host.privacy import keep_everything_local

__version__ = "0.1.0"
APP_NAME = "Sift"
APP_ID = "io.github.sift.Sift"

# Nothing leaves the machine: before any library that reports usage can be imported.
keep_everything_local()
# Before any thread starts: a library adding a variable on a worker thread can crash the process.
settle_environment()
