"""The digest flow: one podcast episode in, its stage outputs in one folder out.

The stages run in the order of ``core.settings.STAGES``; each returns a record
that becomes its manifest entry. Prefect adds what it gives: retries on
network work, content-hash caching, chunk mapping on a bounded pool,
artifacts and run names for the UI.

Credentials in URLs (``https://user:password@host/feed``) never reach Prefect's
database, however the flow is called: ``digest`` is a ``HidingFlow``, which
replaces every credential-bearing string among its arguments by the redacted
form (``core.net.credentials.hide``) before Prefect records the flow run's
parameters and formats its run name. The real URL stays in this process's
memory only, and is put back at the moment it is used: by the HTTP layer for
a request, by ``_settings`` for overrides such as ``openai.base_url``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from prefect import Flow, get_run_logger
from prefect.task_runners import ThreadPoolTaskRunner

from core.artifacts import Transcript
from core.net.credentials import hide, real
from core.settings import STAGES, Settings
from core.weights.catalog import required
from core.weights.pull import pull
from core.workspace import record_stage

from . import progress
from .artifacts import publish_episode, rename_run
from .steps import STEPS, Job, fetch
from .transcription import diarize, transcribe

MAX_POOL = 8


def _each_string(value: Any, change: Callable[[str], str]) -> Any:
    """``value`` with ``change`` applied to every string in it, nested in dicts, lists and tuples."""
    if isinstance(value, str):
        return change(value)
    if isinstance(value, dict):
        return {key: _each_string(item, change) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_each_string(item, change) for item in value)
    return value


def _hidden(value: Any) -> Any:
    """``value`` with the credentials of every URL in it replaced by ***; the real ones kept in this process."""
    return _each_string(value, hide)


def _real(value: Any) -> Any:
    """The inverse of ``_hidden`` for what this process hid: the values the stages use."""
    return _each_string(value, real)


class HidingFlow(Flow[Any, Any]):
    """A flow whose arguments reach Prefect (parameters, run name, events) with every URL's credentials replaced by ***.

    Prefect stores a flow run's parameters as they are passed, before the
    flow's body runs, so the body cannot redact them; hiding them at the call
    is the one place that covers the CLI, ``watch`` and a direct call from
    Python alike. ``with_options`` keeps the class, so ``digest.with_options(...)``
    hides too.
    """

    def __call__(self, *args: Any, return_state: bool = False, wait_for: Any = None, **kwargs: Any) -> Any:
        return super().__call__(*_hidden(args), return_state=return_state, wait_for=wait_for, **_hidden(kwargs))

    def with_options(self, **options: Any) -> HidingFlow:
        configured = super().with_options(**options)
        configured.__class__ = HidingFlow
        return configured  # type: ignore[return-value]


def hiding_flow(**options: Any) -> Callable[[Callable[..., Any]], HidingFlow]:
    """Like ``@flow(...)``, for a ``HidingFlow``."""
    return lambda fn: HidingFlow(fn, **options)


def _settings(output_dir: str | None, language: str | None, portrait: str | None, overrides: dict[str, Any] | None) -> Settings:
    fields = _real(dict(overrides or {}))  # the real URLs (openai.base_url ...) for the stages; the parameters hold them hidden
    if output_dir:
        fields["output_dir"] = output_dir
    if language:
        fields["language"] = language
    if portrait:
        fields["lipsync"] = {**fields.get("lipsync", {}), "portrait": portrait}
    return Settings(**fields)


def _pull_missing(settings: Settings) -> None:
    """The weights the chosen engines need and the cache lacks, pulled before any stage runs (--pull, weights.auto_pull)."""
    for weight in required(settings):
        get_run_logger().info("Pulling %s (about %d MB) from %s", weight.name, weight.size_mb, weight.source)
        with progress.StageProgress("pull", f"Pulling {weight.name}", "B") as bar:
            pull(weight, settings.cache_dir, settings.weights, lambda file: lambda done, total: bar(done, total, file))


WATCH_TAG = "presenter-watch"  # runs the watch started on a work pool; they keep the name it gave them


def _run_name() -> str:
    """'digest <source>' until the episode is known (then 'show – episode'); a run the watch named keeps that name."""
    from prefect.context import FlowRunContext

    context = FlowRunContext.get()
    if context is not None and context.flow_run is not None and WATCH_TAG in context.flow_run.tags:
        return context.flow_run.name
    return f"digest {((context.parameters if context else None) or {}).get('source')}"


@hiding_flow(name="podcast-digest", flow_run_name=_run_name, task_runner=ThreadPoolTaskRunner(max_workers=MAX_POOL), log_prints=True)
def digest(
    source: str,
    episode: str | None = None,
    language: str | None = None,
    until: str = "compose",
    output_dir: str | None = None,
    overrides: dict[str, Any] | None = None,
    portrait: str | None = None,
) -> str:
    """Turn a podcast episode (feed URL, episode URL or local file) into its digest; returns the episode folder.

    ``episode`` picks from a feed: 'latest', an index (0 = newest) or a GUID.
    ``until`` stops after the named stage. ``portrait`` is the presenter's
    photo. ``overrides`` are settings fields (nested dicts, e.g. engines),
    applied over environment and config file.
    """
    logger = get_run_logger()
    if until not in STAGES:
        raise ValueError(f"until must be one of {', '.join(STAGES)}, not {until!r}")
    settings = _settings(output_dir, language, portrait, overrides)
    wanted = STAGES[: STAGES.index(until) + 1]
    if settings.weights.auto_pull:
        _pull_missing(settings)

    fetched = fetch(source, episode, settings)
    job = Job(settings, fetched["episode"], Path(fetched["folder"]), Path(fetched["audio"]))
    rename_run(f"{job.show or 'local file'} – {job.title}")
    record_stage(job.folder, "fetch", {"outputs": [fetched["audio"]], "seconds": fetched["seconds"]})
    logger.info("Episode %r → %s", job.title, job.folder)

    transcribed = False  # whether transcribe wrote the transcript files again in this run
    for stage in wanted[1:]:
        if stage == "transcribe":
            record, cached = transcribe(job)
            transcribed = not cached
        elif stage == "diarize":
            record, cached = diarize(job, rewritten=transcribed)
        else:
            record, cached = STEPS[stage].execute(job)
        record_stage(job.folder, stage, {**record, "cached": cached})
        if stage == "transcribe" and not Transcript.read(job.folder).segments:
            logger.warning("No speech found in %s: the transcript is empty. Check that the episode is not silent.", job.audio)
    if "compose" in wanted:
        logger.info("Presenter video: %s", job.folder / "presenter.mp4")
    publish_episode(job.episode, job.folder, wanted[-1])
    return str(job.folder)
