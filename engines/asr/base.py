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
        """Transcribe one chunk.

        Args:
            audio: 16 kHz mono float32 samples in [-1, 1] (one chunk, at most ``max_chunk_seconds`` where set).
            language: the language code spoken (``en``, ``zh``); None lets the engine detect it.
            prompt: Whisper's initial prompt (the style, and names where the engine takes no hotwords), or None.
            on_progress: called with the seconds of ``audio`` transcribed so far, or None.
            hotwords: names, space-separated, kept in view for the whole audio where the engine supports it.

        Returns:
            The language heard and the segments, each with its words, in seconds from the start of ``audio``.
        """
        raise NotImplementedError

    def detect_language(self, audio: np.ndarray) -> str | None:
        """The language spoken in ``audio`` (16 kHz mono float32), before transcribing it, so the prompt can be written in it.

        Returns:
            A language code (``en``, ``zh``), or None where the engine cannot tell.
        """
        return None
