"""One registry per engine kind: engines register themselves, settings, doctor and CLI help read it.

An engine is one class in one module under ``engines/<kind>/`` that names
itself: ``class Kokoro(Voice, name="kokoro", settings=KokoroSettings)``
registers it with its kind's registry. Registries find their engines by
importing every module of that package on first use (plugin discovery by
package name), so no list anywhere has to be edited to add an engine.
"""

from __future__ import annotations

import importlib
import pkgutil
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from .pull import Weight
    from .settings import OpenAISettings


class EngineSettings(BaseModel):
    """An engine's own knobs: a section under its kind, e.g. ``[narrate.kokoro]`` or PRESENTER_NARRATE__KOKORO__VOICE."""

    model_config = ConfigDict(extra="forbid")


Status = Literal["ok", "missing", "optional"]


@dataclass(frozen=True)
class Check:
    """What ``presenter doctor`` shows for one engine: usable or not, and how to get what is missing."""

    status: Status
    detail: str


@dataclass(frozen=True)
class Context:
    """What every engine may use besides its settings: the weights cache and the shared OpenAI-compatible connection."""

    cache_dir: Path
    openai: OpenAISettings


class Engine:
    """Base of every engine class: its name, one-line summary, settings model and doctor check.

    An engine is built from its kind's settings section (the shared knobs) and
    the context; ``self.options`` is its own sub-section, typed by ``Settings``.
    """

    name: ClassVar[str]
    summary: ClassVar[str] = ""
    Settings: ClassVar[type[EngineSettings]] = EngineSettings
    registry: ClassVar[Registry]
    weights: ClassVar[tuple[Weight, ...]] = ()  # what 'presenter weights list' shows for this engine

    def __init_subclass__(cls, *, name: str | None = None, summary: str | None = None, settings: type[EngineSettings] | None = None, registry: Registry | None = None, **kwargs: Any) -> None:
        """``class Kokoro(Voice, name="kokoro", summary=..., settings=...)`` declares and registers an engine, once."""
        super().__init_subclass__(**kwargs)
        if registry is not None:
            cls.registry = registry
        if summary is not None:
            cls.summary = summary
        if settings is not None:
            cls.Settings = settings
        if name is not None:
            cls.name = name
            cls.registry.register(cls)

    def __init__(self, section: Any, context: Context) -> None:
        self.section, self.context = section, context
        self.options: Any = section.options(self.name)

    @classmethod
    def check(cls, section: Any, context: Context) -> Check:
        """Whether this machine can run the engine; nothing heavy is imported."""
        return Check("ok", cls.summary)

    @classmethod
    def needs(cls, section: Any) -> list[Weight]:
        """The pullable weights this engine needs with these settings ('presenter run --pull' fetches the missing ones)."""
        return []

    def close(self) -> None:
        """Release what the engine started (servers, sessions)."""


E = TypeVar("E", bound=type[Engine])


def section_key(name: str) -> str:
    """The settings key of an engine: 'openai-tts' is configured as narrate.openai_tts."""
    return name.replace("-", "_")


class Registry(Generic[E]):
    """The engines of one kind, by name."""

    def __init__(self, kind: str, package: str) -> None:
        self.kind = kind
        self.package = package
        self._engines: dict[str, E] = {}
        self._discovered = False
        self._lock = threading.Lock()

    def register(self, engine: E) -> E:
        """Class decorator: make ``engine`` known under ``engine.name``."""
        self._engines[engine.name] = engine
        return engine

    def unregister(self, name: str) -> None:
        self._engines.pop(name, None)

    def _discover(self) -> None:
        with self._lock:
            if self._discovered:
                return
            package = importlib.import_module(self.package)
            for module in pkgutil.iter_modules(package.__path__):
                if not module.name.startswith("_"):
                    importlib.import_module(f"{self.package}.{module.name}")
            self._discovered = True

    def names(self) -> list[str]:
        self._discover()
        return list(self._engines)

    def engines(self) -> list[E]:
        self._discover()
        return list(self._engines.values())

    def get(self, name: str) -> E:
        self._discover()
        try:
            return self._engines[name]
        except KeyError:
            raise ValueError(f"unknown {self.kind} engine {name!r}; known: {', '.join(self._engines)}") from None

    def by_key(self, key: str) -> E | None:
        """The engine whose settings key (name with '_' for '-') is ``key``."""
        self._discover()
        return next((e for e in self._engines.values() if section_key(e.name) == key), None)


TRANSCRIBERS: Registry = Registry("transcribe", "engines.asr")
DIARIZERS: Registry = Registry("diarize", "engines.diarize")
SUMMARIZERS: Registry = Registry("summarize", "engines.llm")
VOICES: Registry = Registry("narrate", "engines.voice")
ANIMATORS: Registry = Registry("lipsync", "engines.lipsync")

REGISTRIES = (TRANSCRIBERS, DIARIZERS, SUMMARIZERS, VOICES, ANIMATORS)


def all_weights() -> list[Weight]:
    """Every weight the engines declare, each once, in registry order."""
    found = {weight.name: weight for registry in REGISTRIES for engine in registry.engines() for weight in engine.weights}
    return list(found.values())


def weight_named(name: str, sha256: str | None = None) -> Weight:
    """A declared weight by name, or a GGUF file by URL ('gguf:https://…/model.gguf', ``sha256`` optional)."""
    from .pull import WeightsError, gguf_weight

    if name.startswith("gguf:") and "://" in name:
        return gguf_weight(name.removeprefix("gguf:"), sha256)
    known = {w.name: w for w in all_weights()}
    if name not in known:
        raise WeightsError(f"No weights are called {name!r}.", f"Run 'presenter weights list'; known: {', '.join(known)}.")
    return known[name]
