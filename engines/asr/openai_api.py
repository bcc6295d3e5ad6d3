"""openai-api: whisper-1 (or newer) through the openai client, for users with a key or a compatible server."""

from __future__ import annotations

from pydantic import Field

from core.artifacts import Segment, Word
from core.media.ffmpeg import wav_bytes
from core.registry import Check, EngineSettings

from ..openai_client import endpoint, endpoint_check, engine_error, make_client
from .base import Recognized, Transcriber

SERVICE = "transcription endpoint"


class OpenAIAPISettings(EngineSettings):
    model: str = Field("whisper-1", description="Transcription model name at the endpoint.")


class OpenAIAPI(Transcriber, name="openai-api", summary="an OpenAI-compatible /audio/transcriptions endpoint", settings=OpenAIAPISettings):
    max_chunk_seconds = 600.0  # 16 kHz 16-bit mono WAV: 19.2 MB, under the API's 25 MB upload limit

    def __init__(self, section, context) -> None:
        super().__init__(section, context)
        self.model = self.options.model
        self._client = make_client(context.openai, SERVICE)

    def transcribe(self, audio, *, language, prompt, on_progress, hotwords=None):
        import openai

        extra = {"language": language} if language else {}
        try:
            reply = self._client.audio.transcriptions.create(
                model=self.model,
                file=("chunk.wav", wav_bytes(audio, 16_000), "audio/wav"),
                response_format="verbose_json",
                timestamp_granularities=["segment", "word"],
                prompt=prompt or openai.NOT_GIVEN,
                **extra,
            )
        except openai.OpenAIError as error:
            raise engine_error(error, SERVICE, endpoint(self._client), self.context.openai.timeout) from None
        words = [Word(w.start, w.end, w.word) for w in (reply.words or [])]
        segments = []
        for s in reply.segments or []:
            inside = [w for w in words if s.start <= w.start < s.end]
            segments.append(Segment(s.start, s.end, s.text.strip(), inside))
        if on_progress and segments:
            on_progress(segments[-1].end)
        lang = {"english": "en", "chinese": "zh"}.get((reply.language or "").lower(), reply.language)
        return Recognized(lang, segments)

    @classmethod
    def check(cls, section, context) -> Check:
        return endpoint_check(context, SERVICE, f"model {section.options(cls.name).model}")
