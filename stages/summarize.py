"""summarize: a transcript of any length to a title, summary, highlights, chapters and a narration script.

The configured engines are tried in order (an unavailable one hands over to
the next); the winner's digest is cleaned, its chapters clamped to the
episode. The presenter's script is then built sentence by sentence
(engines.llm.script): an intro from the facts the pipeline knows, then the
model's sentences that pass the verifier (engines.llm.verify), each failing one
sampled again from the model and otherwise told in reported speech. All is
written as summary.json (with the script's beats), summary.md and script.txt.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import re
import time
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

from core.artifacts import LLM_LOG, NOTES_DIR, SCRIPT, Beat, Chapter, StageRecord, Summary, Transcript, Written
from core.context import Context
from core.errors import EngineUnavailable, PresenterError
from core.logs import Progress, engine_log
from core.publish.render import render
from core.registry import SUMMARIZERS
from core.settings import SummarizeSettings
from core.text import joiner, seconds_of, split_sentences, unspaced, word_count
from core.workspace import write_text
from engines.base import Chain
from engines.llm import gates, grounding, homophones, script, soundbites
from engines.llm.base import LOGGER as LLM_LOGGER
from engines.llm.base import Request, Summarizer, split_transcript
from engines.llm.ranking import Extract
from engines.llm.verify import Verifier

log = logging.getLogger(__name__)


SUMMARY_FACTS = 8  # sentences the written summary adds at most, each telling a line with a figure (or a claim) the script does not say


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

    speaker_of = lambda segment: speaker.name if (speaker := transcript.speaker_of(segment)) else None
    chain: Chain[Summarizer] = Chain("summary", engine_order(section, context), lambda name: make_engine(name, section, context))
    with engine_log(Path(folder) / LLM_LOG, LLM_LOGGER), closing(chain):
        for name, engine in chain:
            try:
                started = time.perf_counter()
                result = engine.summarize(parts, transcript.text, request, Path(folder) / NOTES_DIR, progress)
                break
            except EngineUnavailable as error:
                chain.failed(name, error)
        else:
            raise SummaryError("No summary engine could run: " + chain.reasons(), "Fix the first engine's problem, or add 'extractive' to PRESENTER_SUMMARIZE__ENGINES.")

        digest = result.digest
        figures_heard: list[homophones.Correction] = []
        if unspaced(source) and (likely := engine.next_tokens(result.usage)):  # before any line is told from the transcript
            names = [*request.glossary, *(s.name for s in transcript.speakers if s.name), show]
            transcript, figures_heard = _figures_heard_right(transcript, likely, names)
            request.segments, request.transcript = transcript.segments, transcript.text
        chapters: list[Chapter] = []
        numbered = re.compile(re.escape((title or show).strip()) + r"\s*[(（]\d+[)）]") if (title or show).strip() else None
        for chapter in sorted(digest.chapters, key=lambda c: seconds_of(c.start, parts[0].start)):
            if numbered and numbered.fullmatch(chapter.title.strip()) or not gates.fit_headline(chapter.title):
                continue  # the episode's title and a number, "David说", "感谢收听": nothing about the chapter
            start = min(max(0.0, seconds_of(chapter.start, parts[0].start)), duration)
            if not chapters or start > chapters[-1].start:  # one chapter per start time
                chapters.append(Chapter(start=start, title=gates.clean_text(chapter.title)))
        candidates = [] if engine.extractive else [gates.clean_text(s) for s in split_sentences(gates.clean_script(digest.script))]
        fields = Written(title=digest.title, summary=digest.summary, highlights=digest.highlights, chapters=chapters or [Chapter(start=0.0, title=title or show)], script=digest.script)
        extract = Extract(transcript.segments, source, glossary or [])
        verdict = gates.enforce(fields, request.review, extract, duration, title or show)
        fields.title, fields.summary = gates.clean_text(fields.title), gates.clean_text(fields.summary)
        fields.highlights = [h for h in map(gates.clean_text, fields.highlights) if h]  # the extractive engine's, where the episode is one sentence: ""
        fields.chapters = [Chapter(start=c.start, title=gates.clean_text(c.title)) for c in fields.chapters]
        facts = facts_of(transcript, speaker_of, title, show)
        tell = engine.restater(request, result.usage)
        restate = (lambda lines, speaker, figures, attempt, avoid: gates.clean_text(tell(lines, speaker, figures, attempt, avoid) or "")) if tell else None
        told_script = presenter_script(transcript, request, section, engine, result, candidates, speaker_of, duration, facts, restate)
        fields.title = script.title_for(fields.title, facts, transcript.text, request.by_characters)
        starts = [s.start for s in told_script.sections]
        titled, from_extract = script.chapters(told_script.sections, [(c.start, c.title) for c in fields.chapters], {start: text for start, text in extract.chapters(starts, title or show) if gates.fit_headline(text)})
        if titled:
            fields.chapters = [Chapter(start=start, title=gates.clean_text(text)) for start, text in titled]
            if from_extract and "chapters" not in verdict.extractive_fields:
                verdict.extractive_fields.append("chapters")
        beats, rejected = _unlisted_beats(told_script, fields, transcript.text, language)
        fields.script = joiner(language).join(b.text for b in beats)
        body = [b for b in beats if b.source not in ("intro", "outro")]
        claimed = gates.ungrounded(fields, transcript.text)  # what the model's answer said that the transcript does not: listed, never spoken
        verifier = Verifier(transcript.text, language, request.glossary)
        from_script: list[str] = []
        reported_facts: list[str] = []
        if not engine.extractive:  # the extractive engine's summary and highlights are the transcript's sentences, labelled so in summary.md
            more = script.another(told_script.sections, verifier, speaker_of, voices=len(transcript.speakers))
            people = [n for n in [facts.host, *facts.guests] if n]
            credited = [script.credited(s, 0.0, transcript.segments, speaker_of, people, verifier) for s in split_sentences(fields.summary)]  # as the script's
            highlights = [script.credited(h, 0.0, transcript.segments, speaker_of, people, verifier) for h in fields.highlights]  # "磷酸铁锂电池会继续占据主流…" is 王磊's
            told = script.prose(credited, highlights, beats, verifier)
            figures: list[str] = []
            if restate:  # the figures the script had no room for, each a verified sentence of the model's (or reported) for the reader
                # (a highlight's figure too: the summary is what a reader reads first, and the highlight then makes room for another)
                more_facts = script.facts_told(
                    told_script.sections, verifier, speaker_of, restate, [*told.summary, *(b.text for b in beats)], SUMMARY_FACTS, told_script.asked,
                    voices=len(transcript.speakers), show=show, host=facts.host, people=people,
                )
                figures, reported_facts = more_facts.sentences, more_facts.reported
                rejected += more_facts.rejected
            told = script.topped_up(told, figures, more)
            said = script.varied(told.summary, [n for n in [facts.host, *facts.guests] if n], request.by_characters)  # not "节目中提到" four times
            reported_facts = [new for old, new in zip(told.summary, said) if old in reported_facts]
            fields.summary = joiner(language).join(said)
            fields.highlights, from_script = told.highlights, told.from_script
        # names left out, told in reported speech (never quoted): central ones the summary lacks, then any other the show notes
        # name that the episode says and the digest does not, the earliest said first (who is who comes in the introductions)
        once = gates.missing_names(fields.summary + "\n" + fields.script, request.review, 1)
        named = list(dict.fromkeys([*gates.missing_names(fields.summary, request.review), *sorted(once, key=lambda n: grounding.first_said(n, transcript.text))]))
        # the show is not news about itself ("The episode also mentions Databricks, The Data Stack and Data Stack."), nor is a
        # name another one holds
        named = [n for n in named if not _within(n, show) and not _within(show, n) and not any(m != n and _within(n, m) for m in named)]
        if named:
            said = split_sentences(fields.summary)
            earlier, talking = [b.text for b in beats] + said + fields.highlights, {n: "guest" for n in facts.guests} | ({facts.host: "host"} if facts.host else {})
            fields.summary = joiner(language).join([*said, *script.naming(named, transcript.segments, verifier, earlier, speaker_of, voices=len(transcript.speakers), people=talking)])
        corrections: list[dict[str, str]] = []
        if unspaced(language) and (likely := engine.next_tokens(result.usage)):  # Whisper's 偷产 for 投产, put right before it is spoken
            at = [i for i, sentence in enumerate(split_sentences(fields.summary)) if sentence in reported_facts]
            protected = [*request.glossary, *(n for n in [facts.host, *facts.guests] if n), show]
            beats, fields, corrections = _heard_right(beats, fields, likely, verifier, protected, engine.likelihood(result.usage), show, title)
            reported_facts = [split_sentences(fields.summary)[i] for i in at]  # as corrected: a correction changes words, not sentences
        elapsed = time.perf_counter() - started
    from_transcript = ["script"] if body and all(b.source in ("reported", "quoted") for b in body) else []
    from_transcript += [f for f in from_script if from_transcript]  # the script's sentences are the transcript's where the script is
    verdict.extractive_fields = [*verdict.extractive_fields, *(f for f in from_transcript if f not in verdict.extractive_fields)]
    summary = Summary(
        **fields.model_dump(),
        engine=engine.name, model=engine.model, extractive=engine.extractive, language=language,
        ungrounded=list(dict.fromkeys([*claimed, *gates.ungrounded(fields, transcript.text)])), parts=len(parts), reduce_levels=result.levels, usage=result.usage.to_dict(),
        seconds=round(elapsed, 2), episode_title=title, show=show, target_seconds=target, fallbacks=[f"{n}: {why}" for n, why in chain.unavailable.items()],
        glossary=request.glossary, gates=verdict.fired, extractive_fields=verdict.extractive_fields,
        dropped_from_script=[r["text"] for r in rejected if {"ungrounded", "listed"} & set(r["rules"])],
        quoted_for_names=[n for n in named if n.casefold() in fields.summary.casefold()], beats=[Beat(**b.to_dict()) for b in beats], rejected=rejected,
        corrected=corrections, figures_heard=[c.to_dict() for c in figures_heard], reported_in_summary=reported_facts,
    )
    # the episode's own voices (engines.llm.soundbites) placed among the beats, their link lines in the script
    summary = soundbites.add_to(summary, transcript, section.soundbites, verifier, log.info)
    sources = told_script.sources()
    log.info(
        "script: %d sentences (intro %d, model %d, sampled again %d, reported speech %d, quoted %d, outro %d); %d not spoken",
        len(beats), sources.get("intro", 0), sources.get("model", 0), sources.get("resampled", 0), sources.get("reported", 0), sources.get("quoted", 0), sources.get("outro", 0), len(rejected),
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


def facts_of(transcript: Transcript, speaker_of: Any, title: str, show: str) -> script.Facts:
    """Show and title from the feed; the host is the first named voice to speak (or who says "I'm your host, …"), the guests the other named voices and those the host introduces."""
    named = [n for n in dict.fromkeys(speaker_of(s) for s in transcript.segments) if n]
    chinese = unspaced(transcript.language)
    host = named[0] if named else script.host_said(transcript.text, chinese)
    introduced = [g for g in dict.fromkeys([*script.guests_in_title(title, chinese), *script.guests_said(transcript.text, chinese)]) if g not in named and g != host]
    return script.Facts(show=show, title=title, host=host, guests=[*named[1:], *introduced], voices=len(transcript.speakers))


def _within(part: str, whole: str) -> bool:
    return bool(part.strip()) and part.strip().casefold() in whole.casefold()


def presenter_script(
    transcript: Transcript, request: Request, section: SummarizeSettings, engine: Summarizer, result: Any,
    candidates: list[str], speaker_of: Any, duration: float, facts: script.Facts, restate: script.Restater | None,
) -> script.Script:
    """The intro and verified sentences (engines.llm.script), the engine asked again for a sentence that fails."""
    verifier = Verifier(transcript.text, request.language, request.glossary)
    write = engine.writer(request, result.usage)
    writer = (lambda part, attempt, avoid, said: gates.clean_text(write(part, attempt, avoid, said) or "")) if write else None
    # the notes' key points are in the transcript's language: spoken only where the digest is in it too
    points = [(at, gates.clean_text(text)) for at, text in result.points] if request.language == request.source_language else []
    return script.compose(
        facts, transcript.segments, duration, verifier, candidates,
        speaker_of=speaker_of, writer=writer, attempts=section.resample, target_size=request.target_size, points=points, numbers=result.numbers, restate=restate,
    )


def _figures_heard_right(transcript: Transcript, likely: homophones.NextTokens, protected: list[str]) -> tuple[Transcript, list[homophones.Correction]]:
    """The transcript with the figures Whisper misheard put right where the model clearly reads them so
    (``homophones.figure_candidates``: tech-weekly's 快适到物备 → 快四到五倍, beyond-code's 1000瓦 → 1000万). A line's
    figures decide how it is told, and the verifier grounds a figure in this text: put right afterwards, 四到五倍 would
    be a figure the episode never says. Only figures: each candidate costs a model call, and they are few."""
    changes: list[homophones.Correction] = []
    segments, text, cursor = [], transcript.text, 0
    for segment in transcript.segments:
        heard = segment.text.strip()
        at = text.find(heard, cursor)  # this segment's place in the text, not an earlier one with the same words
        fixed, made = homophones.corrected(segment.text, likely, protected, find=homophones.figure_candidates)
        if made:  # a figure's character for another: the same length, the words' timestamps (as heard) unchanged
            changes += made
            segment = dataclasses.replace(segment, text=fixed)
            text = text[:at] + fixed.strip() + text[at + len(heard) :] if at >= 0 else text
        cursor = at + len(heard) if at >= 0 else cursor
        segments.append(segment)
    return (transcript.model_copy(update={"segments": segments, "text": text}), changes) if changes else (transcript, [])


def _heard_right(
    beats: list[script.Beat], fields: Written, likely: homophones.NextTokens, verifier: Verifier, protected: list[str],
    likelihood: homophones.Likelihood | None = None, show: str = "", title: str = "",
) -> tuple[list[script.Beat], Written, list[dict[str, str]]]:
    """The digest's sentences with the words Whisper misheard that the model clearly reads otherwise put right
    (engines.llm.homophones; a clause read after what the episode is: "《show》：title"), where the sentence breaks no
    rule it did not break before; the changes, for summary.json."""
    keep = lambda before, after: set(verifier.broken(after)) <= set(verifier.broken(before))
    likely = functools.cache(likely)  # a sentence of the script is often the summary's and a highlight's too: read once
    likelihood = functools.cache(likelihood) if likelihood else None
    about = "：".join(part for part in (f"《{show.strip()}》" if show.strip() else "", title.strip()) if part)
    changes: list[homophones.Correction] = []

    def apply(correct: Callable[[str], tuple[str, list[homophones.Correction]]]) -> None:
        nonlocal beats

        def fix(text: str) -> str:
            fixed, made = correct(text)
            changes.extend(made)
            return fixed

        beats = [dataclasses.replace(b, text=fix(b.text)) if b.source not in ("intro", "outro") else b for b in beats]
        fields.title, fields.summary, fields.highlights = fix(fields.title), fix(fields.summary), [fix(h) for h in fields.highlights]

    apply(lambda text: homophones.corrected(text, likely, protected, keep, likelihood=likelihood, context=about + "\n" if about else ""))  # where the model reads it so
    learned = list(changes)
    apply(lambda text: homophones.put_right_again(text, learned, protected, keep))  # then wherever else the same word was heard
    fields.script = "".join(b.text for b in beats)
    return beats, fields, [c.to_dict() for c in dict.fromkeys(changes)]  # a sentence in the script and the summary: one change


def _unlisted_beats(written: script.Script, fields: Written, transcript: str, language: str) -> tuple[list[script.Beat], list[dict[str, Any]]]:
    """The last word on the script: no beat says an item another field lists as unverified (repeated until none does)."""
    beats, rejected = list(written.beats), list(written.rejected)
    while True:
        fields.script = joiner(language).join(b.text for b in beats)
        listed = gates.ungrounded(fields, transcript)
        unverified = [b for b in beats if gates.spoken_unverified(b.text, listed, transcript)]
        if not unverified:
            return beats, rejected
        rejected += [{"text": b.text, "source": b.source, "rules": ["listed"]} for b in unverified]
        beats = [b for b in beats if b not in unverified]
