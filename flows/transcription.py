"""Transcription as Prefect work: the first spoken chunk alone (it decides the language), the rest mapped in bounded batches."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from prefect import get_run_logger, task

from core.artifacts import Chunks, HostVoice, Transcript
from core.context import Context
from core.errors import EngineUnavailable
from core.glossary import Glossary
from core.publish.catalog import Catalog
from core.settings import DiarizeSettings, Settings, TranscribeSettings
from stages import diarize as diarize_stage
from stages import transcribe as transcribe_stage

from . import progress
from .caching import call_cached, stage_key
from .steps import RESULTS, Job

VERSION = "4"


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
            transcribe_stage.load_engine(settings.transcribe, Context(settings.cache_dir, settings.openai)),
            chunk, offset, out, language=language, glossary=Glossary(glossary), show=show, title=title, chinese_script=options.chinese_script,
            on_progress=(lambda seconds: bar.report(str(chunk), seconds)) if bar else None,
        )
    return {"transcript": str(out), "seconds": time.perf_counter() - started}


@task(name="transcribe", cache_key_fn=stage_key(VERSION), **RESULTS)
def merge_transcript(
    inputs: dict[str, str], offsets: dict[str, float], folder: str, duration: float, glossary: list[str], diarize: DiarizeSettings,
    host: HostVoice | None, settings: Settings,
) -> dict[str, Any]:
    """The chunks' transcripts merged (keys 'text-N'), speakers told apart on the chunks' audio (keys 'audio-N', at ``offsets``).

    ``host`` is the feed's host as heard in earlier episodes: their voice names them here too.
    """
    labeller, timed = None, {"diarize": 0.0}
    if diarize.enabled:
        audio = [(offsets[k], Path(path)) for k, path in inputs.items() if k.startswith("audio-")]
        context = Context(settings.cache_dir, settings.openai)

        def labeller(segments):
            started = time.perf_counter()
            with progress.StageProgress("diarize", f"Telling the speakers of {Path(folder).name} apart", "window") as bar:
                try:
                    return diarize_stage.diarize(segments, audio, settings.diarize, context, Glossary(glossary), bar, host)
                except EngineUnavailable as error:  # speakers are a bonus: the transcript is written without them
                    get_run_logger().warning("Speakers not told apart: %s", error)
                    return segments, []
                finally:
                    timed["diarize"] = time.perf_counter() - started

    texts = [Path(inputs[k]) for k in sorted(inputs) if k.startswith("text-")]
    files = transcribe_stage.write_transcript(texts, Path(folder), duration, glossary, labeller)
    return {"outputs": [str(p) for p in files], "diarize_seconds": round(timed["diarize"], 3)}


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
    spoken = {f"audio-{c['index']:05d}": c for c in chunks if not c["silent"]}
    feed = job.episode.get("feed") if settings.diarize.enabled else None
    catalog = Catalog.of(settings.output_dir) if feed else None
    host = catalog.host(feed) if catalog and feed else None
    merged, _ = call_cached(
        merge_transcript, lambda r: r["outputs"], inputs={**chunk_files, **{k: c["path"] for k, c in spoken.items()}}, offsets={k: c["offset"] for k, c in spoken.items()},
        folder=str(job.folder), duration=duration, glossary=job.glossary, diarize=settings.diarize.model_copy(update={"threads": 0}),
        host=host if host and host.name and job.folder.name not in host.heard_in else None, settings=settings,
    )
    seconds = sum(r["seconds"] for r, _ in results.values())
    transcript = Transcript.read(job.folder)
    if catalog and feed:
        remembered = diarize_stage.remember_host(host, transcript.speakers, job.folder.name, settings.diarize.threshold)
        if remembered and remembered != host:
            catalog.remember_host(feed, remembered)
            logger.info("Host of %s: %s, voice heard in %d episode(s)", feed, remembered.name or "not named yet", len(remembered.heard_in))
    record = {
        "outputs": [*merged["outputs"], *chunk_files.values()],
        "engine": settings.transcribe.engine,
        "model": transcript.model or settings.transcribe.model,
        "language": transcript.language,
        "corrections": len(transcript.corrections),
        "speakers": [{"label": s.label, "seconds": s.seconds} for s in transcript.speakers],
        "seconds": round(seconds, 3),
        "diarize_seconds": merged.get("diarize_seconds"),
        "real_time_factor": round(seconds / duration, 4) if duration else None,
    }
    return record, all(c for _, c in results.values())
