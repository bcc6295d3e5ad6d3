"""The digest flow through a real temporary Prefect server: feed in, transcript out, caching, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from presenter.cli import app

from .support import Route, ffmpeg, rss, run_flow, serve_episode, wer

pytestmark = [pytest.mark.flow, pytest.mark.usefixtures("prefect_server")]

STAGES = ["fetch", "split", "transcribe", "diarize", "summarize", "narrate", "lipsync", "compose"]


def _task_states(flow_run_id) -> dict[str, str]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))
    return {run.name.rsplit("-", 1)[0]: run.state.name for run in runs}


def _artifacts(flow_run_id) -> list:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    with get_client(sync_client=True) as client:
        return client.read_artifacts(artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id])))


def test_feed_to_transcript(finished_episode):
    """The shared run (feed on 127.0.0.1 to the presenter video): the episode's folder, its transcript and the run in Prefect."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    folder, first_run = finished_episode.folder, finished_episode.first_run
    assert folder.name.startswith("ask-not-") and folder.parent.name.startswith("finished")
    transcript = json.loads((folder / "transcript.json").read_text())
    assert wer(transcript["text"]) <= 0.10 and transcript["language"] == "en"
    for name in ("transcript.txt", "transcript.srt", "transcript.vtt", "audio.mp3", "chunks.json"):
        assert (folder / name).stat().st_size > 0
    manifest = finished_episode.first_manifest
    assert list(manifest["stages"]) == STAGES
    assert manifest["stages"]["transcribe"]["engine"] == "faster-whisper" and manifest["stages"]["transcribe"]["model"] == "tiny.en"
    assert manifest["stages"]["transcribe"]["cached"] is False and manifest["episode"]["guid"] == "ep-1"
    assert "transcript.srt" in manifest["stages"]["transcribe"]["outputs"]
    assert set(_task_states(first_run).values()) == {"Completed"}

    key = f"episode-{folder.name.rsplit('-', 1)[-1]}"
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])))
        flow_run = client.read_flow_run(first_run)
    assert artifacts and "fellow americans" in artifacts[0].data.lower() and "transcript.srt" in artifacts[0].data
    assert flow_run.name == "Speeches – Ask Not"


def test_transcript_continues_to_summary(finished_episode):
    folder = finished_episode.folder
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["engine"] == "extractive" and summary["language"] == "en"
    # the extractive engine's summary is the transcript's sentences; its script reports a clause of them where one can be
    # told without copying (Whisper base sometimes writes this clip as one 21-word sentence with no comma: then none can)
    assert "your country" in summary["summary"] and summary["highlights"] == [h for h in summary["highlights"] if h.strip()]
    assert summary["beats"][0]["source"] == "intro" and "Ask Not" in (folder / "script.txt").read_text()
    manifest = finished_episode.first_manifest
    assert manifest["stages"]["summarize"]["engine"] == "extractive" and manifest["stages"]["summarize"]["cached"] is False
    assert set(manifest["stages"]["summarize"]["outputs"]) == {"summary.json", "summary.md", "script.txt"}


def test_every_stage_to_a_presenter_video(finished_episode):
    from core.artifacts import Narration
    from core.media.ffmpeg import probe_media as probe
    from evaluation import lipmetrics

    folder = finished_episode.folder
    info = probe(folder / "presenter.mp4")
    kinds = sorted(s["codec_type"] for s in info["streams"])
    assert kinds == ["audio", "video"]
    narration = Narration.read(folder)
    assert abs(float(info["format"]["duration"]) - narration.duration) <= 1 / 25 + 0.01
    assert lipmetrics.score(folder / "lipsync.mp4", narration).passes()
    assert {"narrate", "lipsync", "compose"} <= set(finished_episode.first_manifest["stages"])
    assert (folder / "thumbnail.png").is_file() and (folder / "summary.md").is_file()

    artifacts = _artifacts(finished_episode.first_run)
    progress = [a for a in artifacts if a.type == "progress"]
    assert len(progress) == 6, "progress while transcribing, diarizing, summarizing, narrating, rendering and composing"
    assert all(a.data == 100.0 for a in progress), [(a.description, a.data) for a in progress]  # each reported to the end
    table = next(a for a in artifacts if a.type == "table")
    rows = json.loads(table.data) if isinstance(table.data, str) else table.data
    assert [r["stage"] for r in rows] == STAGES
    markdown = next(a for a in artifacts if a.type == "markdown").data
    assert "presenter.mp4" in markdown and "thumbnail.png" in markdown and "## " in markdown


