"""Episodes as runs of the 'digest' deployment: any worker of its pool, on any machine, takes them.

The watch is the coordinator. For each new episode it creates a flow run of
the deployment named in ``watch.deployment``, with an idempotency key made of
the feed, the GUID and the attempt number: two watch runs that overlap ask
for the same key and get the same run, so no episode is started twice. The
attempt number is read from Prefect itself (the runs with this episode's keys),
so overlapping watch runs agree on it too.

A worker that dies mid-episode (the machine, the process) stops the run's
heartbeats; an automation on the server (``ensure_crash_detection``) marks such
a run crashed after ``watch.crash_after_seconds``, and the watch starts the
next attempt at once on whichever worker is alive. The stages finished before
the crash are reused: the episode folder and Prefect's result records are on
the storage every worker mounts (``output_dir``; results under
``output_dir/.prefect-results``), and the stages' cache keys are their inputs'
content. A run that *fails* (the episode's own fault: a 404, a web page for
audio) is retried by the next watch run, up to ``watch.max_attempts``.

The workers write only their episode folders (and the feed host's voice in
the catalog); the watch run is the one writer of the catalog's episode
records and of feed.xml and index.html (``flows/watch.py``).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import UUID

from prefect import get_run_logger
from prefect.client.orchestration import SyncPrefectClient, get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterDeploymentId, FlowRunFilterIdempotencyKey
from prefect.client.schemas.objects import FlowRun
from prefect.deployments import run_deployment
from sqlalchemy.engine import URL, make_url

from core.net.feeds import Episode
from core.settings import Settings

from .digest import WATCH_TAG

CRASH_AUTOMATION = "presenter: crash silent digests"
HEARTBEAT_SECONDS = 30  # Prefect's shortest flow-run heartbeat
POLL_SECONDS = 2.0


def episode_key(feed: str, guid: str) -> str:
    """The stable part of an episode's idempotency key: its feed and GUID (hashed: any length, any characters)."""
    return "presenter-" + hashlib.sha256(f"{feed}\n{guid}".encode()).hexdigest()[:24]


def attempt_keys(feed: str, guid: str, attempts: int) -> list[str]:
    base = episode_key(feed, guid)
    return [f"{base}-attempt-{n}" for n in range(attempts)]


def ensure_crash_detection(client: SyncPrefectClient, deployment_id: UUID, within: int) -> None:
    """The server's automation that marks a digest run crashed when its heartbeats stop (a dead worker); created once."""
    from prefect.events.actions import ChangeFlowRunState
    from prefect.events.schemas.automations import AutomationCore, EventTrigger, Posture

    name = f"{CRASH_AUTOMATION} ({deployment_id}, {within}s)"
    if client.read_automations_by_name(name):
        return
    client.create_automation(AutomationCore(
        name=name,
        description="A digest run whose worker died sends no more heartbeats: mark it crashed, so the watch starts it again elsewhere.",
        trigger=EventTrigger(
            match={"prefect.resource.id": "prefect.flow-run.*"},
            match_related={"prefect.resource.id": f"prefect.deployment.{deployment_id}"},  # digest runs only
            after={"prefect.flow-run.heartbeat"},
            expect={"prefect.flow-run.heartbeat", "prefect.flow-run.Completed", "prefect.flow-run.Failed", "prefect.flow-run.Cancelled", "prefect.flow-run.Crashed"},
            for_each={"prefect.resource.id"},
            posture=Posture.Proactive,
            threshold=1,
            within=within,
        ),
        actions=[ChangeFlowRunState(state="CRASHED", message=f"No heartbeat for {within} s: the worker running it is gone.")],
    ))


@dataclass
class Dispatched:
    """One episode handed to the pool: its runs so far, the one being followed, and how it ended."""

    feed: str
    episode: Episode
    selector: str  # how the digest finds the episode in the feed: its enclosure URL, or its GUID
    runs: list[FlowRun] = field(default_factory=list)  # final runs before the current one (failed, crashed, cancelled)
    current: FlowRun | None = None
    outcome: str | None = None  # 'done', 'failed' or None (still running when the watch stopped waiting)

    @property
    def attempts(self) -> int:
        return len(self.runs) + (1 if self.current is not None else 0)


