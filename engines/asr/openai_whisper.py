"""openai-whisper: the reference PyTorch implementation, on a checkpoint converted offline from the shipped weights."""

from __future__ import annotations

import threading

from pydantic import Field

from core.artifacts import Segment, Word
from core.registry import Check, EngineSettings
from core.weights.packaged import installed

from ..base import require
from . import whisper_weights
from .base import Recognized, Transcriber

INSTALL = "Run 'make setup', which installs openai-whisper with its CPU torch."


class OpenAIWhisperSettings(EngineSettings):
    beam_size: int = Field(5, ge=1)


class OpenAIWhisper(Transcriber, name="openai-whisper", summary="the reference PyTorch Whisper (slower; same weights)", settings=OpenAIWhisperSettings):
    weights = (*whisper_weights.PACKAGED, *whisper_weights.OPENAI_WEIGHTS.values())

    @classmethod
    def needs(cls, section):
        return [w for size, w in whisper_weights.OPENAI_WEIGHTS.items() if size == section.model]

    def __init__(self, section, context) -> None:
        super().__init__(section, context)
        torch = require("torch", INSTALL)
        model_module = require("whisper.model", INSTALL)
        if section.threads:
            torch.set_num_threads(section.threads)
        checkpoint = whisper_weights.openai_whisper_checkpoint(section.model, context.cache_dir)
        data = torch.load(checkpoint, map_location="cpu", weights_only=True)
        self._whisper = model_module.Whisper(model_module.ModelDimensions(**data["dims"]))
        self._whisper.load_state_dict(data["model_state_dict"])
        if "alignment_heads" in data:  # needed for word timestamps; checkpoints loaded by path lack it
            self._whisper.set_alignment_heads(data["alignment_heads"].encode("ascii"))
        self._whisper.eval()
        self.model = section.model
        self._lock = threading.Lock()  # decoding installs hooks on the shared model

    def detect_language(self, audio):
        if not self._whisper.is_multilingual:
            return "en"
        import whisper

        mel = whisper.log_mel_spectrogram(whisper.pad_or_trim(audio), self._whisper.dims.n_mels)
        with self._lock:
            _tokens, probabilities = self._whisper.detect_language(mel)
        return max(probabilities, key=probabilities.get)

    def transcribe(self, audio, *, language, prompt, on_progress, hotwords=None):
        with self._lock:
            result = self._whisper.transcribe(
                audio,
                language=None if language is None and self._whisper.is_multilingual else (language or "en"),
                initial_prompt=prompt or None,
                beam_size=self.options.beam_size,
                word_timestamps=True,
                fp16=False,
                verbose=None,
            )
        segments = []
        for s in result["segments"]:
            words = [Word(w["start"], w["end"], w["word"], round(w["probability"], 4)) for w in s.get("words", [])]
            segments.append(Segment(s["start"], s["end"], s["text"].strip(), words))
        if on_progress and segments:
            on_progress(segments[-1].end)
        return Recognized(result.get("language"), segments)

    @classmethod
    def check(cls, section, context) -> Check:
        if not (installed("whisper") and installed("torch")):
            return Check("missing", "run 'make setup' (installs openai-whisper and CPU torch)")
        name = section.model
        if name in whisper_weights.OPENAI_WEIGHTS:
            weight = whisper_weights.OPENAI_WEIGHTS[name]
            return Check("ok", f"{weight.name} pulled") if weight.installed(context.cache_dir) else Check("missing", f"run '{weight.command()}'")
        converted = (context.cache_dir / "openai-whisper" / f"{name}.pt").is_file()
        return Check("ok", f"{name}.pt " + ("converted" if converted else "converted from the shipped weights at first use"))
