"""What every kind of engine shares: the import guard and the one fallback rule.

The rule: an engine whose package, weights or endpoint is missing, unreachable
or timing out raises ``EngineUnavailable`` and the next configured engine is
tried; an engine that runs but fails raises ``EngineError`` and the run stops.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Generic, TypeVar

from core.errors import EngineUnavailable

log = logging.getLogger(__name__)
E = TypeVar("E")


def require(module: str, install: str) -> ModuleType:
    """Import ``module`` for an engine, or report the engine unavailable with how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise EngineUnavailable(f"The package providing '{module}' is not installed ({error}).", install) from None


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
