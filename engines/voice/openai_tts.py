"""openai-tts: an OpenAI-compatible /audio/speech endpoint (raw 24 kHz PCM); sentence timings only."""

from __future__ import annotations

import numpy as np
from pydantic import Field

from core.registry import Check, EngineSettings

from ..openai_client import endpoint, endpoint_check, engine_error, make_client
from .base import Speech, Voice

SERVICE = "speech endpoint"


class OpenAITTSSettings(EngineSettings):
    model: str = Field("tts-1", description="Speech model at the endpoint.")
    voice: str = Field("alloy", description="Voice name at the endpoint.")


class OpenAITTSVoice(Voice, name="openai-tts", summary="an OpenAI-compatible /audio/speech endpoint", settings=OpenAITTSSettings):
    sample_rate = 24_000
    license = "the provider's terms"

    def __init__(self, section, context) -> None:
        super().__init__(section, context)
        self.client = make_client(context.openai, SERVICE)
        self.model, self.voice, self.speed = self.options.model, self.options.voice, section.speed

    def speak(self, text: str, language: str) -> Speech:
        import openai

        try:
            reply = self.client.audio.speech.create(model=self.model, voice=self.voice, input=text, response_format="pcm", speed=self.speed)
        except openai.OpenAIError as error:
            raise engine_error(error, SERVICE, endpoint(self.client), self.context.openai.timeout) from None
        pcm = np.frombuffer(reply.content, dtype="<i2").astype(np.float32) / 32768.0
        return Speech(pcm, self.sample_rate)

    @classmethod
    def check(cls, section, context) -> Check:
        return endpoint_check(context, SERVICE, f"model {section.options(cls.name).model}")
