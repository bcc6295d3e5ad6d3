"""Errors a user can act on: what went wrong with which input, and what to do."""

from __future__ import annotations


class PresenterError(Exception):
    """A failure caused by the input or the environment, not by a bug.

    ``str(error)`` is the one message shown to the user: it names the input
    and ends with what to do about it.
    """

    def __init__(self, problem: str, hint: str) -> None:
        self.problem = problem
        self.hint = hint
        super().__init__(f"{problem} {hint}")


class FetchError(PresenterError):
    """A feed or an episode could not be read or downloaded."""


class TransientFetchError(FetchError):
    """A network failure that may pass: worth retrying later."""


class AudioError(PresenterError):
    """A file is not decodable audio, is empty or is truncated."""


class EngineError(PresenterError):
    """An engine is missing its package, weights or tools, or failed to run."""


class EngineUnavailable(EngineError):
    """The engine cannot be reached, started or installed here; the next engine in the fallback order is tried."""
