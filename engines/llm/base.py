"""What a summary engine does: transcript parts in, a digest (title, summary, highlights, chapters, script) out.

Also the reply schemas the models must fill, and how a transcript is cut into
parts that fit a context window.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, Field, create_model, field_validator

from core.logs import Progress
from core.registry import SUMMARIZERS, Engine
from core.text import CJK, clock, unspaced

from . import gates

LOGGER = __package__  # "engines.llm": the summarize stage writes what it records to the episode's logs/llm.log
DETAIL_LOGGER = f"{LOGGER}.detail"  # each model call in full: in that file, and in the terminal only with --verbose
LANGUAGES = {"en": "English", "zh": "Simplified Chinese (简体中文)", "ja": "Japanese", "fr": "French", "de": "German", "es": "Spanish"}
MIN_HIGHLIGHTS, MAX_HIGHLIGHTS = 3, 7


def _short(limit: int, **kwargs: Any) -> Any:
    """A string whose schema caps its length: llama.cpp's grammar enforces it, so a small model cannot ramble."""
    return Field(json_schema_extra={"maxLength": limit}, **kwargs)


_NOTE_LIMITS = {"points": 5, "people": 6, "numbers": 6}


def _bounded(field: str) -> Any:
    """A list field whose schema caps its length (llama.cpp's grammar enforces it) and whose value is clipped."""
    return Field(default_factory=list, json_schema_extra={"maxItems": _NOTE_LIMITS[field]})


class Point(BaseModel):
    time: str = _short(8, description="mm:ss of the line the point comes from")
    point: str = _short(200)


class Notes(BaseModel):
    summary: str = _short(700)
    points: list[Point] = _bounded("points")
    people: list[Annotated[str, _short(60)]] = _bounded("people")
    numbers: list[Annotated[str, _short(100)]] = _bounded("numbers")

    @field_validator("points", "people", "numbers", mode="before")
    @classmethod
    def _clip(cls, value: Any, info: Any) -> Any:
        return value[: _NOTE_LIMITS[info.field_name]] if isinstance(value, list) else value


class DraftChapter(BaseModel):
    start: str = _short(12, description="mm:ss")
    title: str = _short(80)


SUMMARY_CHARS = 1200  # the grammar's cap on a digest's summary: a small model that starts repeating itself stops there


class Digest(BaseModel):
    title: str = _short(160, min_length=1)
    summary: str = _short(SUMMARY_CHARS, min_length=1)
    highlights: list[Annotated[str, _short(240)]] = Field(min_length=MIN_HIGHLIGHTS, json_schema_extra={"maxItems": MAX_HIGHLIGHTS})
    chapters: list[DraftChapter] = Field(min_length=1, json_schema_extra={"maxItems": 12})
    script: str = Field(min_length=1)

    @field_validator("highlights")
    @classmethod
    def _at_most_seven(cls, value: list[str]) -> list[str]:
        return [h.strip() for h in value if h.strip()][:MAX_HIGHLIGHTS]

    @property
    def chapter_titles(self) -> list[str]:
        return [c.title for c in self.chapters]


def estimate_tokens(text: str) -> int:
    """Rough token count: about one token per Chinese character, four Latin characters per token."""
    cjk = len(CJK.findall(text))
    return cjk + (len(text) - cjk) // 4 + 1


@dataclass
class Part:
    start: float
    end: float
    lines: list[str]

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


STAMP_SECONDS = 30.0  # a line of the map's transcript gives its time at least this often


def split_transcript(segments: list[Any], budget_tokens: int, speaker: Callable[[Any], str | None] | None = None) -> list[Part]:
    """Consecutive segments grouped into parts of at most ``budget_tokens``; a segment is never cut.

    ``speaker`` gives the name of a segment's speaker, where they named themselves: a line where the voice changes
    starts with it, so map notes can say who said what. A line starts with its time [mm:ss] where a part or a voice
    begins or STAMP_SECONDS have passed since the last time given: the notes' times need no finer grain, and a time
    on every line of an hour is about a fifth more to read.
    """
    parts: list[Part] = []
    current: Part | None = None
    used = 0
    previous = None
    stamped = -math.inf
    for segment in segments:
        name = speaker(segment) if speaker else None
        changed = name != previous
        said = f"{name}: " if name and changed else ""
        previous = name
        text = f"{said}{segment.text.strip()}"
        if current is None or used + estimate_tokens(f"[{clock(segment.start)}] {text}") > budget_tokens:
            current = Part(segment.start, segment.end, [])
            parts.append(current)
            used = 0
            stamped = -math.inf
        if changed or segment.start - stamped >= STAMP_SECONDS:
            text, stamped = f"[{clock(segment.start)}] {text}", segment.start
        current.lines.append(text)
        current.end = segment.end
        used += estimate_tokens(text)
    return parts


