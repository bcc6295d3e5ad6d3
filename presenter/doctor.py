"""What each engine needs and whether this machine has it, read from the engine registries; nothing heavy is imported."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from core.registry import ANIMATORS, DIARIZERS, SUMMARIZERS, TRANSCRIBERS, VOICES, Check, Registry, Status
from core.settings import Settings
from core.weights.packaged import installed
from stages.summarize import engine_order

FONT = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"


@dataclass(frozen=True)
class Row:
    stage: str
    engine: str
    status: Status
    detail: str
    selected: bool = False


def _tool(name: str, stage: str) -> Row:
    path = shutil.which(name)
    if path:
        return Row(stage, name, "ok", path, selected=True)
    return Row(stage, name, "missing", "install FFmpeg: 'apt-get install ffmpeg' (or 'make setup')", selected=True)


def _engines(registry: Registry, section, settings: Settings, selected: list[str]) -> list[Row]:
    rows = []
    for engine in registry.engines():
        try:
            check = engine.check(section, settings.context)
        except Exception as error:  # a check must never stop the doctor
            check = Check("missing", f"check failed: {error}")
        chosen = engine.name in selected
        status: Status = "missing" if chosen and check.status != "ok" else check.status
        rows.append(Row(registry.kind, engine.name, status, check.detail, chosen))
    return rows


def checks(settings: Settings) -> list[Row]:
    summary_order = engine_order(settings.summarize, settings.context)
    rows = [
        _tool("ffmpeg", "split"),
        _tool("ffprobe", "fetch/split"),
        Row("fetch", "httpx + feedparser", "ok" if installed("feedparser") and installed("httpx") else "missing", "RSS/Atom, resumable downloads", True),
    ]
    rows += _engines(TRANSCRIBERS, settings.transcribe, settings, [settings.transcribe.engine])
    rows += _engines(DIARIZERS, settings.diarize, settings, [settings.diarize.engine] if settings.diarize.enabled else [])
    rows += _engines(SUMMARIZERS, settings.summarize, settings, summary_order[:1])
    rows.append(Row("summarize", "fallback order", "ok", " → ".join(summary_order)))
    rows += _engines(VOICES, settings.narrate, settings, settings.narrate.engines[:1])
    rows.append(Row("narrate", "order", "ok", " → ".join(settings.narrate.engines)))
    rows += _engines(ANIMATORS, settings.lipsync, settings, [settings.lipsync.engine])
    font = Path(FONT).is_file()
    rows.append(Row("compose", "ffmpeg + libass", "ok" if font else "missing", "CJK subtitle font WenQuanYi Micro Hei" if font else "apt-get install fonts-wqy-microhei", True))
    return rows
