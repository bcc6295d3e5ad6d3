"""Many feeds on many machines, on one machine: PostgreSQL, a Prefect server on it, the pool, workers, a watch.

What ``presenter cluster-demo`` (``make cluster-demo``), ``tests/test_cluster.py``
and ``bench/cluster.py`` start. Every process is a child of this one, each in
its own process group, and everything listens on 127.0.0.1 only:

- PostgreSQL from Debian's package (``/usr/lib/postgresql/<version>/bin``): a
  new cluster in a folder of its own (initdb, pg_ctl), with two databases:
  ``prefect`` (the server's) and ``presenter`` (the catalog);
- ``prefect server start`` with ``PREFECT_API_DATABASE_CONNECTION_URL`` on it;
- the work pool ``presenter`` and the ``digest`` deployment (``prefect deploy``);
- workers, each with its own working folder and PREFECT_HOME, as if on its own
  machine: they share only the API URL and the output folder.

PostgreSQL refuses to run as root; as root, its commands run as the
``postgres`` user (runuser) in a folder that user owns.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from http.server import SimpleHTTPRequestHandler
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
POOL = "presenter"
DEPLOYMENT = "podcast-digest/digest"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def postgres_bin() -> Path:
    """The newest PostgreSQL server programs of Debian's package; refuses clearly when the package is missing."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    if not found:
        raise RuntimeError("PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb). Install Debian's package: apt-get install postgresql (make cluster-tools does).")
    return Path(found[-1]).parent