class Pool:
    """The watch's side of the work pool: start each episode's run once, follow it, start it again after a crash."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.options = settings.watch
        self.name = str(self.options.deployment)
        self.log = get_run_logger()

    def overrides(self) -> dict[str, Any]:
        """The watch's settings for the digest, as the worker gets them: everything set here (environment, TOML,
        arguments) but what belongs to each machine (its weights cache) and secrets (OpenAI keys: each worker's own);
        URL credentials hidden, as the digest flow hides them. The output folder is absolute: every worker mounts it there."""
        from .digest import _hidden

        fields = dict(_hidden(self.settings.model_dump(mode="json", exclude_unset=True, exclude={"cache_dir", "openai"})))
        fields["output_dir"] = str(Path(self.settings.output_dir).resolve())
        if self.settings.watch.catalog_url:  # the database's user stays (a role, not a secret); a password never reaches Prefect: PGPASSWORD or ~/.pgpass on each worker
            url = make_url(self.settings.watch.catalog_url)
            bare = URL.create(url.drivername, url.username, None, url.host, url.port, url.database, url.query)
            fields.setdefault("watch", {})["catalog_url"] = bare.render_as_string(hide_password=False)
        return fields

    def _runs(self, client: SyncPrefectClient, deployment_id: UUID, feed: str, guid: str) -> list[FlowRun]:
        """This episode's runs so far, in attempt order."""
        keys = attempt_keys(feed, guid, self.options.max_attempts)
        found = client.read_flow_runs(flow_run_filter=FlowRunFilter(
            deployment_id=FlowRunFilterDeploymentId(any_=[deployment_id]), idempotency_key=FlowRunFilterIdempotencyKey(any_=keys),
        ))
        return sorted(found, key=lambda run: keys.index(str(run.idempotency_key)))

    def _start(self, item: Dispatched, show: str) -> FlowRun:
        """The run of the next attempt (the existing one, if another watch run created it first)."""
        keys = attempt_keys(item.feed, item.episode.guid, self.options.max_attempts)
        output = Path(self.settings.output_dir).resolve()
        run = run_deployment(
            self.name,
            parameters={"source": item.feed, "episode": item.selector, "overrides": self.overrides()},
            flow_run_name=f"{show} – {item.episode.title}",
            idempotency_key=keys[len(item.runs)],
            tags=[WATCH_TAG],
            job_variables={"env": {
                "PREFECT_LOCAL_STORAGE_PATH": str(output / ".prefect-results"),  # stage results beside the folders: any worker reuses them
                "PREFECT_FLOWS_HEARTBEAT_FREQUENCY": str(HEARTBEAT_SECONDS),
            }},
            timeout=0,
            as_subflow=False,
        )
        assert isinstance(run, FlowRun)
        return run

    def digest(self, todo: Iterable[tuple[str, Episode, str, str]], finished: Callable[[Dispatched, FlowRun], None]) -> list[Dispatched]:
        """Start (or find) every episode's run; call ``finished`` as each ends for good; returns them all.

        ``todo``: (feed, episode, show title, selector). A crashed run is started again at once (another worker takes
        it) while attempts remain; a failed one waits for the next watch run.
        """
        with get_client(sync_client=True) as client:
            deployment = client.read_deployment_by_name(self.name)
            ensure_crash_detection(client, deployment.id, self.options.crash_after_seconds)
            items: list[Dispatched] = []
            todo = list(todo)
            for feed, episode, show, selector in todo:
                item = Dispatched(feed, episode, selector)
                for run in self._runs(client, deployment.id, feed, episode.guid):
                    if run.state is not None and run.state.is_final() and not run.state.is_completed():
                        item.runs.append(run)
                    else:
                        item.current = run
                        break
                if item.current is None and len(item.runs) < self.options.max_attempts:
                    item.current = self._start(item, show)
                    self.log.info("Episode %r → run %s (attempt %d)", episode.title, item.current.name, item.attempts)
                elif item.current is None:  # every attempt used by earlier runs
                    item.outcome = "failed"
                    finished(item, item.runs[-1])
                items.append(item)
            shows = {id(item): show for item, (_, _, show, _) in zip(items, todo)}
            deadline = time.monotonic() + self.options.wait_seconds
            while any(item.outcome is None for item in items) and time.monotonic() < deadline:
                for item in items:
                    if item.outcome is not None or item.current is None:
                        continue
                    run = client.read_flow_run(item.current.id)
                    if run.state is None or not run.state.is_final():
                        continue
                    if run.state.is_completed():
                        item.outcome = "done"
                        item.current = run
                        finished(item, run)
                    elif run.state.is_crashed() and item.attempts < self.options.max_attempts:
                        self.log.warning("Run %s of %r crashed (%s); starting it again on another worker.", run.name, item.episode.title, run.state.message)
                        item.runs.append(run)
                        item.current = self._start(item, shows[id(item)])
                    else:
                        item.outcome = "failed"
                        item.current = run
                        finished(item, run)
                time.sleep(POLL_SECONDS)
        return items

