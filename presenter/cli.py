"""The ``presenter`` command. Heavy modules (Prefect, models) load inside commands, so --help is instant."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import typer

from core.errors import PresenterError
from core.registry import SUMMARIZERS, TRANSCRIBERS, VOICES
from core.settings import STAGES, NarrateSettings

from . import console

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


_verbosity = console.NORMAL


@app.callback()
def _options(
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Show everything, engine logs (llama.cpp, mediapipe, LiteRT) included."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Show only errors and the final result."),
) -> None:
    """Turn a podcast episode into a short video digest spoken by a digital presenter."""
    global _verbosity
    _verbosity = console.VERBOSE if verbose else console.QUIET if quiet else console.NORMAL
    console.set_verbosity(_verbosity)


def _use_config(config: Optional[Path]) -> None:
    if config is not None:
        if not config.is_file():
            console.fail(PresenterError(f"The config file {config} does not exist.", "Check the path given to --config."))
        os.environ["PRESENTER_CONFIG"] = str(config)


def _start() -> None:
    """Prefect's defaults and logging, and its temporary server (a stale one from a killed run is stopped first)."""
    from core import prefect_env

    prefect_env.apply()
    from flows.server import start_temporary

    console.setup_logging(_verbosity)
    start_temporary()


def _stage(value: str) -> str:
    if value not in STAGES:
        raise typer.BadParameter(f"{value!r} is not one of {', '.join(map(repr, STAGES))}.")
    return value


