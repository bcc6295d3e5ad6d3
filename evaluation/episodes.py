"""What the evaluation sets share (evaluation/zh, evaluation/en): episodes with show notes, their feed, their audio.

A set is a folder: ``episodes.json`` (``language``, and per episode its id,
show, title, show notes, keywords, the five names a digest should keep, the
key facts a listener must hear and, for a conversation, each speaker's voice),
``<id>.txt`` (the script) and ``<id>.mp3`` (the script spoken).

Scripts come in two forms. With ``voices`` (a conversation), every line is one
turn, prefixed with its speaker::

    Sarah Chen: Welcome to Build Notes. I'm Sarah Chen, and with me is Raj Patel.
    Raj Patel: Thanks for having me, Sarah.

Each turn is spoken by that speaker's voice (``engine`` or ``engine:voice``,
as evaluation.diarization's conversations name them), with a short pause
between turns, and ``<id>.rttm`` records when each turn was spoken, so that
diarization can be scored. Without ``voices`` the whole script is one voice's.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

PAUSE = 0.45  # seconds between turns
TURN = re.compile(r"^([^:：]{1,40})[:：]\s*(.+)$")


@dataclass(frozen=True)
class EvalEpisode:
    id: str
    show: str
    title: str
    notes: str
    keywords: list[str]
    names: list[str]
    key_facts: list[dict] = field(default_factory=list)
    voices: dict[str, str] = field(default_factory=dict)  # speaker -> voice; empty: one voice speaks the script
    folder: Path = Path()
    language: str = "zh"

    @property
    def text(self) -> str:
        return (self.folder / f"{self.id}.txt").read_text(encoding="utf-8").strip()

    @property
    def turns(self) -> list[tuple[str, str]]:
        """(speaker, what they say) a line; one turn with no speaker for a single-voice script."""
        if not self.voices:
            return [("", self.text)]
        turns = []
        for line in self.text.splitlines():
            if line.strip():
                match = TURN.match(line.strip())
                if not match or match.group(1) not in self.voices:
                    raise ValueError(f"{self.folder / self.id}.txt: {line!r} is not 'Speaker: text' with a speaker of {sorted(self.voices)}")
                turns.append((match.group(1), match.group(2).strip()))
        return turns

    @property
    def script(self) -> str:
        """What is said, a turn a line, without the speakers' names: the transcript's reference."""
        return "\n".join(text for _, text in self.turns)

    @property
    def audio(self) -> Path:
        return self.folder / f"{self.id}.mp3"

    @property
    def rttm(self) -> Path:
        return self.folder / f"{self.id}.rttm"

    @property
    def speakers(self) -> list[str]:
        return list(self.voices)


def load(folder: Path) -> list[EvalEpisode]:
    data = json.loads((folder / "episodes.json").read_text(encoding="utf-8"))
    return [EvalEpisode(**e, folder=folder, language=data.get("language", "zh")) for e in data["episodes"]]


def feed(base_url: str, chosen: list[EvalEpisode], notes: bool = True) -> str:
    """An RSS feed of ``chosen`` with its audio under ``base_url``; ``notes=False`` leaves out show notes and keywords."""
    items = []
    for number, episode in enumerate(chosen):
        extra = f"<description>{escape(episode.notes)}</description><itunes:keywords>{escape(', '.join(episode.keywords))}</itunes:keywords>" if notes else ""
        items.append(
            f"<item><title>{escape(episode.title)}</title><guid>{episode.folder.name}-eval-{episode.id}{'' if notes else '-bare'}</guid>{extra}"
            f"<pubDate>Mon, 0{number + 1} Jun 2026 08:00:00 GMT</pubDate>"
            f'<enclosure url="{escape(base_url)}/{episode.audio.name}" type="audio/mpeg"/></item>'
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd">'
        f"<channel><title>{escape(chosen[0].show)}</title>{''.join(items)}</channel></rss>"
    )


def names_present(names: list[str], text: str) -> list[str]:
    return [n for n in names if n.lower() in text.lower()]


def glossary_of(episode: EvalEpisode, notes: bool = True) -> list[str]:
    """The glossary the flow builds for the episode when its feed carries show notes (or none without)."""
    from core.glossary import Glossary

    return Glossary.of(show=episode.show, title=episode.title, description=episode.notes, keywords=episode.keywords).terms if notes else []


def transcribe(episode: EvalEpisode, folder: Path, notes: bool = True) -> dict:
    """The episode's transcript.json as the transcribe stage writes it, with or without the show notes' glossary."""
    from core.glossary import Glossary
    from core.media.ffmpeg import decode_audio, write_wav
    from core.settings import Settings
    from stages import transcribe as T

    settings = Settings()
    folder.mkdir(parents=True, exist_ok=True)
    chunk = write_wav(folder / "chunk.wav", decode_audio(episode.audio, 16_000) / 32768.0, 16_000)
    glossary = glossary_of(episode, notes)
    engine = T.load_engine(settings.transcribe, settings.context)
    T.transcribe_chunk(engine, chunk, 0.0, folder / "chunk.json", language=None, glossary=Glossary(glossary), show=episode.show if notes else "", title=episode.title if notes else "")
    T.write_transcript([folder / "chunk.json"], folder, len(decode_audio(episode.audio, 16_000)) / 16_000, glossary)
    return json.loads((folder / "transcript.json").read_text(encoding="utf-8"))


def digest_figures(episode: EvalEpisode, summary: dict) -> dict:
    """Issue 25's figures of a digest, in both sets: the model's share of the script, the key facts heard and missed."""
    from . import keyfacts, rubric

    facts = keyfacts.facts_of(episode.key_facts)
    heard = keyfacts.heard(facts, summary, episode.names)
    return {
        "model_share": rubric.model_share(summary),
        "key_facts_heard": [f.fact for f in heard],
        "key_facts_missed": [f.fact for f in facts if f not in heard],
        "key_facts_total": len(facts),
    }


# --- the reference turns --------------------------------------------------------------------


def write_rttm(path: Path, turns: list[tuple[float, float, str]]) -> None:
    """NIST RTTM, one SPEAKER line a turn (spaces in a speaker's name become underscores)."""
    lines = [f"SPEAKER {path.stem} 1 {start:.3f} {end - start:.3f} <NA> <NA> {speaker.replace(' ', '_')} <NA> <NA>" for start, end, speaker in turns]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def read_rttm(path: Path) -> list[tuple[float, float, str]]:
    """(start, end, speaker) of each turn, as evaluation.diarization.der takes them."""
    turns = []
    for line in path.read_text(encoding="utf-8").splitlines():
        fields = line.split()
        if fields and fields[0] == "SPEAKER":
            start, duration = float(fields[3]), float(fields[4])
            turns.append((start, start + duration, fields[7].replace("_", " ")))
    return turns


# --- the audio ------------------------------------------------------------------------------


def _to_mp3(wav: Path, mp3: Path, rate: int, bitrate: str) -> None:
    import subprocess

    from core.media.ffmpeg import require_tool

    subprocess.run([require_tool("ffmpeg"), "-y", "-loglevel", "error", "-i", str(wav), "-ac", "1", "-ar", str(rate), "-c:a", "libmp3lame", "-b:a", bitrate, str(mp3)], check=True)


def make_audio(episodes: list[EvalEpisode], voice: str = "kokoro") -> None:
    """Speak every script into <id>.mp3: a conversation turn by turn in its speakers' voices (and its .rttm), else with ``voice``."""
    import tempfile

    from core.settings import Settings
    from stages.narrate import narrate

    for episode in episodes:
        with tempfile.TemporaryDirectory() as folder:
            wav = Path(folder) / "narration.wav"
            if episode.voices:
                from core.media.ffmpeg import write_wav

                from .diarization import RATE, Conversation, speak

                audio, turns = speak(Conversation(episode.id, episode.language, episode.voices, episode.turns), pause=PAUSE)
                write_wav(wav, audio, RATE)
                write_rttm(episode.rttm, turns)
                _to_mp3(wav, episode.audio, RATE, "32k")
            else:
                settings = Settings(narrate={"engines": [voice]})
                (Path(folder) / "script.txt").write_text(episode.script, encoding="utf-8")
                narrate(Path(folder) / "script.txt", Path(folder), settings.narrate, settings.context, language=episode.language)
                _to_mp3(wav, episode.audio, 24_000, "48k")
        print(episode.audio, episode.audio.stat().st_size)