@dataclass
class Request:
    """What the digest is about, in which language, how long its script should be, and what reviews it.

    ``source_language`` is the transcript's (map notes are taken in it, names
    copied as heard); ``language`` the digest's.
    """

    title: str
    show: str
    language: str
    target_seconds: float
    source_language: str = ""
    glossary: list[str] = field(default_factory=list)
    segments: list[Any] = field(default_factory=list)
    transcript: str = ""

    def __post_init__(self) -> None:
        self.source_language = self.source_language or self.language

    @property
    def review(self) -> gates.Review:
        return gates.Review(self.language, self.transcript, self.target_size, self.by_characters, self.glossary)

    @property
    def language_name(self) -> str:
        return LANGUAGES.get(self.language, self.language)

    @property
    def by_characters(self) -> bool:
        return unspaced(self.language)

    @property
    def target_size(self) -> int:
        """Script length for the target speaking time: 4.5 characters or 2.5 words a second."""
        return round(self.target_seconds * (4.5 if self.by_characters else 2.5))

    @property
    def script_chars(self) -> int:
        """The longest script the reply's grammar allows: half again the target length, in characters, Latin names in Chinese counted."""
        return round(gates.LONGEST * self.target_size * (1.3 if self.by_characters else 7))

    def digest_schema(self) -> type[Digest]:
        """The digest's reply schema for this request: its script capped at ``script_chars``, so a reply that loops still ends."""
        capped = (str, _short(self.script_chars, min_length=1))
        return create_model("Digest", __base__=Digest, script=capped)

    @property
    def script_sentences(self) -> int:
        """About how many sentences fill the script: a small model keeps a sentence count better than a length."""
        return max(2, round(self.target_size / (30 if self.by_characters else 18)))


@dataclass
class Usage:
    """Tokens and seconds of the model's calls. ``read_tokens``: the prompt tokens the model processed, those a llama.cpp
    server took from its prompt cache (a resampled sentence's passage) left out; the prompt tokens where a server does not say.
    A reading (the next token's probabilities, ``Summarizer.next_tokens`` and ``likelihood``) writes no token."""

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    read_tokens: int = 0
    declined: int = 0  # sentence calls not made: the episode's reading or writing budget was spent
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, prompt: int, completion: int, seconds: float, read: int | None = None) -> None:
        with self._lock:
            self.calls += 1
            self.prompt_tokens += prompt
            self.completion_tokens += completion
            self.seconds += seconds
            self.read_tokens += prompt if read is None else read

    def to_dict(self) -> dict[str, Any]:
        return {
            "calls": self.calls, "prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens, "seconds": round(self.seconds, 2),
            "read_tokens": self.read_tokens, "declined": self.declined,
        }


@dataclass
class Result:
    digest: Digest
    levels: int = 1
    usage: Usage = field(default_factory=Usage)
    points: list[tuple[float, str]] = field(default_factory=list)  # the map notes' key points (episode seconds, sentence), in the transcript's language
    numbers: list[tuple[float, float, str]] = field(default_factory=list)  # the map notes' numbers, each with its part's start and end


class Summarizer(Engine, registry=SUMMARIZERS):
    """A summary engine; ``extractive`` engines quote instead of writing, and are labelled so."""

    model: str
    extractive = False

    def summarize(self, parts: list[Part], transcript: str, request: Request, workdir: Path, progress: Progress | None = None) -> Result:
        """Write the digest of one transcript.

        Args:
            parts: the transcript's segments grouped into parts that fit the context window (``split_transcript``).
            transcript: the whole transcript text, for the checks that quote or ground against it.
            request: the show, title, glossary, language and target length of the digest, and its review.
            workdir: the episode folder, for intermediate files (notes of each part).
            progress: called with steps done and steps in all, or None.

        Returns:
            The digest (title, summary, highlights, chapters, script), how many levels of map-reduce made it, and the token usage.
        """
        raise NotImplementedError

    def writer(self, request: Request, usage: Usage) -> Any:
        """A ``script.Writer`` that asks the model for one sentence about a section (usage added to ``usage``), or None: no model."""
        return None

    def restater(self, request: Request, usage: Usage) -> Any:
        """A ``script.Restater`` that asks the model to tell one line of the episode in reported speech, or None: no model."""
        return None

    def next_tokens(self, usage: Usage) -> Any:
        """A ``homophones.NextTokens``: the model's most likely next tokens after a text, as {token: probability} (its top
        20; None where it cannot say), calls added to ``usage``; or None: the engine cannot read a text's likelihood."""
        return None

    def likelihood(self, usage: Usage) -> Any:
        """A ``homophones.Likelihood``: (log P(text | prefix), whether only an upper bound) for a prefix and a text (None
        where it cannot say), calls added to ``usage``; or None: the engine cannot read a text's likelihood."""
        return None
