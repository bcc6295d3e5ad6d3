"""Speech judged by ear: synthesize, transcribe back with the project's Whisper, score.

Character error rate for Chinese, word error rate for English, how many of a
text's English words come back (case-insensitive, spaces and hyphens
removed), and Whisper's confidence that the speech is English (a proxy for
accent).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from core.media.ffmpeg import resample
from core.settings import Settings

LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z0-9'’.\-]*[A-Za-z0-9]|[A-Za-z]")


def letters(text: str) -> str:
    """Lower-case word characters only: what CER compares."""
    return re.sub(r"[^\w]", "", text.lower())


def words(text: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"[^\w\s']", " ", text.lower())).strip()


def cer(reference: str, heard: str) -> float:
    import jiwer

    return float(jiwer.cer(letters(reference), letters(heard)))


def wer(reference: str, heard: str) -> float:
    import jiwer

    return float(jiwer.wer(words(reference), words(heard)))


def english_words(text: str) -> list[str]:
    return LATIN_WORD.findall(text)


def _squash(text: str) -> str:
    return re.sub(r"[\s\-'’.]", "", text.lower())


def recovered(text: str, heard: str) -> list[str]:
    """The English words of ``text`` that appear in ``heard``, compared case-insensitively without spaces and hyphens."""
    heard_squashed = _squash(heard)
    return [w for w in english_words(text) if _squash(w) in heard_squashed]


@dataclass
class Heard:
    text: str
    language: str | None
    language_probability: float | None


def hear(audio: np.ndarray, rate: int, language: str | None = None, model: str = "base") -> Heard:
    """What the project's faster-whisper hears in ``audio`` (Chinese in simplified characters); no language given: it detects."""
    from stages import transcribe as T

    settings = Settings(transcribe={"model": model})
    engine = T.load_engine(settings.transcribe, settings.context)
    result = engine.transcribe(resample(audio, rate, 16_000), language=language, prompt=None, on_progress=None)
    segments = T.to_chinese_script(result.segments, "simplified") if result.language == "zh" else result.segments
    joiner = "" if result.language == "zh" else " "
    return Heard(joiner.join(s.text for s in segments), result.language, result.language_probability)
