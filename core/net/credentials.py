"""URLs with credentials (``https://user:password@host/feed``): shown and stored redacted, fetched with the real ones.

A URL that carries a user name or password is shown everywhere as
``https://***@host/feed``: in messages, logs, manifests, the catalog and
Prefect's database (run names, parameters, artifacts). ``hide`` returns that
form and remembers the real URL in this process only; ``real`` gives it back
at the moment a request is made.
"""

from __future__ import annotations

import threading

from core.errors import redact

_REAL: dict[str, str] = {}
_LOCK = threading.Lock()


def hide(url: str) -> str:
    """``url`` with its credentials replaced by ``***``; the real URL is kept in this process for ``real``."""
    shown = redact(url)
    if shown != url:
        with _LOCK:
            _REAL[shown] = url
    return shown


def real(url: str) -> str:
    """The URL with its credentials, if this process hid them; otherwise ``url`` itself."""
    with _LOCK:
        return _REAL.get(url, url)


def has_credentials(url: str) -> bool:
    return redact(url) != url
