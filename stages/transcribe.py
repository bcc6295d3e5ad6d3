"""transcribe: each chunk through the configured Whisper engine, then the transcript files.

Engines return times relative to the chunk; ``transcribe_chunk`` shifts them
onto the episode's timeline and ``write_transcript`` merges the chunks into
transcript.json/.txt/.srt/.vtt.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from core.artifacts import TRANSCRIPT_FILES, ChunkTranscript, Segment, Speaker, Transcript, Word
from core.context import Context
from core.glossary import Glossary, hotwords, whisper_prompt
from core.media.ffmpeg import read_chunk
from core.media.subtitles import to_srt, to_vtt
from core.registry import TRANSCRIBERS
from core.settings import SplitSettings, TranscribeSettings
from core.text import chinese_punctuation, joiner, small_forms
from core.workspace import write_text
from engines.asr.base import OnProgress, Transcriber
from engines.asr.termrepair import repair
from engines.base import shared

__all__ = ["Segment", "Word", "load_engine", "max_chunk_seconds", "to_chinese_script", "transcribe_chunk", "empty_chunk", "write_transcript"]


def load_engine(section: TranscribeSettings, context: Context) -> Transcriber:
    """The configured engine, loaded once per process and shared by all chunks."""
    return shared(section, context)


def max_chunk_seconds(section: TranscribeSettings, split: SplitSettings) -> float:
    """Chunk length for the configured engine: an API limits upload size."""
    limit = TRANSCRIBERS.get(section.engine).max_chunk_seconds
    return min(split.chunk_seconds, limit) if limit else split.chunk_seconds


def to_chinese_script(segments: list[Segment], script: str) -> list[Segment]:
    """Segments in simplified or traditional characters (OpenCC, offline), with Chinese punctuation where Whisper wrote ASCII marks."""
    if script == "original":
        convert = lambda text: text
    else:
        import opencc

        convert = opencc.OpenCC("t2s" if script == "simplified" else "s2t").convert
    return [Segment(s.start, s.end, chinese_punctuation(convert(s.text)), _marks_on_their_words([Word(w.start, w.end, small_forms(convert(w.word)), w.probability) for w in s.words])) for s in segments]


def _marks_on_their_words(words: list[Word]) -> list[Word]:
    """A word that is only closing punctuation joins the word before it, as faster-whisper joins "、" and "。" itself.

    Whisper writes "﹑" as three byte tokens, which faster-whisper leaves as a word of its own (its list of marks to
    append has "、", not "﹑"); alone, the mark could go to the next speaker: "Monica﹑我是高尼".
    """
    joined: list[Word] = []
    for word in words:
        if joined and word.word.strip() and all(unicodedata.category(c) in ("Po", "Pe", "Pf") for c in word.word.strip()):
            joined[-1] = replace(joined[-1], word=joined[-1].word + word.word.strip())
        else:
            joined.append(word)
    return joined


def transcribe_chunk(
    engine: Transcriber,
    chunk_path: Path,
    offset: float,
    out_path: Path,
    *,
    language: str | None,
    glossary: Glossary | None = None,
    show: str = "",
    title: str = "",
    chinese_script: str = "simplified",
    on_progress: OnProgress | None = None,
) -> Path:
    """Transcribe one chunk into ``out_path`` (JSON), with times on the episode's timeline.

    Whisper's prompt is written in the language spoken (detected first when not
    given); the glossary's terms go to the engine's hotwords, or else into the
    prompt, inside a normal sentence.
    """
    audio = read_chunk(chunk_path)
    glossary = glossary or Glossary()
    language = language or engine.detect_language(audio)
    if engine.takes_hotwords:  # names as hotwords, the prompt only sets the style: names in both made Whisper insert them (bench/transcribe.py --language zh)
        prompt, terms = whisper_prompt(Glossary(), language), hotwords(glossary)
    else:
        prompt, terms = whisper_prompt(glossary, language, show, title), None
    result = engine.transcribe(audio, language=language, prompt=prompt or None, hotwords=terms, on_progress=on_progress)
    segments = to_chinese_script(result.segments, chinese_script) if result.language == "zh" else result.segments
    chunk = ChunkTranscript(
        offset=offset, language=result.language, engine=engine.name, model=engine.model, segments=[s.shifted(offset) for s in segments if s.text], prompt=prompt,
    )
    return write_text(out_path, chunk.model_dump_json(indent=2) + "\n")


def empty_chunk(out_path: Path, offset: float, language: str | None) -> Path:
    """The transcript of a chunk the split stage found silent: nothing, and no model call."""
    chunk = ChunkTranscript(offset=offset, language=language, engine=None, model=None, segments=[])
    return write_text(out_path, chunk.model_dump_json(indent=2) + "\n")


def read_language(chunk_transcript: Path) -> str | None:
    return ChunkTranscript.model_validate_json(Path(chunk_transcript).read_text(encoding="utf-8")).language


Labeller = Callable[[list[Segment]], tuple[list[Segment], list[Speaker]]]
"""Who speaks each segment: ``stages.diarize.diarize`` with its audio and settings bound."""


def write_transcript(chunk_files: list[Path], folder: Path, duration: float, glossary: list[str] | None = None, speakers: Labeller | None = None) -> list[Path]:
    """Merge chunk transcripts into transcript.json, .txt, .srt and .vtt, speakers labelled and misheard glossary terms repaired; returns the four paths."""
    chunks = [ChunkTranscript.model_validate_json(Path(p).read_text(encoding="utf-8")) for p in chunk_files]
    segments = [s for c in chunks for s in c.segments]
    voices: list[Speaker] = []
    if speakers is not None:
        segments, voices = speakers(segments)
    segments, corrections = repair(segments, Glossary(list(glossary or [])))
    spoken = [c for c in chunks if c.engine]
    languages = [c.language for c in chunks if c.segments and c.language]
    language = max(set(languages), key=languages.count) if languages else None
    transcript = Transcript(
        language=language,
        engine=spoken[0].engine if spoken else None,
        model=spoken[0].model if spoken else None,
        duration=duration,
        text=joiner(language).join(s.text for s in segments),
        segments=segments,
        glossary=list(glossary or []),
        corrections=corrections,
        speakers=voices,
    )
    labels = [speaker.label if (speaker := transcript.speaker_of(s)) else None for s in segments]
    changed = [label if label and (i == 0 or label != labels[i - 1]) else None for i, label in enumerate(labels)]
    json_name, txt_name, srt_name, vtt_name = TRANSCRIPT_FILES
    return [
        transcript.write(folder),
        write_text(folder / txt_name, _paragraphs(segments, labels, language)),
        write_text(folder / srt_name, to_srt((s.start, s.end, f"{label}: {s.text}" if label else s.text) for s, label in zip(segments, changed))),
        write_text(folder / vtt_name, to_vtt([(s.start, s.end, s.text) for s in segments], labels if any(labels) else None)),
    ]


def _paragraphs(segments: list[Segment], labels: list[str | None], language: str | None) -> str:
    """One line per segment; with several speakers, one paragraph per turn that starts with the speaker."""
    if not any(labels):
        return "\n".join(s.text for s in segments) + "\n"
    turns: list[tuple[str | None, list[str]]] = []
    for segment, label in zip(segments, labels):
        if turns and turns[-1][0] == label:
            turns[-1][1].append(segment.text)
        else:
            turns.append((label, [segment.text]))
    return "\n\n".join(f"{label}: {joiner(language).join(texts)}" if label else joiner(language).join(texts) for label, texts in turns) + "\n"
