"""What a run shows in the Prefect UI: its name, the episode's Markdown digest, and the table of stages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.context import get_run_context

from core.artifacts import Summary, Transcript
from core.publish.render import render
from core.workspace import read_manifest


def rename_run(name: str) -> None:
    from prefect.client.orchestration import get_client

    context: Any = get_run_context()
    with get_client(sync_client=True) as client:
        client.update_flow_run(context.flow_run.id, name=name[:200])


def _key(folder: Path) -> str:
    return folder.name.rsplit("-", 1)[-1]


def episode_markdown(episode: dict[str, Any], folder: Path, stopped_after: str) -> str:
    """The episode's digest as Markdown: source, transcript excerpt, summary, video, files (one template with summary.md)."""
    transcript = Transcript.read(folder) if (folder / Transcript.file).exists() else None
    excerpt = (transcript.text[:600] + ("…" if len(transcript.text) > 600 else "")) if transcript else ""
    summary = Summary.read(folder) if (folder / Summary.file).exists() else None
    video = folder / "presenter.mp4"
    return render(
        "episode.md.j2",
        episode=episode, transcript=transcript, excerpt=excerpt, summary=summary,
        video=video if video.exists() else None, thumbnail=folder / "thumbnail.png",
        sheet=folder / "lipsync_sheet.png" if (folder / "lipsync_sheet.png").exists() else None,
        files=sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")), stopped_after=stopped_after,
    )


def publish_episode(episode: dict[str, Any], folder: Path, stopped_after: str) -> None:
    """The table of stages and the Markdown digest, keyed by the episode so the UI keeps their history."""
    stages = read_manifest(folder).get("stages", {})
    rows = [
        {"stage": name, "engine": r.get("engine") or "", "model": r.get("model") or "", "seconds": r.get("seconds"),
         "real_time_factor": r.get("real_time_factor"), "cached": r.get("cached", False)}
        for name, r in stages.items()
    ]
    create_table_artifact(rows, key=f"stages-{_key(folder)}", description=f"Stage timings of {folder.name}")
    create_markdown_artifact(episode_markdown(episode, folder, stopped_after), key=f"episode-{_key(folder)}", description=f"Digest of {episode['title']}")
