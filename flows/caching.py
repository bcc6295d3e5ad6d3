"""Prefect caching keyed on what a task reads, not on where it reads it.

A file path argument is hashed by content, so a changed file recomputes and
an unchanged one (even re-downloaded) hits the cache. Cached results are
paths; ``call_cached`` reruns a task whose cached files have since been
deleted.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Callable, Iterable

from prefect import Task
from prefect.context import TaskRunContext
from pydantic import BaseModel

from presenter.workspace import sha256_file

CACHE_VERSION = "1"  # bump when a stage's output format changes


def _fingerprint(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, (str, Path)) and len(str(value)) < 4096 and Path(value).is_file():
        # the path too: outputs are written beside inputs, so a cached result belongs to one folder
        return {"path": str(Path(value).resolve()), "sha256": sha256_file(Path(value))}
    if isinstance(value, dict):
        return {str(k): _fingerprint(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_fingerprint(v) for v in value]
    return value


def hash_inputs(*names: str) -> Callable[[TaskRunContext, dict[str, Any]], str]:
    """A cache_key_fn over the named parameters, files by content."""

    def key(context: TaskRunContext, parameters: dict[str, Any]) -> str:
        payload = {"task": context.task.name, "version": CACHE_VERSION}
        payload.update({name: _fingerprint(parameters.get(name)) for name in names})
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
