"""The Chinese evaluation set: tech-podcast episodes full of English names, each with show notes.

evaluation/zh/ holds the scripts, episodes.json (titles, show notes, keywords,
the names a digest should keep and the key facts a listener must hear) and the audio: the project's Chinese voice
speaking each script. Tests and ``bench/summarize.py --language zh`` serve it
as a feed and score the transcript and the digest.

    .venv/bin/python -m evaluation.zhset      # rebuild the audio (Kokoro, a few minutes)
"""

from __future__ import annotations

from pathlib import Path

from core.text import CJK

from . import episodes as E
from . import rubric
from .episodes import EvalEpisode, glossary_of, names_present, transcribe
from .speech import LATIN_WORD, cer

FOLDER = Path(__file__).parent / "zh"
VOICE = "kokoro"
__all__ = ["EvalEpisode", "episodes", "feed", "glossary_of", "names_present", "transcribe", "score", "table", "make_audio"]


def episodes() -> list[EvalEpisode]:
    return E.load(FOLDER)


def feed(base_url: str, chosen: list[EvalEpisode] | None = None, notes: bool = True) -> str:
    """An RSS feed of the set with its audio under ``base_url``; ``notes=False`` leaves out show notes and keywords."""
    return E.feed(base_url, chosen or episodes(), notes)


def chinese_share(text: str) -> float:
    """Chinese characters among characters and Latin words (a name like "Databricks" counts once, as a word)."""
    han = len(CJK.findall(text))
    latin = len(LATIN_WORD.findall(text))
    return han / (han + latin) if han + latin else 0.0


def foreign_words(text: str, allowed: str) -> list[str]:
    """Latin words of ``text`` that ``allowed`` (the transcript and glossary) does not contain: English that is not a name or term."""
    known = {w.lower() for w in LATIN_WORD.findall(allowed)}
    return [w for w in LATIN_WORD.findall(text) if w.lower() not in known]


def transcript_cer(reference: str, heard: str) -> float:
    """Character error rate after the faithfulness check's normalisation: numbers as digits on both sides (两百万, 200万; seven B, 7B agree)."""
    from engines.llm.grounding import normalise

    return cer(normalise(reference), normalise(heard))


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
            "unverified_spoken": gates.spoken_unverified(summary["script"], summary["ungrounded"], rubric.as_read(summary, transcript["text"])),  # the product's own rule
            "gates": sorted({f"{g['field']}:{g['gate']}" for g in summary.get("gates", [])}),
            "extractive_fields": summary.get("extractive_fields", []),
            **E.digest_figures(episode, summary),
        })
    return figures


def table(rows: list[tuple[EvalEpisode, dict, dict]]) -> str:
    """The README's table from (episode, figures with notes, figures bare) rows."""
    lines = [
        "| episode | CER with notes | CER bare | Chinese share (episode's own) | names kept (of 5) | model share | key facts heard | fields from the transcript |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for episode, notes, bare in rows:
        lines.append(
            f"| {episode.id} | {notes['cer']:.3f} | {bare['cer']:.3f} | {notes['chinese_share']:.3f} ({notes['source_chinese_share']:.3f}) "
            f"| {len(notes['names_kept'])} | {notes['model_share']:.0%} | {len(notes['key_facts_heard'])} of {notes['key_facts_total']} "
            f"| {', '.join(notes['extractive_fields']) or '-'} |"
        )
    return "\n".join(lines)


def make_audio() -> None:
    """Speak every script with the Chinese voice into evaluation/zh/<id>.mp3."""
    E.make_audio(episodes(), VOICE)


if __name__ == "__main__":
    make_audio()
