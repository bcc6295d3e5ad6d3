"""The OpenAI-compatible connection every 'openai' engine uses, and the one mapping of its errors.

Unreachable, timing out, rate-limited or failing (5xx) endpoints are
unavailable (the next engine is tried); a rejected key or a refused request
is an error that names the setting to fix.
"""

from __future__ import annotations

import os
from typing import Any

from core.context import OpenAISettings
from core.errors import EngineError, EngineUnavailable, PresenterError
from core.registry import Check


def client_kwargs(settings: OpenAISettings, timeout: float | None = None) -> dict[str, Any]:
    """Arguments for ``openai.OpenAI``; the client itself reads OPENAI_* when these are unset."""
    kwargs: dict[str, Any] = {"timeout": settings.timeout if timeout is None else timeout, "max_retries": settings.max_retries}
    if settings.api_key is not None:
        kwargs["api_key"] = settings.api_key.get_secret_value()
    if settings.base_url:
        kwargs["base_url"] = settings.base_url
        if "api_key" not in kwargs and not os.environ.get("OPENAI_API_KEY"):
            kwargs["api_key"] = "no-key"  # local servers (llama.cpp, Ollama) need none, the client insists on one
    return kwargs


def make_client(settings: OpenAISettings, service: str, timeout: float | None = None):
    """An ``openai.OpenAI`` client; no key or endpoint configured makes the engine unavailable."""
    from openai import OpenAI, OpenAIError

    try:
        return OpenAI(**client_kwargs(settings, timeout))
    except OpenAIError as error:
        raise EngineUnavailable(f"The {service} has no API key or endpoint: {error}", "Set OPENAI_API_KEY (or PRESENTER_OPENAI__API_KEY), or PRESENTER_OPENAI__BASE_URL for a local server.") from None


def endpoint(client: Any) -> str:
    return str(client.base_url).rstrip("/")


def endpoint_check(context: Any, service: str, detail: str) -> Check:
    """The doctor's row for an engine on the OpenAI-compatible endpoint: optional until one is configured."""
    try:
        client = make_client(context.openai, service)
    except EngineUnavailable:
        return Check("optional", "set OPENAI_API_KEY, or PRESENTER_OPENAI__BASE_URL for a local server")
    return Check("ok", f"{detail}; endpoint {endpoint(client)}")


def engine_error(error: Exception, service: str, where: str, timeout: float | None = None) -> PresenterError:
    """One openai exception as the pipeline's error: unavailable (fall back) or a stop with what to fix."""
    import httpx
    import openai

    if isinstance(error, (openai.APITimeoutError, httpx.TimeoutException)):
        return EngineUnavailable(
            f"The {service} {where} did not answer within {timeout} s.",
            "Check that the server is up and not overloaded, or raise PRESENTER_OPENAI__TIMEOUT.",
        )
    if isinstance(error, (openai.APIConnectionError, httpx.TransportError)):
        return EngineUnavailable(f"Cannot reach the {service} {where}.", "Check PRESENTER_OPENAI__BASE_URL / OPENAI_BASE_URL and that the server is running.")
    if isinstance(error, (openai.AuthenticationError, openai.PermissionDeniedError)):
        return EngineError(f"The {service} {where} rejected the API key (HTTP {error.status_code}).", "Set OPENAI_API_KEY or PRESENTER_OPENAI__API_KEY to a valid key.")
    if isinstance(error, openai.APIStatusError):
        if error.status_code == 429 or error.status_code >= 500:
            return EngineUnavailable(f"The {service} {where} answered HTTP {error.status_code} ({error.message}).", "The server is failing or rate-limiting; rerun later, or configure a fallback engine.")
        return EngineError(f"The {service} {where} answered HTTP {error.status_code}: {error.message}", "Check the model name and the server's logs.")
    return EngineError(f"The {service} {where} failed: {error}", "Check the server's logs.")
