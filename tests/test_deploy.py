"""The README's scheduled-digest commands for real on 127.0.0.1: server, work pool, deploy, worker, a run; and 'presenter serve'."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from tenacity import retry, retry_if_result, stop_after_attempt, wait_fixed

from presenter.cluster import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.flow]

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Started:
    """Processes this test starts, each in its own process group, all stopped at the end."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env, self.logs, self.processes = env, logs, []

    def start(self, name: str, *command: str) -> subprocess.Popen:
        log = open(self.logs / f"{name}.log", "wb")
        process = subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.processes.append(process)
        return process

    def run(self, *command: str) -> str:
        done = subprocess.run(command, cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    def stop_all(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


class Api(httpx.Client):
    """The server's REST API, read the way Prefect's own client reads it: a 503 (SQLite busy) is asked again."""

    @retry(retry=retry_if_result(lambda response: response.status_code == 503), stop=stop_after_attempt(10), wait=wait_fixed(1), retry_error_callback=lambda state: state.outcome.result())
    def _get(self, path: str) -> httpx.Response:
        return self.get(path)

    def read(self, path: str) -> dict:
        response = self._get(path)
        response.raise_for_status()
        return response.json()


def _finish(api: Api, run_id: str, timeout: float = 420) -> dict:
    def final():
        run = api.read(f"/flow_runs/{run_id}")
        return run if run["state"]["type"] in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED") else None

    return wait_for(final, timeout, f"flow run {run_id}")


def _run_deployment(started: Started, name: str, *params: str) -> str:
    """Start a run with the README's own command, whose client retries a busy server; returns its id."""
    out = started.run(str(BIN / "prefect"), "deployment", "run", name, *(arg for p in params for arg in ("--param", p)))
    found = re.search(r"UUID: ([0-9a-f-]{36})", out)
    assert found, out
    return found.group(1)


def test_server_deploy_worker_and_serve(tmp_path, jfk_flac):
    port = _free_port()
    env = {
        **os.environ,
        "PREFECT_HOME": str(tmp_path / "prefect"), "PREFECT_API_URL": f"http://127.0.0.1:{port}/api",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1", "PREFECT_SERVER_UI_V2_ENABLED": "false",
        "PRESENTER_OUTPUT_DIR": str(tmp_path / "outputs"), "PRESENTER_TRANSCRIBE__MODEL": "tiny.en",
        "PRESENTER_SUMMARIZE__ENGINES": '["extractive"]', "PRESENTER_NARRATE__ENGINES": '["embedded"]', "PRESENTER_WATCH__CRON": "*/5 * * * *",
    }
    env.pop("PREFECT_SERVER_EPHEMERAL_ENABLED", None)
    started = Started(env, tmp_path)
    try:
        server = started.start("server", str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port))
        api = Api(base_url=env["PREFECT_API_URL"], timeout=30)
        wait_for(lambda: api.get("/health").status_code == 200, 180, "the Prefect server")

        started.run(str(BIN / "prefect"), "work-pool", "create", "presenter", "--type", "process")
        started.run(str(BIN / "prefect"), "--no-prompt", "deploy", "--all")
        watch = api.read("/deployments/name/watch-feeds/watch-feeds")
        assert [s["schedule"]["cron"] for s in watch["schedules"]] == ["0 6 * * *"], "the watch is scheduled daily"

        started.start("worker", str(BIN / "prefect"), "worker", "start", "--pool", "presenter")
        finished = _finish(api, _run_deployment(started, "podcast-digest/digest", f"source={jfk_flac}", "until=compose"))
        assert finished["state"]["type"] == "COMPLETED", (tmp_path / "worker.log").read_text(errors="replace")[-3000:]
        assert " – " in finished["name"], "the run is named after the show and episode"
        assert list((tmp_path / "outputs").glob("*/presenter.mp4")), "the worker made the video"

        started.start("serve", str(BIN / "presenter"), "serve")
        served = wait_for(lambda: api.read("/deployments/name/watch-feeds/watch-feeds-serve"), 120, "presenter serve")
        assert [s["schedule"]["cron"] for s in served["schedules"]] == ["*/5 * * * *"], "serve uses PRESENTER_WATCH__CRON"
        assert _finish(api, _run_deployment(started, "watch-feeds/watch-feeds-serve"), 180)["state"]["type"] == "COMPLETED"
        assert (tmp_path / "outputs" / "index.html").is_file() and (tmp_path / "outputs" / "feed.xml").is_file()
    finally:
        started.stop_all()
    assert all(p.poll() is not None for p in started.processes), "everything the test started is stopped"
    assert server.returncode is not None
