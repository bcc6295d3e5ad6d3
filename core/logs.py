"""Logging shared by every layer: progress callbacks, and native libraries kept out of the terminal.

Stages and engines log with ``logging.getLogger(__name__)``; the flow shows
those records in the Prefect UI and the terminal. C++ libraries (mediapipe's
absl logging, LiteRT) write straight to file descriptor 2; their output is
captured around the calls that print it and passed on at debug level.
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

native_log = logging.getLogger("core.native")
_capture_lock = threading.RLock()
_depth = 0


class _Below(logging.Filter):
    def __init__(self, level: int) -> None:
        super().__init__()
        self.level = level

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= self.level


def quiet(name: str, level: int = logging.ERROR) -> None:
    """Drop records of logger ``name`` below ``level``: a filter, because some libraries (phonemizer) reset their logger's level."""
    logger = logging.getLogger(name)
    if not any(isinstance(f, _Below) for f in logger.filters):
        logger.addFilter(_Below(level))


# Libraries that talk on every call: jieba announces its dictionary, phonemizer warns "words count mismatch"
# on every span with punctuation. Their errors still pass.
QUIET = {"jieba": logging.WARNING, "phonemizer": logging.ERROR}
for _name, _level in QUIET.items():
    quiet(_name, _level)


class Progress(Protocol):
    """How long steps report: ``done`` of ``total`` units (None when unknown), with a short note."""

    def __call__(self, done: float, total: float | None = None, detail: str = "") -> None: ...


@contextmanager
def engine_log(path: Path, logger: str) -> Iterator[Path]:
    """What ``logger`` records during the block, written to ``path`` too, with the detail of ``<logger>.detail`` (debug level).

    The detail (each model call: timing, tokens, the raw reply) goes only to
    the file, and to the terminal with --verbose.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    main, detail = logging.getLogger(logger), logging.getLogger(f"{logger}.detail")
    saved = detail.level, detail.propagate
    main.addHandler(handler)
    detail.addHandler(handler)
    detail.setLevel(logging.DEBUG)
    detail.propagate = verbose()
    try:
        yield path
    finally:
        main.removeHandler(handler)
        detail.removeHandler(handler)
        detail.level, detail.propagate = saved
        handler.close()


def quiet_native_logs() -> None:
    """Defaults that keep LiteRT/TensorFlow and glog INFO lines away (must be set before they load)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("GLOG_minloglevel", "2")


def verbose() -> bool:
    """Whether native output should reach the terminal (``presenter --verbose`` sets PRESENTER_VERBOSE=1)."""
    return os.environ.get("PRESENTER_VERBOSE", "") not in ("", "0", "false")


@contextmanager
def native_output_quieted() -> Iterator[None]:
    """Capture what native code writes to stderr (fd 2) during the block; log it at debug level.

    Python's own writes to stderr are unaffected only in that they are captured
    too; keep the block to the native call.
    """
    global _depth
    if verbose():
        yield
        return
    with _capture_lock:
        _depth += 1
        if _depth > 1:  # already captured by an enclosing block
            try:
                yield
            finally:
                _depth -= 1
            return
        saved = os.dup(2)
        with tempfile.TemporaryFile() as sink:
            os.dup2(sink.fileno(), 2)
            try:
                yield
            finally:
                os.dup2(saved, 2)
                os.close(saved)
                _depth -= 1
                sink.seek(0)
                text = sink.read().decode("utf-8", "replace").strip()
                if text:
                    native_log.debug("%s", text)
