"""embedded: the landmark-driven animator, mouth shapes from the narration's phonemes (loudness when a voice gives none)."""

from __future__ import annotations

from core.media.ffmpeg import encode_video
from core.registry import Check, Weight
from core.weights.packaged import installed

from .base import LipSync, Scene
from .visemes import openings


class EmbeddedAnimator(LipSync, name="embedded", summary="mediapipe 0.10.21 face mesh (bundled model) and a landmark-driven animator"):
    weights = (Weight("mediapipe:face-mesh", "embedded", 4, "Apache-2.0", "package mediapipe 0.10.21 (bundled face models)", package="mediapipe"),)

    def render(self, portrait, narration_wav, narration, out, size, on_frames=None):
        scene = Scene.prepare(portrait, narration_wav, narration, size, self.section.fps)
        mouth = openings(narration, scene.audio, scene.rate, scene.fps, scene.frames)
        frames = scene.stream(lambda i: scene.animator.render(mouth[i], float(scene.eyelids[i]), i / scene.fps), on_frames, mouth[:, 0])
        encode_video(frames, out, size, scene.fps, narration_wav, self.section.crf)
        return scene.record(out.parent, self.name, mouth)

    @classmethod
    def check(cls, section, context) -> Check:
        return Check("ok", cls.summary) if installed("mediapipe") else Check("missing", "pip install mediapipe==0.10.21")
