"""Progress of long steps, shown twice: a terminal bar (tqdm) and a Prefect progress artifact in the UI."""

from __future__ import annotations

import threading
from typing import cast
from uuid import UUID

from prefect.artifacts import create_progress_artifact, update_progress_artifact
from tqdm.auto import tqdm


class StageProgress:
    """A ``core.logs.Progress`` callback: ``done`` of ``total``; safe to call from several threads."""

    def __init__(self, name: str, description: str, unit: str, *, total: float | None = None, artifact: bool = True, every: float = 0.05) -> None:
        self._bar = tqdm(total=total, desc=name, unit=unit, dynamic_ncols=True)
        self._artifact = cast(UUID, create_progress_artifact(progress=0.0, description=description)) if artifact else None
        self._every = every  # update the artifact at most every 5 % (each update is an API call)
        self._reported = 0.0
        self._lock = threading.Lock()

    def __call__(self, done: float, total: float | None = None, detail: str = "") -> None:
        with self._lock:
            if total is not None:
                self._bar.total = total
            self._bar.n = min(done, self._bar.total) if self._bar.total else done  # a segment may end past its chunk
            if detail:
                self._bar.set_postfix_str(detail, refresh=False)
            self._bar.refresh()
            if self._artifact is not None and self._bar.total:
                share = min(1.0, done / self._bar.total)
                if share - self._reported >= self._every or share >= 1.0 > self._reported:
                    self._reported = share
                    update_progress_artifact(self._artifact, progress=round(100 * share, 1))

    def close(self) -> None:
        self._bar.close()

    def __enter__(self) -> StageProgress:
        return self

    def __exit__(self, error_type: object, *exc: object) -> None:
        if error_type is None and self._artifact is not None and self._reported < 1.0:  # done, though the engine reported no steps (extractive)
            self._reported = 1.0
            update_progress_artifact(self._artifact, progress=100.0)
        self.close()


class Accumulated:
    """One bar over several parallel parts (chunks), each reporting its own progress.

    Parts running in worker threads find the bar of their episode with ``running(key)``.
    """

    def __init__(self, progress: StageProgress) -> None:
        self._progress = progress
        self._parts: dict[str, float] = {}
        self._lock = threading.Lock()

    def report(self, part: str, done: float) -> None:
        with self._lock:
            self._parts[part] = done
            total = sum(self._parts.values())
        self._progress(total)


_running: dict[str, Accumulated] = {}


def start(key: str, progress: StageProgress) -> Accumulated:
    _running[key] = Accumulated(progress)
    return _running[key]


def running(key: str) -> Accumulated | None:
    return _running.get(key)


def stop(key: str) -> None:
    _running.pop(key, None)
