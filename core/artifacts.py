"""The files of an episode folder, typed: their names in one place, and the records stages return.

Every JSON a stage writes is one of these models, so what one stage writes is
what the next one (and publishing, and the Prefect artifacts) reads.
"""

from __future__ import annotations

from dataclasses import field
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict, computed_field
from pydantic.dataclasses import dataclass

from .workspace import write_text

AUDIO_STEM = "audio"
CHUNK_DIR = "chunks"
TRANSCRIPT_FILES = ("transcript.json", "transcript.txt", "transcript.srt", "transcript.vtt")
SUMMARY_FILES = ("summary.json", "summary.md", "script.txt")
SCRIPT = "script.txt"
NARRATION_FILES = ("narration.wav", "narration.json")
LIPSYNC_FILES = ("lipsync.mp4", "lipsync.json", "lipsync_sheet.png")
VIDEO_FILES = ("presenter.mp4", "narration.srt", "thumbnail.png")
NOTES_DIR = "summary-notes"
LLM_LOG = "logs/llm.log"  # every model call of the summarize stage: timing, tokens, the raw reply

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
    speaker: int | None = None  # 1-based, an index into Transcript.speakers plus one; None before diarization


@dataclass
class Segment:
    start: float
    end: float
    text: str
    words: list[Word] = field(default_factory=list)
    speaker: int | None = None

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
    prompt: str | None = None  # Whisper's initial prompt, as sent


class Correction(BaseModel):
    """A glossary term put in place of what Whisper wrote (``original``), at ``time`` seconds."""

    original: str
    term: str
    time: float


class Speaker(BaseModel):
    """One voice of the episode: a name only where the speaker said it (``named_by``), else 'Speaker N'."""

    label: str
    name: str | None = None
    named_by: str | None = None  # the words that named the speaker, e.g. "我是王立" (confirmed by the show notes, or not)
    confirmed: bool = False  # the name is also in the show notes or the user's terms
    seconds: float = 0.0
    voiceprint: list[float] = []  # mean unit embedding of the speaker's windows: the feed's host is recognised by it later


class HostVoice(BaseModel):
    """A feed's host as heard so far: their voiceprint (a running mean over episodes) and, once someone said it, their name."""

    name: str | None = None
    voiceprint: list[float]
    heard_in: list[str] = []  # the episode folders merged in, so that a rerun does not count one twice


class Transcript(Artifact):
    file = "transcript.json"
    language: str | None
    engine: str | None = None
    model: str | None = None
    duration: float = 0.0
    text: str
    segments: list[Segment]
    glossary: list[str] = []
    corrections: list[Correction] = []
    speakers: list[Speaker] = []  # segment.speaker N is speakers[N - 1]

    def speaker_of(self, segment: Segment) -> Speaker | None:
        return self.speakers[segment.speaker - 1] if segment.speaker and len(self.speakers) > 1 else None

    def voices_between(self, start: float, end: float, share: float = 0.1) -> list[str]:
        """Who speaks between ``start`` and ``end`` (at least ``share`` of the talk there), most first; empty for one voice."""
        talk: dict[str, float] = {}
        for segment in self.segments:
            speaker = self.speaker_of(segment)
            overlap = min(end, segment.end) - max(start, segment.start)
            if speaker and overlap > 0:
                talk[speaker.label] = talk.get(speaker.label, 0.0) + overlap
        total = sum(talk.values())
        return [label for label, seconds in sorted(talk.items(), key=lambda item: -item[1]) if seconds >= share * total]


# --- summarize --------------------------------------------------------------------------


class Chapter(BaseModel):
    start: float
    title: str
    speakers: list[str] = []  # filled where the page is made, from the transcript's speakers


