"""The digest flow: one podcast episode in, its stage outputs in one folder out.

Tasks wrap the plain functions in ``stages/``; this module adds what Prefect
gives: retries on network work, content-hash caching, chunk mapping on a
bounded pool, artifacts and run names for the UI.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_progress_artifact, create_table_artifact, update_progress_artifact
from prefect.context import get_run_context
from prefect.task_runners import ThreadPoolTaskRunner
from tqdm.auto import tqdm

from presenter.errors import TransientFetchError
from presenter.settings import STAGES, Settings, SplitSettings, TranscribeSettings
from presenter.workspace import episode_dir, record_episode, record_stage
from stages import compose as compose_stage
from stages import fetch as fetch_stage
from stages import lipsync as lipsync_stage
from stages import narrate as narrate_stage
from stages import split as split_stage
from stages import summarize as summarize_stage
from stages import transcribe as transcribe_stage

from .caching import call_cached, hash_inputs

MAX_POOL = 8
_RESULTS = {"persist_result": True, "result_serializer": "json"}


def _transient(task, task_run, state) -> bool:
    """Retry only failures that may pass (network), never a 404 or a bad file."""
    try:
        state.result()
    except TransientFetchError:
        return True
    except Exception:
        return False
    return False


@task(name="fetch", retries=1, retry_delay_seconds=5, retry_condition_fn=_transient)
def fetch(source: str, selector: str | None, settings: Settings) -> dict[str, Any]:
    started = time.perf_counter()
    episode = fetch_stage.resolve(source, settings.fetch, selector)
    folder = episode_dir(settings.output_dir, episode.guid, episode.title)
    record_episode(folder, {**episode.to_dict(), "source": source})
    with tqdm(desc="download", unit="B", unit_scale=True, unit_divisor=1024, disable=episode.is_local or None) as bar:

        def progress(done: int, total: int | None) -> None:
            bar.total = total
            bar.update(done - bar.n)

        audio = fetch_stage.fetch_audio(episode, folder, settings.fetch, progress)
    return {"episode": episode.to_dict(), "folder": str(folder), "audio": str(audio), "seconds": time.perf_counter() - started}


@task(name="split", cache_key_fn=hash_inputs("audio", "folder", "options"), **_RESULTS)
def split_audio(audio: str, folder: str, options: SplitSettings) -> dict[str, Any]:
    started = time.perf_counter()
    chunks = split_stage.split(Path(audio), Path(folder), options)
    return {
        "chunks": [{**c.to_dict(Path(folder)), "path": str(c.path)} for c in chunks],
        "duration": sum(c.duration for c in chunks),
        "seconds": time.perf_counter() - started,
    }


class _TranscriptionBar:
    """A tqdm bar over the episode's seconds, fed by chunk tasks running in worker threads."""

    active: dict[str, "_TranscriptionBar"] = {}

    def __init__(self, folder: str, total: float) -> None:
        self._bar = tqdm(total=round(total), desc="transcribe", unit="s")
        self._lock = threading.Lock()
        self._done: dict[str, float] = {}
        self.active[folder] = self

    def report(self, chunk: str, seconds: float) -> None:
        with self._lock:
            self._done[chunk] = seconds
            self._bar.update(round(sum(self._done.values())) - self._bar.n)

    def close(self, folder: str) -> None:
        self.active.pop(folder, None)
        self._bar.close()


@task(name="transcribe-chunk", cache_key_fn=hash_inputs("chunk", "offset", "language", "prompt", "engine"), **_RESULTS)
def transcribe_chunk(chunk: str, offset: float, silent: bool, language: str | None, prompt: str, engine: TranscribeSettings, settings: Settings) -> dict[str, Any]:
    started = time.perf_counter()
    out = Path(chunk).with_suffix(".json")
    if silent:
        transcribe_stage.empty_chunk(out, offset, language)
    else:
        bar = _TranscriptionBar.active.get(str(Path(chunk).parent.parent))
        transcribe_stage.transcribe_chunk(
            transcribe_stage.load_engine(settings),
            Path(chunk),
            offset,
            out,
            language=language,
            prompt=prompt,
            chinese_script=engine.chinese_script,
            on_progress=(lambda s: bar.report(chunk, s)) if bar else None,
        )
    return {"transcript": str(out), "seconds": time.perf_counter() - started}


@task(name="transcribe", cache_key_fn=hash_inputs("chunk_transcripts", "folder"), **_RESULTS)
def merge_transcript(chunk_transcripts: list[str], folder: str, duration: float) -> dict[str, Any]:
    files = transcribe_stage.write_transcript([Path(p) for p in chunk_transcripts], Path(folder), duration)
    return {"files": [str(p) for p in files]}


