"""What a voice does: a run of text, already in words (see core.textnorm), to audio and phoneme timings."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from core.registry import VOICES, Engine


@dataclass
class Speech:
    """One run's audio and the units the voice timed (seconds from the start of ``audio``)."""

    audio: np.ndarray
    sample_rate: int
    units: list[tuple[str, float, float]] = field(default_factory=list)


class Voice(Engine, registry=VOICES):
    """A voice; ``languages`` None means it tries any language."""

    languages: ClassVar[frozenset[str] | None] = None
    model: str = ""

    def speaks(self, language: str) -> bool:
        return self.languages is None or language in self.languages

    def speak(self, text: str, language: str) -> Speech:
        raise NotImplementedError