class Beat(BaseModel):
    """One sentence of the presenter's script: its text, the section it tells of (None: the intro), that section's times, who it reports on, where it came from."""

    text: str
    section: int | None = None
    start: float = 0.0
    end: float = 0.0
    speaker: str | None = None
    # intro, outro (the last sentence, from the intro's facts), model, resampled (the model, asked again), reported (reported
    # speech built from the transcript), link (the line before a soundbite), soundbite
    source: str = "model"
    words: list[Word] = []  # a soundbite's words with their episode times; ``start``/``end`` are then the span cut from the episode

    @computed_field  # type: ignore[prop-decorator]
    @property
    def kind(self) -> str:
        """'soundbite' (the episode's own audio) or 'narration' (the presenter speaks it)."""
        return "soundbite" if self.source == "soundbite" else "narration"


class Written(BaseModel):
    """The digest as a listener reads and hears it: what the gates judge and repair, and what summary.json keeps."""

    title: str
    summary: str
    highlights: list[str]
    chapters: list[Chapter]
    script: str

    @property
    def chapter_titles(self) -> list[str]:
        return [c.title for c in self.chapters]


class Summary(Written, Artifact):
    file = "summary.json"
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
    glossary: list[str] = []
    gates: list[dict[str, Any]] = []  # every quality gate that fired on the model's answer: field, gate, values
    extractive_fields: list[str] = []  # fields built from the transcript because the model's failed a gate
    dropped_from_script: list[str] = []  # script sentences not spoken: they held an item the transcript does not contain
    quoted_for_names: list[str] = []  # central names the model left out, which the summary tells in reported speech from the transcript
    beats: list[Beat] = []  # the script sentence by sentence; ``script`` is their texts joined
    rejected: list[dict[str, Any]] = []  # script sentences not spoken: text, source, the verifier's rules they broke
    corrected: list[dict[str, str]] = []  # words Whisper misheard, put right in the digest (Chinese): heard, said, the sentence as corrected
    figures_heard: list[dict[str, str]] = []  # figures Whisper misheard, put right in the transcript before the digest was told from it (Chinese): heard, said, the transcript's sentence as corrected
    reported_in_summary: list[str] = []  # the summary's sentences telling a figure in reported speech where the model's telling failed


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
    """A sentence of narration.wav, or (``kind`` 'soundbite') a span of the episode's own audio played in it."""

    text: str
    start: float
    end: float | None = None
    runs: list[VoiceRun] = []
    units: list[Unit] = []
    kind: str = "narration"  # narration (the presenter's voice) or soundbite (cut from the episode)
    source: str | None = None  # the script beat's source (intro, model, reported, link, soundbite...)
    speaker: str | None = None  # a soundbite's speaker, as the link line names them ("a guest" when unnamed)
    source_start: float | None = None  # a soundbite's span in the episode, seconds
    source_end: float | None = None
    words: list[Word] = []  # a soundbite's words, timed on narration.wav

    @property
    def caption(self) -> str:
        """What the subtitles show: a soundbite's words with its speaker's name."""
        if self.kind != "soundbite":
            return self.text
        return f"{self.speaker}: “{self.text}”" if self.speaker else f"“{self.text}”"


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
    """Per-frame record of the talking head; ``mouth`` (the jaw) and the lip shape are None when a model drew the mouth."""

    file = "lipsync.json"
    engine: str
    fps: int
    frames: int
    mouth: list[float] | None
    blink: list[float]
    spread: list[float] | None = None
    rounding: list[float] | None = None
    tongue: list[float] | None = None
    mouth_box: list[int] | None = None  # x0, y0, x1, y1 around the mouth and chin in the frame: what the contact sheet shows

    def neutral_frame(self, before: float) -> int:
        """The frame nearest ``before`` / 2 seconds (and before it) with the mouth closed and the eyes open: the video's poster."""
        last = max(1, min(self.frames, int(before * self.fps)))
        calm = [i for i in range(last) if (self.mouth is None or self.mouth[i] < 0.05) and self.blink[i] < 0.05]
        return min(calm, key=lambda i: abs(i - last / 2)) if calm else 0


# --- what a stage returns ---------------------------------------------------------------


class StageRecord(BaseModel):
    """What a stage made and how: its manifest entry. Stage-specific figures are extra fields."""

    model_config = ConfigDict(extra="allow")

    outputs: list[Path]
    engine: str | None = None
    model: str | None = None
    seconds: float | None = None
    cached: bool = False
