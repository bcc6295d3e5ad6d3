"""Checks on a digest a language model wrote: grounding, script length, the presenter's voice.

The chat engines send a reply back once with what these find; what still
fails is repaired here or replaced, so nothing unverified reaches the voice.
"""

from __future__ import annotations

import re
from typing import Protocol

from . import grounding
from .text import CJK

_SPEAKER_LABEL = re.compile(r"^\s*(?:[A-Z][\w.'-]*(?:\s[A-Z][\w.'-]*){0,2}|" + CJK.pattern + r"{2,4})\s*[:：]\s*")
_KEYWORD_TAIL = re.compile(r"(?:[.!?。！？]\s*)((?:[^.!?。！？,，]{1,30}[,，]\s*){3,}[^.!?。！？,，]{1,30})\s*$")


class Draft(Protocol):
    title: str
    summary: str
    highlights: list[str]
    script: str

    @property
    def chapter_titles(self) -> list[str]: ...


class Target(Protocol):
    target_size: int
    by_characters: bool

    def spoken_size(self, text: str) -> int: ...


def voice_problems(script: str) -> list[str]:
    """Small models write the script as a transcript line ("Maria: Hello, I'm Maria") or end it with keywords."""
    problems = []
    if _SPEAKER_LABEL.match(script):
        problems.append('The "script" starts with a speaker name and a colon; the presenter speaks about the episode in the third person.')
    if _KEYWORD_TAIL.search(script):
        problems.append('The "script" ends with a list of keywords; end it with a sentence.')
    return problems


def clean_script(script: str) -> str:
    """What is left of those habits after the revision is cut: a leading label, a trailing keyword list."""
    script = _SPEAKER_LABEL.sub("", script, count=1)
    tail = _KEYWORD_TAIL.search(script)
    if tail:
        script = script[: tail.start(1)].rstrip()
    return script.strip()


def length_problems(script: str, target: Target) -> list[str]:
    size, wanted = target.spoken_size(script), target.target_size
    if 0.6 * wanted <= size <= 1.5 * wanted:
        return []
    unit = "characters" if target.by_characters else "words"
    return [f'The "script" has {size} {unit}; it must have about {wanted} {unit}.']


def ungrounded(draft: Draft, transcript: str) -> list[str]:
    """Ungrounded items: names and numbers in the prose; numbers only in the Title Case headings."""
    prose = "\n".join([draft.summary, *draft.highlights, draft.script])
    headings = "\n".join([draft.title, *draft.chapter_titles])
    return sorted(set(grounding.ungrounded(prose, transcript)) | set(grounding.ungrounded(headings, transcript, names=False)))
