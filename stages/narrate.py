"""narrate: the summary's script read aloud into narration.wav, with timings in narration.json.

The script is cut into sentences and each sentence into runs of one script
(Chinese or Latin, see ``engines.voice.textnorm``). Each run goes to the first
configured voice that is available and speaks its language, so English names
inside Chinese are spoken, never dropped. Runs are trimmed, resampled to one
rate and joined with pauses; the whole file is loudness-normalised.
narration.json keeps every sentence's span and the finest units the voice
gives (phonemes with times) for subtitles and lip sync.

When summary.json holds the script as beats (and script.txt is still their
text), the program follows the beats: each narrated sentence keeps its beat's
source, speaker and section times, and a soundbite beat is cut from the
episode's own audio (word boundaries, 80 ms margins, 15 ms fades), brought to
the narration's loudness target and folded into its rate and channel, its
words kept with their times on narration.wav.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np

from core.artifacts import Beat, Chunks, NarratedSentence, Narration, StageRecord, Summary, Unit, VoiceRun, Word
from core.context import Context
from core.errors import EngineUnavailable, PresenterError
from core.logs import Progress
from core.media.dsp import PEAK_LIMIT, normalize_loudness, trim
from core.media.ffmpeg import decode_span, resample, write_wav
from core.registry import VOICES
from core.settings import NarrateSettings
from core.text import joiner
from engines.base import Chain
from engines.voice.base import Speech, Voice
from engines.voice.textnorm import Run, Sentence, sentences_to_say

__all__ = ["EDGE_SILENCE", "PEAK_LIMIT", "NarrationError", "narrate"]
EDGE_SILENCE = 0.3  # seconds of silence before the first and after the last sentence
BITE_MARGIN = 0.08  # seconds of the episode kept before a soundbite's first word and after its last
BITE_FADE = 0.015  # seconds of fade in and out at a soundbite's cuts
BITE_PAUSE = (0.25, 0.45)  # seconds of silence before and after a soundbite
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
        self.bites: set[int] = set()  # the pieces that are soundbites, already at the loudness target

    def loudness_normalized(self, lufs: float) -> tuple[np.ndarray, float | None]:
        """The whole program, the presenter's voice brought to ``lufs`` (the soundbites were, each on its own); and the voice's loudness before."""
        voice, loudness = normalize_loudness(np.concatenate([p for i, p in enumerate(self.pieces) if i not in self.bites]), self.rate, lufs)
        out, at = [], 0
        for i, piece in enumerate(self.pieces):
            if i in self.bites:
                out.append(piece)
            else:
                out.append(voice[at : at + len(piece)])
                at += len(piece)
        return np.concatenate(out), loudness

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

    def add_soundbite(self, entry: NarratedSentence, clip: np.ndarray, cut: float) -> None:
        """Place a soundbite cut from the episode at ``cut`` seconds; its words move onto narration.wav's clock."""
        self.pause(BITE_PAUSE[0])
        entry.start = round(self.t, 3)
        entry.words = [Word(round(w.start - cut + self.t, 3), round(w.end - cut + self.t, 3), w.word, w.probability, w.speaker) for w in entry.words]
        self.bites.add(len(self.pieces))
        self.pieces.append(clip.astype(np.float32))
        self.t += len(clip) / self.rate
        entry.end = round(self.t, 3)
        self.pause(BITE_PAUSE[1])

    def pause(self, seconds: float) -> None:
        self.pieces.append(np.zeros(int(seconds * self.rate), np.float32))
        self.t += int(seconds * self.rate) / self.rate


def episode_audio(folder: Path) -> Path | None:
    """The episode's own audio: the file the split stage cut (chunks.json), else an audio.* file in the folder."""
    try:
        source = Path(Chunks.read(folder).source)
        if source.is_file():
            return source
    except (OSError, ValueError):
        pass
    return next((p for p in sorted(Path(folder).glob("audio.*")) if p.suffix != ".json"), None)


def cut_soundbite(path: Path, beat: Beat, rate: int, lufs: float) -> tuple[np.ndarray, float]:
    """The soundbite's span of the episode (first word to last, BITE_MARGIN around), mono at ``rate``, at ``lufs``, faded in and out; and where it starts."""
    first, last = (beat.words[0].start, beat.words[-1].end) if beat.words else (beat.start, beat.end)
    start = max(0.0, first - BITE_MARGIN)
    clip = decode_span(path, rate, start, last + BITE_MARGIN - start)
    if len(clip) < rate // 2:
        raise NarrationError(f"The soundbite at {first:.2f} s of {path} is missing from the audio ({len(clip) / rate:.2f} s decoded).", "Check the episode audio; rerun split.")
    clip, _ = normalize_loudness(clip, rate, lufs)
    fade = max(1, int(BITE_FADE * rate))
    ramp = np.sin(np.linspace(0, np.pi / 2, fade, dtype=np.float32)) ** 2
    clip[:fade] *= ramp
    clip[-fade:] *= ramp[::-1]
    return clip, start


