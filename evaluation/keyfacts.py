"""Key facts (issue 25): what a listener must hear from a digest, checked sentence by sentence.

Each evaluation episode lists 6–10 facts (people with their roles, the main
claims, the numbers) in its ``episodes.json``, each a short description and a
machine-checkable form::

    {"fact": "David is a speech-recognition researcher at Microsoft Research",
     "all": [["David"], ["Microsoft Research", "微软研究院"]]}

A fact is heard when ONE sentence of the digest's summary or script
(``core.text.split_sentences``) holds at least one alternative of every group.
The script's soundbites (beats of source "soundbite": the episode's own voice,
played in the digest) are sentences a listener hears too; they are read as
transcribed, so a word Whisper misheard in one does not count.
Matching ignores case; an alternative starts at a word boundary (so "Ray" is
not found in "array", while "quantiz" finds "quantized"); where the sentence or
the alternative is Chinese, spaces are ignored on both sides. Numbers are
written as alternatives ("four to five times", "4 to 5", "四到五倍").

A sentence that is only a list of names does not count ("The episode also
mentions X, Y and Z.", "节目里还提到了X、Y和Z。"): with every alternative of
the episode's facts, every capitalised word, number and Latin name, and the
glue words of a list taken out, nothing is left of it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from core.text import CJK, split_sentences

# what a list of names is made of besides the names: list openers, conjunctions, articles, punctuation
GLUE_EN = {
    "the", "a", "an", "this", "episode", "episodes", "show", "also", "mentions", "mentioned", "mention", "names", "named",
    "include", "includes", "including", "included", "and", "or", "plus", "as", "well", "with", "other", "others", "guests",
    "guest", "speakers", "topics", "are", "is", "were", "was", "there", "etc", "among", "them", "such", "like", "too",
}
GLUE_ZH = ("节目里", "节目中", "本期", "这期", "节目", "还提到了", "提到了", "还提到", "提到", "也提到", "还有", "以及", "包括", "嘉宾", "等人", "等等", "和", "与", "及", "跟", "还", "也", "了", "等", "有", "里", "中")
WORD = re.compile(r"[A-Za-z][A-Za-z'’]*")


@dataclass(frozen=True)
class Fact:
    fact: str
    all: tuple[tuple[str, ...], ...]

    @classmethod
    def of(cls, raw: dict[str, Any]) -> Fact:
        return cls(raw["fact"], tuple(tuple(group) for group in raw["all"]))

    @property
    def alternatives(self) -> list[str]:
        return [a for group in self.all for a in group]


def facts_of(raw: list[dict[str, Any]] | list[Fact]) -> list[Fact]:
    return [f if isinstance(f, Fact) else Fact.of(f) for f in raw]


def sentences(summary: dict[str, Any]) -> list[str]:
    """The digest's sentences a listener or reader gets: the summary's, then the script's, then its soundbites'."""
    played = [sentence for beat in summary.get("beats") or [] if beat.get("source") == "soundbite" for sentence in split_sentences(beat["text"])]
    return split_sentences(summary.get("summary", "")) + split_sentences(summary.get("script", "")) + played


def _squashed(text: str) -> str:
    return re.sub(r"\s+", "", text.lower())


def _pattern(alternative: str, chinese: bool) -> re.Pattern[str]:
    """``alternative`` starting at a word boundary (and a number not followed by a digit), any case; spaces ignored for Chinese."""
    text = _squashed(alternative) if chinese else re.sub(r"\s+", " ", alternative.strip())
    body = re.escape(text).replace(r"\ ", r"\s+")
    before = r"(?<![A-Za-z0-9])" if text[:1].isascii() and text[:1].isalnum() else ""
    after = r"(?![0-9])" if text[-1:].isdigit() else ""
    return re.compile(before + body + after, re.IGNORECASE)


def _find(alternative: str, sentence: str) -> bool:
    chinese = bool(CJK.search(sentence) or CJK.search(alternative))
    return bool(_pattern(alternative, chinese).search(_squashed(sentence) if chinese else sentence))


def holds(fact: Fact, sentence: str) -> bool:
    """Every group of ``fact`` has an alternative in ``sentence``."""
    return all(any(_find(a, sentence) for a in group) for group in fact.all)


def is_name_list(sentence: str, names: list[str]) -> bool:
    """Nothing is left of ``sentence`` without ``names``, capitalised words, numbers, Latin names and a list's glue words."""
    chinese = bool(CJK.search(sentence))
    text = _squashed(sentence) if chinese else sentence
    for name in sorted({n for n in names if n.strip()}, key=len, reverse=True):
        text = _pattern(name, chinese).sub(" ", text)
    if chinese:
        text = re.sub(r"[A-Za-z0-9][A-Za-z0-9.+\-]*", " ", text)  # Latin names and numbers
        for glue in GLUE_ZH:
            text = text.replace(glue, " ")
        return not CJK.search(text)
    words = [w for w in WORD.findall(text) if not w[0].isupper() and w.lower() not in GLUE_EN]
    return not words


def heard(facts: list[dict[str, Any]] | list[Fact], summary: dict[str, Any], names: list[str] | None = None) -> list[Fact]:
    """The facts that one sentence of the digest (summary.json as a dict) says, a list of names aside.

    ``names``: further names to take out when telling a list of names (the episode's); every alternative of every fact is taken out anyway.
    """
    chosen = facts_of(facts)
    known = [a for f in chosen for a in f.alternatives] + list(names or [])
    said = [s for s in sentences(summary) if not is_name_list(s, known)]
    return [f for f in chosen if any(holds(f, s) for s in said)]


def missed(facts: list[dict[str, Any]] | list[Fact], summary: dict[str, Any], names: list[str] | None = None) -> list[Fact]:
    found = heard(facts, summary, names)
    return [f for f in facts_of(facts) if f not in found]


def share(facts: list[dict[str, Any]] | list[Fact], summary: dict[str, Any], names: list[str] | None = None) -> float:
    """The share of ``facts`` heard (0 when there are none)."""
    chosen = facts_of(facts)
    return len(heard(chosen, summary, names)) / len(chosen) if chosen else 0.0
