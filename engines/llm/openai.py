"""openai: any OpenAI-compatible chat endpoint (OpenAI, a llama.cpp server, Ollama's /v1), map calls in parallel."""

from __future__ import annotations

from pydantic import Field

from core.errors import EngineUnavailable
from core.registry import Check, EngineSettings

from ..openai_client import endpoint, endpoint_check, make_client
from .chat import SERVICE, ChatSummarizer, RateLimiter


class OpenAISummarySettings(EngineSettings):
    model: str = Field("gpt-4o-mini", description="Chat model at the endpoint.")
    concurrency: int = Field(4, ge=1, description="Map calls at once.")
    requests_per_minute: float = Field(60.0, gt=0, description="Rate limit for the endpoint.")
    stream: bool = Field(False, description="Stream replies: the timeout then bounds silence, not the whole answer.")


class OpenAISummarizer(ChatSummarizer, name="openai", summary="an OpenAI-compatible chat endpoint", settings=OpenAISummarySettings):

    options: OpenAISummarySettings

    def __init__(self, section, context) -> None:
        super().__init__(section, context)
        self.model, self.concurrency, self.stream = self.options.model, self.options.concurrency, self.options.stream
        self.limiter = RateLimiter(self.options.requests_per_minute)
        self._client = make_client(context.openai, SERVICE)

    def client(self):
        return self._client

    @property
    def endpoint(self) -> str:
        return endpoint(self._client)

    def close(self) -> None:
        self._client.close()

    @classmethod
    def check(cls, section, context) -> Check:
        return endpoint_check(context, SERVICE, f"model {section.options(cls.name).model}")

    @classmethod
    def configured(cls, context) -> bool:
        """Whether an endpoint or key is set (here or as OPENAI_*), which puts this engine first by default."""
        try:
            make_client(context.openai, SERVICE)
        except EngineUnavailable:
            return False
        return True
