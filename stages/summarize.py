"""summarize: a transcript of any length to a title, summary, highlights, chapters and a narration script.

The configured engines are tried in order (an unavailable one hands over to
the next); the winner's digest is cleaned, its chapters clamped to the
episode, and written as summary.json, summary.md and script.txt.
"""

from __future__ import annotations

import logging
import time
from contextlib import closing
from pathlib import Path

from core.artifacts import LLM_LOG, NOTES_DIR, SCRIPT, Chapter, StageRecord, Summary, Transcript, Written
from core.context import Context
from core.errors import EngineUnavailable, PresenterError
from core.logs import Progress, engine_log
from core.publish.render import render
from core.registry import SUMMARIZERS
from core.settings import SummarizeSettings
from core.text import seconds_of, word_count
from core.workspace import write_text
from engines.base import Chain
from engines.llm import gates
from engines.llm.base import LOGGER as LLM_LOGGER
from engines.llm.base import Request, Summarizer, split_transcript
from engines.llm.ranking import Extract

log = logging.getLogger(__name__)


class SummaryError(PresenterError):
    """The transcript cannot be summarized (too short, or every engine failed)."""


def engine_order(section: SummarizeSettings, context: Context) -> list[str]:
    """The configured order, or: openai first if an endpoint or key is set, then embedded, then extractive."""
    if section.engines:
        return list(section.engines)
    openai = SUMMARIZERS.get("openai")
    return ["openai", "embedded", "extractive"] if openai.configured(context) else ["embedded", "extractive"]


def make_engine(name: str, section: SummarizeSettings, context: Context) -> Summarizer:
    return SUMMARIZERS.get(name)(section, context)


def summarize(
    transcript_path: Path, folder: Path, section: SummarizeSettings, context: Context, *,
    title: str, show: str, glossary: list[str] | None = None, progress: Progress | None = None,
) -> StageRecord:
    """Write summary.json, summary.md and script.txt into ``folder``."""
    transcript = Transcript.model_validate_json(Path(transcript_path).read_text(encoding="utf-8"))
    words = word_count(transcript.text)
    if words < section.min_words:
        raise SummaryError(
            f"The transcript {transcript_path} has only {words} words: too little to summarize without inventing content.",
            "Check that the episode has speech (and the right language: PRESENTER_LANGUAGE); nothing was summarized.",
        )
    source = transcript.language or section.language or "en"
    language = section.language or source
    # a digest is never longer than half its episode: a 75 s script about an 11 s clip could only pad or invent
    duration = transcript.duration or (transcript.segments[-1].end if transcript.segments else 0)
    target = min(section.target_seconds, max(10.0, duration / 2))
    request = Request(
        title=title, show=show, language=language, target_seconds=target, source_language=source,
        glossary=list(glossary or []), segments=transcript.segments, transcript=transcript.text,
    )
    parts = split_transcript(
        transcript.segments, min(section.part_tokens, section.context_tokens - section.max_tokens - 600),
        lambda segment: speaker.name if (speaker := transcript.speaker_of(segment)) else None,
    )

    chain: Chain[Summarizer] = Chain("summary", engine_order(section, context), lambda name: make_engine(name, section, context))
    with engine_log(Path(folder) / LLM_LOG, LLM_LOGGER), closing(chain):
        for name, engine in chain:
            try:
                started = time.perf_counter()
                result = engine.summarize(parts, transcript.text, request, Path(folder) / NOTES_DIR, progress)
                elapsed = time.perf_counter() - started
                break
            except EngineUnavailable as error:
                chain.failed(name, error)
        else:
            raise SummaryError("No summary engine could run: " + chain.reasons(), "Fix the first engine's problem, or add 'extractive' to PRESENTER_SUMMARIZE__ENGINES.")

    digest = result.digest
    chapters: list[Chapter] = []
    for chapter in sorted(digest.chapters, key=lambda c: seconds_of(c.start, parts[0].start)):
        start = min(max(0.0, seconds_of(chapter.start, parts[0].start)), duration)
        if not chapters or start > chapters[-1].start:  # one chapter per start time
            chapters.append(Chapter(start=start, title=chapter.title))
    written = Written(title=digest.title, summary=digest.summary, highlights=digest.highlights, chapters=chapters, script=digest.script)
    verdict = gates.enforce(written, request.review, Extract(transcript.segments, source, glossary or []), duration, title or show)
    summary = Summary(
        **written.model_dump(),
        engine=engine.name, model=engine.model, extractive=engine.extractive, language=language,
        ungrounded=gates.ungrounded(written, transcript.text), parts=len(parts), reduce_levels=result.levels, usage=result.usage.to_dict(),
        seconds=round(elapsed, 2), episode_title=title, show=show, target_seconds=target, fallbacks=[f"{n}: {why}" for n, why in chain.unavailable.items()],
        glossary=request.glossary, gates=verdict.fired, extractive_fields=verdict.extractive_fields, dropped_from_script=verdict.dropped_from_script,
        quoted_for_names=verdict.quoted_for_names,
    )
    if summary.ungrounded:
        log.warning("The written summary mentions items the transcript does not contain: %s (listed in summary.md; none is spoken).", ", ".join(summary.ungrounded))
    if verdict.extractive_fields:
        log.warning("Built from the transcript because the model's answer failed a quality gate: %s.", ", ".join(verdict.extractive_fields))
    outputs = [
        summary.write(folder),
        write_text(Path(folder) / "summary.md", render("summary.md.j2", summary=summary)),
        write_text(Path(folder) / SCRIPT, summary.script + "\n"),
    ]
    return StageRecord(
        outputs=outputs, engine=summary.engine, model=summary.model, seconds=summary.seconds,
        language=language, ungrounded=len(summary.ungrounded), usage=summary.usage, extractive_fields=summary.extractive_fields,
    )