@task(name="summarize", cache_key_fn=hash_inputs("transcript", "folder", "options", "title", "show"), **_RESULTS)
def summarize(transcript: str, folder: str, options: dict[str, Any], title: str, show: str, settings: Settings) -> dict[str, Any]:
    logger = get_run_logger()
    started = time.perf_counter()
    files = summarize_stage.summarize(Path(transcript), Path(folder), settings, title=title, show=show, on_progress=logger.info, log=logger.warning)
    return {"files": [str(p) for p in files], "seconds": time.perf_counter() - started}


@task(name="narrate", cache_key_fn=hash_inputs("script", "folder", "options", "language"), **_RESULTS)
def narrate(script: str, folder: str, options: dict[str, Any], language: str, settings: Settings) -> dict[str, Any]:
    logger = get_run_logger()
    started = time.perf_counter()
    files = narrate_stage.narrate(Path(script), Path(folder), settings, language=language, log=logger.warning)
    return {"files": [str(p) for p in files], "seconds": time.perf_counter() - started}


@task(name="lipsync", cache_key_fn=hash_inputs("narration", "timings", "portrait", "folder", "options"), **_RESULTS)
def lipsync(narration: str, timings: str, portrait: str, folder: str, options: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """``portrait`` and ``options`` are here for the cache key (the photo's content); the stage reads them from settings."""
    started = time.perf_counter()
    artifact = create_progress_artifact(progress=0.0, description=f"Rendering the presenter of {Path(folder).name}")
    with tqdm(desc="lipsync", unit="frame") as bar:

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)
            if done == total or done % (settings.lipsync.fps * 10) == 1:
                update_progress_artifact(artifact, progress=round(100 * done / total, 1))

        files = lipsync_stage.lipsync(Path(narration), Path(timings), Path(folder), settings, on_progress=progress)
    return {"files": [str(p) for p in files], "seconds": time.perf_counter() - started}


@task(name="compose", cache_key_fn=hash_inputs("video", "timings", "folder", "options", "title", "show"), **_RESULTS)
def compose(video: str, timings: str, folder: str, options: dict[str, Any], title: str, show: str, settings: Settings) -> dict[str, Any]:
    started = time.perf_counter()
    files = compose_stage.compose(Path(video), Path(timings), Path(folder), settings, title=title, show=show)
    return {"files": [str(p) for p in files], "seconds": time.perf_counter() - started}


def _transcribe_all(chunks: list[dict], folder: str, prompt: str, settings: Settings) -> tuple[list[str], float, bool]:
    """Transcribe every chunk, first one alone to learn the language, the rest mapped in bounded batches."""
    logger = get_run_logger()
    engine_key = settings.transcribe.model_copy(update={"threads": 0, "workers": 1})
    language = settings.language
    total = sum(c["duration"] for c in chunks)
    artifact = create_progress_artifact(progress=0.0, description=f"Transcribing {Path(folder).name}")
    bar = _TranscriptionBar(folder, total)
    results: dict[int, tuple[dict, bool]] = {}
    seconds_done = 0.0

    def finish(chunk: dict, result: dict, cached: bool) -> None:
        nonlocal seconds_done
        if cached and not Path(result["transcript"]).exists():
            result, cached = call_cached(transcribe_chunk, lambda r: [r["transcript"]], **_chunk_args(chunk, language, prompt, engine_key, settings))
        results[chunk["index"]] = (result, cached)
        seconds_done += chunk["duration"]
        bar.report(chunk["path"], chunk["duration"])
        update_progress_artifact(artifact, progress=round(100 * seconds_done / total, 1) if total else 100.0)

    try:
        ordered = sorted(chunks, key=lambda c: c["silent"])  # the first spoken chunk decides the language
        first, rest = ordered[0], ordered[1:]
        result, cached = call_cached(transcribe_chunk, lambda r: [r["transcript"]], **_chunk_args(first, language, prompt, engine_key, settings))
        finish(first, result, cached)
        if language is None and not first["silent"]:
            language = transcribe_stage.read_language(Path(result["transcript"]))
            logger.info("Detected language: %s", language)
        size = settings.transcribe.workers
        for batch in (rest[i : i + size] for i in range(0, len(rest), size)):
            futures = [transcribe_chunk.submit(**_chunk_args(c, language, prompt, engine_key, settings)) for c in batch]
            for chunk, future in zip(batch, futures):
                finish(chunk, future.result(), future.state.name == "Cached")
    finally:
        bar.close(folder)
    ordered_results = [results[i][0]["transcript"] for i in sorted(results)]
    all_cached = all(c for _, c in results.values())
    return ordered_results, sum(r["seconds"] for r, _ in results.values()), all_cached


