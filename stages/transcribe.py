"""transcribe: each chunk through the configured Whisper engine, then the transcript files.

Engines return times relative to the chunk; ``transcribe_chunk`` shifts them
onto the episode's timeline and ``write_transcript`` merges the chunks into
transcript.json/.txt/.srt/.vtt.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

from core.artifacts import TRANSCRIPT_FILES, ChunkTranscript, Segment, Transcript, Word
from core.errors import EngineError
from core.media import read_wav
from core.registry import TRANSCRIBERS, Context
from core.settings import OpenAISettings, SplitSettings, TranscribeSettings
from core.subtitles import to_srt, to_vtt
from core.text import has_cjk, joiner
from core.workspace import write_text
from engines.asr.base import OnProgress, Transcriber

__all__ = ["Segment", "Word", "load_engine", "max_chunk_seconds", "build_prompt", "to_chinese_script", "transcribe_chunk", "empty_chunk", "write_transcript"]


@functools.lru_cache(maxsize=2)
def _cached_engine(section_json: str, cache_dir: str, openai_json: str) -> Transcriber:
    section = TranscribeSettings.model_validate_json(section_json)
    context = Context(cache_dir=Path(cache_dir), openai=OpenAISettings.model_validate_json(openai_json))
    return TRANSCRIBERS.get(section.engine)(section, context)


def load_engine(section: TranscribeSettings, context: Context) -> Transcriber:
    """The configured engine, loaded once per process and shared by all chunks."""
    key = context.openai.api_key.get_secret_value() if context.openai.api_key else None
    openai = json.dumps({**context.openai.model_dump(mode="json"), "api_key": key})
    return _cached_engine(section.model_dump_json(), str(context.cache_dir), openai)


def max_chunk_seconds(section: TranscribeSettings, split: SplitSettings) -> float:
    """Chunk length for the configured engine: an API limits upload size."""
    limit = TRANSCRIBERS.get(section.engine).max_chunk_seconds
    return min(split.chunk_seconds, limit) if limit else split.chunk_seconds


def build_prompt(show_title: str, title: str, description: str, max_chars: int = 300) -> str:
    """Whisper's initial prompt: names spelled right and punctuated sentences, in the episode's script.

    Whisper keeps only the prompt's last ~220 tokens, so the description comes
    first (trimmed) and the titles last.
    """
    chinese = has_cjk(show_title + title + description)
    stop = "。" if chinese else ". "
    description = description.strip()[:max_chars]
    parts = [p.strip().rstrip(".。") for p in (description, show_title, title) if p and p.strip()]
    return (stop.join(parts) + stop.strip()) if parts else ""


def to_chinese_script(segments: list[Segment], script: str) -> list[Segment]:
    """Segments with their text and words in simplified or traditional characters (OpenCC, offline)."""
    if script == "original":
        return segments
    import opencc

    convert = opencc.OpenCC("t2s" if script == "simplified" else "s2t").convert
    return [
        Segment(s.start, s.end, convert(s.text), [Word(w.start, w.end, convert(w.word), w.probability) for w in s.words])
        for s in segments
    ]


def _read_chunk(path: Path):
    audio, rate = read_wav(path)
    if rate != 16_000:
        raise EngineError(f"{path} is not 16 kHz mono 16-bit WAV.", "Rerun the split stage.")
    return audio


def transcribe_chunk(
    engine: Transcriber,
    chunk_path: Path,
    offset: float,
    out_path: Path,
    *,
    language: str | None,
    prompt: str | None,
    chinese_script: str = "simplified",
    on_progress: OnProgress | None = None,
) -> Path:
    """Transcribe one chunk into ``out_path`` (JSON), with times on the episode's timeline."""
    result = engine.transcribe(_read_chunk(chunk_path), language=language, prompt=prompt, on_progress=on_progress)
    segments = to_chinese_script(result.segments, chinese_script) if result.language == "zh" else result.segments
    chunk = ChunkTranscript(offset=offset, language=result.language, engine=engine.name, model=engine.model, segments=[s.shifted(offset) for s in segments if s.text])
    return write_text(out_path, chunk.model_dump_json(indent=2) + "\n")


def empty_chunk(out_path: Path, offset: float, language: str | None) -> Path:
    """The transcript of a chunk the split stage found silent: nothing, and no model call."""
    chunk = ChunkTranscript(offset=offset, language=language, engine=None, model=None, segments=[])
    return write_text(out_path, chunk.model_dump_json(indent=2) + "\n")


def read_language(chunk_transcript: Path) -> str | None:
    return ChunkTranscript.model_validate_json(Path(chunk_transcript).read_text(encoding="utf-8")).language


def write_transcript(chunk_files: list[Path], folder: Path, duration: float) -> list[Path]:
    """Merge chunk transcripts into transcript.json, .txt, .srt and .vtt; returns the four paths."""
    chunks = [ChunkTranscript.model_validate_json(Path(p).read_text(encoding="utf-8")) for p in chunk_files]
    segments = [s for c in chunks for s in c.segments]
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
    )
    cues = [(s.start, s.end, s.text) for s in segments]
    json_name, txt_name, srt_name, vtt_name = TRANSCRIPT_FILES
    return [
        transcript.write(folder),
        write_text(folder / txt_name, "\n".join(s.text for s in segments) + "\n"),
        write_text(folder / srt_name, to_srt(cues)),
        write_text(folder / vtt_name, to_vtt(cues)),
    ]
