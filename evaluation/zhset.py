"""The Chinese evaluation set: tech-podcast episodes full of English names, each with show notes.

evaluation/zh/ holds the scripts, episodes.json (titles, show notes, keywords,
and the names a digest should keep) and the audio: the project's Chinese voice
speaking each script. Tests and ``bench/summarize.py --language zh`` serve it
as a feed and score the transcript and the digest.

    .venv/bin/python -m evaluation.zhset      # rebuild the audio (Kokoro, a few minutes)
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

from core.text import CJK

from .speech import LATIN_WORD, cer

FOLDER = Path(__file__).parent / "zh"
VOICE = "kokoro"


@dataclass(frozen=True)
class EvalEpisode:
    id: str
    show: str
    title: str
    notes: str
    keywords: list[str]
    names: list[str]

    @property
    def script(self) -> str:
        return (FOLDER / f"{self.id}.txt").read_text(encoding="utf-8").strip()

    @property
    def audio(self) -> Path:
        return FOLDER / f"{self.id}.mp3"


def episodes() -> list[EvalEpisode]:
    data = json.loads((FOLDER / "episodes.json").read_text(encoding="utf-8"))
    return [EvalEpisode(**e) for e in data["episodes"]]


def feed(base_url: str, chosen: list[EvalEpisode] | None = None, notes: bool = True) -> str:
    """An RSS feed of the set with its audio under ``base_url``; ``notes=False`` leaves out show notes and keywords."""
    items = []
    for number, episode in enumerate(chosen or episodes()):
        extra = f"<description>{escape(episode.notes)}</description><itunes:keywords>{escape(', '.join(episode.keywords))}</itunes:keywords>" if notes else ""
        items.append(
            f"<item><title>{escape(episode.title)}</title><guid>zh-eval-{episode.id}{'' if notes else '-bare'}</guid>{extra}"
            f"<pubDate>Mon, 0{number + 1} Jun 2026 08:00:00 GMT</pubDate>"
            f'<enclosure url="{escape(base_url)}/{episode.audio.name}" type="audio/mpeg"/></item>'
        )
    show = (chosen or episodes())[0].show
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd">'
        f"<channel><title>{escape(show)}</title>{''.join(items)}</channel></rss>"
    )


def chinese_share(text: str) -> float:
    """Chinese characters among characters and Latin words (a name like "Databricks" counts once, as a word)."""
    han = len(CJK.findall(text))
    latin = len(LATIN_WORD.findall(text))
    return han / (han + latin) if han + latin else 0.0


def foreign_words(text: str, allowed: str) -> list[str]:
    """Latin words of ``text`` that ``allowed`` (the transcript and glossary) does not contain: English that is not a name or term."""
    known = {w.lower() for w in LATIN_WORD.findall(allowed)}
    return [w for w in LATIN_WORD.findall(text) if w.lower() not in known]


def names_present(names: list[str], text: str) -> list[str]:
    return [n for n in names if n.lower() in text.lower()]


def transcript_cer(reference: str, heard: str) -> float:
    """Character error rate after the faithfulness check's normalisation: numbers as digits on both sides (两百万, 200万; seven B, 7B agree)."""
    from engines.llm.grounding import normalise

    return cer(normalise(reference), normalise(heard))


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


def score(episode: EvalEpisode, transcript: dict, summary: dict | None = None) -> dict:
    """Issue 11's figures for one episode: transcript CER; for a digest, its Chinese share, stray English, names kept, chapters, unverified items spoken."""
    from engines.llm import gates

    figures: dict = {"cer": transcript_cer(episode.script, transcript["text"])}
    if summary:
        spoken_and_written = summary["summary"] + "\n" + summary["script"]
        titles = [c["title"] for c in summary["chapters"]]
        figures.update({
            "chinese_share": chinese_share(spoken_and_written),
            "foreign_words": foreign_words(spoken_and_written, transcript["text"] + " " + " ".join(summary.get("glossary", []))),
            "names_kept": names_present(episode.names, spoken_and_written),
            "names_total": len(episode.names),
            "names_heard": names_present(episode.names, transcript["text"]),  # a faithful digest can keep only these
            "source_chinese_share": chinese_share(episode.script),
            "chapters_distinct": bool(titles) and len(set(titles)) == len(titles),
            "unverified_spoken": gates.spoken_unverified(summary["script"], summary["ungrounded"], transcript["text"]),  # the product's own rule
            "gates": sorted({f"{g['field']}:{g['gate']}" for g in summary.get("gates", [])}),
            "extractive_fields": summary.get("extractive_fields", []),
        })
    return figures


def table(rows: list[tuple[EvalEpisode, dict, dict]]) -> str:
    """The README's table from (episode, figures with notes, figures bare) rows."""
    lines = [
        "| episode | CER with notes | CER bare | Chinese share (episode's own) | names kept (of 5) | fields from the transcript |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for episode, notes, bare in rows:
        lines.append(
            f"| {episode.id} | {notes['cer']:.3f} | {bare['cer']:.3f} | {notes['chinese_share']:.3f} ({notes['source_chinese_share']:.3f}) "
            f"| {len(notes['names_kept'])} | {', '.join(notes['extractive_fields']) or '-'} |"
        )
    return "\n".join(lines)


def make_audio() -> None:
    """Speak every script with the Chinese voice into evaluation/zh/<id>.mp3."""
    import subprocess
    import tempfile

    from core.media.ffmpeg import require_tool
    from core.settings import Settings
    from stages.narrate import narrate

    settings = Settings(narrate={"engines": [VOICE]})
    for episode in episodes():
        with tempfile.TemporaryDirectory() as folder:
            (Path(folder) / "script.txt").write_text(episode.script, encoding="utf-8")
            narrate(Path(folder) / "script.txt", Path(folder), settings.narrate, settings.context, language="zh")
            subprocess.run([require_tool("ffmpeg"), "-y", "-loglevel", "error", "-i", str(Path(folder) / "narration.wav"), "-ac", "1", "-ar", "24000", "-c:a", "libmp3lame", "-b:a", "48k", str(episode.audio)], check=True)
        print(episode.audio, episode.audio.stat().st_size)


if __name__ == "__main__":
    make_audio()
