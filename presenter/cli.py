"""The ``presenter`` command. Heavy modules (Prefect, models) load inside commands, so --help is instant."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Optional

import typer

from core.errors import PresenterError
from core.registry import SUMMARIZERS, TRANSCRIBERS, VOICES, section_key
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


def _voice(choice: str) -> dict:
    """Settings for ``--voice engine`` or ``--voice engine:voice``: that engine first, then the default order."""
    engine, _, name = choice.partition(":")
    default = NarrateSettings.model_fields["engines"].default
    narrate: dict = {"engines": [engine, *(other for other in default if other != engine)]}
    if name:
        try:
            narrate[section_key(engine)] = VOICES.get(engine).choose(name)
        except ValueError as error:
            console.fail(PresenterError(f"--voice {choice}: {error}.", "List the voices with 'presenter voices'."))
    return narrate


def _start() -> None:
    """Prefect's defaults and logging, and its temporary server (a stale one from a killed run is stopped first)."""
    from flows import prefect_env

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
    episode: str = typer.Option("latest", "--episode", "-e", help="Which feed episode: 'latest', a GUID, the enclosure URL, or a position '#N' (#0 = newest)."),
    index: Optional[int] = typer.Option(None, "--index", "-i", min=0, help="Which feed episode by position (0 = newest); same as -e '#N'."),
    language: Optional[str] = typer.Option(None, "--language", "-l", help="Force the spoken language (en, zh, ...); detected if omitted."),
    until: str = typer.Option("compose", "--until", "-u", callback=_stage, help=f"Stop after this stage: {', '.join(STAGES)}."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Output folder (default: ./outputs or PRESENTER_OUTPUT_DIR)."),
    engine: Optional[str] = typer.Option(None, help=f"Transcription engine: {', '.join(TRANSCRIBERS.names())}."),
    model: Optional[str] = typer.Option(None, help="Whisper model: base, tiny.en, or a path."),
    summarizer: Optional[str] = typer.Option(None, help=f"Summary engine, no fallback: {', '.join(SUMMARIZERS.names())}."),
    portrait: Optional[Path] = typer.Option(None, "--portrait", "-p", help="Photo of the presenter (default: the bundled astronaut portrait)."),
    voice: Optional[str] = typer.Option(None, help=f"Voice first in line: an engine ({', '.join(VOICES.names())}) or engine:voice, e.g. kokoro:jf_alpha ('presenter voices')."),
    height: Optional[int] = typer.Option(None, help="Video height: 720 (default) or 1080."),
    guard: Optional[bool] = typer.Option(None, "--guard/--no-guard", help="Refuse private and local network addresses (default: off for run, on for watch/serve)."),
    terms: Optional[str] = typer.Option(None, "--terms", "-t", help="Names and terms to spell right, comma-separated (e.g. '王磊, CATL, Kubernetes'); added to those of the show notes."),
    terms_file: Optional[Path] = typer.Option(None, "--terms-file", help="A text file of names and terms, one per line."),
    speakers: Optional[int] = typer.Option(None, "--speakers", "-s", min=0, help="How many people speak (0 = find out, the default); --no-speakers turns speaker labels off."),
    no_speakers: bool = typer.Option(False, "--no-speakers", help="Do not tell speakers apart."),
    soundbites: Optional[int] = typer.Option(None, "--soundbites", min=0, max=6, help="Soundbites of the episode's own voices in the digest (default: 2 from 3 minutes, else 1; 0 = none)."),
    pull: bool = typer.Option(False, "--pull", help="First pull the weights the chosen engines lack ('presenter weights list')."),
    config: Optional[Path] = typer.Option(None, "--config", "-c", help="A TOML settings file (see README)."),
) -> None:
    """Run the digest flow on one episode and print the folder with its outputs."""
    _use_config(config)
    overrides: dict = {"weights": {"auto_pull": True}} if pull else {}
    if terms:
        overrides["terms"] = [t.strip() for t in re.split(r"[,，、;；]", terms) if t.strip()]
    if terms_file:
        overrides["terms_file"] = str(terms_file.expanduser().resolve())
    if guard is not None:
        overrides["fetch"] = {"guard": guard}
    if speakers is not None or no_speakers:
        overrides["diarize"] = {"enabled": not no_speakers, **({"speakers": speakers} if speakers is not None else {})}
    if engine or model:
        overrides["transcribe"] = {k: v for k, v in {"engine": engine, "model": model}.items() if v}
    if summarizer:
        overrides["summarize"] = {"engines": [summarizer]}
    if soundbites is not None:
        overrides.setdefault("summarize", {})["soundbites"] = soundbites
    if portrait:
        overrides["lipsync"] = {"portrait": str(portrait.expanduser().resolve())}
    if voice:
        overrides["narrate"] = _voice(voice)
    if height:
        overrides["compose"] = {"height": height}
    if index is not None:
        episode = f"#{index}"
    with console.reported():
        from core.net.credentials import hide
        from core.settings import Settings
        from stages.fetch import resolve

        settings = Settings(**overrides)
        source, episode = hide(source), hide(episode)  # the flow's parameters, run name and records see *** for credentials
        with console.warnings_shown():
            resolve(source, settings.fetch, episode)  # a bad source or episode is reported now, before Prefect starts
        from flows.digest import digest
        from flows.runners import task_runner

        runner = task_runner(settings)
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

    with console.reported(), console.warnings_shown():
        parsed = read_any_feed(feed, Settings().fetch)
    typer.echo(f"{parsed.title} — {len(parsed.episodes)} episodes")
    for index, item in enumerate(parsed.episodes[:limit]):
        minutes = f"{item.duration_seconds / 60:.0f} min" if item.duration_seconds else "?"
        typer.echo(f"[#{index}] {(item.published or '')[:10]}  {minutes:>7}  {item.title}\n      guid: {item.guid}")


