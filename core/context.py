"""What every engine may use besides its own settings: the weights cache and the shared OpenAI-compatible connection."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, Field, SecretStr


class OpenAISettings(BaseModel):
    """The OpenAI-compatible endpoint every 'openai' engine uses (transcription, summaries, speech)."""

    api_key: SecretStr | None = Field(None, description="Falls back to OPENAI_API_KEY.")
    base_url: str | None = Field(None, description="Falls back to OPENAI_BASE_URL.")
    timeout: float = 120.0
    max_retries: int = 3


@dataclass(frozen=True)
class Context:
    """What every engine may use besides its settings: the weights cache and the shared OpenAI-compatible connection."""

    cache_dir: Path
    openai: OpenAISettings
