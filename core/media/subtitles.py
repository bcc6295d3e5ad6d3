"""SRT and WebVTT from timed cues: transcripts and narration subtitles.

Written here, not with pysubs2 (1.8.1, the last release for Python 3.11),
because its SRT and WebVTT writers do not keep a cue's text verbatim, and a
transcript or title from a feed may hold anything:

- without ``keep_ssa_tags`` every ``{...}`` is read as ASS override tags and
  dropped (``Up {\\an8} here`` becomes ``Up  here``);
- with it, ``\\N``, ``\\n`` and ``\\h`` still become line breaks and spaces
  (``C:\\new\\home`` becomes ``C:``, a break and ``ew ome``), and a cue whose
  text holds ``{\\p1}`` is taken for a drawing and left out of the file;
- its WebVTT is its SRT under a ``WEBVTT`` line: no escaping of ``<`` and
  ``&``, no ``<v>`` voice tags.

Here every cue is plain text, escaped for WebVTT. (compose's ASS file is
pysubs2's: ASS text is markup, and compose neutralises it before.)
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
