"""The terminal: how much it shows (--quiet, --verbose), one-line failures, download bars, and the end-of-run summary."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import typer

from core.errors import PresenterError, os_error, redact

if TYPE_CHECKING:
    from core.registry import Weight
    from core.settings import Settings

QUIET, NORMAL, VERBOSE = 0, 1, 2
OUR_LOGGERS = ("core", "engines", "stages", "flows", "presenter")


class _KnownErrorFilter(logging.Filter):
    """Keep tracebacks of input errors out of the terminal (the UI still gets them); the CLI prints one message."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return not isinstance(error, PresenterError)


class _RedactFilter(logging.Filter):
    """No credentials in any log line: user:password in URLs becomes ***."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        return True


def set_verbosity(level: int) -> None:
    """Before anything is imported: how chatty native libraries, progress bars and loggers may be."""
    os.environ["PRESENTER_VERBOSE"] = "1" if level >= VERBOSE else "0"
    if level <= QUIET:
        os.environ.setdefault("TQDM_DISABLE", "1")
        os.environ.setdefault("PREFECT_LOGGING_LEVEL", "ERROR")
    if level >= VERBOSE:
        os.environ.setdefault("PREFECT_LOGGING_LEVEL", "DEBUG")


def setup_logging(level: int) -> None:
    """Prefect's console logging (configured when Prefect is imported), our loggers at the chosen level, the filters on every handler."""
    import prefect.main  # noqa: F401  (importing it configures Prefect's logging, once per process)

    ours = logging.ERROR if level <= QUIET else logging.DEBUG if level >= VERBOSE else logging.INFO
    for name in OUR_LOGGERS:
        logging.getLogger(name).setLevel(ours)
    if level < VERBOSE:
        logging.getLogger("core.native").setLevel(logging.INFO)  # captured C++ output: shown with --verbose only
    loggers = [logging.getLogger(), *(lg for lg in logging.Logger.manager.loggerDict.values() if isinstance(lg, logging.Logger))]
    for handler in {h for lg in loggers for h in lg.handlers}:
        for kind in (_KnownErrorFilter, _RedactFilter):
            if not any(isinstance(f, kind) for f in handler.filters):
                handler.addFilter(kind())


@contextmanager
def warnings_shown() -> Iterator[None]:
    """For commands that start no Prefect: our loggers' warnings (skipped items, retries, a moved feed) on stderr, redacted."""
    import sys

    handler = logging.StreamHandler(sys.stderr)  # the stream of this command, not of an earlier one
    handler.setFormatter(logging.Formatter("warning: %(message)s"))
    handler.setLevel(logging.WARNING)
    handler.addFilter(_RedactFilter())
    loggers = [logging.getLogger(name) for name in OUR_LOGGERS]
    for logger in loggers:
        logger.addHandler(handler)
    try:
        yield
    finally:
        for logger in loggers:
            logger.removeHandler(handler)


def fail(error: PresenterError) -> NoReturn:
    typer.secho(f"error: {error.problem}", fg=typer.colors.RED, err=True)
    typer.echo(f"  what to do: {error.hint}", err=True)
    raise typer.Exit(code=1)


@contextmanager
def reported() -> Iterator[None]:
    """Any failure the user can act on ends the command with one message and exit code 1."""
    from pydantic import ValidationError

    try:
        yield
    except PresenterError as error:
        fail(error)
    except OSError as error:
        fail(os_error(error, error.filename or "a file", "writing" if error.errno in (13, 28, 30) else "reading"))
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors()[:5])
        fail(PresenterError(f"Invalid settings: {problems}.", "Fix the option, the PRESENTER_* variable or presenter.toml ('presenter doctor' lists the engines)."))


def summary(folder: Path, level: int) -> None:
    """The end-of-run table: each stage's time, engine and cache use; where the video and digest are; what to look at."""
    from rich.console import Console
    from rich.table import Table

    from core.artifacts import Narration, Summary
    from core.workspace import read_manifest

    console = Console(stderr=False)
    video, digest = folder / "presenter.mp4", folder / "summary.md"
    if level > QUIET:
        table = Table("stage", "seconds", "engine", "from cache", title=f"Digest of {folder.name}", title_justify="left")
        for name, record in read_manifest(folder).get("stages", {}).items():
            seconds = record.get("seconds")
            table.add_row(name, f"{seconds:.1f}" if isinstance(seconds, (int, float)) else "", str(record.get("engine") or ""), "yes" if record.get("cached") else "no")
        console.print(table)
        warnings = []
        if (folder / Summary.file).exists():
            made = Summary.read(folder)
            if made.ungrounded:
                warnings.append(f"{len(made.ungrounded)} item(s) of the summary are not in the transcript and were not spoken: {', '.join(made.ungrounded)} (see summary.md).")
            warnings += [f"summary engine fallback: {reason}" for reason in made.fallbacks]
            if made.extractive:
                warnings.append("the digest is extractive: sentences quoted from the transcript, no language model.")
            elif made.extractive_fields:
                warnings.append(f"built from the transcript, because the model's answer failed a quality check: {', '.join(made.extractive_fields)} (see summary.md).")
        if (folder / Narration.file).exists():
            warnings += [f"voice fallback: {name}: {why}" for name, why in Narration.read(folder).unavailable.items()]
        for warning in warnings:
            console.print(f"[yellow]warning:[/] {redact(warning)}", highlight=False)
    for label, path in (("Outputs", folder), ("Presenter video", video), ("Summary", digest)):
        if path.exists():  # soft_wrap: a path stays on one line, whole, to copy
            console.print(f"[green]{label}:[/] {path}", highlight=False, soft_wrap=True)


def pull(weight: Weight, settings: Settings) -> Path:
    """``weight`` pulled into the cache with a progress bar per file."""
    from tqdm.auto import tqdm

    from core.weights.pull import pull as fetch

    bars = []

    def bar_for(file: str):
        bar = tqdm(desc=f"{weight.name} {file}", unit="B", unit_scale=True, dynamic_ncols=True)
        bars.append(bar)

        def report(done: int, total: int | None) -> None:
            bar.total = total or bar.total
            bar.n = done
            bar.refresh()

        return report

    try:
        return fetch(weight, settings.cache_dir, settings.weights, bar_for)
    finally:
        for bar in bars:
            bar.close()
