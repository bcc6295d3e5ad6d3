"""SRT and WebVTT from timed cues: transcripts and narration subtitles.

Written here, not with pysubs2: pysubs2 reads ``{...}`` in any text as ASS
override tags and drops them (and ``\\N`` as a line break), so a transcript or
title holding them would be changed silently; here every cue is plain text,
escaped for WebVTT.
"""

from __future__ import annotations

from collections.abc import Iterable

from core.text import timestamp

Cue = tuple[float, float, str]


def to_srt(cues: Iterable[Cue]) -> str:
    blocks = [
        f"{n}\n{timestamp(start, ',')} --> {timestamp(end, ',')}\n{text.strip()}\n"
        for n, (start, end, text) in enumerate(cues, start=1)
    ]
    return "\n".join(blocks)


def _vtt_text(text: str) -> str:
    return text.strip().replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_vtt(cues: Iterable[Cue], voices: Iterable[str | None] | None = None) -> str:
    """WebVTT; with ``voices``, each cue is tagged with its speaker (``<v Alice>``)."""
    cues = list(cues)
    tags = [f"<v {_vtt_text(v)}>" if v else "" for v in voices] if voices is not None else [""] * len(cues)
    blocks = [f"{timestamp(start, '.')} --> {timestamp(end, '.')}\n{tag}{_vtt_text(text)}\n" for (start, end, text), tag in zip(cues, tags)]
    return "WEBVTT\n\n" + "\n".join(blocks)
