"""The files of an episode folder, typed: their names in one place, and the records stages return.

Every JSON a stage writes is one of these models, so what one stage writes is
what the next one (and publishing, and the Prefect artifacts) reads.
"""

from __future__ import annotations

from dataclasses import field
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict
from pydantic.dataclasses import dataclass

from .workspace import write_text

AUDIO_STEM = "audio"
CHUNK_DIR = "chunks"
TRANSCRIPT_FILES = ("transcript.json", "transcript.txt", "transcript.srt", "transcript.vtt")
SUMMARY_FILES = ("summary.json", "summary.md", "script.txt")
SCRIPT = "script.txt"
NARRATION_FILES = ("narration.wav", "narration.json")
LIPSYNC_FILES = ("lipsync.mp4", "lipsync.json")
VIDEO_FILES = ("presenter.mp4", "narration.srt", "thumbnail.png")
NOTES_DIR = "summary-notes"

A = TypeVar("A", bound="Artifact")


class Artifact(BaseModel):
    """A JSON file of the episode folder."""

    file: ClassVar[str]

    @classmethod
    def read(cls: type[A], folder: Path) -> A:
        return cls.model_validate_json((Path(folder) / cls.file).read_text(encoding="utf-8"))

    def write(self, folder: Path) -> Path:
        return write_text(Path(folder) / self.file, self.model_dump_json(indent=2) + "\n")


# --- split ------------------------------------------------------------------------------


class ChunkInfo(BaseModel):
    index: int
    path: str  # relative to the episode folder
    offset: float
    duration: float
    silent: bool


class Chunks(Artifact):
    file = "chunks.json"
    source: str
    duration: float
    chunks: list[ChunkInfo]


# --- transcribe -------------------------------------------------------------------------


@dataclass
class Word:
    start: float
    end: float
    word: str
    probability: float | None = None


@dataclass
class Segment:
    start: float
    end: float
    text: str
    words: list[Word] = field(default_factory=list)

    def shifted(self, offset: float) -> Segment:
        words = [Word(round(w.start + offset, 3), round(w.end + offset, 3), w.word, w.probability) for w in self.words]
        return Segment(round(self.start + offset, 3), round(self.end + offset, 3), self.text, words)


class ChunkTranscript(BaseModel):
    """One chunk's transcript, times already on the episode's timeline; ``engine`` is None for a silent chunk."""

    offset: float
    language: str | None
    engine: str | None
    model: str | None
    segments: list[Segment]


class Transcript(Artifact):
    file = "transcript.json"
    language: str | None
    engine: str | None = None
    model: str | None = None
    duration: float = 0.0
    text: str
    segments: list[Segment]


# --- summarize --------------------------------------------------------------------------


class Chapter(BaseModel):
    start: float
    title: str


class Summary(Artifact):
    file = "summary.json"
    title: str
    summary: str
    highlights: list[str]
    chapters: list[Chapter]
    script: str
    engine: str
    model: str
    extractive: bool
    language: str
    ungrounded: list[str]
    parts: int
    reduce_levels: int
    usage: dict[str, Any]
    seconds: float
    episode_title: str
    show: str
    target_seconds: float
    fallbacks: list[str]


# --- narrate ----------------------------------------------------------------------------


class Unit(BaseModel):
    """A phoneme (or pinyin initial/final, or 'sil') with its time in narration.wav."""

    unit: str
    start: float
    end: float


class VoiceRun(BaseModel):
    text: str
    language: str
    engine: str
    model: str
    start: float
    end: float


class NarratedSentence(BaseModel):
    text: str
    start: float
    end: float | None = None
    runs: list[VoiceRun] = []
    units: list[Unit] = []


class Narration(Artifact):
    file = "narration.json"
    sample_rate: int
    duration: float
    language: str
    engines: list[str]
    models: list[str]
    loudness_lufs: float
    source_loudness_lufs: float | None
    skipped: list[str]
    unavailable: dict[str, str]
    sentences: list[NarratedSentence]

    def units(self) -> list[Unit]:
        return [u for s in self.sentences for u in s.units]


# --- lipsync ----------------------------------------------------------------------------


class Animation(Artifact):
    """Per-frame record of the talking head; ``mouth`` is None when a model drew the mouth."""

    file = "lipsync.json"
    engine: str
    fps: int
    frames: int
    mouth: list[float] | None
    blink: list[float]


# --- what a stage returns ---------------------------------------------------------------


class StageRecord(BaseModel):
    """What a stage made and how: its manifest entry. Stage-specific figures are extra fields."""

    model_config = ConfigDict(extra="allow")

    outputs: list[Path]
    engine: str | None = None
    model: str | None = None
    seconds: float | None = None
    cached: bool = False
