"""lipsync: one portrait photo and narration.wav become lipsync.mp4, a talking head, lipsync.json, and lipsync_sheet.png to judge it by."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from core.artifacts import LIPSYNC_FILES, Animation, Narration, StageRecord
from core.portrait import PortraitError, default_portrait
from core.registry import ANIMATORS, Context
from core.settings import LipsyncSettings
from core.sheet import contact_sheet
from engines.lipsync.base import OnFrames
from engines.lipsync.visemes import OPEN, is_bilabial, shape

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
    sheet = contact_sheet(out, sheet_picks(narration, animation), tuple(animation.mouth_box or (0, 0, size, size)), Path(folder) / LIPSYNC_FILES[2])  # type: ignore[arg-type]
    return StageRecord(
        outputs=[out, record, sheet], engine=section.engine, seconds=seconds, portrait=str(portrait), frames=animation.frames,
        frames_per_second=round(animation.frames / seconds, 1) if seconds else None,
    )


def sheet_picks(narration: Narration, animation: Animation, per_kind: int = 3) -> list[tuple[int, str]]:
    """Frames a person should see to judge the mouth: the most open, b/p/m onsets, rounded and spread vowels, and silence."""
    fps, last = animation.fps, animation.frames - 1
    jaw = animation.mouth
    kinds: dict[str, list[tuple[int, str]]] = {"open": [], "b/p/m": [], "rounded": [], "spread": []}
    for unit in narration.units():
        opening, spread, rounding, _ = shape(unit.unit)
        middle, onset = min(last, int((unit.start + unit.end) / 2 * fps)), min(last, int(unit.start * fps))
        if is_bilabial(unit.unit):
            kinds["b/p/m"].append((onset, unit.unit))
        elif opening == OPEN:
            kinds["open"].append((middle, unit.unit))
        elif rounding >= 1:
            kinds["rounded"].append((middle, unit.unit))
        elif spread >= 1:
            kinds["spread"].append((middle, unit.unit))
    picks = []
    for kind, found in kinds.items():
        if kind == "open" and jaw:
            chosen = sorted(found, key=lambda pick: -jaw[pick[0]])[:per_kind]
        else:
            chosen = [found[i] for i in np.linspace(0, len(found) - 1, min(per_kind, len(found))).astype(int)] if found else []
        picks += [(index, f"{kind}: {unit}") for index, unit in sorted(chosen)]
    spoken = sorted((u.start, u.end) for u in narration.units() if u.unit != "sil")
    gaps = [(a_end, b_start) for (_, a_end), (b_start, _) in zip(spoken, spoken[1:]) if b_start - a_end > 0.3] or [(0.0, spoken[0][0] if spoken else 0.0)]
    quiet = max(gaps, key=lambda gap: gap[1] - gap[0])
    return [*picks, (min(last, int((quiet[0] + quiet[1]) / 2 * fps)), "silence")]