def _chunk_args(chunk: dict, language: str | None, prompt: str, engine_key: TranscribeSettings, settings: Settings) -> dict:
    return {"chunk": chunk["path"], "offset": chunk["offset"], "silent": chunk["silent"], "language": language, "prompt": prompt, "engine": engine_key, "settings": settings}


def _episode_markdown(episode: dict, folder: Path, stopped_after: str) -> str:
    lines = [f"# {episode['title']}", "", f"**Show:** {episode['show_title']}  ", f"**Source:** {episode['audio_url']}  "]
    transcript = folder / "transcript.json"
    if transcript.exists():
        data = json.loads(transcript.read_text(encoding="utf-8"))
        excerpt = data["text"][:600] + ("…" if len(data["text"]) > 600 else "")
        lines += [f"**Language:** {data['language']} · **Engine:** {data['engine']} ({data['model']})", "", "## Transcript excerpt", "", f"> {excerpt or '(no speech found)'}"]
    summary = folder / "summary.json"
    if summary.exists():
        data = json.loads(summary.read_text(encoding="utf-8"))
        lines += ["", f"## {data['title']}", "", data["summary"], "", "### Highlights", ""] + [f"- {h}" for h in data["highlights"]]
        lines += ["", "### Chapters", ""] + [f"- {summarize_stage.clock(c['start'])} {c['title']}" for c in data["chapters"]]
        lines += ["", f"*Summary by {data['engine']} ({data['model']}){', extractive' if data['extractive'] else ''}.*"]
    video = folder / "presenter.mp4"
    if video.exists():
        lines += ["", "## Presenter video", "", f"[{video.name}]({video.as_uri()})", "", f"![thumbnail]({(folder / 'thumbnail.png').as_uri()})"]
    lines += ["", "## Files", "", "| file | size |", "| --- | ---: |"]
    for path in sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")):
        lines.append(f"| [{path.name}]({path.as_uri()}) | {path.stat().st_size:,} B |")
    lines += ["", f"Stopped after **{stopped_after}**."]
    return "\n".join(lines)


def _stage_table(folder: Path) -> None:
    """A table artifact: per stage its engine, model, seconds, real-time factor and whether it came from cache."""
    stages = json.loads((folder / "manifest.json").read_text(encoding="utf-8")).get("stages", {})
    rows = [
        {"stage": name, "engine": r.get("engine", ""), "model": r.get("model", ""), "seconds": r.get("seconds"),
         "real_time_factor": r.get("real_time_factor"), "cached": r.get("cached", False)}
        for name, r in stages.items()
    ]
    create_table_artifact(rows, key=f"stages-{folder.name.rsplit('-', 1)[-1]}", description=f"Stage timings of {folder.name}")


def _rename_run(name: str) -> None:
    from prefect.client.orchestration import get_client

    context = get_run_context()
    with get_client(sync_client=True) as client:
        client.update_flow_run(context.flow_run.id, name=name[:200])