def test_a_rerun_takes_every_stage_from_cache(finished_episode):
    folder = finished_episode.folder
    states = _task_states(finished_episode.second_run)
    assert states["fetch"] == "Completed"
    assert {states[s] for s in ("split", "transcribe-chunk", "transcribe", "diarize", "summarize", "narrate", "lipsync", "compose")} == {"Cached"}, states
    stages = json.loads((folder / "manifest.json").read_text())["stages"]
    assert stages["transcribe"]["cached"] is True and stages["summarize"]["cached"] is True
    assert finished_episode.requests_of_rerun and all(path == "/feed.xml" for path in finished_episode.requests_of_rerun), "audio is not downloaded again"


def test_changed_audio_recomputes_and_deleted_outputs_come_back(server, jfk_mp3, tmp_path, media_dir):
    feed = serve_episode(server, jfk_mp3.read_bytes(), guid="ep-2")
    folder, _ = run_flow(feed, tmp_path)
    full = json.loads((folder / "transcript.json").read_text())["text"]

    shorter = media_dir / "jfk-first-4s.mp3"
    ffmpeg("-i", str(jfk_mp3), "-t", "4", str(shorter))
    (folder / "audio.mp3").unlink()  # the publisher replaced the file; the old copy is gone
    serve_episode(server, shorter.read_bytes(), guid="ep-2")
    _, changed_run = run_flow(feed, tmp_path)
    assert _task_states(changed_run)["split"] == "Completed"
    changed = json.loads((folder / "transcript.json").read_text())["text"]
    assert len(changed) < len(full) and "fellow americans" in changed.lower()

    for path in [*folder.glob("transcript.*"), *(folder / "chunks").iterdir()]:
        path.unlink()
    _, repaired_run = run_flow(feed, tmp_path)
    assert json.loads((folder / "transcript.json").read_text())["text"] == changed
    assert (folder / "transcript.srt").exists()


def test_silent_episode_gives_empty_transcript_and_a_warning(silence_wav, tmp_path, caplog):
    folder, _ = run_flow(str(silence_wav), tmp_path)
    transcript = json.loads((folder / "transcript.json").read_text())
    assert transcript["segments"] == [] and transcript["text"] == ""
    assert any("No speech found" in record.getMessage() for record in caplog.records)


def _cli(*args: str):
    return CliRunner().invoke(app, ["run", *args], catch_exceptions=False)


def test_cli_reports_bad_input_once_and_exits_non_zero(server, tmp_path):
    result = _cli(server.url("/gone.xml"), "--output", str(tmp_path), "--model", "tiny.en")
    assert result.exit_code == 1
    assert f"error: {server.url('/gone.xml')} answered HTTP 404" in result.output
    assert result.output.count("answered HTTP 404") == 1
    assert "what to do:" in result.output

    notes = tmp_path / "notes.mp3"
    notes.write_text("not audio\n" * 100)
    result = _cli(str(notes), "--output", str(tmp_path / "out"))
    assert result.exit_code == 1 and "notes.mp3 is not a readable audio file" in result.output
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_27_12_a_failed_fetch_through_presenter_run_leaves_no_folder_holding_only_its_manifest(server, tmp_path):
    server.routes["/gone.mp3"] = Route(b"gone", status=404, content_type="text/plain")
    server.routes["/page.mp3"] = Route(b"<html><body>Subscribe to listen</body></html>" * 50, content_type="text/html")
    for enclosure, said in (("/gone.mp3", "answered HTTP 404"), ("/page.mp3", "is a web page (text/html), not audio")):
        server.routes["/feed.xml"] = Route(rss("Broken", [{"title": "Nothing here", "guid": enclosure, "url": server.url(enclosure)}]), content_type="application/rss+xml")
        result = _cli(server.url("/feed.xml"), "--output", str(tmp_path / "out"), "--until", "split")
        assert result.exit_code == 1 and said in result.output, result.output
        assert any(p == enclosure for p, _ in server.requests), "the download was tried, inside the flow"
        assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == [], [str(p) for p in (tmp_path / "out").rglob("*")]


