"""lipsync: one portrait photo and narration.wav become lipsync.mp4, a talking head, lipsync.json, and lipsync_sheet.png to judge it by."""

from __future__ import annotations

import time
from pathlib import Path

from core.artifacts import LIPSYNC_FILES, Animation, Narration, StageRecord
from core.context import Context
from core.registry import ANIMATORS
from core.settings import LipsyncSettings
from engines.lipsync.base import OnFrames
from engines.lipsync.portrait import PortraitError, default_portrait

__all__ = ["PortraitError", "default_portrait", "portrait_of", "lipsync"]


def portrait_of(section: LipsyncSettings) -> Path:
    """The configured photo, or the bundled default; an error naming the file if it is missing."""
    portrait = Path(section.portrait).expanduser() if section.portrait else default_portrait()
    if not portrait.is_file():
        raise PortraitError(f"The portrait {portrait} does not exist.", "Set PRESENTER_LIPSYNC__PORTRAIT (or --portrait) to a photo of one face.")
    return portrait


def lipsync(narration_wav: Path, narration_json: Path, folder: Path, section: LipsyncSettings, context: Context, *, size: int, progress: OnFrames | None = None) -> StageRecord:
    """Write lipsync.mp4 (talking portrait with the narration), lipsync.json (per-frame mouth and blink), ``size`` pixels square, and its contact sheet."""
    started = time.perf_counter()
    portrait = portrait_of(section)
    narration = Narration.model_validate_json(Path(narration_json).read_text(encoding="utf-8"))
    out = Path(folder) / LIPSYNC_FILES[0]
    record = ANIMATORS.get(section.engine)(section, context).render(portrait, Path(narration_wav), narration, out, size, progress)
    seconds = round(time.perf_counter() - started, 3)
    animation = Animation.read(folder)
    return StageRecord(
        outputs=[out, record, Path(folder) / LIPSYNC_FILES[2]], engine=section.engine, seconds=seconds, portrait=str(portrait), frames=animation.frames,
        frames_per_second=round(animation.frames / seconds, 1) if seconds else None,
    )

