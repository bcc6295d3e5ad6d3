"""Voices judged by ear: each one speaks, the project's Whisper (base) listens, and the errors are counted.

English: the four paragraphs of bench/data/script-en.txt, word error rate and
Whisper's language-detection probability for English (a proxy for accent).
Chinese with English names: evaluation/zh/tech-weekly.txt, character error
rate and how many of its 42 English words come back. This is how the default
voice was chosen (README, "Narration").

    .venv/bin/python bench/voices.py [--voices kokoro,piper,embedded]

Prints Markdown tables and writes bench/results/voices.json.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from common import ROOT, save, table

MIXED = ROOT / "evaluation" / "zh" / "tech-weekly.txt"  # the mixed Chinese/English paragraph


def narrated(text: str, language: str, voice: str):
    from core.media.ffmpeg import read_wav
    from core.settings import Settings
    from stages import narrate as N

    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "script.txt").write_text(text, encoding="utf-8")
        settings = Settings(narrate={"engines": [voice]})
        N.narrate(Path(folder) / "script.txt", Path(folder), settings.narrate, settings.context, language=language)
        return read_wav(Path(folder) / "narration.wav")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--voices", default="kokoro,piper,embedded")
    args = parser.parse_args()
    from evaluation import speech

    english, mixed = [], []
    paragraphs = [p for p in (ROOT / "bench" / "data" / "script-en.txt").read_text(encoding="utf-8").splitlines() if p.strip()]
    for voice in args.voices.split(","):
        if voice != "embedded":
            for number, text in enumerate(paragraphs, start=1):
                audio, rate = narrated(text, "en", voice)
                heard, detected = speech.hear(audio, rate, "en"), speech.hear(audio, rate)
                english.append({"voice": voice, "paragraph": number, "wer": speech.wer(text, heard.text), "language": detected.language, "p_english": detected.language_probability if detected.language == "en" else 0.0})
        if voice != "piper" and MIXED.is_file():
            text = MIXED.read_text(encoding="utf-8")
            audio, rate = narrated(text, "zh", voice)
            heard_text = speech.hear(audio, rate, "zh").text
            mixed.append({"voice": voice, "cer": speech.cer(text, heard_text), "english_words": len(speech.recovered(text, heard_text)), "of": len(speech.english_words(text))})
    print("English (bench/data/script-en.txt, 4 paragraphs), heard by Whisper base\n")
    table(["voice", "paragraph", "WER", "detected", "P(English)"], [[r["voice"], r["paragraph"], f"{r['wer']:.3f}", r["language"], f"{r['p_english']:.3f}"] for r in english], "lrrlr")
    for voice in sorted({r["voice"] for r in english}):
        rows = [r for r in english if r["voice"] == voice]
        print(f"\n{voice}: mean WER {sum(r['wer'] for r in rows) / len(rows):.3f}, mean P(English) {sum(r['p_english'] for r in rows) / len(rows):.3f}")
    print("\nChinese with English names (evaluation/zh/tech-weekly.txt)\n")
    table(["voice", "CER", "English words back"], [[r["voice"], f"{r['cer']:.3f}", f"{r['english_words']} of {r['of']}"] for r in mixed], "lrr")
    save("voices.json", {"english": english, "mixed": mixed})


if __name__ == "__main__":
    main()
