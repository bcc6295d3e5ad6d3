"""The stages as Prefect tasks, in one table: what each reads (hashed for its cache key), its settings section, how it runs.

Each stage's cache key is derived from its own settings section, the episode
values it uses, a per-stage version and the content of its declared input
files, so no setting can be forgotten and no global version must be bumped.
"""

from __future__ import annotations

import functools
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prefect import get_run_logger, task

from core.artifacts import SCRIPT, StageRecord, Summary, Transcript
from core.errors import TransientFetchError, redact
from core.glossary import Glossary
from core.settings import Settings
from core.workspace import MANIFEST, episode_dir, record_episode, remove_stale_temporaries
from stages import compose as compose_stage
from stages import fetch as fetch_stage
from stages import lipsync as lipsync_stage
from stages import narrate as narrate_stage
from stages import split as split_stage
from stages import summarize as summarize_stage
from stages import transcribe as transcribe_stage

from .caching import call_cached, stage_key
from .progress import StageProgress

RESULTS: dict[str, Any] = {"persist_result": True, "result_serializer": "json"}


@dataclass
class Job:
    """One episode on its way through the stages."""

    settings: Settings
    episode: dict[str, Any]
    folder: Path
    audio: Path | None = None

    @property
    def title(self) -> str:
        return self.episode["title"]

    @property
    def show(self) -> str:
        return self.episode["show_title"]

    def file(self, name: str) -> Path:
        return self.folder / name

    @functools.cached_property
    def glossary(self) -> list[str]:
        """Names and terms to spell right: the user's, then the episode's keywords, titles, show notes and chapters."""
        episode = self.episode
        return Glossary.of(
            show=self.show, title=self.title, description="\n".join([episode.get("description", ""), *episode.get("chapters", [])]),
            keywords=episode.get("keywords", []), user=self.settings.user_terms(episode.get("feed")),
        ).terms


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
    folder = episode_dir(settings.output_dir, episode.key, episode.title)
    fresh = not folder.exists()
    if not fresh and (stale := remove_stale_temporaries(folder)):  # what killed runs were writing (.000.wav.*.tmp, .lipsync.mp4.*.tmp)
        get_run_logger().info("Removed %d temporary file(s) a stopped run left in %s: %s", len(stale), folder, ", ".join(p.name for p in stale[:5]))
    record_episode(folder, {**episode.to_dict(), "source": redact(source)})
    bar = None if episode.is_local else StageProgress("download", f"Downloading {episode.title}", "B", artifact=False)
    try:
        audio = fetch_stage.fetch_audio(episode, folder, settings.fetch, (lambda done, total: bar(done, total)) if bar else None)
    except BaseException:
        if fresh and [p.name for p in folder.iterdir()] == [MANIFEST]:  # nothing fetched: no folder holding only manifest.json
            shutil.rmtree(folder, ignore_errors=True)
        raise
    finally:
        if bar:
            bar.close()
    return {"episode": episode.to_dict(), "folder": str(folder), "audio": str(audio), "seconds": round(time.perf_counter() - started, 3)}


@dataclass(frozen=True)
class Step:
    """One cached stage: ``inputs`` are the files it reads, ``options`` its settings, ``values`` the episode facts it uses."""

    name: str
    version: str
    inputs: Callable[[Job], dict[str, Path]]
    options: Callable[[Settings], Any]
    values: Callable[[Job], dict[str, Any]]
    run: Callable[[dict[str, Path], Path, Settings, dict[str, Any]], Any]

    def execute(self, job: Job) -> tuple[dict[str, Any], bool]:
        stage_task = task(name=self.name, cache_key_fn=stage_key(self.version), **RESULTS)(_run_step)
        record, cached = call_cached(
            stage_task, lambda r: r["outputs"],
            step=self.name, inputs={k: str(v) for k, v in self.inputs(job).items()}, folder=str(job.folder),
            options=self.options(job.settings), values=self.values(job), settings=job.settings,
        )
        return record, cached


def _run_step(step: str, inputs: dict[str, str], folder: str, options: Any, values: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """The body of every cached stage task: look the stage up in the table and run it on plain paths."""
    record = STEPS[step].run({k: Path(v) for k, v in inputs.items()}, Path(folder), settings, values)
    return record.model_dump(mode="json")


def _summarize(inputs: dict[str, Path], folder: Path, settings: Settings, values: dict[str, Any]):
    with StageProgress("summarize", f"Summarizing {folder.name}", "step") as bar:
        return summarize_stage.summarize(
            inputs["transcript"], folder, settings.summarize, settings.context, title=values["title"], show=values["show"], glossary=values["glossary"], progress=bar
        )


def _narrate(inputs: dict[str, Path], folder: Path, settings: Settings, values: dict[str, Any]):
    with StageProgress("narrate", f"Narrating {folder.name}", "sentence") as bar:
        return narrate_stage.narrate(inputs["script"], folder, settings.narrate, settings.context, language=values["language"], progress=bar)


def _lipsync(inputs: dict[str, Path], folder: Path, settings: Settings, values: dict[str, Any]):
    with StageProgress("lipsync", f"Rendering the presenter of {folder.name}", "frame") as bar:
        return lipsync_stage.lipsync(inputs["narration"], inputs["timings"], folder, settings.lipsync, settings.context, size=values["size"], progress=bar)


def _compose(inputs: dict[str, Path], folder: Path, settings: Settings, values: dict[str, Any]):
    with StageProgress("compose", f"Composing the video of {folder.name}", "s") as bar:
        return compose_stage.compose(inputs["video"], inputs["timings"], folder, settings.compose, title=values["title"], show=values["show"], progress=bar)


def _split(inputs: dict[str, Path], folder: Path, settings: Settings, values: dict[str, Any]):
    made = split_stage.split(inputs["audio"], folder, settings.split.model_copy(update={"chunk_seconds": values["chunk_seconds"]}))
    return StageRecord(outputs=made.outputs, seconds=made.seconds, chunks=len(made.chunks))


def _endpoint(settings: Settings) -> dict[str, Any]:
    return {"base_url": settings.openai.base_url}


STEPS: dict[str, Step] = {
    step.name: step
    for step in (
        Step(
            "split", "2", lambda job: {"audio": job.audio}, lambda s: s.split,  # type: ignore[dict-item]
            lambda job: {"chunk_seconds": transcribe_stage.max_chunk_seconds(job.settings.transcribe, job.settings.split)}, _split,
        ),
        Step(
            "summarize", "10", lambda job: {"transcript": job.file(Transcript.file)},
            lambda s: {"summarize": s.summarize, "engines": summarize_stage.engine_order(s.summarize, s.context), **_endpoint(s)},
            lambda job: {"title": job.title, "show": job.show, "glossary": job.glossary}, _summarize,
        ),
        Step(
            "narrate", "3", lambda job: {"script": job.file(SCRIPT), "summary": job.file(Summary.file)}, lambda s: {"narrate": s.narrate, **_endpoint(s)},
            lambda job: {"language": Summary.read(job.folder).language}, _narrate,
        ),
        Step(
            "lipsync", "2",
            lambda job: {"narration": job.file("narration.wav"), "timings": job.file("narration.json"), "portrait": lipsync_stage.portrait_of(job.settings.lipsync)},
            lambda s: s.lipsync, lambda job: {"size": job.settings.compose.height}, _lipsync,
        ),
        Step(
            "compose", "2", lambda job: {"video": job.file("lipsync.mp4"), "timings": job.file("narration.json")}, lambda s: s.compose,
            lambda job: {"title": job.title, "show": job.show}, _compose,
        ),
    )
}

