"""Transcription as Prefect work: the first spoken chunk alone (it decides the language), the rest mapped in bounded batches."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from prefect import get_run_logger, task

from core.artifacts import Chunks, HostVoice, Transcript
from core.glossary import Glossary
from core.publish.catalog import Catalog
from core.settings import DiarizeSettings, Settings, TranscribeSettings
from stages import diarize as diarize_stage
from stages import transcribe as transcribe_stage

from . import progress
from .caching import call_cached, stage_key
from .steps import RESULTS, Job

VERSION = "5"
DIARIZE_VERSION = "1"


@task(name="transcribe-chunk", cache_key_fn=stage_key(VERSION), **RESULTS)
def transcribe_chunk(
    inputs: dict[str, str], offset: float, silent: bool, language: str | None, glossary: list[str], show: str, title: str, options: TranscribeSettings, settings: Settings,
) -> dict[str, Any]:
    started = time.perf_counter()
    chunk = Path(inputs["chunk"])
    out = chunk.with_suffix(".json")
    if silent:
        transcribe_stage.empty_chunk(out, offset, language)
    else:
        bar = progress.running(str(chunk.parent.parent))
        transcribe_stage.transcribe_chunk(
            transcribe_stage.load_engine(settings.transcribe, settings.context),
            chunk, offset, out, language=language, glossary=Glossary(glossary), show=show, title=title, chinese_script=options.chinese_script,
            on_progress=(lambda seconds: bar.report(str(chunk), seconds)) if bar else None,
        )
    return {"transcript": str(out), "seconds": time.perf_counter() - started}


@task(name="transcribe", cache_key_fn=stage_key(VERSION), **RESULTS)
def merge_transcript(inputs: dict[str, str], folder: str, duration: float, glossary: list[str], settings: Settings) -> dict[str, Any]:
    """The chunks' transcripts (keys 'text-N') merged into the transcript files: words, no speakers yet."""
    texts = [Path(inputs[k]) for k in sorted(inputs)]
    return {"outputs": [str(p) for p in transcribe_stage.write_transcript(texts, Path(folder), duration, glossary)]}


@task(name="diarize", cache_key_fn=stage_key(DIARIZE_VERSION), **RESULTS)
def diarize_transcript(
    inputs: dict[str, str], offsets: dict[str, float], folder: str, duration: float, glossary: list[str], options: DiarizeSettings,
    host: HostVoice | None, settings: Settings,
) -> dict[str, Any]:
    """The transcript files written again from the chunks' transcripts (keys 'text-N'), speakers told apart on their audio (keys 'audio-N', at ``offsets``).

    ``host`` is the feed's host as heard in earlier episodes: their voice names them here too.
    """
    audio = [(offsets[k], Path(path)) for k, path in inputs.items() if k.startswith("audio-")]
    texts = [Path(inputs[k]) for k in sorted(inputs) if k.startswith("text-")]
    with progress.StageProgress("diarize", f"Telling the speakers of {Path(folder).name} apart", "window") as bar:
        record = diarize_stage.add_speakers(texts, audio, Path(folder), duration, settings.diarize, settings.context, glossary, bar, host)
    return record.model_dump(mode="json")