def _watch_overrides(feeds: list[str], feeds_file: Optional[Path], newest: Optional[int], output: Optional[Path]) -> dict:
    watch: dict = {}
    if feeds:
        from core.net.credentials import hide

        watch["feeds"] = [hide(feed) for feed in feeds]  # credentials stay in this process, out of Prefect's database
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
    from core.settings import Settings
    from flows import prefect_env

    prefect_env.apply()
    from prefect.settings import PREFECT_API_URL

    if not PREFECT_API_URL.value():
        console.fail(PresenterError(
            "Schedules need a running Prefect server; PREFECT_API_URL is not set.",
            "Start one with 'prefect server start' and run 'export PREFECT_API_URL=http://127.0.0.1:4200/api', then 'presenter serve' again.",
        ))
    from core.net.credentials import has_credentials
    from flows.watch import watch_feeds

    if any(has_credentials(feed) for feed in feeds or []):
        console.fail(PresenterError(
            "A feed URL given to 'presenter serve' holds a user name or password; it would be stored in Prefect's database.",
            "Put that feed in the feeds file (--feeds-file or PRESENTER_WATCH__FEEDS_FILE) instead: it is read by each run and never stored.",
        ))
    settings = Settings()
    watch_feeds.serve(
        name="watch-feeds-serve",
        cron=settings.watch.cron,
        parameters={"overrides": _watch_overrides(feeds or [], feeds_file, None, output)},
        description="Digest new episodes of the watched feeds.",
    )


@app.command(name="cluster-demo")
def cluster_demo(
    folder: Path = typer.Option(Path(".cache/cluster-demo"), "--folder", help="Where the demo keeps PostgreSQL, the workers' folders, the logs and the shared outputs."),
    workers: int = typer.Option(2, min=1, help="Workers to start, each in its own working folder."),
    full: bool = typer.Option(False, "--full", help="The configured engines instead of the fast ones (tiny.en, extractive summary, espeak)."),
) -> None:
    """On this machine: PostgreSQL, a Prefect server on it, the pool, workers and a watch of two local feeds (README: Many feeds, many machines)."""
    from . import cluster

    with console.reported():
        cluster.demo(folder, workers=workers, fast=not full, say=typer.echo)