Program = list[tuple[Sentence | None, Beat | None]]


def program_of(script: str, folder: Path, language: str, section: NarrateSettings, audio: Path | None) -> tuple[Program, dict[int, tuple[np.ndarray, float]]]:
    """What narration.wav plays: the script's sentences, or, where summary.json's beats still make up script.txt, the beats' sentences
    and their soundbites (each soundbite cut here; one that cannot be cut is left out with its link line)."""
    plain: Program = [(s, None) for s in sentences_to_say(script, language)]
    try:
        beats = Summary.read(folder).beats
    except (OSError, ValueError):
        return plain, {}
    said = [b for b in beats if b.kind != "soundbite"]
    if not said or joiner(language).join(b.text for b in said).strip() != script.strip():
        return plain, {}  # no beats, or script.txt was edited by hand: it is read as it is
    clips: dict[int, tuple[np.ndarray, float]] = {}
    source = audio or episode_audio(folder)
    for k, beat in enumerate(beats):
        if beat.kind != "soundbite":
            continue
        try:
            if source is None:
                raise NarrationError("The episode audio is not found.", "Run the split stage first.")
            clips[k] = cut_soundbite(source, beat, section.sample_rate, section.loudness_lufs)
        except PresenterError as error:
            log.warning("Soundbite at %.2f s left out with its link line: %s", beat.start, error)
    kept = [b for k, b in enumerate(beats) if b.kind != "soundbite" or k in clips]
    kept = [b for i, b in enumerate(kept) if b.source != "link" or (i + 1 < len(kept) and kept[i + 1].kind == "soundbite")]
    program: Program = []
    placed: dict[int, tuple[np.ndarray, float]] = {}
    for beat in kept:
        if beat.kind == "soundbite":
            placed[len(program)] = clips[beats.index(beat)]
            program.append((None, beat))
        else:
            program += [(s, beat) for s in sentences_to_say(beat.text, language)]
    return program, placed


def narrate(
    script_path: Path, folder: Path, section: NarrateSettings, context: Context, *, language: str, progress: Progress | None = None, audio: Path | None = None,
) -> StageRecord:
    """Write narration.wav and narration.json into ``folder``; soundbites (summary.json) are cut from ``audio`` (default: the split stage's source)."""
    started = time.perf_counter()
    script = Path(script_path).read_text(encoding="utf-8") if Path(script_path).is_file() else ""
    if not script.strip():
        raise NarrationError(f"The narration script {script_path} is empty.", "Rerun the summarize stage (or write the script into script.txt) and run again.")
    program, clips = program_of(script, Path(folder), language, section, audio)
    if not program:
        raise NarrationError(f"Nothing in {script_path} can be spoken: it has no Chinese or Latin-script words.", "Check the script's language.")
    rate = section.sample_rate
    chain: Chain[Voice] = Chain("narration", section.engines, lambda name: VOICES.get(name)(section, context))
    timeline = _Timeline(rate)
    spoken: list[NarratedSentence] = []
    skipped: list[str] = []
    for number, (sentence, beat) in enumerate(program, start=1):
        about = {"source": beat.source, "speaker": beat.speaker, "source_start": beat.start, "source_end": beat.end} if beat else {}
        if sentence is None and beat is not None:
            clip, cut = clips[number - 1]
            entry = NarratedSentence(text=beat.text, start=round(timeline.t, 3), kind="soundbite", words=list(beat.words), **about)
            entry.source_start, entry.source_end = round(cut, 3), round(cut + len(clip) / rate, 3)
            timeline.add_soundbite(entry, clip, cut)
            spoken.append(entry)
            if progress:
                progress(number, len(program), "sentences")
            continue
        assert sentence is not None
        entry = NarratedSentence(text=sentence.text, start=round(timeline.t, 3), **about)
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
            progress(number, len(program), "sentences")
    chain.close()
    if skipped:
        log.warning("No configured voice speaks these parts; skipped: %s. Add 'espeak' to PRESENTER_NARRATE__ENGINES for other languages.", " | ".join(skipped))
    if not any(s.runs for s in spoken):
        reasons = chain.reasons() or "no voice speaks the script's language"
        raise NarrationError(f"No voice could read {script_path} ({reasons}).", "Fix the first engine's problem, or add 'espeak' to PRESENTER_NARRATE__ENGINES.")
    timeline.pieces.append(np.zeros(int(EDGE_SILENCE * rate), np.float32))
    sound, loudness = timeline.loudness_normalized(section.loudness_lufs)
    duration = len(sound) / rate
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
    outputs = [write_wav(Path(folder) / "narration.wav", sound, rate), narration.write(folder)]
    seconds = round(time.perf_counter() - started, 3)
    return StageRecord(
        outputs=outputs, engine=", ".join(narration.engines), model=", ".join(narration.models), seconds=seconds,
        duration=narration.duration, real_time_factor=round(seconds / narration.duration, 4),
    )