def wait_for(check: Callable[[], Any], timeout: float, what: str, every: float = 1.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = check()
            if value:
                return value
        except (httpx.HTTPError, OSError):
            pass
        time.sleep(every)
    raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")


class Postgres:
    """A PostgreSQL cluster of its own on 127.0.0.1: initdb, pg_ctl start, createdb; ``stop`` ends it."""

    def __init__(self, folder: Path | None = None, port: int | None = None, user: str = "presenter") -> None:
        self.bin = postgres_bin()
        self.port = port or free_port()
        self.user = user
        self.as_root = os.geteuid() == 0
        # As root the folder must be reachable by the postgres user: a fresh one under /tmp, not a private pytest folder.
        self.temporary = folder is None  # removed by stop
        self.folder = Path(folder) if folder else Path(tempfile.mkdtemp(prefix="presenter-pg-"))
        self.data = self.folder / "data"
        self.log = self.folder / "postgres.log"

    def _run(self, *command: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if self.as_root else []
        done = subprocess.run([*prefix, *command], capture_output=True, text=True, timeout=300, cwd=self.folder)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}): {done.stdout}{done.stderr}")

    def start(self) -> Postgres:
        self.folder.mkdir(parents=True, exist_ok=True)
        if self.as_root:
            shutil.chown(self.folder, "postgres", "postgres")
        if not (self.data / "PG_VERSION").is_file():
            self._run(str(self.bin / "initdb"), "-D", str(self.data), "-U", self.user, "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync")
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.folder} -c max_connections=200"
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "-t", "120", "start")
        for database in ("prefect", "presenter"):
            self.database(database)
        return self

    def database(self, name: str) -> str:
        """Create database ``name`` unless it exists; returns its SQLAlchemy URL (psycopg)."""
        try:
            self._run(str(self.bin / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", self.user, name)
        except RuntimeError as error:
            if "already exists" not in str(error):
                raise
        return self.url(name)

    def url(self, database: str, driver: str = "psycopg") -> str:
        return f"postgresql+{driver}://{self.user}@127.0.0.1:{self.port}/{database}"

    def stop(self) -> None:
        if (self.data / "postmaster.pid").is_file():
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")
        if self.temporary:
            shutil.rmtree(self.folder, ignore_errors=True)


class Cluster:
    """PostgreSQL, a Prefect server on it, the pool and the digest deployment; ``worker`` starts workers; ``stop`` ends all."""

    def __init__(self, folder: Path, env: dict[str, str] | None = None, port: int | None = None, postgres: Postgres | None = None) -> None:
        """``postgres``: a cluster already started by the caller (kept running by ``stop``); default: a new one, stopped with the rest."""
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.api_url = f"http://127.0.0.1:{self.port}/api"
        self.own_postgres = postgres is None
        self.postgres = postgres or Postgres()
        self.processes: dict[str, subprocess.Popen] = {}
        base = {k: v for k, v in (env or os.environ).items() if not k.startswith("PREFECT_")}
        self.env = {
            **base, "PREFECT_API_URL": self.api_url, "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1",
            "PREFECT_SERVER_UI_V2_ENABLED": "false", "PREFECT_HOME": str(self.folder / "prefect-home"),
        }

    def log(self, name: str) -> Path:
        return self.folder / f"{name}.log"

    def start_process(self, name: str, command: list[str], env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.Popen:
        log = open(self.log(name), "ab")
        process = subprocess.Popen(command, cwd=cwd or ROOT, env=env or self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.processes[name] = process
        return process

    def prefect(self, *args: str) -> str:
        done = subprocess.run([str(BIN / "prefect"), *args], cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=300)
        if done.returncode != 0:
            raise RuntimeError(f"prefect {' '.join(args)} failed: {done.stdout}{done.stderr}")
        return done.stdout

    def start(self) -> Cluster:
        """PostgreSQL, the server (until /api/health answers), the work pool and the digest deployment."""
        if self.own_postgres:
            self.postgres.start()
        self.start_process("server", [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(self.port)],
                           env={**self.env, "PREFECT_API_DATABASE_CONNECTION_URL": self.postgres.url("prefect", "asyncpg")})
        with httpx.Client(base_url=self.api_url, timeout=10) as api:
            wait_for(lambda: api.get("/health").status_code == 200 and self.processes["server"].poll() is None, 240, "the Prefect server")
        if POOL not in self.prefect("work-pool", "ls"):
            self.prefect("work-pool", "create", POOL, "--type", "process")
        self.prefect("--no-prompt", "deploy", "--name", "digest")
        return self

    def worker(self, name: str, env: dict[str, str] | None = None, limit: int = 1) -> subprocess.Popen:
        """A worker in a working folder of its own (its own PREFECT_HOME), as if on its own machine; ``limit``: its runs at once."""
        home = self.folder / name
        home.mkdir(exist_ok=True)
        worker_env = {**self.env, "PREFECT_HOME": str(home / "prefect-home"), **(env or {})}
        return self.start_process(name, [str(BIN / "prefect"), "worker", "start", "--pool", POOL, "--name", name, "--limit", str(limit)], env=worker_env, cwd=home)

    def stop_process(self, name: str) -> None:
        process = self.processes[name]
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()

    def stop(self) -> None:
        for name in reversed(list(self.processes)):
            self.stop_process(name)
        if self.own_postgres:
            self.postgres.stop()

    def __enter__(self) -> Cluster:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()


FAST_ENV = {
    "PRESENTER_TRANSCRIBE__MODEL": "tiny.en", "PRESENTER_SUMMARIZE__ENGINES": '["extractive"]', "PRESENTER_NARRATE__ENGINES": '["espeak"]',
}  # the demo's engines: what runs in seconds on a laptop; --full keeps the configured ones


def _rss(show: str, items: list[tuple[str, str, str]]) -> str:
    entries = "".join(
        f'<item><title>{title}</title><guid isPermaLink="false">{guid}</guid><pubDate>Mon, 0{n + 1} Jan 2024 10:00:00 +0000</pubDate>'
        f'<enclosure url="{url}" length="0" type="audio/mpeg"/></item>'
        for n, (title, guid, url) in enumerate(items)
    )
    return f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>{show}</title><link>http://127.0.0.1/</link><description>demo</description>{entries}</channel></rss>'


class QuietHandler(SimpleHTTPRequestHandler):
    """Serves a folder, without a log line per request."""

    def log_message(self, *args: Any) -> None:
        pass


def demo(folder: Path, workers: int = 2, fast: bool = True, say: Callable[[str], None] = print, hold: bool = True) -> dict[str, Any]:
    """PostgreSQL, a server on it, the pool, ``workers`` workers, two local feeds on 127.0.0.1 and one watch run over them.

    Prints what it starts; with ``hold`` it keeps everything running (the UI shows the runs) until Ctrl-C.
    """
    import functools
    import http.server
    import threading

    folder = Path(folder).resolve()
    site = folder / "feeds"
    site.mkdir(parents=True, exist_ok=True)
    sample = ROOT / "assets" / "sample"
    shutil.copyfile(sample / "field-notes-batteries.mp3", site / "batteries.mp3")
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(sample / "jfk-inaugural.flac"), "-c:a", "libmp3lame", str(site / "jfk.mp3")], check=True)
    handler = functools.partial(QuietHandler, directory=str(site))
    web = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    base = f"http://127.0.0.1:{web.server_address[1]}"
    (site / "field-notes.xml").write_text(_rss("Field Notes", [("Batteries", "fn-1", f"{base}/batteries.mp3")]))
    (site / "speeches.xml").write_text(_rss("Speeches", [("Ask Not", "sp-1", f"{base}/jfk.mp3"), ("Ask Not, again", "sp-2", f"{base}/jfk.mp3")]))
    threading.Thread(target=web.serve_forever, daemon=True).start()
    cluster = Cluster(folder / "cluster")
    try:
        cluster.start()
        say(f"PostgreSQL   {cluster.postgres.url('prefect', 'asyncpg')} (a new cluster in {cluster.postgres.folder}, removed at the end)")
        say(f"Prefect      {cluster.api_url}  (UI: http://127.0.0.1:{cluster.port})")
        for n in range(workers):
            cluster.worker(f"worker-{n + 1}")
            say(f"worker-{n + 1}     working folder {cluster.folder / f'worker-{n + 1}'}")
        env = {**cluster.env, **(FAST_ENV if fast else {}), "PRESENTER_OUTPUT_DIR": str(folder / "shared"), "PRESENTER_WATCH__DEPLOYMENT": DEPLOYMENT,
               "PRESENTER_WATCH__CATALOG_URL": cluster.postgres.url("presenter"), "PRESENTER_FETCH__ALLOW": '["127.0.0.1"]'}
        say(f"watch        {base}/field-notes.xml {base}/speeches.xml → {folder / 'shared'}")
        watch = cluster.start_process("watch", [str(BIN / "presenter"), "watch", f"{base}/field-notes.xml", f"{base}/speeches.xml"], env=env)
        code = watch.wait()
        say(f"watch ended with exit code {code}; its log: {cluster.log('watch')}; the feed: {folder / 'shared' / 'feed.xml'}")
        if hold:
            say("Everything keeps running for the UI; Ctrl-C stops it.")
            while True:
                time.sleep(3600)
        return {"exit_code": code, "api_url": cluster.api_url, "shared": folder / "shared"}
    except KeyboardInterrupt:
        return {"exit_code": None, "api_url": cluster.api_url, "shared": folder / "shared"}
    finally:
        cluster.stop()
        web.shutdown()
