"""SRT and WebVTT from timed cues: transcripts and narration subtitles."""

from __future__ import annotations

from collections.abc import Iterable

from .text import timestamp

Cue = tuple[float, float, str]


def to_srt(cues: Iterable[Cue]) -> str:
    blocks = [
        f"{n}\n{timestamp(start, ',')} --> {timestamp(end, ',')}\n{text.strip()}\n"
        for n, (start, end, text) in enumerate(cues, start=1)
    ]
    return "\n".join(blocks)


def to_vtt(cues: Iterable[Cue]) -> str:
    blocks = [f"{timestamp(start, '.')} --> {timestamp(end, '.')}\n{text.strip()}\n" for start, end, text in cues]
    return "WEBVTT\n\n" + "\n".join(blocks)