def transcribe(job: Job) -> tuple[dict[str, Any], bool]:
    """Every chunk of chunks.json transcribed, then merged; returns the stage record and whether all of it came from cache."""
    logger = get_run_logger()
    chunks = [{**c.model_dump(), "path": str(job.folder / c.path)} for c in Chunks.read(job.folder).chunks]
    duration = sum(c["duration"] for c in chunks)
    settings = job.settings
    keyed = settings.transcribe.model_copy(update={"threads": 0, "workers": 1})  # how fast is not what
    language = settings.language
    shown = progress.StageProgress("transcribe", f"Transcribing {job.folder.name}", "s", total=round(duration))
    bar = progress.start(str(job.folder), shown)
    results: dict[int, tuple[dict[str, Any], bool]] = {}

    def arguments(chunk: dict[str, Any]) -> dict[str, Any]:
        return {
            "inputs": {"chunk": chunk["path"]}, "offset": chunk["offset"], "silent": chunk["silent"], "language": language,
            "glossary": job.glossary, "show": job.show, "title": job.title, "options": keyed, "settings": settings,
        }

    def finish(chunk: dict[str, Any], result: dict[str, Any], cached: bool) -> None:
        if cached and not Path(result["transcript"]).exists():
            result, cached = call_cached(transcribe_chunk, lambda r: [r["transcript"]], **arguments(chunk))
        results[chunk["index"]] = (result, cached)
        bar.report(chunk["path"], chunk["duration"])

    try:
        ordered = sorted(chunks, key=lambda c: c["silent"])  # the first spoken chunk decides the language
        first, rest = ordered[0], ordered[1:]
        finish(first, *call_cached(transcribe_chunk, lambda r: [r["transcript"]], **arguments(first)))
        if language is None and not first["silent"]:
            language = transcribe_stage.read_language(Path(results[first["index"]][0]["transcript"]))
            logger.info("Detected language: %s", language)
        size = settings.transcribe.workers
        for batch in (rest[i : i + size] for i in range(0, len(rest), size)):
            futures = [transcribe_chunk.submit(**arguments(c)) for c in batch]
            for chunk, future in zip(batch, futures):
                finish(chunk, future.result(), future.state.name == "Cached")
    finally:
        progress.stop(str(job.folder))
        shown.close()
    chunk_files = {f"text-{i:05d}": results[i][0]["transcript"] for i in sorted(results)}
    merged, merged_cached = call_cached(merge_transcript, lambda r: r["outputs"], inputs=chunk_files, folder=str(job.folder), duration=duration, glossary=job.glossary, settings=settings)
    seconds = sum(r["seconds"] for r, _ in results.values())
    transcript = Transcript.read(job.folder)
    record = {
        "outputs": [*merged["outputs"], *chunk_files.values()],
        "engine": settings.transcribe.engine,
        "model": transcript.model or settings.transcribe.model,
        "language": transcript.language,
        "corrections": len(transcript.corrections),
        "seconds": round(seconds, 3),
        "real_time_factor": round(seconds / duration, 4) if duration else None,
    }
    return record, merged_cached and all(c for _, c in results.values())


def diarize(job: Job, rewritten: bool) -> tuple[dict[str, Any], bool]:
    """Speakers told apart and named in the transcript files; returns the stage record and whether it came from cache.

    The feed's host is read before and remembered after, here only. ``rewritten``: transcribe has just written
    the transcript files again (without speakers), so diarize runs again even where its inputs are unchanged.
    """
    settings = job.settings
    if not settings.diarize.enabled:
        return {"outputs": [], "engine": None, "skipped": "diarize.enabled is off"}, False
    chunks = Chunks.read(job.folder).chunks
    spoken = [c for c in chunks if not c.silent]
    texts = {f"text-{c.index:05d}": str((job.folder / c.path).with_suffix(".json")) for c in chunks}
    audio = {f"audio-{c.index:05d}": str(job.folder / c.path) for c in spoken}
    feed = job.episode.get("feed")
    catalog = Catalog.of(settings.output_dir, settings.watch.catalog_url) if feed else None
    host = catalog.host(feed) if catalog and feed else None
    task = diarize_transcript.with_options(refresh_cache=True) if rewritten else diarize_transcript
    record, cached = call_cached(
        task, lambda r: r["outputs"], inputs={**texts, **audio}, offsets={f"audio-{c.index:05d}": c.offset for c in spoken},
        folder=str(job.folder), duration=sum(c.duration for c in chunks), glossary=job.glossary, options=settings.diarize.model_copy(update={"threads": 0}),
        host=host if host and host.name and job.folder.name not in host.heard_in else None, settings=settings,
    )
    if catalog and feed:
        speakers = Transcript.read(job.folder).speakers  # read, changed and written in one step: digests on other workers may change it too
        before, remembered = catalog.update_host(feed, lambda current: diarize_stage.remember_host(current, speakers, job.folder.name, settings.diarize.threshold))
        if remembered and remembered != before:
            get_run_logger().info("Host of %s: %s, voice heard in %d episode(s)", feed, remembered.name or "not named yet", len(remembered.heard_in))
    return record, cached