@app.command()
def run(
    source: str = typer.Argument(..., help="A feed URL (RSS/Atom), an episode's audio URL, or a local audio file."),
    episode: str = typer.Option("latest", "--episode", "-e", help="Which feed episode: 'latest', an index (0 = newest) or a GUID."),
    language: Optional[str] = typer.Option(None, "--language", "-l", help="Force the spoken language (en, zh, ...); detected if omitted."),
    until: str = typer.Option("compose", "--until", "-u", callback=_stage, help=f"Stop after this stage: {', '.join(STAGES)}."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Output folder (default: ./outputs or PRESENTER_OUTPUT_DIR)."),
    engine: Optional[str] = typer.Option(None, help=f"Transcription engine: {', '.join(TRANSCRIBERS.names())}."),
    model: Optional[str] = typer.Option(None, help="Whisper model: base, tiny.en, or a path."),
    summarizer: Optional[str] = typer.Option(None, help=f"Summary engine, no fallback: {', '.join(SUMMARIZERS.names())}."),
    portrait: Optional[Path] = typer.Option(None, "--portrait", "-p", help="Photo of the presenter (default: the bundled astronaut portrait)."),
    voice: Optional[str] = typer.Option(None, help=f"Narration engine first in line: {', '.join(VOICES.names())}."),
    height: Optional[int] = typer.Option(None, help="Video height: 720 (default) or 1080."),
    guard: Optional[bool] = typer.Option(None, "--guard/--no-guard", help="Refuse private and local network addresses (default: off for run, on for watch/serve)."),
    config: Optional[Path] = typer.Option(None, "--config", "-c", help="A TOML settings file (see README)."),
) -> None:
    """Run the digest flow on one episode and print the folder with its outputs."""
    _use_config(config)
    overrides: dict = {}
    if guard is not None:
        overrides["fetch"] = {"guard": guard}
    if engine or model:
        overrides["transcribe"] = {k: v for k, v in {"engine": engine, "model": model}.items() if v}
    if summarizer:
        overrides["summarize"] = {"engines": [summarizer]}
    if portrait:
        overrides["lipsync"] = {"portrait": str(portrait.expanduser().resolve())}
    if voice:
        default = NarrateSettings.model_fields["engines"].default
        overrides["narrate"] = {"engines": [voice, *(name for name in default if name != voice)]}
    if height:
        overrides["compose"] = {"height": height}
    with console.reported():
        from core.settings import Settings
        from flows.digest import digest
        from flows.runners import task_runner

        runner = task_runner(Settings(**overrides))
        _start()
        folder = digest.with_options(task_runner=runner)(source, episode=episode, language=language, until=until, output_dir=str(output) if output else None, overrides=overrides or None)
    console.summary(Path(folder), _verbosity)


@app.command()
def episodes(
    feed: str = typer.Argument(..., help="A feed URL or a local feed file."),
    limit: int = typer.Option(20, help="How many episodes to list, newest first."),
) -> None:
    """List a feed's episodes with the index and GUID that 'run --episode' accepts."""
    from core.settings import Settings
    from stages.fetch import read_any_feed

    with console.reported():
        parsed = read_any_feed(feed, Settings().fetch)
    typer.echo(f"{parsed.title} — {len(parsed.episodes)} episodes")
    for index, item in enumerate(parsed.episodes[:limit]):
        minutes = f"{item.duration_seconds / 60:.0f} min" if item.duration_seconds else "?"
        typer.echo(f"[{index}] {(item.published or '')[:10]}  {minutes:>7}  {item.title}\n      guid: {item.guid}")


def _watch_overrides(feeds: list[str], feeds_file: Optional[Path], newest: Optional[int], output: Optional[Path]) -> dict:
    watch: dict = {}
    if feeds:
        watch["feeds"] = feeds
    if feeds_file:
        watch["feeds_file"] = str(feeds_file.expanduser().resolve())
    if newest:
        watch["newest"] = newest
    overrides: dict = {"watch": watch} if watch else {}
    if output:
        overrides["output_dir"] = str(output.expanduser().resolve())
    return overrides


@app.command()
def watch(
    feeds: list[str] = typer.Argument(None, help="Feed URLs (default: PRESENTER_WATCH__FEEDS and the feeds file)."),
    feeds_file: Optional[Path] = typer.Option(None, "--feeds-file", "-f", help="A text file with one feed URL per line."),
    newest: Optional[int] = typer.Option(None, help="On a feed's first run, digest only its newest N episodes (default 3)."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Output folder (default: ./outputs)."),
    config: Optional[Path] = typer.Option(None, "--config", "-c", help="A TOML settings file (see README)."),
) -> None:
    """Digest every new episode of the watched feeds once, now; then rebuild outputs/feed.xml and index.html."""
    _use_config(config)
    with console.reported():
        from flows.watch import watch_feeds

        _start()
        report = watch_feeds(overrides=_watch_overrides(feeds or [], feeds_file, newest, output))
    typer.secho(f"\n{len(report['done'])} digest(s) made, {len(report['failed'])} failed, {report['skipped']} back-catalogue episode(s) skipped.", fg=typer.colors.GREEN)
    for url, why in report["broken_feeds"].items():
        typer.secho(f"  feed not read: {url}: {why}", fg=typer.colors.RED, err=True)
    for title, why in report["failed"].items():
        typer.secho(f"  failed: {title}: {why}", fg=typer.colors.RED, err=True)
    if report["broken_feeds"] or report["failed"]:
        raise typer.Exit(code=1)


@app.command()
def serve(
    feeds: list[str] = typer.Argument(None, help="Feed URLs (default: PRESENTER_WATCH__FEEDS and the feeds file)."),
    feeds_file: Optional[Path] = typer.Option(None, "--feeds-file", "-f", help="A text file with one feed URL per line."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Output folder (default: ./outputs)."),
    config: Optional[Path] = typer.Option(None, "--config", "-c", help="A TOML settings file (see README)."),
) -> None:
    """Watch the feeds on a schedule (PRESENTER_WATCH__CRON, daily by default) in this one process; needs 'prefect server start'."""
    _use_config(config)
    from core import prefect_env
    from core.settings import Settings

    prefect_env.apply()
    from prefect.settings import PREFECT_API_URL

    if not PREFECT_API_URL.value():
        console.fail(PresenterError(
            "Schedules need a running Prefect server; PREFECT_API_URL is not set.",
            "Start one with 'prefect server start' and run 'export PREFECT_API_URL=http://127.0.0.1:4200/api', then 'presenter serve' again.",
        ))
    from flows.watch import watch_feeds

    settings = Settings()
    watch_feeds.serve(
        name="watch-feeds-serve",
        cron=settings.watch.cron,
        parameters={"overrides": _watch_overrides(feeds or [], feeds_file, None, output)},
        description="Digest new episodes of the watched feeds.",
    )


@app.command()
def doctor(config: Optional[Path] = typer.Option(None, "--config", "-c", help="A TOML settings file.")) -> None:
    """Check each engine: is its package installed, are its weights and tools present, how to get what is missing."""
    from rich.console import Console
    from rich.table import Table

    from core.settings import Settings

    from .doctor import checks

    _use_config(config)
    table = Table("stage", "engine", "status", "detail")
    ready = True
    with console.reported():
        rows = checks(Settings())
    for check in rows:
        colour = {"ok": "green", "missing": "red", "optional": "yellow"}[check.status]
        table.add_row(check.stage, check.engine + (" (selected)" if check.selected else ""), f"[{colour}]{check.status}[/]", check.detail)
        ready &= not (check.selected and check.status == "missing")
    Console().print(table)
    if not ready:
        typer.secho("A selected engine is missing something; see the detail column.", fg=typer.colors.RED, err=True)
        raise typer.Exit(code=1)


def main() -> None:  # pragma: no cover - console entry point alias
    app(prog_name="presenter")


if __name__ == "__main__":  # pragma: no cover
    main()
