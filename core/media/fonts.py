"""Which characters the installed fonts can draw (fontconfig), so text from a feed or a model never asks for a missing glyph.

libass (burned subtitles) falls back through every font fontconfig knows and
reports "failed to find any fallback" for a character none of them has (an
emoji, a rare symbol), which compose treats as an error. Such characters are
dropped from what is drawn, and the caller warns; the text files (SRT, the
transcript) keep them, since a player may have the font.
"""

from __future__ import annotations

import bisect
import functools
import shutil
import subprocess

Ranges = tuple[tuple[int, ...], tuple[int, ...]]  # starts, ends (inclusive), sorted and merged


def _parse(charsets: str) -> Ranges:
    """fontconfig's charset notation ("20-7e a0 4e00-9fa5 ...", one font a line) as merged, sorted ranges."""
    spans: list[tuple[int, int]] = []
    for token in charsets.split():
        first, _, last = token.partition("-")
        try:
            spans.append((int(first, 16), int(last or first, 16)))
        except ValueError:
            continue
    merged: list[list[int]] = []
    for low, high in sorted(spans):
        if merged and low <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], high)
        else:
            merged.append([low, high])
    return tuple(m[0] for m in merged), tuple(m[1] for m in merged)


@functools.cache
def _charset(font: str | None) -> Ranges | None:
    """The characters of ``font`` (a file), or of every installed font; None when fontconfig's tools are missing or fail."""
    tool = shutil.which("fc-query" if font else "fc-list")
    if tool is None:
        return None
    command = [tool, "--format", "%{charset}\n", *([font] if font else [])]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    ranges = _parse(done.stdout) if done.returncode == 0 else None
    return ranges if ranges and ranges[0] else None


def _covered(ranges: Ranges, char: str) -> bool:
    starts, ends = ranges
    at = bisect.bisect_right(starts, ord(char)) - 1
    return at >= 0 and ord(char) <= ends[at]


def drawable(text: str, font: str | None = None) -> tuple[str, str]:
    """(``text`` without the characters no installed font has — or ``font`` lacks, if given —, the characters dropped).

    Whitespace always stays. Without fontconfig's tools the text is returned whole.
    """
    ranges = _charset(font)
    if ranges is None:
        return text, ""
    kept: list[str] = []
    dropped: list[str] = []
    for char in text:
        (kept if char.isspace() or _covered(ranges, char) else dropped).append(char)
    return "".join(kept), "".join(dict.fromkeys(dropped))
