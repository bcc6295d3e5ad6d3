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
            try:
                self._run(str(self.bin / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", self.user, database)
            except RuntimeError as error:
                if "already exists" not in str(error):
                    raise
        return self

    def url(self, database: str, driver: str = "psycopg") -> str:
        return f"postgresql+{driver}://{self.user}@127.0.0.1:{self.port}/{database}"

    def stop(self) -> None:
        if (self.data / "postmaster.pid").is_file():
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")


class Cluster:
    """PostgreSQL, a Prefect server on it, the pool and the digest deployment; ``worker`` starts workers; ``stop`` ends all."""

    def __init__(self, folder: Path, env: dict[str, str] | None = None, port: int | None = None, postgres_folder: Path | None = None) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.api_url = f"http://127.0.0.1:{self.port}/api"
        self.postgres = Postgres(postgres_folder)
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
        self.postgres.start()
        self.start_process("server", [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(self.port)],
                           env={**self.env, "PREFECT_API_DATABASE_CONNECTION_URL": self.postgres.url("prefect", "asyncpg")})
        with httpx.Client(base_url=self.api_url, timeout=10) as api:
            wait_for(lambda: api.get("/health").status_code == 200 and self.processes["server"].poll() is None, 240, "the Prefect server")
        if POOL not in self.prefect("work-pool", "ls"):
            self.prefect("work-pool", "create", POOL, "--type", "process")
        self.prefect("--no-prompt", "deploy", "--name", "digest")
        return self

    def worker(self, name: str, env: dict[str, str] | None = None) -> subprocess.Popen:
        """A worker in a working folder of its own (its own PREFECT_HOME), as if on its own machine."""
        home = self.folder / name
        home.mkdir(exist_ok=True)
        worker_env = {**self.env, "PREFECT_HOME": str(home / "prefect-home"), **(env or {})}
        return self.start_process(name, [str(BIN / "prefect"), "worker", "start", "--pool", POOL, "--name", name], env=worker_env, cwd=home)

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
        self.postgres.stop()

    def __enter__(self) -> Cluster:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()
