"""transcribe: Whisper engines behind one protocol, and the transcript files.

Engines work on one chunk at a time and return times relative to the chunk;
``transcribe_chunk`` shifts them onto the episode's timeline and
``write_transcript`` merges chunks into transcript.json/.txt/.srt/.vtt.
"""

from __future__ import annotations

import functools
import json
import re
import threading
import wave
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Protocol

import numpy as np

from presenter.errors import EngineError
from presenter.settings import Settings
from presenter.subtitles import to_srt, to_vtt
from presenter.workspace import write_json, write_text

OnProgress = Callable[[float], None]
"""Called with the seconds of the chunk transcribed so far."""

API_MAX_CHUNK_SECONDS = 600.0  # 16 kHz 16-bit mono WAV: 19.2 MB, under the API's 25 MB upload limit


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

    def shifted(self, offset: float) -> "Segment":
        words = [Word(round(w.start + offset, 3), round(w.end + offset, 3), w.word, w.probability) for w in self.words]
        return Segment(round(self.start + offset, 3), round(self.end + offset, 3), self.text, words)


@dataclass
class ChunkTranscript:
    language: str | None
    segments: list[Segment]


class TranscriptionEngine(Protocol):
    name: str
    model: str

    def transcribe(self, audio: np.ndarray, *, language: str | None, prompt: str | None, on_progress: OnProgress | None) -> ChunkTranscript:
        """Transcribe 16 kHz mono float32 samples; times relative to the start of ``audio``."""


def read_wav(path: Path) -> np.ndarray:
    """16-bit PCM WAV (as written by the split stage) to float32 samples in [-1, 1]."""
    with wave.open(str(path), "rb") as handle:
        if handle.getsampwidth() != 2 or handle.getnchannels() != 1 or handle.getframerate() != 16_000:
            raise EngineError(f"{path} is not 16 kHz mono 16-bit WAV.", "Rerun the split stage.")
        frames = handle.readframes(handle.getnframes())
    return np.frombuffer(frames, dtype=np.int16).astype(np.float32) / 32768.0


class FasterWhisperEngine:
    """CTranslate2 Whisper: the default; int8 on CPU."""

    name = "faster-whisper"

    def __init__(self, model_dir: Path, model: str, compute_type: str, threads: int, workers: int, beam_size: int, vad_filter: bool) -> None:
        from faster_whisper import WhisperModel

        self.model = model
        self._beam_size = beam_size
        self._vad_filter = vad_filter
        self._whisper = WhisperModel(str(model_dir), device="cpu", compute_type=compute_type, cpu_threads=threads, num_workers=workers)
        self._english_only = not self._whisper.model.is_multilingual

    def transcribe(self, audio, *, language, prompt, on_progress):
        if self._english_only:
            language = "en"
        segments, info = self._whisper.transcribe(
            audio,
            language=language,
            initial_prompt=prompt or None,
            beam_size=self._beam_size,
            word_timestamps=True,
            vad_filter=self._vad_filter,
        )
        result = []
        for segment in segments:  # a generator: decoding happens as we iterate
            words = [Word(w.start, w.end, w.word, round(w.probability, 4)) for w in segment.words or []]
            result.append(Segment(segment.start, segment.end, segment.text.strip(), words))
            if on_progress:
                on_progress(segment.end)
        return ChunkTranscript(info.language, result)


class OpenAIWhisperEngine:
    """The reference PyTorch implementation, on a local checkpoint (converted from the shipped weights)."""

    name = "openai-whisper"

    def __init__(self, checkpoint: Path, model: str, threads: int, beam_size: int) -> None:
        import torch
        from whisper.model import ModelDimensions, Whisper

        if threads:
            torch.set_num_threads(threads)
        data = torch.load(checkpoint, map_location="cpu", weights_only=True)
        self._whisper = Whisper(ModelDimensions(**data["dims"]))
        self._whisper.load_state_dict(data["model_state_dict"])
        if "alignment_heads" in data:  # needed for word timestamps; checkpoints loaded by path lack it
            self._whisper.set_alignment_heads(data["alignment_heads"].encode("ascii"))
        self._whisper.eval()
        self.model = model
        self._beam_size = beam_size
        self._lock = threading.Lock()  # decoding installs hooks on the shared model

    def transcribe(self, audio, *, language, prompt, on_progress):
        with self._lock:
            result = self._whisper.transcribe(
                audio,
                language=None if language is None and self._whisper.is_multilingual else (language or "en"),
                initial_prompt=prompt or None,
                beam_size=self._beam_size,
                word_timestamps=True,
                fp16=False,
                verbose=None,
            )
        segments = []
        for s in result["segments"]:
            words = [Word(w["start"], w["end"], w["word"], round(w["probability"], 4)) for w in s.get("words", [])]
            segments.append(Segment(s["start"], s["end"], s["text"].strip(), words))
        if on_progress and segments:
            on_progress(segments[-1].end)
        return ChunkTranscript(result.get("language"), segments)


