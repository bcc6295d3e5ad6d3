"""Prefect caching keyed on what a stage reads, not on where it reads it.

A stage's key is its name and version, its own settings section, the episode
values it uses, and the *content* of the files it declares as inputs: a
changed file recomputes, an unchanged one (even re-downloaded) hits the cache.
Only declared input files are hashed, never a string that happens to name a
file. Cached results are paths; ``call_cached`` reruns a task whose cached
files have since been deleted.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from prefect import Task
from prefect.context import TaskRunContext

from core.workspace import file_digest


def file_fingerprint(path: str | Path) -> dict[str, str] | None:
    """Content hash of a declared input file (with its path: outputs are written beside inputs)."""
    path = Path(path)
    return {"path": str(path.resolve()), "sha256": file_digest(path)} if path.is_file() else None


def stage_key(version: str, files: str = "inputs") -> Callable[[TaskRunContext, dict[str, Any]], str]:
    """A cache_key_fn: the task's name and ``version``, every parameter by value, and the files in ``files`` by content.

    Parameters named ``settings`` are carried for the run, not keyed: each
    stage's own section is passed (and keyed) separately.
    """

    def key(context: TaskRunContext, parameters: dict[str, Any]) -> str:
        payload: dict[str, Any] = {"task": context.task.name, "version": version}
        for name, value in parameters.items():
            if name == "settings":
                continue
            if name == files:
                payload[name] = {label: file_fingerprint(path) for label, path in sorted(value.items())}
            else:
                payload[name] = value.model_dump(mode="json") if hasattr(value, "model_dump") else value
        return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()

    return key


def call_cached(task: Task, outputs: Callable[[Any], Iterable[str | Path]], **parameters: Any) -> tuple[Any, bool]:
    """Run ``task``; returns (result, came from cache). Recomputes if a cached output file is gone."""
    state = task(**parameters, return_state=True)
    result = state.result()
    if state.name == "Cached" and not all(Path(p).exists() for p in outputs(result)):
        state = task.with_options(refresh_cache=True)(**parameters, return_state=True)
        result = state.result()
    return result, state.name == "Cached"
