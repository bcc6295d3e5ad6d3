"""What every lip-sync engine starts from: the narration, the framed portrait, its animator and the blinks.

And what every engine leaves beside its video: lipsync.json, and a contact
sheet of the frames a person should look at, kept while they stream to the
encoder (the clip is never decoded again to find them).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.artifacts import LIPSYNC_FILES, Animation, Narration
from core.media.ffmpeg import read_wav, rgb_of
from core.registry import ANIMATORS, Engine

from .animator import Animator, blinks
from .face import CHIN, FOREHEAD, MOUTH_LEFT, MOUTH_RIGHT, NOSE_TIP
from .portrait import frame_portrait, load_portrait
from .sheet import contact_sheet
from .visemes import OPEN, is_bilabial, shape

OnFrames = Callable[[int, int], None]
"""Called with frames done and frames in all."""


def seed_of(*paths: Path) -> int:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(Path(path).read_bytes())
    return int.from_bytes(digest.digest()[:4], "little")


@dataclass
class Scene:
    narration: Narration
    audio: np.ndarray
    rate: int
    fps: int
    frames: int
    crop: np.ndarray
    landmarks: np.ndarray
    animator: Animator
    eyelids: np.ndarray
    picks: list[tuple[int, str]] = field(default_factory=list)
    kept: dict[int, np.ndarray] = field(default_factory=dict)

    @classmethod
    def prepare(cls, portrait: Path, narration_wav: Path, narration: Narration, size: int, fps: int) -> Scene:
        audio, rate = read_wav(narration_wav)
        frames = int(np.ceil(len(audio) / rate * fps))
        image, face = load_portrait(portrait)
        crop, landmarks = frame_portrait(image, face, size)
        seed = seed_of(portrait, narration_wav)
        return cls(narration, audio, rate, fps, frames, crop, landmarks, Animator(crop, landmarks, fps, seed), blinks(frames, fps, seed))

    def stream(self, make_frame: Callable[[int], np.ndarray], on_frames: OnFrames | None, jaw: np.ndarray | None = None) -> Iterable[np.ndarray]:
        """Frames 0..n-1 (YUV 4:2:0) from ``make_frame``, reporting progress about once a second of video; the contact sheet's frames are kept.

        ``jaw`` (the opening per frame, where the engine knows it) picks the most open frames for the sheet.
        """
        self.picks = sheet_picks(self.narration, jaw, self.fps, self.frames)
        wanted = {index for index, _ in self.picks}
        for i in range(self.frames):
            frame = make_frame(i)
            if i in wanted:
                self.kept[i] = rgb_of(frame)
            yield frame
            if on_frames and (i % self.fps == 0 or i == self.frames - 1):
                on_frames(i + 1, self.frames)

    def record(self, folder: Path, engine: str, mouth: np.ndarray | None) -> Path:
        """lipsync.json (the per-frame mouth, jaw and lip shape, None when a model drew it, and blinks) and lipsync_sheet.png."""
        columns: list[list[float] | None] = [None] * 4
        if mouth is not None:
            track = np.asarray(mouth, np.float32).reshape(len(mouth), -1)
            columns[: track.shape[1]] = [[round(float(v), 3) for v in track[:, k]] for k in range(track.shape[1])]
        jaw, spread, rounding, tongue = columns
        face, size = self.landmarks, self.crop.shape[0]
        cx, half, height = (face[MOUTH_LEFT, 0] + face[MOUTH_RIGHT, 0]) / 2, (face[MOUTH_RIGHT, 0] - face[MOUTH_LEFT, 0]) / 2, face[CHIN, 1] - face[FOREHEAD, 1]
        x0, y0, x1, y1 = (int(np.clip(v, 0, size)) for v in (cx - 1.9 * half, face[NOSE_TIP, 1], cx + 1.9 * half, face[CHIN, 1] + 0.1 * height))
        contact_sheet(self.kept, self.picks, (x0, y0, x1, y1), Path(folder) / LIPSYNC_FILES[2])
        return Animation(
            engine=engine, fps=self.fps, frames=len(self.eyelids), mouth=jaw, blink=[round(float(v), 3) for v in self.eyelids],
            spread=spread, rounding=rounding, tongue=tongue, mouth_box=[x0, y0, x1, y1],
        ).write(folder)


def sheet_picks(narration: Narration, jaw: Sequence[float] | np.ndarray | None, fps: int, frames: int, per_kind: int = 3) -> list[tuple[int, str]]:
    """Frames a person should see to judge the mouth: the most open, b/p/m onsets, rounded and spread vowels, and silence."""
    last = frames - 1
    kinds: dict[str, list[tuple[int, str]]] = {"open": [], "b/p/m": [], "rounded": [], "spread": []}
    for unit in narration.units():
        opening, spread, rounding, _ = shape(unit.unit)
        middle, onset = min(last, int((unit.start + unit.end) / 2 * fps)), min(last, int(unit.start * fps))
        if is_bilabial(unit.unit):
            kinds["b/p/m"].append((onset, unit.unit))
        elif opening == OPEN:
            kinds["open"].append((middle, unit.unit))
        elif rounding >= 1:
            kinds["rounded"].append((middle, unit.unit))
        elif spread >= 1:
            kinds["spread"].append((middle, unit.unit))
    picks = []
    for kind, found in kinds.items():
        if kind == "open" and jaw is not None:
            chosen = sorted(found, key=lambda pick: -jaw[pick[0]])[:per_kind]
        else:
            chosen = [found[i] for i in np.linspace(0, len(found) - 1, min(per_kind, len(found))).astype(int)] if found else []
        picks += [(index, f"{kind}: {unit}") for index, unit in sorted(chosen)]
    spoken = sorted((u.start, u.end) for u in narration.units() if u.unit != "sil")
    gaps = [(a_end, b_start) for (_, a_end), (b_start, _) in zip(spoken, spoken[1:]) if b_start - a_end > 0.3] or [(0.0, spoken[0][0] if spoken else 0.0)]
    quiet = max(gaps, key=lambda gap: gap[1] - gap[0])
    return [*picks, (min(last, int((quiet[0] + quiet[1]) / 2 * fps)), "silence")]


class LipSync(Engine, registry=ANIMATORS):
    """A lip-sync engine: writes an MP4 of the portrait speaking the narration (video and the narration's audio)."""

    def render(self, portrait: Path, narration_wav: Path, narration: Narration, out: Path, size: int, on_frames: OnFrames | None) -> Path:
        """Animate the portrait speaking the narration.

        Args:
            portrait: a photo of one face.
            narration_wav: the narration's audio, muxed into ``out``.
            narration: narration.json: the sentences and the phoneme timings the voices reported.
            out: the MP4 to write (H.264 at ``size`` x ``size``, with the narration's audio).
            size: the video's width and height in pixels.
            on_frames: called with frames done and frames in all, or None.

        Returns:
            The path of lipsync.json, written beside ``out`` with lipsync_sheet.png (``Scene.stream`` and ``Scene.record``).
        """
        raise NotImplementedError
