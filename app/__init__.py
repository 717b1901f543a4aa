"""Sift: find files by meaning, locally and offline."""

__version__ = "0.1.0"
APP_NAME = "Sift"
APP_ID = "io.github.sift.Sift"
