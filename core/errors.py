"""Errors a user can act on: what went wrong with which input, and what to do.

Messages never carry credentials: a URL such as ``http://user:secret@host/``
is shown as ``http://***@host/`` wherever a message is built.
"""

from __future__ import annotations

import errno
import re
from pathlib import Path

_CREDENTIALS = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)[^/\s@]+@")


def redact(text: str) -> str:
    """The text with the user:password part of every URL in it replaced by ``***``."""
    return _CREDENTIALS.sub(r"\g<scheme>***@", text)


class PresenterError(Exception):
    """A failure caused by the input or the environment, not by a bug.

    ``str(error)`` is the one message shown to the user: it names the input
    and ends with what to do about it.
    """

    def __init__(self, problem: str, hint: str) -> None:
        self.problem = redact(problem)
        self.hint = redact(hint)
        super().__init__(f"{self.problem} {self.hint}")

    def __reduce__(self):  # keep (problem, hint) when a result store or a process pool pickles it
        return (type(self), (self.problem, self.hint))


class FetchError(PresenterError):
    """A feed or an episode could not be read or downloaded."""


class TransientFetchError(FetchError):
    """A network failure that may pass: worth retrying later."""


class BlockedAddressError(FetchError):
    """A URL resolves to a loopback, private, link-local or metadata address while the address guard is on."""


class AudioError(PresenterError):
    """A file is not decodable audio, is empty or is truncated."""


class EngineError(PresenterError):
    """A working engine failed or gave an unusable answer: the run stops here."""


class EngineUnavailable(EngineError):
    """The engine cannot run here (package, weights or tool missing; endpoint unreachable or timing out; a model twice unusable).

    The one fallback rule: the next engine in the configured order is tried.
    """


def os_error(error: OSError, path: Path | str, doing: str) -> PresenterError:
    """An OS failure on ``path`` as one message with what to do (full disk, permissions, bad names)."""
    where = str(path).replace("\x00", "\\0")
    if error.errno == errno.ENOSPC or error.errno == errno.EDQUOT:
        return PresenterError(f"The disk is full while {doing} {where}.", "Free some space (or set PRESENTER_OUTPUT_DIR to a bigger disk), then rerun: finished stages are kept.")
    if error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return PresenterError(f"No permission to write {where} while {doing} it.", "Choose a writable output folder (--output or PRESENTER_OUTPUT_DIR) or fix the folder's permissions.")
    if error.errno == errno.ENOENT:
        return PresenterError(f"{where} does not exist ({doing}).", "Check the path.")
    return PresenterError(f"Cannot {doing} {where}: {error.strerror or error}.", "Check the path and the disk, then rerun.")