class OpenAIAPIEngine:
    """whisper-1 (or newer) through the openai client, for users with a key or a compatible server."""

    name = "openai-api"

    def __init__(self, model: str, client_kwargs: dict) -> None:
        from openai import OpenAI

        self.model = model
        self._client = OpenAI(**client_kwargs)

    def transcribe(self, audio, *, language, prompt, on_progress):
        import io

        import openai

        buffer = io.BytesIO()
        with wave.open(buffer, "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(16_000)
            out.writeframes((np.clip(audio, -1, 1) * 32767).astype(np.int16).tobytes())
        extra = {"language": language} if language else {}
        try:
            reply = self._client.audio.transcriptions.create(
                model=self.model,
                file=("chunk.wav", buffer.getvalue(), "audio/wav"),
                response_format="verbose_json",
                timestamp_granularities=["segment", "word"],
                prompt=prompt or openai.NOT_GIVEN,
                **extra,
            )
        except openai.AuthenticationError:
            raise EngineError("The transcription API rejected the key (HTTP 401).", "Set OPENAI_API_KEY or PRESENTER_OPENAI__API_KEY.") from None
        except openai.APIConnectionError as error:
            raise EngineError(f"Cannot reach the transcription API ({error}).", "Check PRESENTER_OPENAI__BASE_URL / OPENAI_BASE_URL and the network.") from None
        words = [Word(w.start, w.end, w.word) for w in (reply.words or [])]
        segments = []
        for s in reply.segments or []:
            inside = [w for w in words if s.start <= w.start < s.end]
            segments.append(Segment(s.start, s.end, s.text.strip(), inside))
        if on_progress and segments:
            on_progress(segments[-1].end)
        lang = {"english": "en", "chinese": "zh"}.get((reply.language or "").lower(), reply.language)
        return ChunkTranscript(lang, segments)


@functools.lru_cache(maxsize=2)
def _cached_engine(engine: str, model: str, cache_dir: Path, compute_type: str, threads: int, workers: int, beam_size: int, vad_filter: bool, api: str) -> TranscriptionEngine:
    from presenter import weights

    if engine == "faster-whisper":
        model_dir = weights.ct2_whisper_dir(model, cache_dir)
        return FasterWhisperEngine(model_dir, model, compute_type, threads, workers, beam_size, vad_filter)
    if engine == "openai-whisper":
        try:
            import whisper  # noqa: F401
        except ImportError:
            raise EngineError("The openai-whisper engine is not installed.", "Run 'make setup', which installs it with its CPU torch.") from None
        return OpenAIWhisperEngine(weights.openai_whisper_checkpoint(model, cache_dir), model, threads, beam_size)
    return OpenAIAPIEngine(model, json.loads(api))


def load_engine(settings: Settings) -> TranscriptionEngine:
    """The configured engine, loaded once per process and shared by all chunks."""
    t = settings.transcribe
    model = t.api_model if t.engine == "openai-api" else t.model
    api = json.dumps(settings.openai_client_kwargs(), sort_keys=True) if t.engine == "openai-api" else "{}"
    return _cached_engine(t.engine, model, settings.cache_dir, t.compute_type, t.threads, t.workers, t.beam_size, t.vad_filter, api)


def max_chunk_seconds(settings: Settings) -> float:
    """Chunk length for the configured engine: the API limits upload size."""
    if settings.transcribe.engine == "openai-api":
        return min(settings.split.chunk_seconds, API_MAX_CHUNK_SECONDS)
    return settings.split.chunk_seconds


_CJK = re.compile(r"[\u3400-\u9fff]")


def build_prompt(show_title: str, title: str, description: str, max_chars: int = 300) -> str:
    """Whisper's initial prompt: names spelled right and punctuated sentences, in the episode's script.

    Whisper keeps only the prompt's last ~220 tokens, so the description comes
    first (trimmed) and the titles last.
    """
    chinese = bool(_CJK.search(show_title + title + description))
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


def transcribe_chunk(
    engine: TranscriptionEngine,
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
    result = engine.transcribe(read_wav(chunk_path), language=language, prompt=prompt, on_progress=on_progress)
    if result.language == "zh":
        result.segments = to_chinese_script(result.segments, chinese_script)
    data = {
        "offset": offset,
        "language": result.language,
        "engine": engine.name,
        "model": engine.model,
        "segments": [asdict(s.shifted(offset)) for s in result.segments if s.text],
    }
    write_json(out_path, data)
    return out_path


def empty_chunk(out_path: Path, offset: float, language: str | None) -> Path:
    """The transcript of a chunk the split stage found silent: nothing, and no model call."""
    write_json(out_path, {"offset": offset, "language": language, "engine": None, "model": None, "segments": []})
    return out_path


def write_transcript(chunk_files: list[Path], folder: Path, duration: float) -> list[Path]:
    """Merge chunk transcripts into transcript.json, .txt, .srt and .vtt; returns the four paths."""
    chunks = [json.loads(Path(p).read_text(encoding="utf-8")) for p in chunk_files]
    segments = [s for c in chunks for s in c["segments"]]
    spoken = [c for c in chunks if c["engine"]]
    languages = [c["language"] for c in chunks if c["segments"] and c["language"]]
    language = max(set(languages), key=languages.count) if languages else None
    joiner = "" if language in ("zh", "ja", "yue") else " "
    transcript = {
        "language": language,
        "engine": spoken[0]["engine"] if spoken else None,
        "model": spoken[0]["model"] if spoken else None,
        "duration": duration,
        "text": joiner.join(s["text"] for s in segments),
        "segments": segments,
    }
    cues = [(s["start"], s["end"], s["text"]) for s in segments]
    return [
        write_json(folder / "transcript.json", transcript),
        write_text(folder / "transcript.txt", "\n".join(s["text"] for s in segments) + "\n"),
        write_text(folder / "transcript.srt", to_srt(cues)),
        write_text(folder / "transcript.vtt", to_vtt(cues)),
    ]


def read_language(chunk_transcript: Path) -> str | None:
    return json.loads(Path(chunk_transcript).read_text(encoding="utf-8"))["language"]


def read_transcript(folder: Path) -> dict:
    return json.loads((Path(folder) / "transcript.json").read_text(encoding="utf-8"))
