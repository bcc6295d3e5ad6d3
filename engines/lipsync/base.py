"""What every lip-sync engine starts from: the narration, the framed portrait, its animator and the blinks."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.artifacts import Animation, Narration
from core.face import CHIN, FOREHEAD, MOUTH_LEFT, MOUTH_RIGHT, NOSE_TIP
from core.media import read_wav
from core.portrait import frame_portrait, load_portrait
from core.registry import ANIMATORS, Engine

from .animator import Animator, blinks

OnFrames = Callable[[int, int], None]
"""Called with frames done and frames in all."""


def seed_of(*paths: Path) -> int:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(Path(path).read_bytes())
    return int.from_bytes(digest.digest()[:4], "little")


@dataclass
class Scene:
    audio: np.ndarray
    rate: int
    fps: int
    frames: int
    crop: np.ndarray
    landmarks: np.ndarray
    animator: Animator
    eyelids: np.ndarray

    @classmethod
    def prepare(cls, portrait: Path, narration: Path, size: int, fps: int) -> Scene:
        audio, rate = read_wav(narration)
        frames = int(np.ceil(len(audio) / rate * fps))
        image, face = load_portrait(portrait)
        crop, landmarks = frame_portrait(image, face, size)
        seed = seed_of(portrait, narration)
        return cls(audio, rate, fps, frames, crop, landmarks, Animator(crop, landmarks, fps, seed), blinks(frames, fps, seed))

    def stream(self, make_frame: Callable[[int], np.ndarray], on_frames: OnFrames | None) -> Iterable[np.ndarray]:
        """Frames 0..n-1 from ``make_frame``, reporting progress about once a second of video."""
        for i in range(self.frames):
            yield make_frame(i)
            if on_frames and (i % self.fps == 0 or i == self.frames - 1):
                on_frames(i + 1, self.frames)

    def record(self, folder: Path, engine: str, mouth: np.ndarray | None) -> Path:
        """lipsync.json: the per-frame mouth, jaw and lip shape (None when a model drew it), and blinks."""
        columns: list[list[float] | None] = [None] * 4
        if mouth is not None:
            track = np.asarray(mouth, np.float32).reshape(len(mouth), -1)
            columns[: track.shape[1]] = [[round(float(v), 3) for v in track[:, k]] for k in range(track.shape[1])]
        jaw, spread, rounding, tongue = columns
        face, size = self.landmarks, self.crop.shape[0]
        cx, half, height = (face[MOUTH_LEFT, 0] + face[MOUTH_RIGHT, 0]) / 2, (face[MOUTH_RIGHT, 0] - face[MOUTH_LEFT, 0]) / 2, face[CHIN, 1] - face[FOREHEAD, 1]
        box = [cx - 1.9 * half, face[NOSE_TIP, 1], cx + 1.9 * half, face[CHIN, 1] + 0.1 * height]
        return Animation(
            engine=engine, fps=self.fps, frames=len(self.eyelids), mouth=jaw, blink=[round(float(v), 3) for v in self.eyelids],
            spread=spread, rounding=rounding, tongue=tongue, mouth_box=[int(np.clip(v, 0, size)) for v in box],
        ).write(folder)


class LipSync(Engine, registry=ANIMATORS):
    """A lip-sync engine: writes an MP4 of the portrait speaking the narration (video and the narration's audio)."""

    def render(self, portrait: Path, narration_wav: Path, narration: Narration, out: Path, size: int, on_frames: OnFrames | None) -> Path:
        """Write ``out`` and, beside it, lipsync.json; returns the record's path."""
        raise NotImplementedError
