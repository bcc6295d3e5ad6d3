"""What a voice does: a run of text, already in words (see engines.voice.textnorm), to audio and phoneme timings."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from core.registry import VOICES, Engine

from .textnorm import Run


@dataclass
class Speech:
    """One run's audio and the units the voice timed (seconds from the start of ``audio``)."""

    audio: np.ndarray
    sample_rate: int
    units: list[tuple[str, float, float]] = field(default_factory=list)
    spans: list[tuple[float, float]] = field(default_factory=list)  # each run's (start, end) when a sentence was spoken whole


@dataclass
class VoiceInfo:
    """One voice a person can choose, as ``presenter voices`` lists it."""

    name: str  # engine, or engine:voice
    languages: list[str]
    license: str
    installed: bool
    note: str


class Voice(Engine, registry=VOICES):
    """A voice; ``languages`` None means it tries any language."""

    languages: ClassVar[frozenset[str] | None] = None
    whole_sentences: ClassVar[bool] = False  # speaks a sentence's runs of several languages in one call, in one timbre
    license: ClassVar[str] = ""
    model: str = ""

    @classmethod
    def voices(cls, section: Any, context: Any) -> list[VoiceInfo]:
        """The voices this engine offers (one, unless it has a 'voice' setting with named choices)."""
        check = cls.check(section, context)
        return [VoiceInfo(cls.name, sorted(cls.languages) if cls.languages else ["any"], cls.license, check.status == "ok", cls.summary)]

    @classmethod
    def choose(cls, voice: str) -> dict[str, Any]:
        """The engine's settings that select ``voice`` (``--voice kokoro:jf_alpha``)."""
        if "voice" not in cls.Settings.model_fields:
            raise ValueError(f"the {cls.name} engine has one voice; use --voice {cls.name}")
        return {"voice": voice}

    def speaks(self, language: str) -> bool:
        return self.languages is None or language in self.languages

    def speak(self, text: str, language: str) -> Speech:
        """Speak one run of text.

        Args:
            text: words already normalised for speech (numbers, units and symbols spelt out; see ``textnorm``).
            language: the run's language code; one this voice ``speaks``.

        Returns:
            The audio (mono float32 at the voice's own sample rate) and the units it timed, in seconds from its start.
        """
        raise NotImplementedError

    def speak_runs(self, runs: list[Run]) -> Speech:
        """A whole sentence (only for ``whole_sentences`` voices); ``spans`` gives each run's time."""
        raise NotImplementedError
