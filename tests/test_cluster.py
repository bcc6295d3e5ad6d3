"""Issue 29: many feeds, many machines. PostgreSQL, a Prefect server on it, two workers, overlapping watch runs, a killed worker.

Everything is real and on 127.0.0.1: PostgreSQL from Debian's package in a
folder of its own, ``prefect server start`` on it, the ``presenter`` process
pool and the ``digest`` deployment, two ``prefect worker start`` processes
(each in its own working folder), ``presenter watch`` as subprocesses, and a
feed of four spoken episodes and one poison episode (a web page for audio)
served by a local HTTP server.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import feedparser
import httpx
import psutil
import pytest

from core.publish.catalog import Catalog
from presenter.cluster import DEPLOYMENT, ROOT, Cluster, Postgres, wait_for

from .support import LocalServer, Route, rss

pytestmark = [pytest.mark.slow, pytest.mark.cluster]

EPISODES = 4
FAST_ENV = {
    "PRESENTER_TRANSCRIBE__MODEL": "tiny.en", "PRESENTER_SUMMARIZE__ENGINES": '["extractive"]', "PRESENTER_NARRATE__ENGINES": '["espeak"]',
    "PRESENTER_FETCH__ALLOW": '["127.0.0.1"]', "PRESENTER_FETCH__ATTEMPTS": "1",
}


class Api(httpx.Client):
    def post_json(self, path: str, body: dict) -> Any:
        response = self.post(path, json=body)
        response.raise_for_status()
        return response.json()

    def digest_runs(self, deployment_id: str) -> list[dict]:
        return self.post_json("/flow_runs/filter", {"flow_runs": {"deployment_id": {"any_": [deployment_id]}}, "limit": 200})

    def task_runs(self, run_id: str) -> list[dict]:
        return self.post_json("/task_runs/filter", {"flow_runs": {"id": {"any_": [run_id]}}, "limit": 200})

    def submitted_by(self) -> dict[str, str]:
        """Flow run id → the worker that took it, from the workers' own events in the API."""
        body = {"filter": {"event": {"name": ["prefect.worker.submitted-flow-run"]}, "occurred": {"since": "2000-01-01T00:00:00Z"}}, "limit": 50}
        events = self.post_json("/events/filter", body)["events"]
        taken = {}
        for event in events:
            for related in event["related"]:
                if related["prefect.resource.id"].startswith("prefect.flow-run."):
                    taken[related["prefect.resource.id"].removeprefix("prefect.flow-run.")] = event["resource"]["prefect.resource.name"]
        return taken


@pytest.fixture(scope="module")
def postgres():
    """One PostgreSQL cluster (Debian's package) for this module, in a folder of its own on 127.0.0.1."""
    server = Postgres().start()
    yield server
    server.stop()
    shutil.rmtree(server.folder, ignore_errors=True)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_the_catalog_on_sqlite_and_postgresql_with_concurrent_writers(backend, postgres, tmp_path):
    """The same records on both; eight processes at once remember hosts and record failures without losing one."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'catalog.sqlite'}"
    else:
        url = postgres.database("catalog_test")  # not the cluster test's catalog
    catalog = Catalog(url)
    assert not catalog.knows_feed("f")
    catalog.checked_feed("f", "Feed")
    catalog.checked_feed("f", None, error="late")
    catalog.failed("f", "g1", "http://x/1.mp3", None, "One", "boom")
    catalog.failed("f", "g1", "http://x/1.mp3", None, "One", "boom again")
    catalog.failed("f", "g4", "http://x/4.mp3", None, "Four", "crashed", attempts=2)
    catalog.failed("f", "g4", "http://x/4.mp3", None, "Four", "crashed", attempts=2)  # a second watch run recording the same run
    catalog.skipped("f", "g2", "http://x/2.mp3", None, "Two")
    catalog.done("f", "g3-old", "http://x/3.mp3", "2024-01-01", "Three", "/folder")
    catalog.done("f", "g3-new-guid", "http://x/3.mp3", "2024-01-01", "Three", "/folder")
    assert catalog.knows_feed("f")
    assert sorted((e.guid, e.attempts, e.error) for e in catalog.entries("failed")) == [("g1", 2, "boom again"), ("g4", 2, "crashed")]
    assert [(e.guid, e.attempts) for e in catalog.entries("done")] == [("g3-new-guid", 2)], "a changed GUID keeps one row"
    assert catalog.find("f", "other-guid", "http://x/3.mp3", "2024-01-01").title == "Three", "found by enclosure and date"
    assert catalog.find("f", "other-guid", "http://x/2.mp3", None).title == "Two", "a missing date matches a missing date"
    assert [e.attempts for e in catalog.entries("skipped")] == [0]

    writer = (
        "import sys; from core.publish.catalog import Catalog; from core.artifacts import HostVoice\n"
        "c = Catalog(sys.argv[1]); n = int(sys.argv[2])\n"
        "for i in range(20):\n"
        "    c.remember_host(f'feed-{i % 3}', HostVoice(voiceprint=[float(n)] * 4, heard_in=[f'ep-{n}-{i}']))\n"
        "    c.failed('w', f'g-{n}', None, None, 'x', 'e')\n"
        "    c.update_host('one-feed', lambda now: HostVoice(voiceprint=[1.0] * 4, heard_in=[*(now.heard_in if now else []), f'{n}-{i}']))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    writers = [subprocess.Popen([sys.executable, "-c", writer, url, str(n)], env=env, stderr=subprocess.PIPE, text=True) for n in range(8)]
    errors = [w.communicate(timeout=300)[1] for w in writers]
    assert [w.returncode for w in writers] == [0] * 8, errors
    assert sorted(e.attempts for e in catalog.entries("failed") if e.feed == "w") == [20] * 8, "no write lost"
    assert all(catalog.host(f"feed-{i}") is not None for i in range(3))
    heard = catalog.host("one-feed").heard_in
    assert len(heard) == 160 and len(set(heard)) == 160, "a host voice changed by eight processes at once loses no episode"


def _stage(task_run: dict) -> str:
    """The stage of a task run: its name without Prefect's suffix ('summarize-3fa' → 'summarize')."""
    return str(task_run["name"]).rsplit("-", 1)[0]


