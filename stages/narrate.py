"""narrate: the summary's script read aloud into narration.wav, with timings in narration.json.

The script is cut into sentences and each sentence into runs of one script
(Chinese or Latin, see ``engines.voice.textnorm``). Each run goes to the first
configured voice that is available and speaks its language, so English names
inside Chinese are spoken, never dropped. Runs are trimmed, resampled to one
rate and joined with pauses; the whole file is loudness-normalised.
narration.json keeps every sentence's span and the finest units the voice
gives (phonemes with times) for subtitles and lip sync.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np

from core.artifacts import NarratedSentence, Narration, StageRecord, Unit, VoiceRun
from core.context import Context
from core.errors import EngineUnavailable, PresenterError
from core.logs import Progress
from core.media.dsp import PEAK_LIMIT, normalize_loudness, trim
from core.media.ffmpeg import resample, write_wav
from core.registry import VOICES
from core.settings import NarrateSettings
from engines.base import Chain
from engines.voice.base import Speech, Voice
from engines.voice.textnorm import Run, sentences_to_say

__all__ = ["EDGE_SILENCE", "PEAK_LIMIT", "NarrationError", "narrate"]
EDGE_SILENCE = 0.3  # seconds of silence before the first and after the last sentence
log = logging.getLogger(__name__)


class NarrationError(PresenterError):
    """The script cannot be narrated (empty, or nothing in it any voice can say)."""


def _speak(chain: Chain[Voice], text: str, language: str) -> tuple[Speech, Voice] | None:
    """The run spoken by the first available voice of its language, or None if no voice can."""
    for name, voice in chain:
        if not voice.speaks(language):
            continue
        try:
            return voice.speak(text, language), voice
        except EngineUnavailable as error:
            chain.failed(name, error)
    return None


def _speak_whole(chain: Chain[Voice], runs: list[Run]) -> tuple[Speech, Voice] | None:
    """The sentence spoken in one call, if the voice first in line for it speaks whole sentences in all its languages."""
    languages = {run.language for run in runs}
    for name, voice in chain:
        if not voice.speaks(runs[0].language):
            continue
        if not (voice.whole_sentences and all(voice.speaks(language) for language in languages)):
            return None
        try:
            return voice.speak_runs(runs), voice
        except EngineUnavailable as error:
            chain.failed(name, error)
    return None


class _Timeline:
    """The narration being assembled: audio pieces at one rate, and each sentence's runs and units on its clock."""

    def __init__(self, rate: int) -> None:
        self.rate = rate
        self.pieces = [np.zeros(int(EDGE_SILENCE * rate), np.float32)]
        self.t = EDGE_SILENCE

    def add(self, entry: NarratedSentence, speech: Speech, voice: Voice, runs: list[Run]) -> None:
        """Place ``speech`` (one run, or a whole sentence whose ``spans`` time each run) at the current time."""
        audio, cut = trim(speech.audio, speech.sample_rate)
        audio = resample(audio, speech.sample_rate, self.rate)
        length = len(audio) / self.rate
        spans = speech.spans or [(cut, cut + length)]
        clamp = lambda seconds: round(self.t + min(max(seconds - cut, 0.0), length), 3)
        for run, (start, end) in zip(runs, spans):
            entry.runs.append(VoiceRun(text=run.text, language=run.language, engine=voice.name, model=voice.model, start=clamp(start), end=clamp(end)))
        for unit, start, end in speech.units:
            if clamp(end) > clamp(start):
                entry.units.append(Unit(unit=unit, start=clamp(start), end=clamp(end)))
        self.pieces.append(audio)
        self.t += length
        entry.end = round(self.t, 3)
        self.pause(runs[-1].pause_after)

    def pause(self, seconds: float) -> None:
        self.pieces.append(np.zeros(int(seconds * self.rate), np.float32))
        self.t += int(seconds * self.rate) / self.rate


def narrate(script_path: Path, folder: Path, section: NarrateSettings, context: Context, *, language: str, progress: Progress | None = None) -> StageRecord:
    """Write narration.wav and narration.json into ``folder``."""
    started = time.perf_counter()
    script = Path(script_path).read_text(encoding="utf-8") if Path(script_path).is_file() else ""
    if not script.strip():
        raise NarrationError(f"The narration script {script_path} is empty.", "Rerun the summarize stage (or write the script into script.txt) and run again.")
    sentences = sentences_to_say(script, language)
    if not sentences:
        raise NarrationError(f"Nothing in {script_path} can be spoken: it has no Chinese or Latin-script words.", "Check the script's language.")
    rate = section.sample_rate
    chain: Chain[Voice] = Chain("narration", section.engines, lambda name: VOICES.get(name)(section, context))
    timeline = _Timeline(rate)
    spoken: list[NarratedSentence] = []
    skipped: list[str] = []
    for number, sentence in enumerate(sentences, start=1):
        entry = NarratedSentence(text=sentence.text, start=round(timeline.t, 3))
        whole = _speak_whole(chain, sentence.runs)
        if whole:
            timeline.add(entry, *whole, sentence.runs)
        else:
            for run in sentence.runs:
                made = _speak(chain, run.text, run.language)
                if made is None:
                    skipped.append(run.text)
                    continue
                timeline.add(entry, *made, [run])
        if entry.runs:
            spoken.append(entry)
        if progress:
            progress(number, len(sentences), "sentences")
    chain.close()
    if skipped:
        log.warning("No configured voice speaks these parts; skipped: %s. Add 'espeak' to PRESENTER_NARRATE__ENGINES for other languages.", " | ".join(skipped))
    if not spoken:
        reasons = chain.reasons() or "no voice speaks the script's language"
        raise NarrationError(f"No voice could read {script_path} ({reasons}).", "Fix the first engine's problem, or add 'espeak' to PRESENTER_NARRATE__ENGINES.")
    timeline.pieces.append(np.zeros(int(EDGE_SILENCE * rate), np.float32))
    audio, loudness = normalize_loudness(np.concatenate(timeline.pieces), rate, section.loudness_lufs)
    duration = len(audio) / rate
    runs = [r for s in spoken for r in s.runs]
    narration = Narration(
        sample_rate=rate,
        duration=round(duration, 3),
        language=language,
        engines=sorted({r.engine for r in runs}),
        models=sorted({r.model for r in runs}),
        loudness_lufs=section.loudness_lufs,
        source_loudness_lufs=round(loudness, 2) if loudness is not None and np.isfinite(loudness) else None,
        skipped=skipped,
        unavailable=chain.unavailable,
        sentences=spoken,
    )
    outputs = [write_wav(Path(folder) / "narration.wav", audio, rate), narration.write(folder)]
    seconds = round(time.perf_counter() - started, 3)
    return StageRecord(
        outputs=outputs, engine=", ".join(narration.engines), model=", ".join(narration.models), seconds=seconds,
        duration=narration.duration, real_time_factor=round(seconds / narration.duration, 4),
    )
