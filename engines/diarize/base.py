"""What a speaker embedding engine does: windows of 16 kHz speech in, one unit vector per window out."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from core.registry import DIARIZERS, Engine


class SpeakerEmbedder(Engine, registry=DIARIZERS):
    """Voices as vectors: the same speaker's windows lie within a small cosine distance of each other."""

    license: ClassVar[str] = ""
    window: ClassVar[float] = 2.0  # seconds of speech per embedding (1.5 s split a noisy monologue in two; 3 s blurs turns)

    def embed(self, clips: list[np.ndarray]) -> np.ndarray:
        """Embed clips of speech.

        Args:
            clips: 16 kHz mono float32 samples, each ``window`` seconds long or shorter.

        Returns:
            An array of shape (len(clips), dimension): one L2-normalised embedding per clip, in order.
        """
        raise NotImplementedError