def _watch(cluster: Cluster, env: dict[str, str], name: str, feed: str) -> subprocess.Popen:
    return cluster.start_process(name, [str(Path(sys.executable).with_name("presenter")), "watch", feed], env=env)


def _finished(process: subprocess.Popen, timeout: float) -> int:
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        raise AssertionError("a watch run did not end") from None


def test_two_workers_on_postgres_overlapping_watches_and_a_killed_worker(postgres, jfk_mp3, tmp_path):
    shared = tmp_path / "shared"  # the folder every worker mounts
    with LocalServer() as web, Cluster(tmp_path / "cluster", postgres=postgres) as cluster:
        web.routes["/ep.mp3"] = Route(jfk_mp3.read_bytes(), content_type="audio/mpeg")
        web.routes["/page.mp3"] = Route(b"<html>not audio</html>", content_type="text/html")
        items = [{"title": f"Ask Not {n}", "guid": f"ep-{n}", "url": web.url("/ep.mp3"), "date": f"Mon, {10 + n:02d} Jun 2024 10:00:00 +0000"} for n in range(1, EPISODES + 1)]
        items.append({"title": "Poison", "guid": "poison", "url": web.url("/page.mp3"), "date": "Mon, 01 Jun 2024 10:00:00 +0000"})
        web.routes["/feed.xml"] = Route(rss("Speeches", items), content_type="application/rss+xml")
        feed = web.url("/feed.xml")
        catalog_url = cluster.postgres.url("presenter")
        env = {**cluster.env, **FAST_ENV, "PRESENTER_OUTPUT_DIR": str(shared), "PRESENTER_WATCH__DEPLOYMENT": DEPLOYMENT,
               "PRESENTER_WATCH__CATALOG_URL": catalog_url, "PRESENTER_WATCH__NEWEST": "5", "PRESENTER_WATCH__MAX_ATTEMPTS": "2",
               "PRESENTER_WATCH__CRASH_AFTER_SECONDS": "60", "COLUMNS": "200"}
        workers = {name: cluster.worker(name) for name in ("worker-a", "worker-b")}
        api = Api(base_url=cluster.api_url, timeout=30)
        deployment_id = api.get("/deployments/name/" + DEPLOYMENT).json()["id"]

        # Two watch runs at once: the same five episodes, each started once (idempotency keys).
        watches = [_watch(cluster, env, f"watch-{n}", feed) for n in (1, 2)]
        runs = wait_for(lambda: (r := api.digest_runs(deployment_id)) and len(r) >= EPISODES + 1 and r, 300, "the digest runs")

        # Kill, by PID, the worker running an episode past its summary (and the run's process: the machine is gone).
        def victim():
            for run in api.digest_runs(deployment_id):
                if run["state_type"] == "RUNNING" and any(_stage(t) == "summarize" and t["state_type"] == "COMPLETED" for t in api.task_runs(run["id"])):
                    return run
            return None

        killed_run = wait_for(victim, 400, "an episode past its summary", every=0.5)
        run_pid = int(str(killed_run["infrastructure_pid"]).rsplit(":", 1)[-1])
        owner = next(name for name, w in workers.items() if w.pid in {p.pid for p in psutil.Process(run_pid).parents()})
        before = {_stage(t): t["state_type"] for t in api.task_runs(killed_run["id"])}
        os.kill(workers[owner].pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):  # the run's process may already have gone with its worker
            os.kill(run_pid, signal.SIGKILL)
        workers[owner].wait(timeout=30)
        with contextlib.suppress(ProcessLookupError):  # what the run had started (ffmpeg) goes with the machine
            os.killpg(workers[owner].pid, signal.SIGKILL)
        with contextlib.suppress(psutil.NoSuchProcess):
            psutil.Process(run_pid).wait(timeout=30)  # gone: the run's heartbeats stop

        codes = [_finished(w, 600) for w in watches]
        logs = {name: cluster.log(name).read_text(errors="replace") for name in ("watch-1", "watch-2")}
        assert codes == [1, 1], logs  # the poison episode failed once: reported, exit code 1
        for text in logs.values():
            assert f"{EPISODES} digest(s) made" in text and "failed: Poison" in text, text[-3000:]

        runs = api.digest_runs(deployment_id)
        by_key: dict[str, list[dict]] = {}
        for run in runs:
            by_key.setdefault(run["idempotency_key"].rsplit("-attempt-", 1)[0], []).append(run)
        states = sorted(r["state_type"] for r in runs)
        assert len(by_key) == EPISODES + 1 and len(runs) == EPISODES + 2, [(r["name"], r["state_type"], r["idempotency_key"]) for r in runs]
        assert states.count("COMPLETED") == EPISODES and states.count("CRASHED") == 1 and states.count("FAILED") == 1, states
        assert len({r["idempotency_key"] for r in runs}) == len(runs), "no key twice: no episode started twice by the two watches"
        completed = sorted(sum(r["state_type"] == "COMPLETED" for r in group) for group in by_key.values())
        assert completed == [0] + [1] * EPISODES, "every episode digested exactly once (the poison one never)"
        assert all(" – " in r["name"] and r["name"].startswith("Speeches – ") for r in runs), [r["name"] for r in runs]

        crashed = next(r for r in runs if r["state_type"] == "CRASHED")
        assert crashed["id"] == killed_run["id"]
        again = next(r for r in by_key[crashed["idempotency_key"].rsplit("-attempt-", 1)[0]] if r["id"] != crashed["id"])
        assert again["state_type"] == "COMPLETED" and again["idempotency_key"].endswith("-attempt-1")
        taken = api.submitted_by()
        survivor = next(name for name in workers if name != owner)
        assert taken[again["id"]] == survivor, "the other worker finished the killed worker's episode"
        assert set(taken[r["id"]] for r in runs) == {"worker-a", "worker-b"}, "both workers took runs"
        reused = {_stage(t): t["state_name"] for t in api.task_runs(again["id"])}
        finished_before = [name for name, state in before.items() if state == "COMPLETED" and name in ("split", "transcribe", "summarize")]
        assert finished_before and all(reused[name] == "Cached" for name in finished_before), (before, reused)
        assert reused.get("compose") == "Completed", reused

        # Feed and catalog: all four, once; the poison episode recorded with its attempts.
        parsed = feedparser.parse((shared / "feed.xml").read_bytes())
        ElementTree.fromstring((shared / "feed.xml").read_bytes())
        assert parsed.version == "rss20" and not parsed.bozo
        assert sorted(e.title for e in parsed.entries) == [f"Speeches – Ask Not {n}" for n in range(1, EPISODES + 1)]
        catalog = Catalog(catalog_url)
        assert len(catalog.entries("done")) == EPISODES
        assert [(e.title, e.attempts) for e in catalog.entries("failed")] == [("Poison", 1)]
        assert not (shared / "catalog.sqlite").exists(), "the catalog is in PostgreSQL, not a SQLite file on the shared folder"
        host = catalog.host(feed)
        assert host is not None and len(host.heard_in) == EPISODES, "the workers remembered the feed's host voice in PostgreSQL, once per episode"

        # The next watch run: the poison episode's second and last attempt; nothing else started again.
        third = _watch(cluster, env, "watch-3", feed)
        assert _finished(third, 300) == 1
        text = cluster.log("watch-3").read_text(errors="replace")
        assert "0 digest(s) made" in text and "failed: Poison" in text, text[-3000:]
        assert len(api.digest_runs(deployment_id)) == EPISODES + 3
        assert [(e.title, e.attempts) for e in catalog.entries("failed")] == [("Poison", 2)]
        fourth = _watch(cluster, env, "watch-4", feed)
        assert _finished(fourth, 300) == 0, cluster.log("watch-4").read_text(errors="replace")[-3000:]
        assert len(api.digest_runs(deployment_id)) == EPISODES + 3, "a poison episode stops after max_attempts"

        everything = "\n".join(p.read_text(errors="replace") for p in cluster.folder.glob("*.log"))
        assert not re.search(r"status code 503|\b503 Service Unavailable|\" 503\b", everything), "the server on PostgreSQL never answered 503"
        assert all(p.poll() is None for name, p in cluster.processes.items() if name in ("server", survivor))
    assert all(p.poll() is not None for p in cluster.processes.values()), "everything the test started is stopped"
    assert ROOT.is_dir()
