"""Rebuild field-notes-batteries.mp3: each turn of field-notes-batteries.txt spoken by its speaker's voice.

Two voices, so diarization has two people to tell apart, as in a real
interview: Dana Whitfield (the host) is piper's joe, Maria Lopez (the guest)
Kokoro's jf_alpha; the presenter's own default voice (Kokoro's jm_kumo) is
neither. Turns are joined with half a second of silence.

    .venv/bin/python assets/sample/make_sample.py
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))

VOICES = {"Dana Whitfield": ("piper", None), "Maria Lopez": ("kokoro", "jf_alpha")}
RATE = 24_000
PAUSE = 0.5


def turns(script: Path) -> list[tuple[str, str]]:
    """(speaker, text) for each 'Speaker: text' line."""
    return [(who.strip(), text.strip()) for who, _, text in (line.partition(":") for line in script.read_text(encoding="utf-8").splitlines() if line.strip())]


def spoken(speaker: str, text: str) -> np.ndarray:
    """One turn in its speaker's voice, from its first sentence's start to its last one's end, at RATE."""
    from core.artifacts import Narration
    from core.media.ffmpeg import read_wav, resample
    from core.settings import Settings
    from stages.narrate import narrate

    engine, voice = VOICES[speaker]
    settings = Settings(narrate={"engines": [engine], **({engine: {"voice": voice}} if voice else {})})
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "script.txt").write_text(text, encoding="utf-8")
        narrate(Path(folder) / "script.txt", Path(folder), settings.narrate, settings.context, language="en")
        audio, rate = read_wav(Path(folder) / "narration.wav")
        narration = Narration.read(Path(folder))
    first, last = narration.sentences[0].start, narration.sentences[-1].end or narration.duration
    return resample(audio[round(first * rate) : round(last * rate)], rate, RATE)


def main() -> None:
    from core.media.ffmpeg import write_wav

    pieces = []
    for speaker, text in turns(HERE / "field-notes-batteries.txt"):
        pieces += [spoken(speaker, text), np.zeros(round(PAUSE * RATE), np.float32)]
    with tempfile.TemporaryDirectory() as folder:
        wav = write_wav(Path(folder) / "episode.wav", np.concatenate(pieces), RATE)
        subprocess.run([
            "ffmpeg", "-v", "error", "-y", "-i", str(wav), "-ac", "1", "-ar", "22050", "-c:a", "libmp3lame", "-b:a", "48k",
            "-metadata", "title=Home batteries, explained (sample)", "-metadata", "album=Field Notes", "-metadata", "artist=podcast-presenter",
            str(HERE / "field-notes-batteries.mp3"),
        ], check=True)


if __name__ == "__main__":
    main()
