"""What a speech recognition engine does: one chunk of 16 kHz mono audio in, timed segments out."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from core.artifacts import Segment
from core.registry import TRANSCRIBERS, Engine

OnProgress = Callable[[float], None]
"""Called with the seconds of the chunk transcribed so far."""


@dataclass
class Recognized:
    language: str | None
    segments: list[Segment]
    language_probability: float | None = None  # how sure the engine is of ``language``, where it says


class Transcriber(Engine, registry=TRANSCRIBERS):
    """A Whisper-like engine: times relative to the start of the audio it is given."""

    model: str
    max_chunk_seconds: ClassVar[float | None] = None  # an API's upload limit, if any
    takes_hotwords: ClassVar[bool] = False  # whether ``hotwords`` reach the decoder (else names belong in the prompt)

    def transcribe(
        self, audio: np.ndarray, *, language: str | None, prompt: str | None, on_progress: OnProgress | None, hotwords: str | None = None,
    ) -> Recognized:
        """``prompt`` is Whisper's initial prompt; ``hotwords`` (names, space-separated) stay in view for the whole audio where the engine supports it."""
        raise NotImplementedError

    def detect_language(self, audio: np.ndarray) -> str | None:
        """The language spoken in ``audio``, before transcribing it, so the prompt can be written in it; None where the engine cannot tell."""
        return None
