"""What every kind of engine shares: the import guard, the one fallback rule and the per-process engine cache.

The rule: an engine whose package, weights or endpoint is missing, unreachable
or timing out raises ``EngineUnavailable`` and the next configured engine is
tried; an engine that runs but fails raises ``EngineError`` and the run stops.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any, Generic, TypeVar

from core.context import Context
from core.errors import EngineUnavailable

log = logging.getLogger(__name__)
E = TypeVar("E")


def require(module: str, install: str) -> ModuleType:
    """Import ``module`` for an engine, or report the engine unavailable with how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise EngineUnavailable(f"The package providing '{module}' is not installed ({error}).", install) from None


KEPT = 2  # engines of one kind kept loaded per process (a settings change loads another model)
_loaded: OrderedDict[tuple[str, str], Any] = OrderedDict()
_loading = threading.Lock()


def fingerprint(section: Any, context: Context) -> str:
    """What tells two engine setups apart: the section, the cache and the endpoint, the API key only as its hash."""
    openai = context.openai.model_dump(mode="json")
    key = context.openai.api_key
    openai["api_key"] = hashlib.sha256(key.get_secret_value().encode()).hexdigest() if key else None
    payload = {"section": section.model_dump(mode="json"), "cache_dir": str(context.cache_dir), "openai": openai}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def shared(section: Any, context: Context) -> Any:
    """The engine ``section`` names, built with the user's ``context`` once per process and shared by every caller."""
    key = (section.registry.kind, fingerprint(section, context))
    with _loading:
        if key not in _loaded:
            _loaded[key] = section.registry.get(section.engine)(section, context)
            kind = [k for k in _loaded if k[0] == key[0]]
            for old in kind[:-KEPT]:
                del _loaded[old]
        _loaded.move_to_end(key)
        return _loaded[key]


class Chain(Generic[E]):
    """Engines in the configured order, each built on first need; unavailable ones are remembered and skipped."""

    def __init__(self, kind: str, names: list[str], build: Callable[[str], E]) -> None:
        self.kind = kind
        self.names = list(names)
        self._build = build
        self.loaded: dict[str, E] = {}
        self.unavailable: dict[str, str] = {}

    def __iter__(self) -> Iterator[tuple[str, E]]:
        for name in self.names:
            if name in self.unavailable:
                continue
            if name not in self.loaded:
                try:
                    self.loaded[name] = self._build(name)
                except EngineUnavailable as error:
                    self.failed(name, error)
                    continue
            yield name, self.loaded[name]

    def failed(self, name: str, error: EngineUnavailable) -> None:
        """Mark ``name`` unavailable for the rest of this run; the caller goes on to the next engine."""
        self.unavailable[name] = str(error)
        self.loaded.pop(name, None)
        log.warning("%s engine %s unavailable: %s; trying the next one", self.kind, name, error)

    def reasons(self) -> str:
        return " | ".join(f"{name}: {why}" for name, why in self.unavailable.items())

    def close(self) -> None:
        for engine in self.loaded.values():
            close = getattr(engine, "close", None)
            if close:
                close()
        self.loaded.clear()