@app.command()
def say(
    text: str = typer.Argument(..., help="What to say, or a text file holding it (Chinese, English or both)."),
    output: Path = typer.Option(..., "--output", "-o", help="The WAV file to write."),
    voice: Optional[str] = typer.Option(None, help="An engine or engine:voice (see 'presenter voices'); default: the configured order."),
    language: Optional[str] = typer.Option(None, "--language", "-l", help="zh or en; default: zh if the text has Chinese characters."),
    config: Optional[Path] = typer.Option(None, "--config", "-c", help="A TOML settings file."),
) -> None:
    """Speak a text through the narrate stage (normalisation, voices, loudness) into a WAV file, to choose a voice by ear."""
    import shutil
    import tempfile

    from core.artifacts import Narration
    from core.settings import Settings
    from core.text import has_cjk
    from stages.narrate import narrate

    _use_config(config)
    try:
        content = Path(text).read_text(encoding="utf-8") if Path(text).is_file() else text
    except (OSError, ValueError):  # a long text is not a file name
        content = text
    with console.reported():
        settings = Settings(narrate=_voice(voice)) if voice else Settings()
        with tempfile.TemporaryDirectory(prefix="presenter-say-") as folder:
            (Path(folder) / "script.txt").write_text(content, encoding="utf-8")
            narrate(Path(folder) / "script.txt", Path(folder), settings.narrate, settings.context, language=language or ("zh" if has_cjk(content) else "en"))
            made = Narration.read(Path(folder))
            output.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(Path(folder) / "narration.wav", output)
    typer.echo(f"{output}: {made.duration:.1f} s, {', '.join(made.models)}")


@app.command()
def voices(config: Optional[Path] = typer.Option(None, "--config", "-c", help="A TOML settings file.")) -> None:
    """Every voice: its languages, licence, and whether it is installed; try one with 'presenter say --voice'."""
    from rich.console import Console
    from rich.table import Table

    from core.settings import Settings

    _use_config(config)
    with console.reported():
        settings = Settings()
    table = Table("voice", "languages", "licence", "installed", "note")
    for engine in VOICES.engines():
        for info in engine.voices(settings.narrate, settings.context):
            table.add_row(info.name, ", ".join(info.languages), info.license, "[green]yes[/]" if info.installed else "[red]no[/]", info.note)
    Console().print(table)


weights_app = typer.Typer(help="Weights every engine can use: list them, pull the ones that are not shipped in a package.", no_args_is_help=True)
app.add_typer(weights_app, name="weights")


@weights_app.command("list")
def weights_list(config: Optional[Path] = typer.Option(None, "--config", "-c", help="A TOML settings file.")) -> None:
    """Every engine's weights: size, licence (non-commercial marked), installed or not, and where they come from."""
    from rich.console import Console
    from rich.table import Table

    from core.settings import Settings
    from core.weights.catalog import all_weights
    from core.weights.pull import pulled_ggufs

    _use_config(config)
    with console.reported():
        settings = Settings()
    table = Table("installed", "size", "licence", "comes from")
    table.columns[0].no_wrap = True
    table.add_column("name (engine)", no_wrap=True)
    table.columns.insert(0, table.columns.pop())
    for weight in all_weights():
        licence = f"[bold red]{weight.license}[/]" if weight.non_commercial else weight.license
        installed = "[green]yes[/]" if weight.installed(settings.cache_dir) else "[red]no[/]"
        table.add_row(f"{weight.name} ({weight.engine})", installed, f"{weight.size_mb:,} MB", licence, weight.source)
    for gguf in pulled_ggufs(settings.cache_dir):
        table.add_row(f"gguf:{gguf.name} (embedded)", "[green]yes[/]", f"{gguf.stat().st_size // 1_000_000:,} MB", "the model's own", "pulled by URL")
    Console().print(table)
    typer.echo("Pull one with 'presenter weights pull NAME' (any llama.cpp model: 'presenter weights pull gguf:URL').")


@weights_app.command("pull")
def weights_pull(
    names: list[str] = typer.Argument(..., help="Weights to fetch, e.g. faster-whisper:small whisper:turbo paddlespeech:fastspeech2_csmsc paddlegan:wav2lip_hq gguf:URL."),
    sha256: Optional[str] = typer.Option(None, "--sha256", help="Expected sha256 of a gguf:URL download."),
    config: Optional[Path] = typer.Option(None, "--config", "-c", help="A TOML settings file."),
) -> None:
    """Download weights into the cache: resumable, checksum-verified, installed only when whole (PRESENTER_WEIGHTS__MIRROR for a mirror)."""
    from core.settings import Settings
    from core.weights.catalog import weight_named

    _use_config(config)
    with console.reported():
        settings = Settings()
        chosen = [weight_named(name, sha256) for name in names]
        for weight in chosen:
            folder = console.pull(weight, settings)
            typer.echo(f"{weight.name}: {folder}")


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
