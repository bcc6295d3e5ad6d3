"""Prefect's temporary local server, started by the CLI so that one left behind by a killed run is stopped next time.

Without PREFECT_API_URL, each process runs its flows against a temporary
server in a child process. If the parent is killed with SIGKILL, that child
keeps running. The CLI starts it itself (the same server Prefect would start)
and notes both PIDs in PREFECT_HOME; the next CLI start stops a server whose
owner is gone.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import psutil

from core.workspace import process_running

RECORD = "presenter-temporary-server.json"
SIGNATURE = "prefect.server.api.server:create_app"
log = logging.getLogger(__name__)


def _is_prefect_server(pid: int) -> bool:
    try:
        return SIGNATURE in " ".join(psutil.Process(pid).cmdline())
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


def _record(home: Path) -> Path:
    return home / RECORD


def reap_orphans(home: Path) -> list[int]:
    """Stop temporary servers noted in ``home`` whose owning process is gone; returns their PIDs."""
    path = _record(home)
    if not path.is_file():
        return []
    try:
        entries = json.loads(path.read_text())
    except ValueError:
        entries = []
    reaped, kept = [], []
    for entry in entries:
        owner, server = int(entry["owner"]), int(entry["server"])
        if process_running(owner):
            kept.append(entry)
        elif process_running(server) and _is_prefect_server(server):
            process = psutil.Process(server)
            process.terminate()
            try:
                process.wait(timeout=5)
            except psutil.TimeoutExpired:
                process.kill()
            log.warning("Stopped Prefect's temporary server (PID %d) left behind by a run that was killed.", server)
            reaped.append(server)
    path.write_text(json.dumps(kept))
    return reaped


def start_temporary() -> None:
    """Start the temporary server now (unless a server is configured) and note it for ``reap_orphans``."""
    from prefect.settings import PREFECT_API_URL, PREFECT_HOME

    home = Path(PREFECT_HOME.value()).expanduser()
    home.mkdir(parents=True, exist_ok=True)
    reap_orphans(home)
    if PREFECT_API_URL.value():
        return
    from prefect.server.api.server import SubprocessASGIServer

    server = SubprocessASGIServer()
    server.start()
    if server.server_process is not None:
        path = _record(home)
        entries = json.loads(path.read_text()) if path.is_file() else []
        path.write_text(json.dumps([*entries, {"owner": os.getpid(), "server": server.server_process.pid}]))
