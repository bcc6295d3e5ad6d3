"""The English evaluation set: three spoken tech-podcast conversations (a host and one or two guests), each with show notes.

evaluation/en/ holds the scripts (a turn a line, 'Speaker: text'),
episodes.json (titles, show notes, keywords, the names a digest should keep,
the key facts a listener must hear, each speaker's voice), the audio (each
turn in its speaker's voice: Kokoro's jf_alpha and jm_kumo, piper's joe) and
<id>.rttm, when each turn was spoken. tests/test_english_eval.py serves it as a
feed and scores the transcript, the diarization and the digest.

    .venv/bin/python -m evaluation.enset      # rebuild the audio and the turn lists (a few minutes)
"""

from __future__ import annotations

from pathlib import Path

from . import episodes as E
from .episodes import EvalEpisode

FOLDER = Path(__file__).parent / "en"
__all__ = ["EvalEpisode", "episodes", "feed", "score", "table", "reference", "transcript_wer", "diarization_error", "make_audio"]


def episodes() -> list[EvalEpisode]:
    return E.load(FOLDER)


def feed(base_url: str, chosen: list[EvalEpisode] | None = None, notes: bool = True) -> str:
    """An RSS feed of the set with its audio under ``base_url``; ``notes=False`` leaves out show notes and keywords."""
    return E.feed(base_url, chosen or episodes(), notes)


def transcript_wer(reference: str, heard: str) -> float:
    """Word error rate after the faithfulness check's normalisation: numbers as digits on both sides (eight hundred, 800 agree)."""
    from engines.llm.grounding import normalise

    from .speech import wer

    return wer(normalise(reference), normalise(heard))


def reference(episode: EvalEpisode) -> list[tuple[float, float, str]]:
    """When each turn was spoken (start, end, speaker), from the synthesis."""
    return E.read_rttm(episode.rttm)


def diarization_error(episode: EvalEpisode, transcript: dict) -> float:
    """DER of the transcript's speaker-labelled segments against the synthesis's turns (evaluation.diarization.der)."""
    from core.artifacts import Segment

    from .diarization import der

    segments = [Segment(s["start"], s["end"], s["text"], speaker=s.get("speaker")) for s in transcript["segments"]]
    return der(reference(episode), segments)


def score(episode: EvalEpisode, transcript: dict, summary: dict | None = None) -> dict:
    """One episode's figures: transcript WER, speakers found and DER; for a digest, names kept, the model's share, key facts heard."""
    figures: dict = {
        "wer": transcript_wer(episode.script, transcript["text"]),
        "speakers_found": len(transcript.get("speakers", [])),
        "speakers_true": len(episode.speakers),
        "speaker_names": [s.get("name") for s in transcript.get("speakers", [])],
        "der": diarization_error(episode, transcript),
        "names_heard": E.names_present(episode.names, transcript["text"]),  # a faithful digest can keep only these
    }
    if summary:
        spoken_and_written = summary["summary"] + "\n" + summary["script"]
        titles = [c["title"] for c in summary["chapters"]]
        figures.update({
            "names_kept": E.names_present(episode.names, spoken_and_written),
            "names_total": len(episode.names),
            "chapters_distinct": bool(titles) and len(set(titles)) == len(titles),
            "gates": sorted({f"{g['field']}:{g['gate']}" for g in summary.get("gates", [])}),
            "extractive_fields": summary.get("extractive_fields", []),
            **E.digest_figures(episode, summary),
        })
    return figures


def table(rows: list[tuple[EvalEpisode, dict]]) -> str:
    """The README's table from (episode, figures) rows."""
    lines = [
        "| episode | speakers found (true) | DER | WER | names kept (of 5) | model share | key facts heard | fields from the transcript |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for episode, f in rows:
        lines.append(
            f"| {episode.id} | {f['speakers_found']} ({f['speakers_true']}) | {f['der']:.3f} | {f['wer']:.3f} | {len(f['names_kept'])} "
            f"| {f['model_share']:.0%} | {len(f['key_facts_heard'])} of {f['key_facts_total']} | {', '.join(f['extractive_fields']) or '-'} |"
        )
    return "\n".join(lines)


def make_audio() -> None:
    """Speak every conversation into evaluation/en/<id>.mp3 and write its turns to <id>.rttm."""
    E.make_audio(episodes())


if __name__ == "__main__":
    make_audio()
