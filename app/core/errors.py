"""Error kinds: known problems of the environment (with a message for the user) and cancellation."""

from __future__ import annotations


class KnownError(Exception):
    """A problem caused by the environment or the input, with a message a user can act on.

    Anything that is not a KnownError is a bug.
    """

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} {self.hint}".strip()


class SkipFile(KnownError):
    """A file that cannot be indexed; the message is the reason shown to the user."""


class ModelUnavailable(KnownError):
    """A model could not be found or loaded."""


class Cancelled(Exception):
    """Raised by long-running core work when its cancel flag is set."""