@flow(name="podcast-digest", flow_run_name="digest {source}", task_runner=ThreadPoolTaskRunner(max_workers=MAX_POOL), log_prints=True)
def digest(
    source: str,
    episode: str | None = None,
    language: str | None = None,
    until: str = "compose",
    output_dir: str | None = None,
    overrides: dict[str, Any] | None = None,
    portrait: str | None = None,
) -> str:
    """Turn a podcast episode (feed URL, episode URL or local file) into its digest; returns the episode folder.

    ``episode`` picks from a feed: 'latest', an index (0 = newest) or a GUID.
    ``until`` stops after the named stage. ``portrait`` is the presenter's
    photo. ``overrides`` are settings fields (nested dicts, e.g. engines),
    applied over environment and config file.
    """
    logger = get_run_logger()
    if until not in STAGES:
        raise ValueError(f"until must be one of {', '.join(STAGES)}, not {until!r}")
    fields = dict(overrides or {})
    if output_dir:
        fields["output_dir"] = output_dir
    if language:
        fields["language"] = language
    if portrait:
        fields["lipsync"] = {**fields.get("lipsync", {}), "portrait": portrait}
    settings = Settings(**fields)
    wanted = STAGES[: STAGES.index(until) + 1]

    fetched = fetch(source, episode, settings)
    info, folder = fetched["episode"], Path(fetched["folder"])
    _rename_run(f"{info['show_title']} – {info['title']}")
    record_stage(folder, "fetch", {"outputs": [fetched["audio"]], "seconds": round(fetched["seconds"], 3)})
    logger.info("Episode %r → %s", info["title"], folder)
    stopped_after = "fetch"

    if "split" in wanted:
        options = settings.split.model_copy(update={"chunk_seconds": transcribe_stage.max_chunk_seconds(settings)})
        parts, cached = call_cached(split_audio, lambda r: [c["path"] for c in r["chunks"]], audio=fetched["audio"], folder=str(folder), options=options)
        record_stage(folder, "split", {"outputs": ["chunks.json", *[c["path"] for c in parts["chunks"]]], "seconds": round(parts["seconds"], 3), "cached": cached, "chunks": len(parts["chunks"])})
        stopped_after = "split"

    if "transcribe" in wanted:
        prompt = transcribe_stage.build_prompt(info["show_title"], info["title"], info["description"])
        chunk_files, seconds, cached = _transcribe_all(parts["chunks"], str(folder), prompt, settings)
        merged, _ = call_cached(merge_transcript, lambda r: r["files"], chunk_transcripts=chunk_files, folder=str(folder), duration=parts["duration"])
        transcript = transcribe_stage.read_transcript(folder)
        record_stage(folder, "transcribe", {
            "outputs": [Path(p).name for p in merged["files"]] + chunk_files,
            "engine": settings.transcribe.engine,
            "model": settings.transcribe.api_model if settings.transcribe.engine == "openai-api" else settings.transcribe.model,
            "language": transcript["language"],
            "seconds": round(seconds, 3),
            "real_time_factor": round(seconds / parts["duration"], 4) if parts["duration"] else None,
            "cached": cached,
        })
        if not transcript["segments"]:
            logger.warning("No speech found in %s: the transcript is empty. Check that the episode is not silent.", fetched["audio"])
        stopped_after = "transcribe"

    if "summarize" in wanted:
        options = {
            "summarize": settings.summarize.model_dump(mode="json"),
            "engines": summarize_stage.engine_order(settings),
            "endpoint": settings.openai.base_url,
        }
        summary, cached = call_cached(
            summarize, lambda r: r["files"], transcript=str(folder / "transcript.json"), folder=str(folder), options=options,
            title=info["title"], show=info["show_title"], settings=settings,
        )
        made = summarize_stage.read_summary(folder)
        record_stage(folder, "summarize", {
            "outputs": summary["files"], "engine": made["engine"], "model": made["model"], "language": made["language"],
            "seconds": round(summary["seconds"], 3), "cached": cached, "ungrounded": len(made["ungrounded"]), "usage": made["usage"],
        })
        if made["ungrounded"]:
            logger.warning("The summary mentions items the transcript does not contain: %s (listed in summary.md).", ", ".join(made["ungrounded"]))
        stopped_after = "summarize"

    if "narrate" in wanted:
        narrated, cached = call_cached(
            narrate, lambda r: r["files"], script=str(folder / "script.txt"), folder=str(folder),
            options=settings.narrate.model_dump(mode="json"), language=made["language"], settings=settings,
        )
        voice = narrate_stage.read_narration(folder)
        record_stage(folder, "narrate", {
            "outputs": narrated["files"], "engine": ", ".join(voice["engines"]), "model": ", ".join(voice["models"]),
            "duration": voice["duration"], "seconds": round(narrated["seconds"], 3), "cached": cached,
            "real_time_factor": round(narrated["seconds"] / voice["duration"], 4),
        })
        stopped_after = "narrate"

    if "lipsync" in wanted:
        photo = settings.lipsync.portrait or lipsync_stage.default_portrait()
        rendered, cached = call_cached(
            lipsync, lambda r: r["files"], narration=str(folder / "narration.wav"), timings=str(folder / "narration.json"),
            portrait=str(photo), folder=str(folder), options=settings.lipsync.model_dump(mode="json") | {"size": settings.compose.height}, settings=settings,
        )
        frames = json.loads((folder / "lipsync.json").read_text())["frames"]
        record_stage(folder, "lipsync", {
            "outputs": rendered["files"], "engine": settings.lipsync.engine, "portrait": str(photo), "frames": frames,
            "seconds": round(rendered["seconds"], 3), "cached": cached, "frames_per_second": round(frames / rendered["seconds"], 1),
        })
        stopped_after = "lipsync"

    if "compose" in wanted:
        composed, cached = call_cached(
            compose, lambda r: r["files"], video=str(folder / "lipsync.mp4"), timings=str(folder / "narration.json"), folder=str(folder),
            options=settings.compose.model_dump(mode="json"), title=info["title"], show=info["show_title"], settings=settings,
        )
        record_stage(folder, "compose", {"outputs": composed["files"], "seconds": round(composed["seconds"], 3), "cached": cached, "height": settings.compose.height, "subtitles": settings.compose.subtitles})
        logger.info("Presenter video: %s", folder / "presenter.mp4")
        stopped_after = "compose"

    _stage_table(folder)
    create_markdown_artifact(
        _episode_markdown(info, folder, stopped_after),
        key=f"episode-{folder.name.rsplit('-', 1)[-1]}",
        description=f"Digest of {info['title']}",
    )
    return str(folder)
