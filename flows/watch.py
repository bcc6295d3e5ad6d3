"""The feed watch: every new episode of the watched feeds becomes a digest, then feed.xml and index.html are rebuilt.

Scheduled by the 'watch-feeds' deployment (prefect.yaml) or ``presenter serve``.
Which episodes are done lives in the catalog (core/publish/catalog.py; outputs/catalog.sqlite by default).

The digests run in this process (``watch.concurrency`` at once), or, with
``watch.deployment`` set, as runs of that deployment on a work pool, taken by
workers on any machine (flows/dispatch.py). Either way this flow is the one
writer of the episode records and of feed.xml/index.html: it records and
publishes after each finished digest, so workers never write the same file.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_table_artifact

from core.errors import PresenterError, redact
from core.net.credentials import hide
from core.net.feeds import Episode
from core.publish.catalog import Catalog
from core.publish.site import publish
from core.settings import Settings
from core.workspace import episode_dir
from stages import fetch as fetch_stage

from .digest import digest
from .runners import task_runner


def feed_list(settings: Settings, log) -> list[str]:
    """Feeds from settings and the feeds file, in order, each once (a duplicate is reported, not run twice)."""
    feeds = list(settings.watch.feeds)
    if settings.watch.feeds_file:
        path = Path(settings.watch.feeds_file).expanduser()
        if not path.is_file():
            raise PresenterError(f"The feeds file {path} does not exist.", "Set PRESENTER_WATCH__FEEDS_FILE to a text file with one feed URL per line.")
        feeds += [line.split("#", 1)[0].strip() for line in path.read_text(encoding="utf-8").splitlines()]
    unique: dict[str, str] = {}
    for feed in filter(None, feeds):
        key = feed.strip().rstrip("/").lower()
        if key in unique:
            log(f"Feed listed twice, watched once: {redact(feed)}")
            continue
        unique[key] = hide(feed.strip())  # credentials stay in this process: the catalog, the UI and the logs see ***
    return list(unique.values())


@task(name="digest-episode", task_run_name="digest {title}")
def digest_episode(feed: str, selector: str, title: str, overrides: dict[str, Any]) -> str:
    """One episode through the digest flow (a nested flow run, so it has its own page in the UI)."""
    runner = task_runner(Settings(**overrides))
    return digest.with_options(task_runner=runner)(source=feed, episode=selector, overrides=overrides)


def _finished(settings: Settings, catalog: Catalog, report: dict[str, Any], feed: str, episode: Episode, folder: str, attempts: int | None = None) -> None:
    """A finished digest: recorded, reported, and the site published again (this flow is their one writer)."""
    catalog.done(feed, episode.guid, episode.audio_url, episode.published, episode.title, folder, attempts=attempts)
    report["done"].append(folder)
    publish(settings.output_dir, catalog, settings.watch.title, settings.watch.base_url)


def _failed(catalog: Catalog, report: dict[str, Any], feed: str, episode: Episode, reason: str, attempts: int | None = None) -> None:
    catalog.failed(feed, episode.guid, episode.audio_url, episode.published, episode.title, reason, attempts=attempts)
    report["failed"][episode.title] = reason


def _digest_here(settings: Settings, fields: dict[str, Any], catalog: Catalog, todo: list[tuple[str, Episode, str]], report: dict[str, Any]) -> None:
    """Each episode as a nested flow run in this process, ``watch.concurrency`` at once."""
    logger = get_run_logger()
    options = settings.watch
    for start in range(0, len(todo), options.concurrency):
        batch = todo[start : start + options.concurrency]
        futures = [digest_episode.submit(url, selector, e.title, fields) for url, e, selector in batch]
        for (url, episode, _), future in zip(batch, futures):
            future.wait()
            outcome = future.state.result(raise_on_failure=False)
            video = Path(outcome) / "presenter.mp4" if isinstance(outcome, str) else None
            if video and video.is_file():
                _finished(settings, catalog, report, url, episode, str(outcome))
            else:
                reason = str(outcome) if isinstance(outcome, BaseException) else f"no presenter video in {outcome}"
                _failed(catalog, report, url, episode, reason)
                logger.error("Episode %r failed (%s); it will be retried on the next run.", episode.title, reason)


def _dispatch(settings: Settings, catalog: Catalog, todo: list[tuple[str, Episode, str, str]], report: dict[str, Any]) -> None:
    """Each episode as a run of ``watch.deployment`` on its work pool; recorded and published here as each ends."""
    from .dispatch import Dispatched, Pool

    logger = get_run_logger()
    options = settings.watch

    def finished(item: Dispatched, run: Any) -> None:
        episode = item.episode
        folder = episode_dir(settings.output_dir, episode.key, episode.title)
        if item.outcome == "done" and (folder / "presenter.mp4").is_file():
            _finished(settings, catalog, report, item.feed, episode, str(folder), item.attempts)
            return
        state = run.state
        reason = f"run {run.name} {state.name.lower() if state else 'ended'}: {state.message if state else ''}".strip()
        if item.outcome == "done":
            reason = f"no presenter video in {folder} after run {run.name}"
        _failed(catalog, report, item.feed, episode, reason, item.attempts)
        logger.error("Episode %r failed (%s); %s", episode.title, reason,
                     "it will be retried on the next run." if item.attempts < options.max_attempts else f"it has failed {item.attempts} times and is not tried again.")

    from core.net.credentials import has_credentials, real

    locked = [(feed, episode) for feed, episode, _, _ in todo if has_credentials(real(feed)) or has_credentials(real(episode.audio_url))]
    for feed, episode in locked:  # a worker elsewhere would get only the hidden form (***): refuse clearly instead
        reason = "its feed or audio URL holds a user name or password, which would have to be stored in Prefect to reach a worker; watch this feed without PRESENTER_WATCH__DEPLOYMENT"
        _failed(catalog, report, feed, episode, reason, options.max_attempts)
        logger.error("Episode %r not dispatched: %s", episode.title, reason)
    todo = [item for item in todo if (item[0], item[1]) not in locked]
    items = Pool(settings).digest(todo, finished) if todo else []
    waiting = [item.episode.title for item in items if item.outcome is None]
    if waiting:
        report["running"] = waiting
        logger.warning("%d episode(s) still running after %.0f s; the next watch run records them: %s", len(waiting), options.wait_seconds, ", ".join(waiting))


@flow(name="watch-feeds", log_prints=True)
def watch_feeds(feeds: list[str] | None = None, feeds_file: str | None = None, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Digest every new episode of the watched feeds; returns what was done, failed and skipped."""
    logger = get_run_logger()
    fields = dict(overrides or {})
    watch_fields = dict(fields.get("watch", {}))
    if feeds is not None:
        watch_fields["feeds"] = feeds
    if feeds_file is not None:
        watch_fields["feeds_file"] = feeds_file
    fields["watch"] = watch_fields
    settings = Settings(**fields)
    if settings.fetch.guard is None:  # feeds written by others: the address guard is on unless turned off explicitly
        fields["fetch"] = {**fields.get("fetch", {}), "guard": True}
        settings = Settings(**fields)
    options = settings.watch
    catalog = Catalog.of(settings.output_dir, options.catalog_url)
    report: dict[str, Any] = {"done": [], "failed": {}, "broken_feeds": {}, "skipped": 0}

    todo: list[tuple[str, Episode]] = []
    shows: dict[str, str] = {}
    selectors: dict[tuple[str, str], str] = {}  # how the digest finds each episode again: its enclosure URL, or its GUID where the URL is shared
    feeds_to_read = feed_list(settings, logger.warning)
    for url in feeds_to_read:
        try:  # one feed's failure, whatever it is, never stops the others
            feed = fetch_stage.read_any_feed(url, settings.fetch)
            first_run = not catalog.knows_feed(url)
            catalog.checked_feed(url, feed.title)
            shows[url] = feed.title or url
            enclosures = Counter(e.audio_url for e in feed.episodes)
            for position, episode in enumerate(feed.episodes):
                selectors[(url, episode.guid)] = episode.audio_url if enclosures[episode.audio_url] == 1 else episode.guid
                entry = catalog.find(url, episode.guid, episode.audio_url, episode.published)
                if entry is None and first_run and position >= options.newest:
                    catalog.skipped(url, episode.guid, episode.audio_url, episode.published, episode.title)
                    report["skipped"] += 1
                elif entry is None or (entry.status == "failed" and entry.attempts < options.max_attempts):
                    todo.append((url, episode))
        except Exception as error:
            reason = str(error) if isinstance(error, PresenterError) else redact(f"{url} could not be read ({type(error).__name__}: {error}). Tell the publisher; the other feeds are not affected.")
            logger.error("Feed %s skipped this run: %s", url, reason)
            catalog.checked_feed(url, error=reason)
            report["broken_feeds"][url] = reason
            continue
    logger.info("%d episode(s) to digest from %d feed(s)", len(todo), len(feeds_to_read))

    if options.deployment:
        _dispatch(settings, catalog, [(url, e, shows[url], selectors[(url, e.guid)]) for url, e in todo], report)
    else:
        _digest_here(settings, fields, catalog, [(url, e, selectors[(url, e.guid)]) for url, e in todo], report)
    publish(settings.output_dir, catalog, options.title, options.base_url)
    rows = [{"feed": e.feed, "episode": e.title, "status": e.status, "attempts": e.attempts, "error": e.error or ""} for e in catalog.entries() if e.status != "skipped"]
    create_table_artifact(rows or [{"feed": "", "episode": "(none yet)", "status": "", "attempts": 0, "error": ""}], key="watched-episodes", description="Episodes of the watched feeds")
    return report