def test_cli_refuses_to_summarize_silence_and_keeps_the_transcript(silence_wav, tmp_path):
    result = _cli(str(silence_wav), "--output", str(tmp_path), "--model", "tiny.en", "--until", "summarize")
    assert result.exit_code == 1 and "too little to summarize" in result.output
    folder = next(tmp_path.iterdir())
    assert (folder / "transcript.json").exists() and not (folder / "summary.json").exists()


def test_cli_keeps_earlier_stage_outputs_when_a_later_one_fails(tmp_path, jfk_mp3):
    truncated = tmp_path / "cut.mp3"
    truncated.write_bytes(jfk_mp3.read_bytes()[: jfk_mp3.stat().st_size // 2])
    result = _cli(str(truncated), "--output", str(tmp_path / "out"))
    assert result.exit_code == 1 and "is truncated" in result.output
    folder = next((tmp_path / "out").iterdir())
    manifest = json.loads((folder / "manifest.json").read_text())
    assert "fetch" in manifest["stages"] and "split" not in manifest["stages"]


@pytest.mark.slow
def test_a_run_killed_midway_resumes_from_cached_stages(jfk_flac, tmp_path):
    """The process (and its temporary Prefect server) dies during lipsync; the rerun takes every earlier stage from cache."""
    import os
    import signal
    import subprocess
    import sys
    import time

    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect"), "PRESENTER_TRANSCRIBE__MODEL": "tiny.en", "PRESENTER_LIPSYNC__FPS": "60", "PRESENTER_NARRATE__ENGINES": '["espeak"]'}
    env.pop("PREFECT_API_URL", None)
    env.pop("PREFECT_SERVER_EPHEMERAL_ENABLED", None)
    command = [str(Path(sys.executable).parent / "presenter"), "run", str(jfk_flac), "--summarizer", "extractive", "--output", str(tmp_path / "out")]
    first = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    def narrated() -> bool:  # the manifest records a stage once its task has returned (and its result is stored)
        manifests = list((tmp_path / "out").glob("*/manifest.json"))
        try:
            return bool(manifests) and "narrate" in json.loads(manifests[0].read_text())["stages"]
        except ValueError:  # caught mid-write
            return False

    deadline = time.monotonic() + 300
    while not narrated() and time.monotonic() < deadline and first.poll() is None:
        time.sleep(0.1)
    os.killpg(first.pid, signal.SIGKILL)
    first.wait()
    folder = next((tmp_path / "out").glob("*"))
    assert not (folder / "presenter.mp4").exists(), "killed before the end"
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    stages = json.loads((folder / "manifest.json").read_text())["stages"]
    assert all(stages[s]["cached"] for s in ("split", "transcribe", "summarize", "narrate")), {s: r.get("cached") for s, r in stages.items()}
    assert (folder / "presenter.mp4").is_file()


def test_27_12_the_next_run_removes_the_temporary_files_a_killed_run_left(jfk_flac, tmp_path):
    import subprocess
    import sys

    folder, _ = run_flow(str(jfk_flac), tmp_path, until="fetch")
    dead = int(subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True).stdout)
    (folder / "chunks").mkdir(exist_ok=True)
    left = [folder / f".lipsync.mp4.{dead}-k2j4l6m8.tmp", folder / "chunks" / f".000.wav.{dead}-a1b2c3d4.tmp"]
    for path in left:
        path.write_bytes(b"\0" * 1000)
    again, _ = run_flow(str(jfk_flac), tmp_path, until="split")
    assert again == folder and not any(p.exists() for p in left) and (folder / "chunks" / "000.wav").is_file()
    assert not list(folder.rglob("*.tmp"))


def test_credentials_stay_out_of_outputs_manifests_logs_and_the_prefect_database(server, jfk_flac, tmp_path, monkeypatch, caplog):
    """An endpoint that fails (HTTP 500) behind a URL with a password, and an API key: the run falls back and shows neither."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId, LogFilter, LogFilterFlowRunId
    from prefect.settings import PREFECT_SERVER_DATABASE_CONNECTION_URL
    from sqlalchemy.engine import make_url

    server.routes["/v1/chat/completions"] = Route(b'{"error": {"message": "boom"}}', status=500, content_type="application/json")
    monkeypatch.setenv("PRESENTER_OPENAI__API_KEY", "sk-secret-XYZ")
    monkeypatch.setenv("PRESENTER_OPENAI__BASE_URL", server.url("/v1").replace("http://", "http://alice:s3cret-pw@"))
    folder, run_id = run_flow(str(jfk_flac), tmp_path, until="summarize", overrides={"summarize": {"engines": ["openai", "extractive"]}, "openai": {"max_retries": 0}})
    assert json.loads((folder / "summary.json").read_text())["engine"] == "extractive"
    with get_client(sync_client=True) as client:
        logs = client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run_id])))
        flow_run = client.read_flow_run(run_id)
        task_runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run_id])))
    stored = [log.message for log in logs] + [json.dumps(flow_run.parameters), *(str(t.state.message) for t in task_runs)]
    stored += [f"{t.cache_key} {t.state.state_details.cache_key} {t.task_inputs}" for t in task_runs]
    files = [p.read_text(errors="replace") for p in folder.rglob("*") if p.is_file() and p.suffix in (".json", ".md", ".txt")]
    for text in [*stored, *files, caplog.text]:
        assert "s3cret-pw" not in text and "sk-secret-XYZ" not in text
    database = Path(make_url(PREFECT_SERVER_DATABASE_CONNECTION_URL.value()).database or "")
    written = [p.read_bytes() for p in database.parent.glob(database.name + "*")]  # the file and its write-ahead log
    assert written and all(b"sk-secret-XYZ" not in data and b"s3cret-pw" not in data for data in written), "no secret in Prefect's database"
    assert any("alice:***@" in text or "***@127.0.0.1" in text for text in [*files, caplog.text]), "the fallback is reported, redacted"


def _prefect_database_files() -> list[bytes]:
    from prefect.settings import PREFECT_SERVER_DATABASE_CONNECTION_URL
    from sqlalchemy.engine import make_url

    database = Path(make_url(PREFECT_SERVER_DATABASE_CONNECTION_URL.value()).database or "")
    return [p.read_bytes() for p in database.parent.glob(database.name + "*")]  # the file and its write-ahead log


def test_27_3_credentials_passed_to_the_flow_from_python_are_used_for_requests_and_prefect_records_them_redacted(server, jfk_mp3, tmp_path):
    """``digest(...)`` called directly, not through the CLI: parameters and run name hold ***, the requests the real credentials."""
    import base64

    from prefect.client.orchestration import get_client

    from flows.digest import _hidden, _settings, digest

    with_password = "http://feeder:hunter2-pw@"
    server.routes["/ep.mp3"] = Route(jfk_mp3.read_bytes(), content_type="audio/mpeg")
    items = [{"title": "Members only", "guid": "m-1", "url": server.url("/ep.mp3").replace("http://", with_password)}]
    server.routes["/feed.xml"] = Route(rss("Locked show", items), content_type="application/rss+xml")
    feed = server.url("/feed.xml").replace("http://", with_password)
    endpoint = server.url("/v1").replace("http://", "http://alice:s3cret-pw@")
    folder, run_id = run_flow(feed, tmp_path / "direct", until="fetch", overrides={"openai": {"base_url": endpoint}})
    state = digest.with_options(retries=0)(feed, output_dir=str(tmp_path / "configured"), until="fetch", return_state=True)
    assert (folder / "audio.mp3").read_bytes() == jfk_mp3.read_bytes() and Path(state.result()).is_dir()

    sent = {(path, headers.get("Authorization")) for path, headers in server.requests}
    assert sent == {(p, "Basic " + base64.b64encode(b"feeder:hunter2-pw").decode()) for p in ("/feed.xml", "/ep.mp3")}, "the real credentials went with every request"
    with get_client(sync_client=True) as client:
        runs = [client.read_flow_run(run_id), client.read_flow_run(state.state_details.flow_run_id)]
    assert [run.parameters["source"] for run in runs] == [server.url("/feed.xml").replace("http://", "http://***@")] * 2
    assert runs[0].parameters["overrides"]["openai"]["base_url"] == server.url("/v1").replace("http://", "http://***@")
    assert _settings(None, None, None, _hidden({"openai": {"base_url": endpoint}})).openai.base_url == endpoint, "the stages get the real endpoint back"
    written = _prefect_database_files()
    assert written and not [data for data in written if b"hunter2-pw" in data or b"s3cret-pw" in data], "no password in Prefect's database: parameters, run names, events"
